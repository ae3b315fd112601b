//! The checks behind the configuration's validation: names, patterns, principals, actions. Each
//! returns the sentence a user reads; the configuration adds the field's path.

use crate::names::Arn;

/// Longest rule name, so that a `Sid` stays readable in the console.
pub(crate) const MAX_RULE_NAME: usize = 64;

/// Longest deployment name: it is part of every `Sid` the deployment writes.
pub(crate) const MAX_DEPLOYMENT_NAME: usize = 20;

/// Actions that let a principal pull an image (and look at what it pulls).
pub(crate) const PULL_ACTIONS: &[&str] = &[
    "ecr:BatchCheckLayerAvailability",
    "ecr:BatchGetImage",
    "ecr:DescribeImages",
    "ecr:DescribeRepositories",
    "ecr:GetDownloadUrlForLayer",
    "ecr:ListImages",
];

/// Actions that push needs on top of pull.
pub(crate) const PUSH_ACTIONS: &[&str] = &[
    "ecr:CompleteLayerUpload",
    "ecr:InitiateLayerUpload",
    "ecr:PutImage",
    "ecr:UploadLayerPart",
];

/// Further actions a rule may add: reading or writing images, and nothing that administers the
/// repository (its policy, its lifecycle, its existence) or the registry.
pub(crate) const EXTRA_IMAGE_ACTIONS: &[&str] = &[
    "ecr:BatchDeleteImage",
    "ecr:BatchImportUpstreamImage",
    "ecr:DescribeImageReplicationStatus",
    "ecr:DescribeImageScanFindings",
    "ecr:ReplicateImage",
];

/// Actions that administer a repository: granting them to another account hands it the
/// repository itself.
const ADMIN_ACTIONS: &[&str] = &[
    "ecr:CreateRepository",
    "ecr:DeleteLifecyclePolicy",
    "ecr:DeleteRepository",
    "ecr:DeleteRepositoryPolicy",
    "ecr:PutImageScanningConfiguration",
    "ecr:PutImageTagMutability",
    "ecr:PutLifecyclePolicy",
    "ecr:SetRepositoryPolicy",
    "ecr:StartLifecyclePolicyPreview",
    "ecr:TagResource",
    "ecr:UntagResource",
];

/// An extra action in its documented spelling (IAM compares action names without regard to
/// case), or the reason it cannot be granted.
pub(crate) fn check_action(action: &str) -> Result<&'static str, String> {
    let known = |list: &[&'static str]| {
        list.iter()
            .copied()
            .find(|a| a.eq_ignore_ascii_case(action))
    };
    if let Some(a) = known(PULL_ACTIONS)
        .or_else(|| known(PUSH_ACTIONS))
        .or_else(|| known(EXTRA_IMAGE_ACTIONS))
    {
        return Ok(a);
    }
    let why = if !action.to_ascii_lowercase().starts_with("ecr:") {
        "it is not an ECR action".to_string()
    } else if action.contains(['*', '?']) {
        "a wildcard also grants actions that administer the repository, such as \
         ecr:SetRepositoryPolicy and ecr:DeleteRepository"
            .to_string()
    } else if let Some(a) = known(ADMIN_ACTIONS) {
        format!("{a} administers the repository instead of reading or writing its images")
    } else {
        "it is not an ECR action on images".to_string()
    };
    let allowed: Vec<&str> = EXTRA_IMAGE_ACTIONS.to_vec();
    Err(format!(
        "{action:?} cannot be granted: {why}; use access \"pull\" or \"push\", and for more \
         only image actions ({})",
        allowed.join(", ")
    ))
}

/// A deployment name: it namespaces every `Sid` the deployment owns.
pub(crate) fn check_deployment(name: &str) -> Result<(), String> {
    let ok = (1..=MAX_DEPLOYMENT_NAME).contains(&name.len())
        && name.bytes().all(|b| b.is_ascii_alphanumeric());
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{name:?} is not a valid deployment name: use 1-{MAX_DEPLOYMENT_NAME} letters or \
             digits (it becomes part of every statement Sid, and must not contain '-' so that no \
             deployment's Sids start with another's)"
        ))
    }
}

pub(crate) fn validate_rule_name(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= MAX_RULE_NAME
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{name:?} is not a valid rule name: use 1-{MAX_RULE_NAME} letters, digits, '-' or '_', \
             starting with a letter or digit (it becomes part of the statement Sid)"
        ))
    }
}

const NEED: u8 = 1;
const ALNUM: u8 = 2;

/// The automaton's states (`NEED`, `ALNUM`, as bits) after one more character of a pattern.
fn next_states(states: u8, c: char) -> u8 {
    match c {
        '*' => {
            if states == 0 {
                0
            } else {
                NEED | ALNUM
            }
        }
        '?' => {
            let mut next = 0;
            if states & (NEED | ALNUM) != 0 {
                next |= ALNUM;
            }
            if states & ALNUM != 0 {
                next |= NEED;
            }
            next
        }
        c if c.is_ascii_alphanumeric() => {
            if states != 0 {
                ALNUM
            } else {
                0
            }
        }
        _ => {
            if states & ALNUM != 0 {
                NEED
            } else {
                0
            }
        }
    }
}

/// Refuses a pattern that no legal repository name can match, such as `Team-A/*` or `a//b`.
///
/// Legal names (ECR's pattern, 2-256 characters) are exactly the words of a two-state automaton:
/// `Need` (a letter or digit must come next; start state) and `Alnum` (accepting; a letter or
/// digit, or one of `._-/` back to `Need`). Running the pattern through that automaton, with `?`
/// as any one character and `*` as any run, tells exactly whether some legal name matches.
pub(crate) fn check_pattern(pattern: &str) -> Result<(), String> {
    const LEGAL: &str =
        "lowercase letters, digits, '.', '_', '-', '/', and the wildcards '*' and '?'";
    if pattern.is_empty() {
        return Err("an empty pattern matches no repository".into());
    }
    if let Some(c) = pattern
        .chars()
        .find(|c| !matches!(c, 'a'..='z' | '0'..='9' | '.' | '_' | '-' | '/' | '*' | '?'))
    {
        return Err(format!(
            "{pattern:?} can never match a repository name: {c:?} is not allowed (use {LEGAL})"
        ));
    }
    let states = pattern.chars().fold(NEED, next_states);
    let fixed_len = pattern.chars().filter(|&c| c != '*').count();
    let has_star = pattern.contains('*');
    if states & ALNUM == 0 {
        return Err(format!(
            "{pattern:?} can never match a repository name: names are lowercase components \
             separated by '/', each made of letters and digits joined by single '.', '_' or '-'"
        ));
    }
    if fixed_len > 256 || (!has_star && fixed_len < 2) {
        return Err(format!(
            "{pattern:?} can never match a repository name: names are 2 to 256 characters long"
        ));
    }
    Ok(())
}

/// An AWS Organizations ID: `o-` and 10 to 32 lowercase letters or digits.
pub fn is_org_id(s: &str) -> bool {
    s.strip_prefix("o-").is_some_and(|rest| {
        (10..=32).contains(&rest.len())
            && rest
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    })
}

fn is_lower_alnum(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
}

/// `arn:PARTITION:iam::ACCOUNT:role/PATH/NAME` or `...:user/...`, without wildcards: a repository
/// policy principal must name one principal exactly.
pub(crate) fn check_iam_arn(arn: &str) -> Result<(), String> {
    let hint =
        "use an IAM role or user ARN such as \"arn:aws:iam::123456789012:role/eks-node-role\"";
    let parsed = Arn::principal(arn).filter(|a| {
        a.service == "iam"
            && a.partition
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b == b'-')
    });
    let Some(parsed) = parsed else {
        return Err(format!("{arn:?} is not an IAM ARN: {hint}"));
    };
    let resource = parsed.resource;
    let name = match resource
        .strip_prefix("role/")
        .or_else(|| resource.strip_prefix("user/"))
    {
        Some(name) => name,
        None => {
            return Err(format!(
                "{arn:?} names neither a role nor a user (assumed-role session ARNs change with every session): {hint}"
            ))
        }
    };
    let legal = |c: char| c.is_ascii_alphanumeric() || "+=,.@_-/".contains(c);
    if name.is_empty() || name.ends_with('/') || !name.chars().all(legal) {
        return Err(format!(
            "{arn:?} has an invalid role or user name (no wildcards; letters, digits and +=,.@_-): {hint}"
        ));
    }
    Ok(())
}

/// `o-ORG/r-ROOT/ou-.../` or the same ending in `/*`, as `aws:PrincipalOrgPaths` takes them.
pub fn check_org_path(path: &str) -> Result<(), String> {
    let hint = "use e.g. \"o-a1b2c3d4e5/r-ab12/ou-ab12-11111111/*\" or \"o-a1b2c3d4e5/*\"";
    let segments: Vec<&str> = path.split('/').collect();
    let (first, rest) = segments.split_first().ok_or_else(|| hint.to_string())?;
    let (last, middle) = match rest.split_last() {
        Some(x) => x,
        None => {
            return Err(format!(
                "{path:?} must end with '/' or '/*' after the organization: {hint}"
            ))
        }
    };
    if !is_org_id(first) {
        return Err(format!(
            "{path:?} does not start with an organization ID: {hint}"
        ));
    }
    if !(last.is_empty() || *last == "*") {
        return Err(format!("{path:?} must end with '/' or '/*': {hint}"));
    }
    for (i, seg) in middle.iter().enumerate() {
        let ok = if i == 0 && seg.starts_with("r-") {
            seg.strip_prefix("r-").is_some_and(is_lower_alnum)
        } else {
            seg.strip_prefix("ou-").is_some_and(|ou| {
                ou.split_once('-')
                    .is_some_and(|(a, b)| is_lower_alnum(a) && is_lower_alnum(b))
            })
        };
        if !ok {
            return Err(format!(
                "{path:?}: segment {seg:?} is neither a root (r-...) nor an OU (ou-...-...): {hint}"
            ));
        }
    }
    Ok(())
}
