//! The trust boundary: how many grants outside it the registry's documents hold, which `doctor`
//! read anyway (the registry policy and the creation templates). Repository policies are not
//! read here, one call each: `access --untrusted` reads them all.

use super::{miss, ok, Check, Facts};
use ecr_policy_remediator::Config;

const CHECK: &str = "untrusted grants";
const LIST: &str = "`ecr-policy-remediator access --untrusted` lists them, in every repository \
                    policy too";

/// `untrusted grants`: the count in the documents read, when the rules have a `trust` object
/// (without one the function judges no grant, and the checklist stays as it was).
pub(super) fn untrusted_grants(f: &Facts, config: &Config) -> Option<Check> {
    let trust = config.trust.as_ref()?;
    let found: Vec<String> = f
        .documents
        .iter()
        .filter(|d| !d.untrusted.is_empty())
        .map(|d| format!("{}: {}", d.document, d.untrusted.len()))
        .collect();
    let count: usize = f.documents.iter().map(|d| d.untrusted.len()).sum();
    if count == 0 {
        return Some(ok(
            CHECK,
            format!(
                "none in the {} registry document(s) read; {LIST}",
                f.documents.len()
            ),
        ));
    }
    let mode = match trust.mode {
        ecr_policy_remediator::TrustMode::Report => "report mode: reported, left in place",
        ecr_policy_remediator::TrustMode::Revoke => {
            "revoke mode: the function takes back the untrusted and public ones (templates it does \
             not own are only reported)"
        }
    };
    Some(miss(
        CHECK,
        format!(
            "{count} grant(s) outside the trust boundary in the registry's documents ({}); {mode}",
            found.join(", ")
        ),
        format!(
            "{LIST}; add each principal meant to have access to the rules' trust object, and \
             take the others out (or set trust.mode to \"revoke\")"
        ),
    ))
}
