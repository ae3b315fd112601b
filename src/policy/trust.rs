//! The trust boundary: who the statements the function does not own let in, measured against the
//! principals the rules and the `trust` object vouch for ([`Trusted`]).
//!
//! [`check`] reports each principal of a foreign `Allow` that is outside the set; [`revoke`] also
//! takes the `untrusted` and `public` ones out, on the text *before* the merge (`plan`), so that one
//! write carries both. Both read a document exactly as the merge does, and neither ever looks at
//! a statement the function owns: ours are replaced by the merge, never judged.
//!
//! How a principal is classified:
//! - `AWS`: an account ID, `arn:PARTITION:iam::ACCOUNT:root`, a role, user or `sts` session ARN is
//!   trusted when its account is, or when the ARN itself is named by a rule; anything else (a
//!   unique ID such as `AROA...`, which IAM writes in place of a deleted role) is `untrusted`.
//!   `"*"` (or `"Principal": "*"`) is `public` unless the statement's condition pins the caller to
//!   trusted accounts or organizations (see `pin`).
//! - `Service`: trusted when listed in `trust.services`, else `service`; reported, never removed,
//!   because removing it breaks the service (Lambda, CodeBuild...) that pulls through it.
//! - `Federated`: an identity provider ARN follows its account; a provider name such as
//!   `cognito-identity.amazonaws.com` admits identities from outside any account: `untrusted`,
//!   and removed like an `AWS` principal.
//! - A condition on a named principal never changes its class: the principal decides.
//! - `NotPrincipal` ("everyone except") is `public` unless pinned, and never rewritten.
//! - A statement that cannot be read (not an object, a duplicate key, an `Effect` other than
//!   `Allow` or `Deny`, a principal of an unknown type or shape, a `Condition` that is not an
//!   object of objects) is `unreadable`, and never rewritten.

mod pin;
mod read;
mod revoke;

use std::collections::BTreeSet;

use serde::Serialize;

use crate::names::{is_account_id, Arn};
use crate::policy::ownership::{Kind, Ownership};
use crate::policy::{split, PolicyError};
pub use revoke::{revoke, Before, Revocation};

/// The principals nobody needs to be warned about: what the rules name, the registry's own
/// account, and what `trust` lists. Every set is exact strings, as policies write them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Trusted {
    /// 12-digit account IDs: every principal of these accounts is trusted.
    pub accounts: BTreeSet<String>,
    /// IAM role and user ARNs trusted on their own, their account not.
    pub arns: BTreeSet<String>,
    /// `o-...` organization IDs.
    pub organizations: BTreeSet<String>,
    /// `o-.../r-.../ou-.../` paths, each ending in `/` (that OU) or `/*` (and below).
    pub organization_paths: BTreeSet<String>,
    /// Service principal names, such as `lambda.amazonaws.com`.
    pub services: BTreeSet<String>,
}

impl Trusted {
    /// An `AWS` (or `Federated`) principal as written: an account ID, or an ARN of IAM or STS.
    fn principal(&self, p: &str) -> bool {
        if is_account_id(p) {
            return self.accounts.contains(p);
        }
        self.arns.contains(p) || principal_account(p).is_some_and(|a| self.accounts.contains(a))
    }

    fn service(&self, name: &str) -> bool {
        self.services.iter().any(|s| s.eq_ignore_ascii_case(name))
    }
}

/// The account of `arn:PARTITION:iam::ACCOUNT:...` or `arn:PARTITION:sts::ACCOUNT:...`.
fn principal_account(arn: &str) -> Option<&str> {
    Arn::principal(arn).map(|a| a.account)
}

/// What is wrong with a principal, or with a statement that cannot be judged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FindingKind {
    /// An account or IAM principal outside the trusted set.
    Untrusted,
    /// Anyone: `"*"` (or `NotPrincipal`) without a condition pinning the caller to trusted ones.
    Public,
    /// A service principal not in `trust.services`.
    Service,
    /// A statement that cannot be read; never rewritten.
    Unreadable,
}

impl FindingKind {
    /// The kind as the outcome's JSON and the logs spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            FindingKind::Untrusted => "untrusted",
            FindingKind::Public => "public",
            FindingKind::Service => "service",
            FindingKind::Unreadable => "unreadable",
        }
    }
}

/// One principal outside the trusted set, in one statement.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Finding {
    /// The statement's `Sid`, or `#N` (its 1-based position) when it has none.
    pub sid: String,
    /// The principal as written (`*` for `"Principal": "*"`); `NotPrincipal <json>` for a
    /// `NotPrincipal` statement; empty for an unreadable statement.
    pub principal: String,
    /// Why it is reported.
    pub kind: FindingKind,
}

/// Every principal outside `trusted` in the `Allow` statements of `text` that `owner` does not
/// own, in document order. A document the merge cannot read is refused the same way.
pub fn check(
    text: &str,
    owner: &Ownership,
    kind: Kind,
    trusted: &Trusted,
) -> Result<Vec<Finding>, PolicyError> {
    let (_, raws) = split(text)?;
    let context = read::Context {
        owner,
        kind,
        trusted,
    };
    Ok(raws
        .into_iter()
        .enumerate()
        .flat_map(|(i, raw)| read::read(raw, i, &context).findings())
        .collect())
}
