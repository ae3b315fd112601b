//! What the rules want in ECR's repository creation templates, and what to change in the ones
//! that exist. Pure: the caller lists the templates and applies the actions.
//!
//! A template applies at creation to every repository ECR creates under its namespace prefix, so
//! its policy must be what the event path would write on any of them: the statements of every
//! rule that matches the whole namespace. A rule that matches only part of it cannot be in the
//! template; it is reported, and the event path gives those repositories their statements.

use std::collections::BTreeSet;

use crate::config::registry::template_prefix;
use crate::config::{desired_statements, Config, Rule};
use crate::desired::registry::{covers, may_match_under};
use crate::policy::{self, Kind, Ownership, Plan, Statement};

/// The mark in a template's description that says the function owns it.
pub(crate) fn marker(owner: &Ownership) -> String {
    match owner.deployment() {
        None => "[managed by ecr-policy-remediator]".into(),
        Some(d) => format!("[managed by ecr-policy-remediator, deployment {d}]"),
    }
}

/// A template the rules want.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DesiredTemplate {
    pub prefix: String,
    pub applied_for: Vec<String>,
    /// The statements the event path would write on a new repository under the prefix.
    pub statements: Vec<Statement>,
    /// Rules that match only part of the namespace: their repositories are repaired afterwards.
    pub partial: Vec<String>,
}

/// A template as ECR describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CurrentTemplate {
    pub prefix: String,
    pub description: Option<String>,
    pub repository_policy: Option<String>,
    pub applied_for: Vec<String>,
}

/// What to do with one template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum TemplateAction {
    Unchanged,
    Create {
        policy: String,
        applied_for: Vec<String>,
    },
    /// Change the policy and `appliedFor` of a template the function owns (`None`: keep).
    Update {
        policy: Option<String>,
        applied_for: Option<Vec<String>>,
    },
    /// A template the function owns that no rule wants any more.
    Delete,
    /// A template the function does not own stands where the rules want one.
    Conflict(String),
    Failed(String),
}

/// Every template the rules want, by prefix.
pub(crate) fn desired_templates(config: &Config) -> Vec<DesiredTemplate> {
    let mut prefixes: BTreeSet<String> = BTreeSet::new();
    for rule in config
        .rules
        .iter()
        .filter(|r| !r.creation_templates.is_empty())
    {
        prefixes.extend(rule.repository_patterns().filter_map(template_prefix));
    }
    prefixes
        .into_iter()
        .map(|prefix| desired_template(config, prefix))
        .collect()
}

fn desired_template(config: &Config, prefix: String) -> DesiredTemplate {
    let covering: Vec<&Rule> = config
        .rules
        .iter()
        .filter(|r| rule_covers(r, &prefix))
        .collect();
    let partial = config
        .rules
        .iter()
        .filter(|r| {
            !rule_covers(r, &prefix) && r.repository_patterns().any(|p| may_match_under(p, &prefix))
        })
        .map(|r| r.name.clone())
        .collect();
    let mut applied_for: Vec<String> = covering
        .iter()
        .flat_map(|r| r.creation_templates.iter().cloned())
        .collect();
    applied_for.sort();
    applied_for.dedup();
    DesiredTemplate {
        prefix,
        applied_for,
        statements: desired_statements(covering.iter().copied(), &config.ownership),
        partial,
    }
}

/// Whether a rule matches every repository under the namespace: a pattern covers it, and no
/// exclusion can take one back out.
fn rule_covers(rule: &Rule, prefix: &str) -> bool {
    rule.repository_patterns().any(|p| covers(p, prefix))
        && !rule.exclude_patterns().any(|e| may_match_under(e, prefix))
}

/// What to do with each template, by prefix: the ones the rules want, and the ones the function
/// owns that they no longer want.
pub(crate) fn plan_templates(
    desired: &[DesiredTemplate],
    current: &[CurrentTemplate],
    owner: &Ownership,
) -> Vec<(String, TemplateAction)> {
    let mark = marker(owner);
    let owned = |t: &CurrentTemplate| t.description.as_deref().is_some_and(|d| d.contains(&mark));
    let mut out = Vec::new();
    for want in desired {
        let have = current.iter().find(|t| t.prefix == want.prefix);
        let action = match have {
            None => create(want, owner),
            Some(t) if !owned(t) => TemplateAction::Conflict(format!(
                "template {} exists and is not the function's (its description lacks {mark:?}): \
                 it is left as it is, and the repositories created from it are repaired by the \
                 event path afterwards",
                t.prefix
            )),
            Some(t) => update(want, t, owner),
        };
        out.push((want.prefix.clone(), action));
    }
    for t in current.iter().filter(|t| owned(t)) {
        if !desired.iter().any(|d| d.prefix == t.prefix) {
            out.push((t.prefix.clone(), TemplateAction::Delete));
        }
    }
    out
}

fn create(want: &DesiredTemplate, owner: &Ownership) -> TemplateAction {
    match policy::plan(None, &want.statements, &[], owner).map(|d| d.plan) {
        Ok(Plan::Write { text, .. }) => TemplateAction::Create {
            policy: text,
            applied_for: want.applied_for.clone(),
        },
        Ok(_) => TemplateAction::Failed(format!(
            "template {}: no rule grants anything under it",
            want.prefix
        )),
        Err(e) => TemplateAction::Failed(format!("template {}: {e}", want.prefix)),
    }
}

/// An owned template: its policy merged like any policy (a statement someone added by hand is
/// kept), its `appliedFor` what the rules ask.
fn update(want: &DesiredTemplate, have: &CurrentTemplate, owner: &Ownership) -> TemplateAction {
    let current = have
        .repository_policy
        .as_deref()
        .filter(|p| !p.trim().is_empty());
    let policy =
        match policy::plan_document(current, &want.statements, &[], owner, Kind::Repository) {
            Ok(d) => match d.plan {
                Plan::Unchanged => None,
                Plan::Write { text, .. } => Some(text),
                Plan::Delete { .. } => None,
            },
            Err(e) => return TemplateAction::Failed(format!("template {}: {e}", have.prefix)),
        };
    let mut have_for = have.applied_for.clone();
    have_for.sort();
    let applied_for = (have_for != want.applied_for).then(|| want.applied_for.clone());
    if policy.is_none() && applied_for.is_none() {
        TemplateAction::Unchanged
    } else {
        TemplateAction::Update {
            policy,
            applied_for,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RULES: &str = r#"{"rules":[
      {"name":"k8s","repositories":["registry.k8s.io/*"],"principals":{"accounts":["222222222222"]},"creationTemplates":["PULL_THROUGH_CACHE"]},
      {"name":"everyone","repositories":["*"],"principals":{"organizations":["o-a1b2c3d4e5"]},"creationTemplates":["REPLICATION"]},
      {"name":"pause-only","repositories":["registry.k8s.io/pause*"],"principals":{"accounts":["333333333333"]}}]}"#;

    fn current(
        prefix: &str,
        owner: &Ownership,
        policy: Option<&str>,
        applied: &[&str],
    ) -> CurrentTemplate {
        CurrentTemplate {
            prefix: prefix.into(),
            description: Some(marker(owner)),
            repository_policy: policy.map(str::to_string),
            applied_for: applied.iter().map(|a| a.to_string()).collect(),
        }
    }

    #[test]
    fn a_template_holds_what_every_rule_covering_its_namespace_grants() {
        let config = Config::from_json(RULES).unwrap();
        let desired = desired_templates(&config);
        let prefixes: Vec<&str> = desired.iter().map(|d| d.prefix.as_str()).collect();
        assert_eq!(prefixes, ["ROOT", "registry.k8s.io"]);
        let k8s = &desired[1];
        assert_eq!(k8s.applied_for, ["PULL_THROUGH_CACHE", "REPLICATION"]);
        let sids: Vec<&str> = k8s.statements.iter().map(|s| s.sid.as_str()).collect();
        assert_eq!(
            sids,
            [
                "EcrPolicyRemediator-everyone-Org",
                "EcrPolicyRemediator-k8s-Principals"
            ]
        );
        assert_eq!(
            k8s.partial,
            ["pause-only"],
            "a rule matching part of the namespace is reported"
        );
        assert_eq!(desired[0].applied_for, ["REPLICATION"]);
    }

    #[test]
    fn templates_are_created_updated_deleted_and_foreign_ones_left_alone() {
        let config = Config::from_json(RULES).unwrap();
        let owner = &config.ownership;
        let desired = desired_templates(&config);
        let foreign = CurrentTemplate {
            description: Some("the platform team's".into()),
            ..current("ROOT", owner, None, &["REPLICATION"])
        };
        let stale = current("retired", owner, None, &["REPLICATION"]);
        let wrong = current(
            "registry.k8s.io",
            owner,
            Some(r#"{"Statement":[]}"#),
            &["REPLICATION"],
        );
        let actions = plan_templates(&desired, &[foreign, stale, wrong], owner);
        assert!(
            matches!(&actions[0], (p, TemplateAction::Conflict(_)) if p == "ROOT"),
            "{actions:?}"
        );
        match &actions[1] {
            (
                p,
                TemplateAction::Update {
                    policy: Some(text),
                    applied_for: Some(kinds),
                },
            ) => {
                assert_eq!(p, "registry.k8s.io");
                assert!(text.contains("EcrPolicyRemediator-k8s-Principals"));
                assert!(!text.contains("Version"), "Version as found: {text}");
                assert_eq!(kinds, &["PULL_THROUGH_CACHE", "REPLICATION"]);
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(actions[2], ("retired".to_string(), TemplateAction::Delete));
        // Created from nothing, then recognised as right.
        let created = plan_templates(&desired, &[], owner);
        let (policy, kinds) = match &created[1].1 {
            TemplateAction::Create {
                policy,
                applied_for,
            } => (policy.clone(), applied_for.clone()),
            other => panic!("{other:?}"),
        };
        let kinds: Vec<&str> = kinds.iter().map(String::as_str).collect();
        let right = current("registry.k8s.io", owner, Some(&policy), &kinds);
        let again = plan_templates(&desired[1..], &[right], owner);
        assert_eq!(
            again,
            [("registry.k8s.io".to_string(), TemplateAction::Unchanged)]
        );
    }
}
