//! The rules: which repositories get which grant, to whom.
//!
//! The configuration is the only source of *what* is granted to *whom*; events only pick the
//! repository. Validation is strict because a typo here either grants nothing (pods stay down) or
//! grants too much, and both are found far too late if the Lambda accepts them at start-up.

pub(crate) mod error;
mod parse;
pub(crate) mod registry;
pub(crate) mod sweep;
pub(crate) mod trust;
pub(crate) mod validate;

use std::collections::{BTreeSet, HashSet};
use std::path::Path;

use serde::{Deserialize, Serialize};
use wildmatch::WildMatch;

use crate::config::error::invalid;
pub use crate::config::error::ConfigError;
use crate::config::registry::{check_registry_features, check_registry_sids, RegistryFeatures};
pub(crate) use crate::config::sweep::SweepSettings;
pub use crate::config::trust::{Trust, TrustMode};
use crate::config::validate::{
    check_action, check_deployment, check_iam_arn, check_org_path, check_pattern, is_org_id,
    validate_rule_name,
};
pub(crate) use crate::config::validate::{PULL_ACTIONS, PUSH_ACTIONS};
use crate::names::caller::Caller;
use crate::names::is_account_id;
use crate::policy::{self, Condition, Ownership, Plan, Principal, Statement, MAX_POLICY_CHARS};

/// The validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// The rules, in configuration order.
    pub rules: Vec<Rule>,
    /// `dryRun` (or `REMEDIATOR_DRY_RUN`): decide and report, write nothing.
    pub dry_run: bool,
    /// How the scheduled sweep paces itself.
    pub sweep: SweepSettings,
    /// The deployment's name, when several deployments share a registry.
    pub deployment: Option<String>,
    /// Which statements this deployment owns.
    pub ownership: Ownership,
    /// The trust boundary, when the rules set one: `None` leaves foreign grants unjudged.
    pub trust: Option<Trust>,
}

/// One validated rule.
#[derive(Debug, Clone)]
pub struct Rule {
    pub name: String,
    repositories: Vec<Pattern>,
    exclude: Vec<Pattern>,
    pub principals: Principals,
    pub access: Access,
    /// Every action the rule grants: the access level's plus the extra ones, sorted.
    pub actions: Vec<String>,
    pub create_on_denied_pull: bool,
    /// The creation templates the rule asks for (`PULL_THROUGH_CACHE`, `REPLICATION`,
    /// `CREATE_ON_PUSH`), sorted; empty when it asks for none.
    pub creation_templates: Vec<String>,
    /// Grant the principals what pull-through cache needs, in the registry policy.
    pub pull_through_cache: bool,
    /// Grant the rule's access in the registry policy too (scope V2 only).
    pub registry_grant: bool,
}

/// Who a rule grants to. Every list is sorted and free of duplicates.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Principals {
    #[serde(default)]
    pub accounts: Vec<String>,
    #[serde(default)]
    pub roles: Vec<String>,
    #[serde(default)]
    pub organizations: Vec<String>,
    #[serde(default)]
    pub organization_paths: Vec<String>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Access {
    #[default]
    Pull,
    Push,
}

#[derive(Debug, Clone)]
struct Pattern {
    text: String,
    matcher: WildMatch,
}

impl Config {
    /// Reads a configuration file.
    pub fn from_file(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Self::from_json(&text)
    }

    /// Reads the configuration the way the Lambda does: `REMEDIATOR_CONFIG` or
    /// `REMEDIATOR_CONFIG_FILE`, then `REMEDIATOR_DRY_RUN=true` forces a dry run.
    pub fn from_env() -> Result<Self, ConfigError> {
        let inline = std::env::var("REMEDIATOR_CONFIG")
            .ok()
            .filter(|s| !s.is_empty());
        let file = std::env::var_os("REMEDIATOR_CONFIG_FILE").filter(|s| !s.is_empty());
        let mut config = match (inline, file) {
            (Some(_), Some(_)) => return Err(ConfigError::Ambiguous),
            (Some(text), None) => Self::from_json(&text)?,
            (None, Some(path)) => Self::from_file(Path::new(&path))?,
            (None, None) => return Err(ConfigError::Missing),
        };
        config.dry_run |= dry_run_from_env();
        Ok(config)
    }

    /// The statements the rules that match `repository` want in its policy, sorted by `Sid`.
    pub fn desired(&self, repository: &str) -> Vec<Statement> {
        desired_statements(self.matching(repository), &self.ownership)
    }

    /// The same deployment with no rules: what uninstalling converges to. Its ownership stays,
    /// so every statement it owns is taken back, every template it owns deleted, and nothing
    /// else touched: its trust boundary goes too, or `revoke` would take the foreign grants the
    /// rules' principals no longer vouch for. A rules file can never say this (it must have a
    /// rule); only code asks.
    pub fn without_rules(&self) -> Config {
        Config {
            rules: Vec::new(),
            trust: None,
            ..self.clone()
        }
    }

    /// The rules whose patterns match `repository`, in configuration order.
    pub fn matching<'a>(&'a self, repository: &'a str) -> impl Iterator<Item = &'a Rule> + 'a {
        self.rules.iter().filter(move |r| r.matches(repository))
    }
}

/// `REMEDIATOR_DRY_RUN` set to `true` or `1`.
pub fn dry_run_from_env() -> bool {
    std::env::var("REMEDIATOR_DRY_RUN")
        .map(|v| matches!(v.trim().to_ascii_lowercase().as_str(), "true" | "1"))
        .unwrap_or(false)
}

impl Rule {
    /// The IAM role and user ARNs the rule names: the principals IAM may not know.
    pub fn named_arns(&self) -> &[String] {
        &self.principals.roles
    }

    /// Whether the rule covers `repository`: some pattern matches and no exclusion does.
    pub fn matches(&self, repository: &str) -> bool {
        self.repositories
            .iter()
            .any(|p| p.matcher.matches(repository))
            && !self.exclude.iter().any(|p| p.matcher.matches(repository))
    }

    pub fn repository_patterns(&self) -> impl Iterator<Item = &str> {
        self.repositories.iter().map(|p| p.text.as_str())
    }

    pub fn exclude_patterns(&self) -> impl Iterator<Item = &str> {
        self.exclude.iter().map(|p| p.text.as_str())
    }

    /// Whether the rule names this caller explicitly: its account, or its role or user ARN.
    /// Organization membership does not count: the event cannot prove it.
    pub fn names_caller(&self, caller: &Caller) -> bool {
        let by_account = caller
            .account
            .as_ref()
            .is_some_and(|a| self.principals.accounts.contains(a));
        let by_arn = caller
            .principal_arn
            .as_ref()
            .is_some_and(|arn| self.principals.roles.contains(arn));
        by_account || by_arn
    }

    /// Whom the rule grants to, as statements need them: `(kind, principal, condition)`.
    ///
    /// Conditions inside one statement are ANDed, so organizations and organization paths get a
    /// statement each; account roots and IAM ARNs share one.
    pub fn grantees(&self) -> Vec<(&'static str, Principal, Option<Condition>)> {
        let p = &self.principals;
        let mut out = Vec::new();
        let mut arns: Vec<String> = p
            .accounts
            .iter()
            .map(|a| format!("arn:aws:iam::{a}:root"))
            .chain(p.roles.iter().cloned())
            .collect();
        arns.sort();
        arns.dedup();
        if !arns.is_empty() {
            out.push(("Principals", Principal::Aws(arns), None));
        }
        if !p.organizations.is_empty() {
            let condition = Condition {
                operator: "StringEquals",
                key: "aws:PrincipalOrgID",
                values: p.organizations.clone(),
            };
            out.push(("Org", Principal::Any, Some(condition)));
        }
        if !p.organization_paths.is_empty() {
            let condition = Condition {
                operator: "ForAnyValue:StringLike",
                key: "aws:PrincipalOrgPaths",
                values: p.organization_paths.clone(),
            };
            out.push(("OrgPaths", Principal::Any, Some(condition)));
        }
        out
    }

    /// The statements this rule wants in every repository it matches.
    pub fn statements(&self, owner: &Ownership) -> Vec<Statement> {
        self.grantees()
            .into_iter()
            .map(|(kind, principal, condition)| Statement {
                sid: owner.sid(&self.name, kind),
                principal,
                actions: self.actions.clone(),
                condition,
                resources: Vec::new(),
            })
            .collect()
    }
}

/// The statements every matching rule wants, sorted by `Sid`.
pub(crate) fn desired_statements<'a>(
    rules: impl IntoIterator<Item = &'a Rule>,
    owner: &Ownership,
) -> Vec<Statement> {
    let mut out: Vec<Statement> = rules
        .into_iter()
        .flat_map(|r| r.statements(owner))
        .collect();
    out.sort_by(|a, b| a.sid.cmp(&b.sid));
    out
}

#[cfg(test)]
mod tests;
