//! Whether a deployment can work: the checks `doctor` runs over what it read of the registry
//! account (the trail, the EventBridge rules, the function, the registry's documents), each with
//! the fix for a miss. Pure: `doctor/mod.rs` reads the facts (`facts.rs`), these only decide.

use serde::Serialize;

use ecr_policy_remediator::Config;
use ecr_policy_remediator::{covers, Arn};
use ecr_policy_remediator::{DocumentReport, Status};

pub(crate) use crate::cli::doctor::facts::{BusRule, Facts, FunctionConfig, Trail};

/// One line of the checklist.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct Check {
    pub check: String,
    pub ok: bool,
    pub detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

fn ok(check: impl Into<String>, detail: impl Into<String>) -> Check {
    Check {
        check: check.into(),
        ok: true,
        detail: detail.into(),
        fix: None,
    }
}

fn miss(check: impl Into<String>, detail: impl Into<String>, fix: impl Into<String>) -> Check {
    Check {
        check: check.into(),
        ok: false,
        detail: detail.into(),
        fix: Some(fix.into()),
    }
}

/// The EventBridge rules the function needs: what identifies each in a pattern, and the state
/// it must have.
const TRIGGERS: [(&str, &str, &str); 6] = [
    ("repository-created", "CreateRepository", "ENABLED"),
    (
        "pull-denied",
        "BatchGetImage",
        "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS",
    ),
    ("policy-changed", "SetRepositoryPolicy", "ENABLED"),
    ("registry-changed", "PutRegistryPolicy", "ENABLED"),
    ("image-pushed", "ECR Image Action", "ENABLED"),
    (
        "pull-through-cache",
        "ECR Pull Through Cache Action",
        "ENABLED",
    ),
];

/// Every check, in the order an operator fixes them.
pub(crate) fn checks(facts: &Facts, config: Option<&Config>) -> Vec<Check> {
    let mut out = vec![trail(facts)];
    out.push(function(facts));
    let function_arn = facts.function.as_ref().map(|(arn, _)| arn.as_str());
    for (trigger, marker, state) in TRIGGERS {
        let found = facts
            .rules
            .iter()
            .filter(|r| pattern_has(r, marker))
            .collect::<Vec<_>>();
        out.push(rule(trigger, state, &found, function_arn));
    }
    let sweeps: Vec<&BusRule> = facts
        .rules
        .iter()
        .filter(|r| r.schedule.is_some() && targets(r, function_arn))
        .collect();
    out.push(rule("sweep", "ENABLED", &sweeps, function_arn));
    if let Some(config) = config {
        out.push(bus(facts, config));
        out.push(scope(facts, config));
        out.extend(pull_through_cache(facts, config));
        out.extend(replication::image_replicated(facts, config, function_arn));
    }
    out.extend(facts.documents.iter().map(document));
    out.extend(config.and_then(|c| trust::untrusted_grants(facts, c)));
    out
}

fn trail(f: &Facts) -> Check {
    let good = f.trails.iter().find(|t| {
        t.logging && t.management_reads_and_writes && (t.multi_region || t.home_region == f.region)
    });
    match good {
        Some(t) => ok(
            "trail",
            format!(
                "{} logs read and write management events in {}",
                t.name, f.region
            ),
        ),
        None => miss(
            "trail",
            format!(
                "no trail logs read and write management events in {} ({} trail(s) seen): the \
                 default bus receives no CloudTrail event, so no creation, denied pull or policy \
                 change reaches the function",
                f.region,
                f.trails.len()
            ),
            "create one (the remediator module's create_trail = true), or start logging and \
             record management events with ReadWriteType All on an existing trail",
        ),
    }
}

fn function(f: &Facts) -> Check {
    let name = &f.function_name;
    match &f.function {
        None => miss(
            "function",
            format!("no Lambda function {name} in this account and region"),
            "deploy it (make build, then the remediator module), or pass --function NAME",
        ),
        Some((_, FunctionConfig::Inline(Ok(())))) => ok("function", format!("{name}: its rules are valid")),
        Some((_, FunctionConfig::Inline(Err(e)))) => miss(
            "function",
            format!("{name}: its rules are invalid: {e}"),
            "fix the rules; `ecr-policy-remediator check-config --config FILE` says the same before a deploy",
        ),
        Some((_, FunctionConfig::File(path))) => ok(
            "function",
            format!("{name} reads its rules from {path} in its package (validate that file with check-config)"),
        ),
        Some((_, FunctionConfig::Missing)) => miss(
            "function",
            format!("{name} has neither REMEDIATOR_CONFIG nor REMEDIATOR_CONFIG_FILE: its init fails"),
            "set one of them (the remediator module does)",
        ),
    }
}

/// Whether an event pattern matches on `wanted`, a whole value: a substring test would take the
/// rule for `CreateRepositoryCreationTemplate` as the rule for `CreateRepository`.
fn pattern_has(r: &BusRule, wanted: &str) -> bool {
    fn has(v: &serde_json::Value, wanted: &str) -> bool {
        match v {
            serde_json::Value::String(s) => s == wanted,
            serde_json::Value::Array(items) => items.iter().any(|i| has(i, wanted)),
            serde_json::Value::Object(map) => map.values().any(|i| has(i, wanted)),
            _ => false,
        }
    }
    r.pattern
        .as_deref()
        .and_then(|p| serde_json::from_str(p).ok())
        .is_some_and(|v| has(&v, wanted))
}

fn targets(r: &BusRule, function_arn: Option<&str>) -> bool {
    function_arn.is_some_and(|f| {
        r.targets
            .iter()
            .any(|(t, _)| t == f || t.starts_with(&format!("{f}:")))
    })
}

/// The rule for one trigger: present, in the right state, targeting the function, with a
/// dead-letter queue.
fn rule(trigger: &str, state: &str, found: &[&BusRule], function_arn: Option<&str>) -> Check {
    let name = format!("rule {trigger}");
    let Some(r) = found
        .iter()
        .find(|r| targets(r, function_arn))
        .or(found.first())
    else {
        return miss(
            name,
            "no EventBridge rule on the default bus delivers these events to the function",
            "apply the remediator module, which creates every rule the function needs",
        );
    };
    if r.state != state && !(state == "ENABLED" && r.state.starts_with("ENABLED")) {
        let why = if trigger == "pull-denied" {
            ": the ENABLED state drops read-only calls such as GetDownloadUrlForLayer"
        } else {
            ""
        };
        return miss(
            name,
            format!("{} is {}{why}", r.name, r.state),
            format!("set its state to {state} (Terraform or the CLI; the console cannot set ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS)"),
        );
    }
    if trigger == "repository-created" && !pattern_has(r, "AWS Service Event via CloudTrail") {
        return miss(
            name,
            format!(
                "{} matches only API calls: pull-through-cache creations are service events",
                r.name
            ),
            "add \"AWS Service Event via CloudTrail\" to its detail-type",
        );
    }
    if !targets(r, function_arn) {
        return miss(
            name,
            format!("{} does not target the function", r.name),
            "add the function as its target",
        );
    }
    dead_letter_queue(name, r, function_arn)
}

/// A rule that targets the function: whether its target keeps what EventBridge cannot deliver.
fn dead_letter_queue(name: String, r: &BusRule, function_arn: Option<&str>) -> Check {
    let dlq = r
        .targets
        .iter()
        .find(|(t, _)| function_arn.is_some_and(|f| t.starts_with(f)))
        .and_then(|(_, d)| d.clone());
    match dlq {
        Some(_) => ok(
            name,
            format!(
                "{} ({}) targets the function, with a dead-letter queue",
                r.name, r.state
            ),
        ),
        None => miss(
            name,
            format!(
                "{}'s target has no dead-letter queue: an event EventBridge cannot deliver is lost",
                r.name
            ),
            "give the target a dead-letter queue (the remediator module does)",
        ),
    }
}

/// The default bus must admit the forwarders of the accounts the rules name.
fn bus(f: &Facts, config: &Config) -> Check {
    let policy = f.bus_policy.as_deref().unwrap_or_default();
    let mut accounts: Vec<String> = config
        .rules
        .iter()
        .flat_map(|r| {
            let roles = r
                .principals
                .roles
                .iter()
                .filter_map(|a| Arn::parse(a).map(|a| a.account.to_string()));
            r.principals
                .accounts
                .iter()
                .cloned()
                .chain(roles)
                .collect::<Vec<_>>()
        })
        .filter(|a| *a != f.registry_id)
        .collect();
    accounts.sort();
    accounts.dedup();
    let organization = policy.contains("aws:PrincipalOrgID");
    let missing: Vec<&String> = accounts
        .iter()
        .filter(|a| !organization && !policy.contains(a.as_str()))
        .collect();
    if missing.is_empty() {
        ok(
            "bus",
            format!(
                "the default bus admits the forwarders of {} pulling account(s)",
                accounts.len()
            ),
        )
    } else {
        let list: Vec<&str> = missing.iter().map(|a| a.as_str()).collect();
        miss(
            "bus",
            format!("the default bus does not admit forwarded denied pulls from {}", list.join(", ")),
            "add them to the remediator module's pulling_account_ids, or set organization_id; deploy the forwarder in each",
        )
    }
}

fn scope(f: &Facts, config: &Config) -> Check {
    let grants: Vec<&str> = config
        .rules
        .iter()
        .filter(|r| r.registry_grant)
        .map(|r| r.name.as_str())
        .collect();
    match &f.scope {
        Err(e) => miss("registry policy scope", format!("cannot read it: {e}"), "allow ecr:GetAccountSetting"),
        Ok(v) if v != "V2" && !grants.is_empty() => miss(
            "registry policy scope",
            format!("{v}: it cannot hold the registry grants of {}", grants.join(", ")),
            "aws ecr put-account-setting --name REGISTRY_POLICY_SCOPE --value V2, or drop registryGrant",
        ),
        Ok(v) => ok("registry policy scope", format!("{v}: holds what the rules ask")),
    }
}

fn pull_through_cache(f: &Facts, config: &Config) -> Vec<Check> {
    let prefixes = match &f.pull_through_cache_prefixes {
        Err(e) => {
            return vec![miss(
                "pull-through cache",
                format!("cannot list its rules: {e}"),
                "allow ecr:DescribePullThroughCacheRules",
            )]
        }
        Ok(p) => p,
    };
    prefixes
        .iter()
        .map(|prefix| {
            let name = format!("pull-through cache {prefix}");
            let rules: Vec<_> = config.rules.iter().filter(|r| r.repository_patterns().any(|p| covers(p, prefix))).collect();
            if rules.is_empty() {
                miss(name, "no rule covers its repositories: their first cross-account pulls fail", format!("add a rule with repositories [\"{prefix}/*\"]"))
            } else if !rules.iter().any(|r| r.pull_through_cache) {
                let names: Vec<&str> = rules.iter().map(|r| r.name.as_str()).collect();
                miss(
                    name,
                    format!("covered by {}, but no registry statement lets its principals trigger the cache", names.join(", ")),
                    "set pullThroughCache on one of those rules",
                )
            } else {
                ok(name, "covered by a rule, with its registry statements")
            }
        })
        .collect()
}

fn document(d: &DocumentReport) -> Check {
    let reason = d.reason.clone().unwrap_or_default();
    match d.status {
        Status::Unchanged => ok(d.document.clone(), "what the rules say"),
        Status::Failed => miss(
            d.document.clone(),
            reason,
            "see the reason; then `ecr-policy-remediator reconcile`",
        ),
        _ => miss(
            d.document.clone(),
            "not what the rules say (`ecr-policy-remediator plan --registry` shows the difference)",
            "ecr-policy-remediator reconcile (or wait for the sweep)",
        ),
    }
}

mod replication;
#[cfg(test)]
mod tests;
mod trust;
