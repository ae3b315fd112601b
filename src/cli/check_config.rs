//! `ecr-policy-remediator check-config`: validates a rules file and prints every rule with the
//! statements it generates; reaches no AWS at all.

use std::io::Write;
use std::path::PathBuf;

use crate::cli::common::{load_config, stdout, CliError, Ran};
use ecr_policy_remediator::Config;

pub(crate) fn check_config(file: Option<PathBuf>) -> Result<Ran, CliError> {
    let config = load_config(file)?;
    let mut out = stdout();
    writeln!(
        out,
        "configuration is valid: {} rule(s), dryRun {}, deployment {}, statement Sids start with {}",
        config.rules.len(),
        config.dry_run,
        config.deployment.as_deref().unwrap_or("(none)"),
        config.ownership.prefix()
    )?;
    for rule in &config.rules {
        writeln!(out)?;
        writeln!(out, "rule {}", rule.name)?;
        let repositories: Vec<_> = rule.repository_patterns().collect();
        writeln!(out, "  repositories: {}", repositories.join(", "))?;
        let exclude: Vec<_> = rule.exclude_patterns().collect();
        if !exclude.is_empty() {
            writeln!(out, "  exclude: {}", exclude.join(", "))?;
        }
        writeln!(
            out,
            "  access: {}  createOnDeniedPull: {}",
            serde_json::to_string(&rule.access).unwrap_or_default(),
            rule.create_on_denied_pull
        )?;
        writeln!(out, "  statements:")?;
        for statement in rule.statements(&config.ownership) {
            let text = serde_json::to_string_pretty(&statement).unwrap_or_default();
            for line in text.lines() {
                writeln!(out, "    {line}")?;
            }
        }
    }
    print_trust(&mut out, &config)?;
    out.flush()?;
    Ok(Ran::default())
}

/// The trust boundary, when the rules set one: its mode and every principal it trusts, the rules'
/// own included. The registry's account is trusted too, but only AWS knows which it is.
fn print_trust(out: &mut impl Write, config: &Config) -> std::io::Result<()> {
    let Some(trust) = &config.trust else {
        return Ok(());
    };
    let mut set = config.trusted("");
    set.accounts.remove("");
    let mode = serde_json::to_string(&trust.mode).unwrap_or_default();
    writeln!(out)?;
    writeln!(out, "trust: mode {}", mode.trim_matches('"'))?;
    let show = |items: &std::collections::BTreeSet<String>| match items.len() {
        0 => "(none)".to_string(),
        _ => items.iter().cloned().collect::<Vec<_>>().join(", "),
    };
    writeln!(
        out,
        "  accounts: the registry's own, {}",
        show(&set.accounts)
    )?;
    writeln!(out, "  roles and users: {}", show(&set.arns))?;
    writeln!(out, "  organizations: {}", show(&set.organizations))?;
    writeln!(
        out,
        "  organization paths: {}",
        show(&set.organization_paths)
    )?;
    writeln!(out, "  services: {}", show(&set.services))
}
