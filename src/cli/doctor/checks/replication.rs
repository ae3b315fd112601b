//! Replicas: a rule that asks for `REPLICATION` creation templates expects replicated
//! repositories in this registry, and those get their grant from ECR's own "ECR Replication
//! Action" event (the `image-replicated` trigger) only if a rule on the default bus delivers it.
//!
//! The registry's replication configuration is not read: it names the registries this one
//! replicates *to*, and the replicas' events arrive in those, not here.

use serde_json::Value;

use super::{miss, pattern_has, rule, BusRule, Check, Facts};
use ecr_policy_remediator::Config;

/// What identifies the replication rule in a pattern.
const MARKER: &str = "ECR Replication Action";

/// `rule image-replicated`, when some rule asks for `REPLICATION` templates; nothing otherwise.
pub(super) fn image_replicated(
    f: &Facts,
    config: &Config,
    function_arn: Option<&str>,
) -> Option<Check> {
    let asking: Vec<&str> = config
        .rules
        .iter()
        .filter(|r| r.creation_templates.iter().any(|t| t == "REPLICATION"))
        .map(|r| r.name.as_str())
        .collect();
    if asking.is_empty() {
        return None;
    }
    let name = "rule image-replicated";
    let found: Vec<&BusRule> = f.rules.iter().filter(|r| pattern_has(r, MARKER)).collect();
    if found.is_empty() {
        return Some(miss(
            name,
            format!(
                "{} ask(s) for REPLICATION templates, but no EventBridge rule on the default bus \
                 delivers \"{MARKER}\" to the function: a replica gets its grant only from a \
                 template at creation, or from the next sweep",
                asking.join(", ")
            ),
            format!(
                "apply the remediator module (its image-replicated rule), or add a rule with \
                 source aws.ecr and detail-type \"{MARKER}\" that targets the function"
            ),
        ));
    }
    if let Some(why) = found.iter().find_map(|r| filters_out_replicas(r)) {
        return Some(miss(
            name,
            why,
            "let the pattern's detail match action-type REPLICATE and result SUCCESS",
        ));
    }
    Some(rule("image-replicated", "ENABLED", &found, function_arn))
}

/// Why a rule that names the replication event still never delivers a successful replica: its
/// `detail` lists `action-type` or `result` values without `REPLICATE` or `SUCCESS` (a rule for
/// pushes given the replication detail-type too, say).
fn filters_out_replicas(r: &BusRule) -> Option<String> {
    let pattern: Value = serde_json::from_str(r.pattern.as_deref()?).ok()?;
    [("action-type", "REPLICATE"), ("result", "SUCCESS")]
        .into_iter()
        .find_map(|(field, wanted)| {
            let listed = pattern["detail"][field].as_array()?;
            let plain = listed.iter().all(Value::is_string);
            (plain && !listed.iter().any(|v| v == wanted)).then(|| {
                format!(
                    "{} names \"{MARKER}\" but its detail.{field} is {}: no replica ever \
                     matches",
                    r.name,
                    Value::Array(listed.clone())
                )
            })
        })
}
