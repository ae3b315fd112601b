//! `ecr-policy-remediator check-config`: validates a rules file and prints every rule with the
//! statements it generates; reaches no AWS at all.

use std::io::Write;
use std::path::PathBuf;

use crate::cli::common::{load_config, stdout, CliError, Ran};

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
    out.flush()?;
    Ok(Ran::default())
}
