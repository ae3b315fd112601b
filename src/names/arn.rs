//! The one reading of an ARN, `arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE`, for every place that
//! needs a part of one: a repository's, a role's or user's, a session's, a condition value's.

/// An ARN, split into its six fields; `resource` keeps any further `:` or `/`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Arn<'a> {
    /// `aws`, `aws-cn`, `aws-us-gov`.
    pub partition: &'a str,
    /// `ecr`, `iam`, `sts`...
    pub service: &'a str,
    /// Empty for global services such as IAM.
    pub region: &'a str,
    /// The owning account, as written (a pattern may hold wildcards).
    pub account: &'a str,
    /// `repository/NAME`, `role/PATH/NAME`, `assumed-role/ROLE/SESSION`...
    pub resource: &'a str,
}

impl<'a> Arn<'a> {
    /// The fields of `text`; `None` when it is not `arn:` with six fields.
    pub fn parse(text: &'a str) -> Option<Self> {
        let mut parts = text.splitn(6, ':');
        if parts.next()? != "arn" {
            return None;
        }
        Some(Arn {
            partition: parts.next()?,
            service: parts.next()?,
            region: parts.next()?,
            account: parts.next()?,
            resource: parts.next()?,
        })
    }

    /// An IAM or STS principal's ARN (`iam::ACCOUNT:...`, `sts::ACCOUNT:...`) in an AWS
    /// partition, with a 12-digit account and a resource.
    pub fn principal(text: &'a str) -> Option<Self> {
        Self::parse(text).filter(|a| {
            a.partition.starts_with("aws")
                && matches!(a.service, "iam" | "sts")
                && a.region.is_empty()
                && super::is_account_id(a.account)
                && !a.resource.is_empty()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_arn_splits_into_six_fields_and_the_resource_keeps_its_colons() {
        let a = Arn::parse("arn:aws:ecr:us-east-1:111111111111:repository/a/b:c").unwrap();
        assert_eq!(
            (a.partition, a.service, a.region, a.account, a.resource),
            (
                "aws",
                "ecr",
                "us-east-1",
                "111111111111",
                "repository/a/b:c"
            )
        );
        assert_eq!(Arn::parse("arn:aws:iam::1"), None);
        assert_eq!(Arn::parse("nra:aws:iam::111111111111:root"), None);
    }

    #[test]
    fn a_principal_arn_is_iam_or_sts_with_an_account() {
        assert!(Arn::principal("arn:aws:iam::222222222222:role/r").is_some());
        assert!(Arn::principal("arn:aws-cn:sts::222222222222:assumed-role/r/s").is_some());
        assert!(Arn::principal("arn:aws:ecr:us-east-1:222222222222:repository/r").is_none());
        assert!(Arn::principal("arn:aws:iam::2222:role/r").is_none());
        assert!(Arn::principal("arn:aws:iam::222222222222:").is_none());
    }
}
