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
