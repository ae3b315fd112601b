//! What a person reads before a change: a policy's difference statement by statement, each named
//! by its `Sid`, instead of a line diff in which a changed statement's hunk may never show which
//! statement it is.

use std::fmt::Write;

use ecr_policy_remediator::{named_statements, Change, Finding};
use serde_json::Value;

fn pretty(v: &Value) -> String {
    serde_json::to_string_pretty(v).unwrap_or_default()
}

fn lines(out: &mut String, mark: char, text: &str) {
    for line in text.lines() {
        let _ = writeln!(out, "{mark}   {line}");
    }
}

/// The marker of each principal the trust boundary took out of the statement `name`, under its
/// heading: a person reviewing a dry run sees which removals are revocations, not the rules'.
fn revocations(out: &mut String, name: &str, revoked: &[Finding]) {
    for f in revoked.iter().filter(|f| f.sid == name) {
        let _ = writeln!(
            out,
            "  (trust: revoked {}, {})",
            f.principal,
            f.kind.as_str()
        );
    }
}

/// The difference between two policy texts (`None`: no policy), statement by statement: each
/// statement added, removed or changed is headed `+`, `-` or `~` with its `Sid`; a changed one
/// shows the lines that changed. Text that is not a policy falls back to a line diff.
#[cfg(test)]
pub(super) fn statement_diff(before: Option<&str>, after: Option<&str>) -> String {
    statement_diff_revoking(before, after, &[])
}

/// [`statement_diff`], each statement the trust boundary changed or removed marked with the
/// principals it took out (`revoked`).
pub(super) fn statement_diff_revoking(
    before: Option<&str>,
    after: Option<&str>,
    revoked: &[Finding],
) -> String {
    let parse = |t: Option<&str>| t.map_or(Some((None, Vec::new())), named_statements);
    let (Some((v0, old)), Some((v1, new))) = (parse(before), parse(after)) else {
        return line_diff(before.unwrap_or_default(), after.unwrap_or_default());
    };
    let mut out = String::new();
    if before.is_some() && after.is_some() && v0 != v1 {
        let show = |v: &Option<Value>| v.as_ref().map_or("(none)".to_string(), Value::to_string);
        let _ = writeln!(out, "~ Version {} -> {}", show(&v0), show(&v1));
    }
    let find = |list: &[(String, Value)], name: &str| {
        list.iter().find(|(n, _)| n == name).map(|(_, s)| s.clone())
    };
    let mut unchanged = 0;
    for (name, statement) in &new {
        match find(&old, name) {
            None => {
                let _ = writeln!(out, "+ statement {name} (added)");
                lines(&mut out, '+', &pretty(statement));
            }
            Some(previous) if previous == *statement => unchanged += 1,
            Some(previous) => {
                let _ = writeln!(out, "~ statement {name} (changed)");
                revocations(&mut out, name, revoked);
                out.push_str(&line_diff(&pretty(&previous), &pretty(statement)));
            }
        }
    }
    for (name, statement) in &old {
        if find(&new, name).is_none() {
            let _ = writeln!(out, "- statement {name} (removed)");
            revocations(&mut out, name, revoked);
            lines(&mut out, '-', &pretty(statement));
        }
    }
    if unchanged > 0 {
        let _ = writeln!(out, "  {unchanged} other statement(s) unchanged");
    }
    out
}

/// The Sids added, removed and changed between two policy texts (`None`: no policy): a
/// document's change in one line, for `reconcile --summary`.
pub(super) fn sid_change(before: Option<&str>, after: Option<&str>) -> Change {
    let parse = |t: Option<&str>| {
        t.and_then(named_statements)
            .map(|(_, statements)| statements)
            .unwrap_or_default()
    };
    let (old, new) = (parse(before), parse(after));
    let find = |list: &[(String, Value)], name: &str| {
        list.iter().find(|(n, _)| n == name).map(|(_, s)| s.clone())
    };
    let mut change = Change::default();
    for (name, statement) in &new {
        match find(&old, name) {
            None => change.added.push(name.clone()),
            Some(previous) if previous != *statement => change.changed.push(name.clone()),
            Some(_) => {}
        }
    }
    for (name, _) in &old {
        if find(&new, name).is_none() {
            change.removed.push(name.clone());
        }
    }
    change
}

fn line_diff(before: &str, after: &str) -> String {
    let (before, after) = (format!("{before}\n"), format!("{after}\n"));
    let diff = similar::TextDiff::from_lines(&before, &after);
    let mut out = String::new();
    for change in diff.iter_all_changes() {
        let mark = match change.tag() {
            similar::ChangeTag::Delete => '-',
            similar::ChangeTag::Insert => '+',
            similar::ChangeTag::Equal => ' ',
        };
        let _ = write!(out, "{mark}   {change}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const BEFORE: &str = r#"{"Version":"2012-10-17","Statement":[
        {"Sid":"Keep","Effect":"Allow","Principal":"*","Action":"ecr:ListImages"},
        {"Sid":"Narrow","Effect":"Allow","Principal":{"AWS":["a","b"]},"Action":"ecr:BatchGetImage"},
        {"Sid":"Gone","Effect":"Allow","Principal":"*","Action":"ecr:DescribeImages"}]}"#;
    const AFTER: &str = r#"{"Version":"2012-10-17","Statement":[
        {"Sid":"Keep","Effect":"Allow","Principal":"*","Action":"ecr:ListImages"},
        {"Sid":"Narrow","Effect":"Allow","Principal":{"AWS":["a"]},"Action":"ecr:BatchGetImage"},
        {"Sid":"New","Effect":"Allow","Principal":"*","Action":"ecr:PutImage"}]}"#;

    #[test]
    fn every_statement_that_differs_is_named_by_its_sid() {
        let d = statement_diff(Some(BEFORE), Some(AFTER));
        assert!(d.contains("+ statement New (added)\n"), "{d}");
        assert!(d.contains("- statement Gone (removed)\n"), "{d}");
        assert!(d.contains("~ statement Narrow (changed)\n"), "{d}");
        let changed: Vec<&str> = d.lines().filter(|l| l.starts_with(['-', '+'])).collect();
        assert!(
            changed
                .iter()
                .any(|l| l.starts_with('-') && l.ends_with("\"b\"")),
            "{d}"
        );
        assert!(d.contains("1 other statement(s) unchanged"), "{d}");
        assert!(!d.contains("statement Keep"), "{d}");
    }

    #[test]
    fn a_trust_revocation_is_marked_under_the_statement_it_changed_or_removed() {
        use ecr_policy_remediator::FindingKind;
        let finding = |sid: &str, principal: &str, kind| Finding {
            sid: sid.into(),
            principal: principal.into(),
            kind,
        };
        let revoked = [
            finding("Narrow", "b", FindingKind::Untrusted),
            finding("Gone", "*", FindingKind::Public),
        ];
        let d = statement_diff_revoking(Some(BEFORE), Some(AFTER), &revoked);
        assert!(
            d.contains("~ statement Narrow (changed)\n  (trust: revoked b, untrusted)\n"),
            "{d}"
        );
        assert!(
            d.contains("- statement Gone (removed)\n  (trust: revoked *, public)\n"),
            "{d}"
        );
        assert_eq!(d.matches("(trust:").count(), 2, "{d}");
        let plain = statement_diff(Some(BEFORE), Some(AFTER));
        assert!(!plain.contains("(trust:"), "{plain}");
    }

    #[test]
    fn a_policy_created_or_deleted_shows_every_statement() {
        let d = statement_diff(None, Some(AFTER));
        assert_eq!(d.matches("(added)").count(), 3, "{d}");
        let d = statement_diff(Some(BEFORE), None);
        assert_eq!(d.matches("(removed)").count(), 3, "{d}");
    }

    #[test]
    fn a_change_in_one_line_names_the_sids_that_came_went_and_changed() {
        let c = sid_change(Some(BEFORE), Some(AFTER));
        assert_eq!(
            (c.added, c.removed, c.changed),
            (
                vec!["New".into()],
                vec!["Gone".into()],
                vec!["Narrow".into()]
            )
        );
        let c = sid_change(Some(BEFORE), None);
        assert_eq!(c.removed, ["Keep", "Narrow", "Gone"]);
        assert!(c.added.is_empty() && c.changed.is_empty());
    }

    #[test]
    fn statements_without_sid_and_text_that_is_no_policy_still_diff() {
        let d = statement_diff(None, Some(r#"{"Statement":{"Effect":"Allow"}}"#));
        assert!(d.contains("+ statement #1 (added)"), "{d}");
        let d = statement_diff(Some("not json"), Some("still not"));
        assert!(
            d.contains("-   not json") && d.contains("+   still not"),
            "{d}"
        );
    }
}
