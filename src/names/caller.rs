//! Who made a call, as far as a CloudTrail record proves it.

use serde::Serialize;

/// The caller of a denied pull. Both fields come from `userIdentity` alone: the envelope's
/// `account` is only whoever forwarded the event.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Caller {
    pub account: Option<String>,
    /// The IAM role (from `sessionContext.sessionIssuer.arn`) or user ARN.
    pub principal_arn: Option<String>,
}

impl Caller {
    /// Whether the record names anyone at all: a record without `userIdentity` (or with one that
    /// carries no account and no ARN) has no caller that a rule could name or fail to name.
    pub fn is_named(&self) -> bool {
        let given = |v: &Option<String>| v.as_deref().is_some_and(|s| !s.is_empty());
        given(&self.account) || given(&self.principal_arn)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_caller_without_account_or_arn_is_not_named() {
        assert!(!Caller::default().is_named());
        let empty = Caller {
            account: Some(String::new()),
            principal_arn: Some(String::new()),
        };
        assert!(!empty.is_named());
        let account = Caller {
            account: Some("222222222222".into()),
            principal_arn: None,
        };
        assert!(account.is_named());
    }
}
