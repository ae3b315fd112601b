//! Which statements of a shared document are the function's: exact, by `Sid` and by shape, per
//! deployment and per kind of document.

use serde_json::Value;

/// The start of every `Sid` the function writes.
pub(crate) const SID_BASE: &str = "EcrPolicyRemediator";

/// The kinds of statement a rule produces, as the end of their `Sid`.
pub(crate) const STATEMENT_KINDS: &[&str] = &["Principals", "Org", "OrgPaths"];

/// The purposes of the registry statements a rule produces, before their kind in the `Sid`.
pub(crate) const REGISTRY_PURPOSES: &[&str] = &["PullThroughCache", "Grant"];

/// The documents ECR keeps grants in. One merge serves them all; they differ in their `Sid`
/// grammar and in `Resource`, which a repository policy (and a creation template's, which becomes
/// one) must not have and a registry policy's statements must.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A repository policy, or a creation template's policy (which becomes one).
    Repository,
    /// The registry policy.
    Registry,
}

/// Which statements one deployment of the function owns: in a repository policy those whose
/// `Sid` is `PREFIX<rule>-<kind>`. Without a deployment name the prefix is
/// `EcrPolicyRemediator-`; with one (letters and digits only) it is `EcrPolicyRemediator_<name>-`,
/// which no other deployment's prefix starts with, so two deployments on one registry never claim
/// each other's statements. Registry-policy Sids are letters and digits only:
/// `EcrPolicyRemediatorD<length of the name, 2 digits><name>R<rule's letters and digits>
/// <purpose><kind>`, the length keeping one deployment's prefix from starting another's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ownership {
    prefix: String,
    registry_prefix: String,
    deployment: Option<String>,
}

impl Default for Ownership {
    fn default() -> Self {
        Ownership::new(None)
    }
}

/// How a statement of the current policy relates to this deployment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Claim {
    Owned,
    /// The `Sid` is one of ours, the statement is not something the function writes.
    Lookalike,
    Foreign,
}

impl Ownership {
    pub fn new(deployment: Option<&str>) -> Self {
        let prefix = match deployment {
            None => format!("{SID_BASE}-"),
            Some(name) => format!("{SID_BASE}_{name}-"),
        };
        let name = deployment.unwrap_or_default();
        Ownership {
            prefix,
            registry_prefix: format!("{SID_BASE}D{:02}{name}R", name.len()),
            deployment: deployment.map(str::to_string),
        }
    }

    pub fn deployment(&self) -> Option<&str> {
        self.deployment.as_deref()
    }

    /// The `Sid` of a registry-policy statement of rule `rule`: its letters and digits only.
    pub fn registry_sid(&self, rule: &str, purpose: &str, kind: &str) -> String {
        format!(
            "{}{}{purpose}{kind}",
            self.registry_prefix,
            alphanumeric(rule)
        )
    }

    fn claims_registry_sid(&self, sid: &str) -> bool {
        sid.strip_prefix(&self.registry_prefix).is_some_and(|rest| {
            rest.bytes().all(|b| b.is_ascii_alphanumeric())
                && REGISTRY_PURPOSES.iter().any(|purpose| {
                    STATEMENT_KINDS.iter().any(|kind| {
                        rest.strip_suffix(kind)
                            .and_then(|r| r.strip_suffix(purpose))
                            .is_some_and(|rule| !rule.is_empty())
                    })
                })
        })
    }

    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The `Sid` of the statement of `kind` that rule `rule` writes.
    pub fn sid(&self, rule: &str, kind: &str) -> String {
        format!("{}{rule}-{kind}", self.prefix)
    }

    fn claims_sid(&self, sid: &str) -> bool {
        let Some(rest) = sid.strip_prefix(&self.prefix) else {
            return false;
        };
        STATEMENT_KINDS.iter().any(|kind| {
            rest.strip_suffix(kind)
                .and_then(|r| r.strip_suffix('-'))
                .is_some_and(|rule| {
                    !rule.is_empty()
                        && rule
                            .chars()
                            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
                })
        })
    }

    pub(crate) fn claim(&self, statement: &Value, kind: Kind) -> Claim {
        let claimed = |sid: &str| match kind {
            Kind::Repository => self.claims_sid(sid),
            Kind::Registry => self.claims_registry_sid(sid),
        };
        match statement.get("Sid").and_then(Value::as_str) {
            Some(sid) if claimed(sid) => {
                if written_shape(statement, kind) {
                    Claim::Owned
                } else {
                    Claim::Lookalike
                }
            }
            _ => Claim::Foreign,
        }
    }
}

/// A rule name's letters and digits, as a registry-policy `Sid` can hold them.
pub(crate) fn alphanumeric(name: &str) -> String {
    name.chars().filter(char::is_ascii_alphanumeric).collect()
}

/// Whether a statement has the shape the function writes: `Allow`, a `Principal` of `"*"` or
/// `{"AWS": ...}`, `Action`, optionally `Condition`, `Resource` in a registry policy (and only
/// there), and nothing else.
fn written_shape(s: &Value, kind: Kind) -> bool {
    let Value::Object(map) = s else { return false };
    let strings = |v: &Value| match v {
        Value::String(_) => true,
        Value::Array(items) => !items.is_empty() && items.iter().all(Value::is_string),
        _ => false,
    };
    let keys_ok = map.keys().all(|k| {
        matches!(
            k.as_str(),
            "Sid" | "Effect" | "Principal" | "Action" | "Condition" | "Resource"
        )
    });
    let resource_ok = match kind {
        Kind::Repository => !map.contains_key("Resource"),
        Kind::Registry => map.get("Resource").is_some_and(strings),
    };
    let principal_ok = match map.get("Principal") {
        Some(Value::String(s)) => s == "*",
        Some(Value::Object(p)) => p.len() == 1 && p.get("AWS").is_some_and(strings),
        _ => false,
    };
    keys_ok
        && resource_ok
        && principal_ok
        && map.get("Effect").and_then(Value::as_str) == Some("Allow")
        && map.get("Action").is_some_and(strings)
        && map.get("Condition").is_none_or(Value::is_object)
}
