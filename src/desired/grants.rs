//! Who may do what, read from a policy document, and which rule explains each grant: the answer
//! to "who can pull this repository, and why?" without reading JSON by hand.

use serde::Serialize;
use serde_json::Value;

use crate::config::{Config, Rule};
use crate::policy::{Condition, Principal, Statement};

const PULL: [&str; 3] = [
    "ecr:batchgetimage",
    "ecr:getdownloadurlforlayer",
    "ecr:batchchecklayeravailability",
];
const PUSH: [&str; 4] = [
    "ecr:putimage",
    "ecr:initiatelayerupload",
    "ecr:uploadlayerpart",
    "ecr:completelayerupload",
];

/// One principal's grant in one document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Grant {
    /// `repository policy`, `registry policy` or `template PREFIX`.
    pub source: String,
    /// The repository, or the repositories a registry statement or a template covers.
    pub repository: String,
    /// An IAM ARN, `org:o-...`, `org-path:o-.../...`, `service:...` or `*`.
    pub principal: String,
    /// `push`, `pull`, `all` (ecr:*), `deny`, or `other` (image actions short of a pull).
    pub access: String,
    /// The actions granted, sorted.
    pub actions: Vec<String>,
    /// The statement's `Sid`, when it has one.
    pub sid: Option<String>,
    /// The rule that gives exactly this; `None`: no rule explains it.
    pub rule: Option<String>,
}

/// Where a document sits: what it is, and which repositories its statements concern when they
/// carry no `Resource`.
#[derive(Debug, Clone, Copy)]
pub struct Document<'a> {
    /// Which document: `repository policy`, `registry policy` or `template PREFIX`.
    pub source: &'a str,
    /// The repository (or pattern) the document concerns.
    pub repository: &'a str,
}

/// The statements some rules want, each with its rule: what a grant is explained by.
pub fn desired_by_rule<'a>(
    rules: impl IntoIterator<Item = &'a Rule>,
    config: &Config,
) -> DesiredByRule {
    rules
        .into_iter()
        .flat_map(|r| {
            let name = r.name.clone();
            r.statements(&config.ownership)
                .into_iter()
                .map(move |s| (name.clone(), s))
        })
        .collect()
}

/// Statements with the rule that wants each.
pub(crate) type DesiredByRule = Vec<(String, Statement)>;

/// Every grant in a policy text, each with the rule that explains it, if one does: a rule in
/// `wanted` whose statement names the principal with at least the grant's actions (and, for a
/// registry statement, its `Resource`).
pub fn grants(text: &str, at: Document<'_>, wanted: &[(String, Statement)]) -> Vec<Grant> {
    let Ok(doc) = serde_json::from_str::<Value>(text) else {
        return Vec::new();
    };
    let statements = match doc.get("Statement") {
        Some(Value::Array(list)) => list.clone(),
        Some(one @ Value::Object(_)) => vec![one.clone()],
        _ => Vec::new(),
    };
    let mut out = Vec::new();
    for s in &statements {
        let actions = strings(s.get("Action"));
        let deny = s.get("Effect").and_then(Value::as_str) == Some("Deny");
        let access = if deny {
            "deny".into()
        } else {
            access(&actions)
        };
        let sid = s.get("Sid").and_then(Value::as_str).map(str::to_string);
        let resources = strings(s.get("Resource"));
        let places: Vec<String> = if resources.is_empty() {
            vec![at.repository.to_string()]
        } else {
            resources.iter().map(|r| repository_of(r)).collect()
        };
        for principal in principals(s) {
            let rule = (!deny)
                .then(|| explained_by(&principal, &actions, &resources, wanted))
                .flatten();
            for place in &places {
                out.push(Grant {
                    source: at.source.to_string(),
                    repository: place.clone(),
                    principal: principal.clone(),
                    access: access.clone(),
                    actions: actions.clone(),
                    sid: sid.clone(),
                    rule: rule.clone(),
                });
            }
        }
    }
    out
}

fn strings(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(Value::as_str)
            .map(String::from)
            .collect(),
        _ => Vec::new(),
    }
}

/// `arn:aws:ecr:REGION:ACCOUNT:repository/NAME` -> `NAME`.
fn repository_of(resource: &str) -> String {
    resource
        .split_once(":repository/")
        .map_or(resource, |(_, name)| name)
        .to_string()
}

fn access(actions: &[String]) -> String {
    let lower: Vec<String> = actions.iter().map(|a| a.to_ascii_lowercase()).collect();
    let has = |set: &[&str]| set.iter().all(|a| lower.iter().any(|l| l == a));
    if lower.iter().any(|a| a == "ecr:*" || a == "*") {
        "all"
    } else if has(&PULL) && has(&PUSH) {
        "push"
    } else if has(&PULL) {
        "pull"
    } else {
        "other"
    }
    .into()
}

/// The statement's grantees: AWS principals by ARN, services by name, and `*` narrowed by an
/// organization condition as `org:`/`org-path:` entries.
fn principals(s: &Value) -> Vec<String> {
    let condition = |key: &str| -> Vec<String> {
        let Some(Value::Object(ops)) = s.get("Condition") else {
            return Vec::new();
        };
        ops.values()
            .filter_map(|m| m.as_object())
            .flat_map(|m| m.iter())
            .filter(|(k, _)| k.eq_ignore_ascii_case(key))
            .flat_map(|(_, v)| strings(Some(v)))
            .collect()
    };
    match s.get("Principal") {
        Some(Value::String(star)) if star == "*" => {
            let orgs = condition("aws:PrincipalOrgID")
                .into_iter()
                .map(|o| format!("org:{o}"));
            let paths = condition("aws:PrincipalOrgPaths")
                .into_iter()
                .map(|p| format!("org-path:{p}"));
            let named: Vec<String> = orgs.chain(paths).collect();
            if named.is_empty() {
                vec!["*".into()]
            } else {
                named
            }
        }
        Some(Value::Object(map)) => map
            .iter()
            .flat_map(|(kind, v)| {
                let prefix = if kind == "AWS" {
                    String::new()
                } else {
                    format!("{}:", kind.to_ascii_lowercase())
                };
                strings(Some(v))
                    .into_iter()
                    .map(move |p| format!("{prefix}{p}"))
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// The rule whose statements grant this principal at least these actions (on these resources,
/// for a registry statement).
fn explained_by(
    principal: &str,
    actions: &[String],
    resources: &[String],
    wanted: &[(String, Statement)],
) -> Option<String> {
    wanted
        .iter()
        .find(|(_, w)| {
            let names = match (&w.principal, &w.condition) {
                (Principal::Aws(arns), _) => arns.iter().any(|a| a == principal),
                (Principal::Any, Some(Condition { key, values, .. })) => {
                    let label = if key.eq_ignore_ascii_case("aws:PrincipalOrgID") {
                        "org"
                    } else {
                        "org-path"
                    };
                    values.iter().any(|v| format!("{label}:{v}") == principal)
                }
                (Principal::Any, None) => false,
            };
            let covers = actions
                .iter()
                .all(|a| w.actions.iter().any(|b| b.eq_ignore_ascii_case(a)));
            let same_place = resources.iter().all(|r| w.resources.contains(r));
            names && covers && same_place
        })
        .map(|(rule, _)| rule.clone())
}

#[cfg(test)]
mod tests;
