//! The rule keys that reach beyond a repository's policy: creation templates, pull-through-cache
//! prerequisites and registry grants, checked against what those documents can express.

use crate::config::error::{invalid, ConfigError};
use crate::names::check_repository_name;
use crate::policy::ownership::alphanumeric;

/// What [`check_registry_features`] needs to know of a rule.
pub(crate) struct RegistryFeatures<'a> {
    pub patterns: &'a [String],
    pub has_exclude: bool,
    pub pull_through_cache: bool,
    pub registry_grant: bool,
}

/// The creation templates a rule may ask for, as the API spells them.
pub(crate) const TEMPLATE_KINDS: &[&str] = &["CREATE_ON_PUSH", "PULL_THROUGH_CACHE", "REPLICATION"];

/// The prefix of the template for `pattern`, when the pattern is a whole namespace: `*` is
/// `ROOT`, `team-a/*` is `team-a`.
pub(crate) fn template_prefix(pattern: &str) -> Option<String> {
    if pattern == "*" {
        return Some("ROOT".into());
    }
    let prefix = pattern.strip_suffix("/*")?;
    (!prefix.contains(['*', '?']) && check_repository_name(prefix).is_ok())
        .then(|| prefix.to_string())
}

/// The template kinds of `creationTemplates`, each one ECR knows, sorted and once each.
fn template_kinds(templates: &[String], at: &str) -> Result<Vec<String>, ConfigError> {
    let mut kinds = Vec::new();
    for (i, kind) in templates.iter().enumerate() {
        if !TEMPLATE_KINDS.contains(&kind.as_str()) {
            return Err(invalid(
                format!("{at}.creationTemplates[{i}]"),
                format!(
                    "{kind:?} is not a creation template kind: use {}",
                    TEMPLATE_KINDS.join(", ")
                ),
            ));
        }
        kinds.push(kind.clone());
    }
    kinds.sort();
    kinds.dedup();
    Ok(kinds)
}

/// Checks `creationTemplates`, `pullThroughCache` and `registryGrant`; returns the templates the
/// rule asks for, sorted.
pub(crate) fn check_registry_features(
    rule: &RegistryFeatures,
    templates: &[String],
    at: &str,
) -> Result<Vec<String>, ConfigError> {
    let kinds = template_kinds(templates, at)?;
    let has_exclude = rule.has_exclude;
    let refuse = |key: &str, why: &str| {
        Err(invalid(
            format!("{at}.{key}"),
            format!("{why}; remove exclude, or split the rule"),
        ))
    };
    if !kinds.is_empty() {
        if has_exclude {
            return refuse(
                "creationTemplates",
                "a creation template applies to every repository ECR creates under its prefix, so \
                 it cannot leave the excluded ones out",
            );
        }
        for (i, pattern) in rule.patterns.iter().enumerate() {
            if template_prefix(pattern).is_none() {
                return Err(invalid(
                    format!("{at}.repositories[{i}]"),
                    format!(
                        "{pattern:?} is not a whole namespace, and creation templates match by \
                         namespace prefix only: use \"*\" (the ROOT template) or \"PREFIX/*\" with \
                         no other wildcard"
                    ),
                ));
            }
        }
    }
    if rule.pull_through_cache && has_exclude {
        return refuse(
            "pullThroughCache",
            "a registry policy statement grants on its resource patterns and cannot express \
             exclusions",
        );
    }
    if rule.registry_grant && has_exclude {
        return refuse(
            "registryGrant",
            "a registry policy statement grants on its resource patterns and cannot express \
             exclusions",
        );
    }
    Ok(kinds)
}

/// Registry-policy Sids hold only a rule name's letters and digits: two rules with registry
/// statements (`(name, has registry statements)`) must not come out the same.
pub(crate) fn check_registry_sids(rules: &[(&str, bool)]) -> Result<(), ConfigError> {
    let mut seen: Vec<(String, &str)> = Vec::new();
    for (i, (name, registry)) in rules.iter().enumerate() {
        if !registry {
            continue;
        }
        let key = alphanumeric(name);
        if let Some((_, other)) = seen.iter().find(|(k, _)| *k == key) {
            return Err(invalid(
                format!("rules[{i}].name"),
                format!(
                    "{name:?} and {other:?} are the same in letters and digits, which is all a \
                     registry policy Sid can hold: rename one"
                ),
            ));
        }
        seen.push((key, name));
    }
    Ok(())
}
