//! Whether a statement's `Condition` limits an anonymous principal (`"*"`, `NotPrincipal`) to
//! trusted callers.
//!
//! Condition blocks are ANDed, so one block that admits only trusted callers is enough: an
//! operator `StringEquals`, `StringLike`, `ArnEquals` or `ArnLike` (or its `ForAnyValue:` form),
//! on a key that names the caller's organization, path, account or ARN, with every value trusted.
//! Keys and operators are compared without regard to case, as IAM does for keys. `...IfExists`,
//! `ForAllValues:` (both true when the key is absent), negated operators and keys such as
//! `aws:SourceIp` say nothing about *who* calls, so they pin nothing.

use serde_json::Value;

use super::Trusted;
use crate::names::{is_account_id, Arn};

/// What a pinning key names.
#[derive(Clone, Copy)]
enum Subject {
    Organization,
    OrganizationPath,
    Account,
    Arn,
}

/// `Some(true)` when the condition pins the caller to trusted principals, `Some(false)` when it
/// does not, `None` when it is not an object of objects (the statement cannot be read).
pub(super) fn pinned(condition: &Value, trusted: &Trusted) -> Option<bool> {
    let mut pinned = false;
    for (operator, keys) in condition.as_object()? {
        let keys = keys.as_object()?;
        if !pinning_operator(operator) {
            continue;
        }
        for (key, values) in keys {
            if let Some(subject) = subject(key) {
                pinned |= all_trusted(values, subject, trusted);
            }
        }
    }
    Some(pinned)
}

fn pinning_operator(operator: &str) -> bool {
    let operator = operator.to_ascii_lowercase();
    let base = operator
        .strip_prefix("foranyvalue:")
        .unwrap_or(operator.as_str());
    matches!(
        base,
        "stringequals" | "stringlike" | "arnequals" | "arnlike"
    )
}

/// The caller keys; the `aws:Source...` ones pin a service acting for a caller.
fn subject(key: &str) -> Option<Subject> {
    Some(match key.to_ascii_lowercase().as_str() {
        "aws:principalorgid" | "aws:sourceorgid" => Subject::Organization,
        "aws:principalorgpaths" | "aws:sourceorgpaths" => Subject::OrganizationPath,
        "aws:principalaccount" | "aws:sourceaccount" => Subject::Account,
        "aws:principalarn" | "aws:sourcearn" => Subject::Arn,
        _ => return None,
    })
}

/// Every value (at least one) is a string the trusted set vouches for.
fn all_trusted(values: &Value, subject: Subject, trusted: &Trusted) -> bool {
    let list: Vec<&Value> = match values {
        Value::Array(items) => items.iter().collect(),
        one => vec![one],
    };
    !list.is_empty()
        && list
            .iter()
            .all(|v| v.as_str().is_some_and(|v| vouches(trusted, subject, v)))
}

/// Whether `value` (which may be a `StringLike` pattern) can only match trusted callers. A
/// wildcard is harmless only after the part that decides whose the value is.
fn vouches(trusted: &Trusted, subject: Subject, value: &str) -> bool {
    match subject {
        Subject::Organization => trusted.organizations.contains(value),
        Subject::Account => trusted.accounts.contains(value),
        Subject::OrganizationPath => path_vouched(trusted, value),
        Subject::Arn => trusted.arns.contains(value) || arn_vouched(trusted, value),
    }
}

/// A path under a trusted organization, or under (or equal to) a trusted path: `X/*` trusts every
/// path that starts with `X/`, a path ending in `/` only itself.
fn path_vouched(trusted: &Trusted, value: &str) -> bool {
    let under_org = value
        .split_once('/')
        .is_some_and(|(org, _)| trusted.organizations.contains(org));
    under_org
        || trusted
            .organization_paths
            .iter()
            .any(|t| match t.strip_suffix('*') {
                Some(prefix) => value.starts_with(prefix),
                None => value == t,
            })
}

/// `arn:PARTITION:SERVICE:REGION:ACCOUNT:...` with a trusted account and no wildcard before it,
/// so that every ARN it matches is that account's.
fn arn_vouched(trusted: &Trusted, value: &str) -> bool {
    Arn::parse(value).is_some_and(|a| {
        let head = [a.partition, a.service, a.region, a.account];
        !head.iter().any(|p| p.contains(['*', '?']))
            && is_account_id(a.account)
            && trusted.accounts.contains(a.account)
    })
}
