//! Repository names and the ARNs that carry them, as ECR spells them.

pub(crate) mod arn;

pub use arn::Arn;

pub(crate) mod caller;

/// A 12-digit AWS account ID.
pub fn is_account_id(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

/// Quotes a value from the event for a reason, cut short if it is long.
pub(crate) fn shown(s: &str) -> String {
    if s.is_empty() {
        return "(none)".into();
    }
    let cut: String = s.chars().take(64).collect();
    if cut.len() < s.len() {
        format!("{cut:?}...")
    } else {
        format!("{cut:?}")
    }
}

/// `arn:PARTITION:ecr:REGION:ACCOUNT:repository/NAME` -> (region, account, name).
pub(crate) fn parse_repository_arn(arn: &str) -> Option<(&str, &str, &str)> {
    let a = Arn::parse(arn).filter(|a| a.service == "ecr")?;
    Some((a.region, a.account, a.resource.strip_prefix("repository/")?))
}

/// The repository ARN inside an access-denied message (`... on resource: ARN because ...`); the
/// caller's ARN comes first in that sentence, so take the first ARN that is a repository's.
pub(crate) fn repository_arn_in_message(message: &str) -> Option<(&str, &str, &str)> {
    message.match_indices("arn:").find_map(|(start, _)| {
        let rest = &message[start..];
        let end = rest
            .find(|c: char| c.is_whitespace() || c == ',' || c == '"')
            .unwrap_or(rest.len());
        parse_repository_arn(&rest[..end])
    })
}

/// ECR's rule for repository names: 2-256 characters of lowercase components separated by `/`,
/// each made of letters and digits joined by single `.`, `_` or `-`.
pub fn check_repository_name(name: &str) -> Result<(), String> {
    let valid = (2..=256).contains(&name.len())
        && name.split('/').all(|component| {
            !component.is_empty()
                && component.split(['.', '_', '-']).all(|run| {
                    !run.is_empty()
                        && run
                            .bytes()
                            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
                })
        });
    if valid {
        Ok(())
    } else {
        Err(format!(
            "repository name {} does not follow ECR's naming rules",
            shown(name)
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repository_names_follow_ecrs_pattern() {
        for good in [
            "ab",
            "team-a/api",
            "registry.k8s.io/pause",
            "a_b/c-d.e",
            "a/b/c/d",
        ] {
            assert!(check_repository_name(good).is_ok(), "{good}");
        }
        let long = "a".repeat(257);
        for bad in [
            "",
            "a",
            "A/b",
            "a//b",
            "/a",
            "a/",
            "a..b",
            "a-",
            "-a",
            "../etc",
            "a/../b",
            "a b",
            "a\u{0}b",
            "é/x",
            long.as_str(),
        ] {
            assert!(check_repository_name(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn repository_arns_parse() {
        assert_eq!(
            parse_repository_arn(
                "arn:aws:ecr:us-east-1:111111111111:repository/ecr-public/nginx/nginx"
            ),
            Some(("us-east-1", "111111111111", "ecr-public/nginx/nginx"))
        );
        assert_eq!(parse_repository_arn("arn:aws:s3:::bucket"), None);
        assert_eq!(parse_repository_arn("arn:aws:ecr:us-east-1:1"), None);
    }

    #[test]
    fn the_repository_arn_is_found_in_an_access_denied_message() {
        let m = "User: arn:aws:sts::222222222222:assumed-role/r/s is not authorized to perform: ecr:BatchGetImage on resource: arn:aws:ecr:us-east-1:111111111111:repository/a/b because no resource-based policy allows the ecr:BatchGetImage action";
        assert_eq!(
            repository_arn_in_message(m),
            Some(("us-east-1", "111111111111", "a/b"))
        );
        assert_eq!(
            repository_arn_in_message("User: arn:aws:sts::2:x is not"),
            None
        );
    }

    #[test]
    fn long_values_are_cut_in_reasons() {
        let s = shown(&"x".repeat(10_000));
        assert!(s.len() < 80 && s.ends_with("..."));
        assert_eq!(shown(""), "(none)");
    }
}
