//! Reading the rules: the raw document as written, then each field checked and turned into the
//! validated [`Config`], every refusal naming the field at fault.

use super::*;
use crate::config::trust::RawTrust;

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawConfig {
    rules: Vec<RawRule>,
    #[serde(default)]
    dry_run: bool,
    #[serde(default)]
    sweep: SweepSettings,
    #[serde(default)]
    deployment: Option<String>,
    #[serde(default)]
    trust: Option<RawTrust>,
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
    #[serde(default)]
    creation_templates: Vec<String>,
    #[serde(default)]
    pull_through_cache: bool,
    #[serde(default)]
    registry_grant: bool,
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
        if let Some(name) = &raw.deployment {
            check_deployment(name).map_err(|m| invalid("deployment", m))?;
        }
        let ownership = Ownership::new(raw.deployment.as_deref());
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
            let rule = Rule::validate(raw_rule, &at)?;
            rule.check_size(&ownership, &at)?;
            rules.push(rule);
        }
        raw.sweep.validate("sweep")?;
        let registry: Vec<(&str, bool)> = rules
            .iter()
            .map(|r| (r.name.as_str(), r.pull_through_cache || r.registry_grant))
            .collect();
        check_registry_sids(&registry)?;
        let trust = raw.trust.map(|t| Trust::validate(t, "trust")).transpose()?;
        Ok(Config {
            rules,
            dry_run: raw.dry_run,
            sweep: raw.sweep,
            deployment: raw.deployment,
            ownership,
            trust,
        })
    }
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
            let action =
                check_action(action).map_err(|m| invalid(format!("{at}.actions[{i}]"), m))?;
            actions.insert(action.to_string());
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
        let features = RegistryFeatures {
            patterns: &raw.repositories,
            has_exclude: !raw.exclude.is_empty(),
            pull_through_cache: raw.pull_through_cache,
            registry_grant: raw.registry_grant,
        };
        let creation_templates = check_registry_features(&features, &raw.creation_templates, at)?;
        let rule = Rule {
            name: raw.name,
            repositories,
            exclude,
            principals,
            access: raw.access,
            actions: actions.into_iter().collect(),
            create_on_denied_pull: raw.create_on_denied_pull,
            creation_templates: Vec::new(),
            pull_through_cache: raw.pull_through_cache,
            registry_grant: raw.registry_grant,
        };
        Ok(Rule {
            creation_templates,
            ..rule
        })
    }

    /// Refuses a rule whose statements alone would not fit in a repository policy.
    fn check_size(&self, owner: &Ownership, at: &str) -> Result<(), ConfigError> {
        let chars = match policy::plan(None, &self.statements(owner), &[], owner) {
            Ok(d) => match d.plan {
                Plan::Write { text, .. } => text.chars().count(),
                _ => 0,
            },
            Err(policy::PolicyError::TooLarge { chars }) => chars,
            Err(_) => 0,
        };
        if chars > MAX_POLICY_CHARS {
            return Err(invalid(
                at.to_string(),
                format!(
                    "its statements alone make a policy of {chars} characters, over ECR's limit \
                     of {MAX_POLICY_CHARS}: split the rule, or name accounts or an organization \
                     instead of many roles"
                ),
            ));
        }
        Ok(())
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
