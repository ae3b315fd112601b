//! What the rules want in the registry policy: the pull-through-cache prerequisites of rules with
//! `pullThroughCache`, and the registry-level grants of rules with `registryGrant`. Pure: the
//! caller says which registry, and whether its policy scope can hold a grant.

use crate::config::{Config, Rule};
use crate::policy::{Ownership, Statement};

/// What a principal needs in the registry policy to make pull-through cache create a repository
/// and fetch its image on the first pull.
pub(crate) const PULL_THROUGH_CACHE_ACTIONS: &[&str] =
    &["ecr:BatchImportUpstreamImage", "ecr:CreateRepository"];

/// The registry statements the rules want, and the rules whose registry grant cannot be written
/// because the registry's policy scope is V1.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct DesiredRegistry {
    pub statements: Vec<Statement>,
    pub unwritable_grants: Vec<String>,
}

/// `repository_arn` is `arn:PARTITION:ecr:REGION:ACCOUNT:repository`; `scope_v2` whether the
/// registry policy may hold image actions.
pub(crate) fn registry_statements(
    config: &Config,
    repository_arn: &str,
    scope_v2: bool,
) -> DesiredRegistry {
    let mut statements: Vec<Statement> = by_rule(config, repository_arn, scope_v2)
        .into_iter()
        .map(|(_, s)| s)
        .collect();
    statements.sort_by(|a, b| a.sid.cmp(&b.sid));
    let unwritable_grants = if scope_v2 {
        Vec::new()
    } else {
        let grants = config.rules.iter().filter(|r| r.registry_grant);
        grants.map(|r| r.name.clone()).collect()
    };
    DesiredRegistry {
        statements,
        unwritable_grants,
    }
}

/// Every registry statement each rule asks for, with its rule, whatever the scope: what explains
/// a statement found in the registry policy.
pub fn registry_statements_by_rule(
    config: &Config,
    repository_arn: &str,
) -> Vec<(String, Statement)> {
    by_rule(config, repository_arn, true)
}

/// The rules' registry statements with their rules; the grants only when `grants` is set.
fn by_rule(config: &Config, repository_arn: &str, grants: bool) -> Vec<(String, Statement)> {
    let mut out = Vec::new();
    for rule in &config.rules {
        let resources: Vec<String> = rule
            .repository_patterns()
            .map(|p| format!("{repository_arn}/{p}"))
            .collect();
        let mut add = |purpose: &str, actions: Vec<String>| {
            for s in statements(rule, &config.ownership, purpose, actions, &resources) {
                out.push((rule.name.clone(), s));
            }
        };
        if rule.pull_through_cache {
            let actions = PULL_THROUGH_CACHE_ACTIONS.iter().map(|a| a.to_string());
            add("PullThroughCache", actions.collect());
        }
        if rule.registry_grant && grants {
            add("Grant", rule.actions.clone());
        }
    }
    out
}

fn statements(
    rule: &Rule,
    owner: &Ownership,
    purpose: &str,
    actions: Vec<String>,
    resources: &[String],
) -> Vec<Statement> {
    rule.grantees()
        .into_iter()
        .map(|(kind, principal, condition)| Statement {
            sid: owner.registry_sid(&rule.name, purpose, kind),
            principal,
            actions: actions.clone(),
            condition,
            resources: resources.to_vec(),
        })
        .collect()
}

/// The Sids of the registry grants of `rules`: kept as they are while the scope cannot hold them.
pub(crate) fn grant_sids(config: &Config, rules: &[String]) -> Vec<String> {
    config
        .rules
        .iter()
        .filter(|r| rules.contains(&r.name))
        .flat_map(|r| {
            r.grantees()
                .into_iter()
                .map(|(kind, _, _)| config.ownership.registry_sid(&r.name, "Grant", kind))
                .collect::<Vec<_>>()
        })
        .collect()
}

/// Whether `pattern` can match a repository under the namespace `prefix` (`ROOT`: any): its
/// literal start and `prefix/` must agree as far as both go.
pub(crate) fn may_match_under(pattern: &str, prefix: &str) -> bool {
    if prefix == "ROOT" {
        return true;
    }
    let under = format!("{prefix}/");
    let literal: &str = pattern.split(['*', '?']).next().unwrap_or_default();
    if !pattern.contains(['*', '?']) {
        return pattern.starts_with(&under);
    }
    literal.starts_with(&under) || under.starts_with(literal)
}

/// Whether `pattern` matches every repository under the namespace `prefix`.
pub fn covers(pattern: &str, prefix: &str) -> bool {
    if pattern == "*" {
        return true;
    }
    match pattern.strip_suffix("/*") {
        Some(q) if !q.contains(['*', '?']) => {
            prefix != "ROOT" && (prefix == q || prefix.starts_with(&format!("{q}/")))
        }
        _ => false,
    }
}
