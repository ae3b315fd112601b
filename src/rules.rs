//! The rules: which repositories get which grant, to whom.
//!
//! The configuration is the only source of *what* is granted to *whom*; events only pick the
//! repository. Validation is strict because a typo here either grants nothing (pods stay down) or
//! grants too much, and both are found far too late if the Lambda accepts them at start-up.

use std::collections::{BTreeSet, HashSet};
use std::path::Path;

use serde::{Deserialize, Serialize};
use wildmatch::WildMatch;

use crate::policy::{Principal, Statement};

/// Every statement the remediator writes carries a `Sid` that starts with this prefix; statements
/// without it belong to someone else and are never touched.
pub const SID_PREFIX: &str = "EcrPolicyRemediator-";

/// Actions that let a principal pull an image (and look at what it pulls).
pub const PULL_ACTIONS: &[&str] = &[
    "ecr:BatchCheckLayerAvailability",
    "ecr:BatchGetImage",
    "ecr:DescribeImages",
    "ecr:DescribeRepositories",
    "ecr:GetDownloadUrlForLayer",
    "ecr:ListImages",
];

/// Actions that push needs on top of pull.
pub const PUSH_ACTIONS: &[&str] = &[
    "ecr:CompleteLayerUpload",
    "ecr:InitiateLayerUpload",
    "ecr:PutImage",
    "ecr:UploadLayerPart",
];

/// Longest rule name, so that a `Sid` stays readable in the console.
const MAX_RULE_NAME: usize = 64;

/// A configuration that cannot be used, with the path of the offending field.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{path}: {message}")]
    Invalid { path: String, message: String },
    #[error("cannot read configuration file {path}: {source}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "no configuration: set REMEDIATOR_CONFIG (the JSON itself) or REMEDIATOR_CONFIG_FILE (a path)"
    )]
    Missing,
    #[error("both REMEDIATOR_CONFIG and REMEDIATOR_CONFIG_FILE are set: set only one")]
    Ambiguous,
}

fn invalid(path: impl Into<String>, message: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        path: path.into(),
        message: message.into(),
    }
}

/// The validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub rules: Vec<Rule>,
    pub dry_run: bool,
    pub sweep: SweepSettings,
}

/// How the scheduled sweep paces itself. ECR publishes no request-rate quota for the policy and
/// describe calls, but throttles them all the same, and the registry's other callers (pipelines,
/// pull-through cache) share whatever the quota is; the defaults are deliberately slow.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase", default)]
pub struct SweepSettings {
    /// Repositories worked on at once.
    pub concurrency: usize,
    /// Cap on ECR requests per second, over the whole sweep.
    pub requests_per_second: f64,
    /// The schedule's period: successive sweeps start at successive shards of the name space.
    pub interval_minutes: u64,
    /// A sweep starts no new repository this close to the Lambda deadline.
    pub safety_margin_seconds: u64,
}

impl Default for SweepSettings {
    fn default() -> Self {
        SweepSettings {
            concurrency: 4,
            requests_per_second: 10.0,
            interval_minutes: 60,
            safety_margin_seconds: 20,
        }
    }
}

impl SweepSettings {
    /// Checks the settings; `at` is the path of the object they came from.
    pub fn validate(&self, at: &str) -> Result<(), ConfigError> {
        if !(1..=64).contains(&self.concurrency) {
            return Err(invalid(
                format!("{at}.concurrency"),
                format!("{} is out of range: use 1 to 64", self.concurrency),
            ));
        }
        if !(self.requests_per_second >= 0.1 && self.requests_per_second <= 1000.0) {
            return Err(invalid(
                format!("{at}.requestsPerSecond"),
                format!(
                    "{} is out of range: use 0.1 to 1000",
                    self.requests_per_second
                ),
            ));
        }
        if !(1..=10_080).contains(&self.interval_minutes) {
            return Err(invalid(
                format!("{at}.intervalMinutes"),
                "use the schedule's period in minutes, 1 to 10080 (a week)",
            ));
        }
        if self.safety_margin_seconds > 600 {
            return Err(invalid(
                format!("{at}.safetyMarginSeconds"),
                "use 0 to 600 seconds",
            ));
        }
        Ok(())
    }
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

/// The caller of a denied pull, as far as the event tells.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Caller {
    pub account: Option<String>,
    /// The IAM role (from `sessionContext.sessionIssuer.arn`) or user ARN.
    pub principal_arn: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawConfig {
    rules: Vec<RawRule>,
    #[serde(default)]
    dry_run: bool,
    #[serde(default)]
    sweep: SweepSettings,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawRule {
    name: String,
    repositories: Vec<String>,
    #[serde(default)]
    exclude: Vec<String>,
    principals: Principals,
    #[serde(default)]
    access: Access,
    #[serde(default)]
    actions: Vec<String>,
    #[serde(default)]
    create_on_denied_pull: bool,
}

impl Config {
    /// Parses and validates a configuration document.
    pub fn from_json(text: &str) -> Result<Self, ConfigError> {
        let mut de = serde_json::Deserializer::from_str(text);
        let raw: RawConfig = serde_path_to_error::deserialize(&mut de).map_err(|e| {
            let path = e.path().to_string();
            let path = if path == "." { "(root)".into() } else { path };
            invalid(path, e.into_inner().to_string())
        })?;
        if raw.rules.is_empty() {
            return Err(invalid("rules", "at least one rule is required"));
        }
        let mut names = HashSet::new();
        let mut rules = Vec::with_capacity(raw.rules.len());
        for (i, raw_rule) in raw.rules.into_iter().enumerate() {
            let at = format!("rules[{i}]");
            if !names.insert(raw_rule.name.clone()) {
                return Err(invalid(
                    format!("{at}.name"),
                    format!(
                        "two rules are named {:?}: names must be unique, they become statement Sids",
                        raw_rule.name
                    ),
                ));
            }
            rules.push(Rule::validate(raw_rule, &at)?);
        }
        raw.sweep.validate("sweep")?;
        Ok(Config {
            rules,
            dry_run: raw.dry_run,
            sweep: raw.sweep,
        })
    }

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
    fn validate(raw: RawRule, at: &str) -> Result<Self, ConfigError> {
        validate_rule_name(&raw.name).map_err(|m| invalid(format!("{at}.name"), m))?;
        if raw.repositories.is_empty() {
            return Err(invalid(
                format!("{at}.repositories"),
                "at least one pattern is required, e.g. \"registry.k8s.io/*\"",
            ));
        }
        let repositories = compile_patterns(&raw.repositories, &format!("{at}.repositories"))?;
        let exclude = compile_patterns(&raw.exclude, &format!("{at}.exclude"))?;
        let principals = validate_principals(raw.principals, &format!("{at}.principals"))?;

        let mut actions: BTreeSet<String> = PULL_ACTIONS.iter().map(|a| a.to_string()).collect();
        if raw.access == Access::Push {
            actions.extend(PUSH_ACTIONS.iter().map(|a| a.to_string()));
        }
        for (i, action) in raw.actions.iter().enumerate() {
            validate_action(action).map_err(|m| invalid(format!("{at}.actions[{i}]"), m))?;
            actions.insert(action.clone());
        }
        if raw.create_on_denied_pull
            && principals.accounts.is_empty()
            && principals.roles.is_empty()
        {
            return Err(invalid(
                format!("{at}.createOnDeniedPull"),
                "a repository is only created for a caller the rule names in principals.accounts \
                 or principals.roles, and this rule names none",
            ));
        }
        Ok(Rule {
            name: raw.name,
            repositories,
            exclude,
            principals,
            access: raw.access,
            actions: actions.into_iter().collect(),
            create_on_denied_pull: raw.create_on_denied_pull,
        })
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

    /// The statements this rule wants in every repository it matches.
    ///
    /// Conditions inside one statement are ANDed, so organizations and organization paths get a
    /// statement each; account roots and IAM ARNs share one.
    pub fn statements(&self) -> Vec<Statement> {
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
            out.push(Statement {
                sid: format!("{SID_PREFIX}{}-Principals", self.name),
                principal: Principal::Aws(arns),
                actions: self.actions.clone(),
                condition: None,
            });
        }
        if !p.organizations.is_empty() {
            out.push(Statement {
                sid: format!("{SID_PREFIX}{}-Org", self.name),
                principal: Principal::Any,
                actions: self.actions.clone(),
                condition: Some((
                    "StringEquals",
                    "aws:PrincipalOrgID",
                    p.organizations.clone(),
                )),
            });
        }
        if !p.organization_paths.is_empty() {
            out.push(Statement {
                sid: format!("{SID_PREFIX}{}-OrgPaths", self.name),
                principal: Principal::Any,
                actions: self.actions.clone(),
                condition: Some((
                    "ForAnyValue:StringLike",
                    "aws:PrincipalOrgPaths",
                    p.organization_paths.clone(),
                )),
            });
        }
        out
    }
}

/// The statements every matching rule wants, sorted by `Sid`.
pub fn desired_statements<'a>(rules: impl IntoIterator<Item = &'a Rule>) -> Vec<Statement> {
    let mut out: Vec<Statement> = rules.into_iter().flat_map(Rule::statements).collect();
    out.sort_by(|a, b| a.sid.cmp(&b.sid));
    out
}

fn validate_rule_name(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= MAX_RULE_NAME
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{name:?} is not a valid rule name: use 1-{MAX_RULE_NAME} letters, digits, '-' or '_', \
             starting with a letter or digit (it becomes part of the statement Sid)"
        ))
    }
}

fn compile_patterns(patterns: &[String], at: &str) -> Result<Vec<Pattern>, ConfigError> {
    patterns
        .iter()
        .enumerate()
        .map(|(i, text)| {
            check_pattern(text).map_err(|m| invalid(format!("{at}[{i}]"), m))?;
            Ok(Pattern {
                text: text.clone(),
                matcher: WildMatch::new(text),
            })
        })
        .collect()
}

/// Refuses a pattern that no legal repository name can match, such as `Team-A/*` or `a//b`.
///
/// Legal names (ECR's pattern, 2-256 characters) are exactly the words of a two-state automaton:
/// `Need` (a letter or digit must come next; start state) and `Alnum` (accepting; a letter or
/// digit, or one of `._-/` back to `Need`). Running the pattern through that automaton, with `?`
/// as any one character and `*` as any run, tells exactly whether some legal name matches.
fn check_pattern(pattern: &str) -> Result<(), String> {
    const NEED: u8 = 1;
    const ALNUM: u8 = 2;
    const LEGAL: &str =
        "lowercase letters, digits, '.', '_', '-', '/', and the wildcards '*' and '?'";
    if pattern.is_empty() {
        return Err("an empty pattern matches no repository".into());
    }
    if let Some(c) = pattern
        .chars()
        .find(|c| !matches!(c, 'a'..='z' | '0'..='9' | '.' | '_' | '-' | '/' | '*' | '?'))
    {
        return Err(format!(
            "{pattern:?} can never match a repository name: {c:?} is not allowed (use {LEGAL})"
        ));
    }
    let mut states = NEED;
    for c in pattern.chars() {
        states = match c {
            '*' => {
                if states == 0 {
                    0
                } else {
                    NEED | ALNUM
                }
            }
            '?' => {
                let mut next = 0;
                if states & (NEED | ALNUM) != 0 {
                    next |= ALNUM;
                }
                if states & ALNUM != 0 {
                    next |= NEED;
                }
                next
            }
            c if c.is_ascii_alphanumeric() => {
                if states != 0 {
                    ALNUM
                } else {
                    0
                }
            }
            _ => {
                if states & ALNUM != 0 {
                    NEED
                } else {
                    0
                }
            }
        };
    }
    let fixed_len = pattern.chars().filter(|&c| c != '*').count();
    let has_star = pattern.contains('*');
    if states & ALNUM == 0 {
        return Err(format!(
            "{pattern:?} can never match a repository name: names are lowercase components \
             separated by '/', each made of letters and digits joined by single '.', '_' or '-'"
        ));
    }
    if fixed_len > 256 || (!has_star && fixed_len < 2) {
        return Err(format!(
            "{pattern:?} can never match a repository name: names are 2 to 256 characters long"
        ));
    }
    Ok(())
}

fn validate_principals(mut p: Principals, at: &str) -> Result<Principals, ConfigError> {
    if p.accounts.is_empty()
        && p.roles.is_empty()
        && p.organizations.is_empty()
        && p.organization_paths.is_empty()
    {
        return Err(invalid(
            at,
            "at least one of accounts, roles, organizations or organizationPaths is required",
        ));
    }
    for (i, account) in p.accounts.iter().enumerate() {
        if !is_account_id(account) {
            return Err(invalid(
                format!("{at}.accounts[{i}]"),
                format!("{account:?} is not an AWS account ID: use exactly 12 digits, as a string"),
            ));
        }
    }
    for (i, arn) in p.roles.iter().enumerate() {
        check_iam_arn(arn).map_err(|m| invalid(format!("{at}.roles[{i}]"), m))?;
    }
    for (i, org) in p.organizations.iter().enumerate() {
        if !is_org_id(org) {
            return Err(invalid(
                format!("{at}.organizations[{i}]"),
                format!("{org:?} is not an organization ID: use \"o-\" and 10 to 32 lowercase letters or digits"),
            ));
        }
    }
    for (i, path) in p.organization_paths.iter().enumerate() {
        check_org_path(path).map_err(|m| invalid(format!("{at}.organizationPaths[{i}]"), m))?;
    }
    for list in [
        &mut p.accounts,
        &mut p.roles,
        &mut p.organizations,
        &mut p.organization_paths,
    ] {
        list.sort();
        list.dedup();
    }
    Ok(p)
}

pub fn is_account_id(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

fn is_org_id(s: &str) -> bool {
    s.strip_prefix("o-").is_some_and(|rest| {
        (10..=32).contains(&rest.len())
            && rest
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    })
}

fn is_lower_alnum(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
}

/// `arn:PARTITION:iam::ACCOUNT:role/PATH/NAME` or `...:user/...`, without wildcards: a repository
/// policy principal must name one principal exactly.
fn check_iam_arn(arn: &str) -> Result<(), String> {
    let hint =
        "use an IAM role or user ARN such as \"arn:aws:iam::123456789012:role/eks-node-role\"";
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let ok = parts.len() == 6
        && parts[0] == "arn"
        && parts[1].starts_with("aws")
        && parts[1]
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b == b'-')
        && parts[2] == "iam"
        && parts[3].is_empty()
        && is_account_id(parts[4]);
    if !ok {
        return Err(format!("{arn:?} is not an IAM ARN: {hint}"));
    }
    let resource = parts[5];
    let name = match resource
        .strip_prefix("role/")
        .or_else(|| resource.strip_prefix("user/"))
    {
        Some(name) => name,
        None => {
            return Err(format!(
                "{arn:?} names neither a role nor a user (assumed-role session ARNs change with every session): {hint}"
            ))
        }
    };
    let legal = |c: char| c.is_ascii_alphanumeric() || "+=,.@_-/".contains(c);
    if name.is_empty() || name.ends_with('/') || !name.chars().all(legal) {
        return Err(format!(
            "{arn:?} has an invalid role or user name (no wildcards; letters, digits and +=,.@_-): {hint}"
        ));
    }
    Ok(())
}

/// `o-ORG/r-ROOT/ou-.../` or the same ending in `/*`, as `aws:PrincipalOrgPaths` takes them.
fn check_org_path(path: &str) -> Result<(), String> {
    let hint = "use e.g. \"o-a1b2c3d4e5/r-ab12/ou-ab12-11111111/*\" or \"o-a1b2c3d4e5/*\"";
    let segments: Vec<&str> = path.split('/').collect();
    let (first, rest) = segments.split_first().ok_or_else(|| hint.to_string())?;
    let (last, middle) = match rest.split_last() {
        Some(x) => x,
        None => {
            return Err(format!(
                "{path:?} must end with '/' or '/*' after the organization: {hint}"
            ))
        }
    };
    if !is_org_id(first) {
        return Err(format!(
            "{path:?} does not start with an organization ID: {hint}"
        ));
    }
    if !(last.is_empty() || *last == "*") {
        return Err(format!("{path:?} must end with '/' or '/*': {hint}"));
    }
    for (i, seg) in middle.iter().enumerate() {
        let ok = if i == 0 && seg.starts_with("r-") {
            seg.strip_prefix("r-").is_some_and(is_lower_alnum)
        } else {
            seg.strip_prefix("ou-").is_some_and(|ou| {
                ou.split_once('-')
                    .is_some_and(|(a, b)| is_lower_alnum(a) && is_lower_alnum(b))
            })
        };
        if !ok {
            return Err(format!(
                "{path:?}: segment {seg:?} is neither a root (r-...) nor an OU (ou-...-...): {hint}"
            ));
        }
    }
    Ok(())
}

fn validate_action(action: &str) -> Result<(), String> {
    let ok = action
        .strip_prefix("ecr:")
        .is_some_and(|a| !a.is_empty() && a.chars().all(|c| c.is_ascii_alphabetic() || c == '*'));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{action:?} is not an ECR action: use \"ecr:\" followed by the action name, e.g. \"ecr:BatchImportUpstreamImage\""
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(rule: &str) -> Result<Config, ConfigError> {
        Config::from_json(&format!(r#"{{"rules":[{rule}]}}"#))
    }

    fn error_of(rule: &str) -> (String, String) {
        match config(rule) {
            Err(ConfigError::Invalid { path, message }) => (path, message),
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    const GOOD: &str = r#"{"name":"k8s","repositories":["registry.k8s.io/*"],"principals":{"accounts":["222222222222"]}}"#;

    #[test]
    fn the_documented_example_is_valid() {
        let c = Config::from_json(
            r#"{"rules":[{"name":"k8s-mirror","repositories":["registry.k8s.io/*","quay.io/*"],
            "exclude":["quay.io/internal/*"],
            "principals":{"accounts":["987654321098"],"roles":["arn:aws:iam::987654321098:role/prod-eks-node-role"],
            "organizations":["o-a1b2c3d4e5"],"organizationPaths":["o-a1b2c3d4e5/r-ab12/ou-ab12-11111111/*"]},
            "access":"pull","actions":["ecr:BatchImportUpstreamImage"],"createOnDeniedPull":true}],"dryRun":false}"#,
        )
        .unwrap();
        let rule = &c.rules[0];
        assert!(rule.matches("registry.k8s.io/pause"));
        assert!(rule.matches("quay.io/jetstack/cert-manager-controller"));
        assert!(!rule.matches("quay.io/internal/secret"));
        assert!(!rule.matches("docker.io/library/nginx"));
        assert_eq!(rule.statements().len(), 3);
        assert!(rule
            .actions
            .contains(&"ecr:BatchImportUpstreamImage".to_string()));
    }

    #[test]
    fn star_crosses_slashes_and_question_mark_is_one_character() {
        let c = config(
            r#"{"name":"r","repositories":["team-?/*","exact"],"principals":{"accounts":["222222222222"]}}"#,
        )
        .unwrap();
        let r = &c.rules[0];
        assert!(r.matches("team-a/api"));
        assert!(r.matches("team-b/deep/nested/name"));
        assert!(!r.matches("team-ab/api"));
        assert!(r.matches("exact"));
        assert!(!r.matches("exact/child"));
        assert!(!r.matches("prefix-exact"));
    }

    #[test]
    fn matching_returns_rules_in_configuration_order() {
        let c = Config::from_json(
            r#"{"rules":[
              {"name":"b","repositories":["*"],"principals":{"accounts":["222222222222"]}},
              {"name":"a","repositories":["team-a/*"],"principals":{"accounts":["333333333333"]}},
              {"name":"c","repositories":["team-c/*"],"principals":{"accounts":["333333333333"]}}]}"#,
        )
        .unwrap();
        let names: Vec<_> = c.matching("team-a/api").map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["b", "a"]);
    }

    #[test]
    fn statements_are_sorted_and_deterministic() {
        let c = config(
            r#"{"name":"r","repositories":["*"],"principals":{"accounts":["333333333333","222222222222","222222222222"],
            "roles":["arn:aws:iam::222222222222:role/b"]},"access":"push","actions":["ecr:ListTagsForResource"]}"#,
        )
        .unwrap();
        let s = c.rules[0].statements();
        assert_eq!(s.len(), 1);
        assert_eq!(s[0].sid, "EcrPolicyRemediator-r-Principals");
        assert_eq!(
            s[0].principal,
            Principal::Aws(vec![
                "arn:aws:iam::222222222222:role/b".into(),
                "arn:aws:iam::222222222222:root".into(),
                "arn:aws:iam::333333333333:root".into(),
            ])
        );
        let mut sorted = s[0].actions.clone();
        sorted.sort();
        assert_eq!(s[0].actions, sorted);
        assert_eq!(s[0].actions.len(), 11);
    }

    #[test]
    fn pull_access_is_the_default_and_grants_no_push() {
        let c = config(GOOD).unwrap();
        assert_eq!(c.rules[0].access, Access::Pull);
        assert_eq!(c.rules[0].actions, PULL_ACTIONS);
    }

    #[test]
    fn names_caller_by_account_or_role_but_not_by_organization() {
        let c = config(
            r#"{"name":"r","repositories":["*"],"principals":{"accounts":["222222222222"],
            "roles":["arn:aws:iam::333333333333:role/node"],"organizations":["o-a1b2c3d4e5"]}}"#,
        )
        .unwrap();
        let r = &c.rules[0];
        let caller = |account: &str, arn: Option<&str>| Caller {
            account: Some(account.into()),
            principal_arn: arn.map(Into::into),
        };
        assert!(r.names_caller(&caller("222222222222", None)));
        assert!(r.names_caller(&caller(
            "333333333333",
            Some("arn:aws:iam::333333333333:role/node")
        )));
        assert!(!r.names_caller(&caller(
            "333333333333",
            Some("arn:aws:iam::333333333333:role/other")
        )));
        assert!(!r.names_caller(&Caller::default()));
    }

    #[test]
    fn refuses_unknown_keys_with_their_path() {
        let (path, msg) = error_of(
            r#"{"name":"r","repositories":["*"],"principals":{"acounts":["222222222222"]}}"#,
        );
        assert_eq!(path, "rules[0].principals.acounts");
        assert!(msg.contains("accounts"), "{msg}");
    }

    #[test]
    fn refuses_an_eleven_digit_account() {
        let (path, msg) = error_of(
            r#"{"name":"r","repositories":["*"],"principals":{"accounts":["222222222222","22222222222"]}}"#,
        );
        assert_eq!(path, "rules[0].principals.accounts[1]");
        assert!(msg.contains("12 digits"), "{msg}");
    }

    #[test]
    fn refuses_an_account_given_as_a_number() {
        let (path, _) = error_of(
            r#"{"name":"r","repositories":["*"],"principals":{"accounts":[222222222222]}}"#,
        );
        assert_eq!(path, "rules[0].principals.accounts[0]");
    }

    #[test]
    fn refuses_arns_that_are_not_iam_roles_or_users() {
        for arn in [
            "arn:aws:sts::222222222222:assumed-role/node/i-1",
            "arn:aws:iam::222222222222:assumed-role/node/i-1",
            "arn:aws:iam::22222222222:role/node",
            "arn:aws:iam::222222222222:role/*",
            "arn:aws:iam::222222222222:role/",
            "arn:aws:iam::222222222222:policy/p",
            "222222222222",
        ] {
            let (path, msg) = error_of(&format!(
                r#"{{"name":"r","repositories":["*"],"principals":{{"roles":["{arn}"]}}}}"#
            ));
            assert_eq!(path, "rules[0].principals.roles[0]", "{arn}");
            assert!(msg.contains("arn:aws:iam::123456789012:role/"), "{msg}");
        }
        for arn in [
            "arn:aws:iam::222222222222:role/path/to/node-role",
            "arn:aws:iam::222222222222:user/ci@example",
            "arn:aws-cn:iam::222222222222:role/node",
        ] {
            config(&format!(
                r#"{{"name":"r","repositories":["*"],"principals":{{"roles":["{arn}"]}}}}"#
            ))
            .unwrap_or_else(|e| panic!("{arn}: {e}"));
        }
    }

    #[test]
    fn refuses_bad_organizations_and_paths() {
        let (path, _) = error_of(
            r#"{"name":"r","repositories":["*"],"principals":{"organizations":["o-short"]}}"#,
        );
        assert_eq!(path, "rules[0].principals.organizations[0]");
        for bad in [
            "o-a1b2c3d4e5",
            "o-a1b2c3d4e5/r-ab12/ou-ab12-11111111",
            "x-a1b2c3d4e5/*",
            "o-a1b2c3d4e5/r-ab12/team/*",
        ] {
            let (path, _) = error_of(&format!(
                r#"{{"name":"r","repositories":["*"],"principals":{{"organizationPaths":["{bad}"]}}}}"#
            ));
            assert_eq!(path, "rules[0].principals.organizationPaths[0]", "{bad}");
        }
        for good in [
            "o-a1b2c3d4e5/*",
            "o-a1b2c3d4e5/r-ab12/",
            "o-a1b2c3d4e5/r-ab12/ou-ab12-11111111/ou-ab12-22222222/*",
        ] {
            config(&format!(
                r#"{{"name":"r","repositories":["*"],"principals":{{"organizationPaths":["{good}"]}}}}"#
            ))
            .unwrap_or_else(|e| panic!("{good}: {e}"));
        }
    }

    #[test]
    fn refuses_an_action_without_the_ecr_prefix() {
        let (path, msg) = error_of(
            r#"{"name":"r","repositories":["*"],"principals":{"accounts":["222222222222"]},"actions":["ecr:ListImages","s3:GetObject"]}"#,
        );
        assert_eq!(path, "rules[0].actions[1]");
        assert!(msg.contains("ecr:"), "{msg}");
    }

    #[test]
    fn refuses_patterns_that_can_never_match() {
        for bad in [
            "Team-A/*",
            "a//b",
            "/a",
            "a/",
            "a..b",
            "-a*",
            "*-",
            "",
            "a",
            "a b",
            "team_a/[x]",
        ] {
            let (path, msg) = error_of(&format!(
                r#"{{"name":"r","repositories":["ok/*","{bad}"],"principals":{{"accounts":["222222222222"]}}}}"#
            ));
            assert_eq!(path, "rules[0].repositories[1]", "{bad}");
            assert!(msg.contains("match"), "{bad}: {msg}");
        }
        let long = "a".repeat(257);
        let (path, _) = error_of(&format!(
            r#"{{"name":"r","repositories":["{long}"],"principals":{{"accounts":["222222222222"]}}}}"#
        ));
        assert_eq!(path, "rules[0].repositories[0]");
        let (path, _) = error_of(
            r#"{"name":"r","repositories":["*"],"exclude":["UPPER/*"],"principals":{"accounts":["222222222222"]}}"#,
        );
        assert_eq!(path, "rules[0].exclude[0]");
    }

    #[test]
    fn accepts_patterns_that_can_match() {
        for good in [
            "*",
            "?*",
            "a?",
            "ab",
            "registry.k8s.io/*",
            "*/nginx",
            "team-?/*",
            "a*b",
            "a.*",
            "a/*/b",
        ] {
            config(&format!(
                r#"{{"name":"r","repositories":["{good}"],"principals":{{"accounts":["222222222222"]}}}}"#
            ))
            .unwrap_or_else(|e| panic!("{good}: {e}"));
        }
    }

    #[test]
    fn refuses_two_rules_with_one_name() {
        let err = Config::from_json(&format!(r#"{{"rules":[{GOOD},{GOOD}]}}"#)).unwrap_err();
        assert!(
            matches!(&err, ConfigError::Invalid { path, .. } if path == "rules[1].name"),
            "{err}"
        );
    }

    #[test]
    fn refuses_rule_names_that_cannot_be_sids() {
        let (path, _) = error_of(
            r#"{"name":"k8s mirror","repositories":["*"],"principals":{"accounts":["222222222222"]}}"#,
        );
        assert_eq!(path, "rules[0].name");
    }

    #[test]
    fn refuses_a_rule_without_principals_or_repositories() {
        let (path, _) = error_of(r#"{"name":"r","repositories":["*"],"principals":{}}"#);
        assert_eq!(path, "rules[0].principals");
        let (path, _) = error_of(
            r#"{"name":"r","repositories":[],"principals":{"accounts":["222222222222"]}}"#,
        );
        assert_eq!(path, "rules[0].repositories");
    }

    #[test]
    fn refuses_create_on_denied_pull_without_named_callers() {
        let (path, _) = error_of(
            r#"{"name":"r","repositories":["*"],"principals":{"organizations":["o-a1b2c3d4e5"]},"createOnDeniedPull":true}"#,
        );
        assert_eq!(path, "rules[0].createOnDeniedPull");
    }

    #[test]
    fn refuses_an_unknown_access_level_and_top_level_key() {
        let (path, msg) = error_of(
            r#"{"name":"r","repositories":["*"],"principals":{"accounts":["222222222222"]},"access":"admin"}"#,
        );
        assert_eq!(path, "rules[0].access");
        assert!(msg.contains("pull"), "{msg}");
        let err = Config::from_json(&format!(r#"{{"rules":[{GOOD}],"dryrun":true}}"#)).unwrap_err();
        assert!(err.to_string().contains("dryRun"), "{err}");
    }

    #[test]
    fn sweep_settings_have_conservative_defaults_and_are_checked() {
        let c = config(GOOD).unwrap();
        assert_eq!(c.sweep, SweepSettings::default());
        let c = Config::from_json(&format!(
            r#"{{"rules":[{GOOD}],"sweep":{{"concurrency":8,"requestsPerSecond":2.5}}}}"#
        ))
        .unwrap();
        assert_eq!(c.sweep.concurrency, 8);
        assert_eq!(c.sweep.requests_per_second, 2.5);
        assert_eq!(c.sweep.interval_minutes, 60);
        for (bad, path) in [
            (r#"{"concurrency":0}"#, "sweep.concurrency"),
            (r#"{"requestsPerSecond":0}"#, "sweep.requestsPerSecond"),
            (r#"{"intervalMinutes":0}"#, "sweep.intervalMinutes"),
            (
                r#"{"safetyMarginSeconds":3600}"#,
                "sweep.safetyMarginSeconds",
            ),
            (r#"{"rate":5}"#, "sweep.rate"),
        ] {
            let err =
                Config::from_json(&format!(r#"{{"rules":[{GOOD}],"sweep":{bad}}}"#)).unwrap_err();
            assert!(
                matches!(&err, ConfigError::Invalid { path: p, .. } if p == path),
                "{bad}: {err}"
            );
        }
    }

    #[test]
    fn refuses_empty_rules_and_non_json() {
        let err = Config::from_json(r#"{"rules":[]}"#).unwrap_err();
        assert!(err.to_string().starts_with("rules:"), "{err}");
        assert!(Config::from_json("rules: []").is_err());
    }
}
