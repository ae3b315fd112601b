//! The `trust` object: who besides the rules' own principals may hold a grant in the registry's
//! documents, and whether a grant to anyone else is only reported or also taken back.
//!
//! ```json
//! "trust": {
//!   "mode": "report",
//!   "accounts": ["555555555555"],
//!   "organizations": ["o-a1b2c3d4e5"],
//!   "organizationPaths": ["o-a1b2c3d4e5/r-ab12/ou-ab12-11111111/*"],
//!   "services": ["lambda.amazonaws.com"]
//! }
//! ```
//!
//! Every key is optional; `mode` is `report` whenever `trust` is present. Nothing here may be a
//! wildcard: the one `*` accepted is the `/*` that ends an organization path ("this OU and below"),
//! as in the rules.

use serde::{Deserialize, Serialize};

use crate::config::error::{invalid, ConfigError};
use crate::config::validate::{check_org_path, is_org_id};
use crate::config::Config;
use crate::names::is_account_id;
use crate::policy::trust::Trusted;

/// Whether an untrusted grant is only reported, or also taken out of the document.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TrustMode {
    /// Find and report untrusted grants; change nothing.
    #[default]
    Report,
    /// Report them and take back the untrusted and public principals.
    Revoke,
}

/// The validated `trust` object. Every list is sorted and free of duplicates.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Trust {
    /// `report` (the default) or `revoke`.
    pub mode: TrustMode,
    /// Accounts trusted beyond those the rules name (12-digit IDs).
    pub accounts: Vec<String>,
    /// Organizations trusted beyond those the rules name.
    pub organizations: Vec<String>,
    /// Organization paths trusted beyond those the rules name.
    pub organization_paths: Vec<String>,
    /// Service principals whose grants are not reported.
    pub services: Vec<String>,
}

/// `trust` as written. `mode` is read as text so that a wrong one is refused with the two choices
/// in a sentence, not serde's list of variants.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(super) struct RawTrust {
    #[serde(default)]
    mode: Option<String>,
    #[serde(default)]
    accounts: Vec<String>,
    #[serde(default)]
    organizations: Vec<String>,
    #[serde(default)]
    organization_paths: Vec<String>,
    #[serde(default)]
    services: Vec<String>,
}

/// The longest service principal name accepted (DNS names stop at 253; real ones are far shorter).
const MAX_SERVICE_NAME: usize = 128;

impl Trust {
    /// Checks the object found at `at` (`trust`).
    pub(super) fn validate(raw: RawTrust, at: &str) -> Result<Trust, ConfigError> {
        let mode = match raw.mode.as_deref() {
            None | Some("report") => TrustMode::Report,
            Some("revoke") => TrustMode::Revoke,
            Some(other) => {
                return Err(invalid(
                    format!("{at}.mode"),
                    format!(
                        "{other:?} is not a trust mode: use \"report\" (log untrusted grants) or \
                         \"revoke\" (also take them out of the documents)"
                    ),
                ))
            }
        };
        let mut trust = Trust {
            mode,
            accounts: raw.accounts,
            organizations: raw.organizations,
            organization_paths: raw.organization_paths,
            services: raw.services,
        };
        each(&trust.accounts, &format!("{at}.accounts"), check_account)?;
        each(&trust.organizations, &format!("{at}.organizations"), |o| {
            no_wildcard(o)?;
            if is_org_id(o) {
                Ok(())
            } else {
                Err(format!("{o:?} is not an organization ID: use \"o-\" and 10 to 32 lowercase letters or digits"))
            }
        })?;
        each(
            &trust.organization_paths,
            &format!("{at}.organizationPaths"),
            |p| {
                let inner = p.strip_suffix("/*").unwrap_or(p);
                no_wildcard(inner)?;
                check_org_path(p)
            },
        )?;
        each(&trust.services, &format!("{at}.services"), check_service)?;
        for list in [
            &mut trust.accounts,
            &mut trust.organizations,
            &mut trust.organization_paths,
            &mut trust.services,
        ] {
            list.sort();
            list.dedup();
        }
        Ok(trust)
    }
}

/// Runs `check` on every item, naming the first one refused as `at[i]`.
fn each(
    items: &[String],
    at: &str,
    check: impl Fn(&str) -> Result<(), String>,
) -> Result<(), ConfigError> {
    for (i, item) in items.iter().enumerate() {
        check(item).map_err(|m| invalid(format!("{at}[{i}]"), m))?;
    }
    Ok(())
}

fn no_wildcard(s: &str) -> Result<(), String> {
    if s.contains(['*', '?']) {
        Err(format!(
            "{s:?} contains a wildcard: trust names principals exactly, and a wildcard would \
             trust principals nobody chose"
        ))
    } else {
        Ok(())
    }
}

fn check_account(a: &str) -> Result<(), String> {
    no_wildcard(a)?;
    if a.starts_with("arn:") {
        return Err(format!(
            "{a:?} is an ARN: trust.accounts takes 12-digit account IDs (every principal of the \
             account is trusted); a single role belongs in a rule's principals.roles"
        ));
    }
    if is_account_id(a) {
        Ok(())
    } else {
        Err(format!(
            "{a:?} is not an AWS account ID: use exactly 12 digits, as a string"
        ))
    }
}

/// A service principal: lowercase DNS labels (letters, digits, inner `-`) ending in
/// `.amazonaws.com` or `.amazonaws.com.cn`, with at least one label before that, at most
/// [`MAX_SERVICE_NAME`] characters: `lambda.amazonaws.com`, `build.apprunner.amazonaws.com`.
fn check_service(s: &str) -> Result<(), String> {
    no_wildcard(s)?;
    let hint = "use a service principal name such as \"lambda.amazonaws.com\" (lowercase labels \
                ending in .amazonaws.com or .amazonaws.com.cn)";
    let head = s
        .strip_suffix(".amazonaws.com")
        .or_else(|| s.strip_suffix(".amazonaws.com.cn"));
    let label = |l: &str| {
        (1..=63).contains(&l.len())
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    };
    match head {
        Some(head) if s.len() <= MAX_SERVICE_NAME && head.split('.').all(label) => Ok(()),
        _ => Err(format!("{s:?} is not a service principal: {hint}")),
    }
}

impl Config {
    /// Every principal a grant may name without a finding: those the rules name (accounts,
    /// role and user ARNs, organizations, organization paths), the registry's own account
    /// `registry_id` (which the configuration cannot know), and what `trust` lists.
    pub fn trusted(&self, registry_id: &str) -> Trusted {
        let mut set = Trusted::default();
        set.accounts.insert(registry_id.to_string());
        for p in self.rules.iter().map(|r| &r.principals) {
            set.accounts.extend(p.accounts.iter().cloned());
            set.arns.extend(p.roles.iter().cloned());
            set.organizations.extend(p.organizations.iter().cloned());
            set.organization_paths
                .extend(p.organization_paths.iter().cloned());
        }
        if let Some(t) = &self.trust {
            set.accounts.extend(t.accounts.iter().cloned());
            set.organizations.extend(t.organizations.iter().cloned());
            set.organization_paths
                .extend(t.organization_paths.iter().cloned());
            set.services.extend(t.services.iter().cloned());
        }
        set
    }
}
