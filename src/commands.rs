//! The subcommands that read events, repositories and rules, and what every subcommand shares:
//! loading the rules, reaching ECR, exit codes, diffs.

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::ValueEnum;
use serde_json::Value;

use crate::converge::Remediator;
use crate::outcome::{DocumentReport, Outcome, Status};
use crate::policy::{pretty, Plan};
use crate::rules::{Config, ConfigError};

/// Exit codes: 0 all fine, 1 something failed (an event, a repository, or AWS itself), 2 a usage
/// or configuration error only.
pub(crate) const FAILED: u8 = 1;
pub(crate) const USAGE_ERROR: u8 = 2;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    Text,
    Json,
}

/// Why a command could not run: the user's input, or AWS.
#[derive(Debug)]
pub(crate) enum CliError {
    Usage(String),
    Aws(String),
}

pub(crate) fn exit(failed: bool) -> ExitCode {
    if failed {
        ExitCode::from(FAILED)
    } else {
        ExitCode::SUCCESS
    }
}

pub(crate) fn load_config(path: Option<PathBuf>) -> Result<Config, CliError> {
    let config = match path {
        Some(path) => Config::from_file(&path).map(|mut c| {
            c.dry_run |= crate::rules::dry_run_from_env();
            c
        }),
        None => Config::from_env(),
    };
    config.map_err(|e: ConfigError| CliError::Usage(format!("invalid configuration: {e}")))
}

pub(crate) async fn connect(config: Config) -> Result<Remediator, CliError> {
    let sdk = crate::sdk_config().await;
    Remediator::connect(config, &sdk)
        .await
        .map(|r| r.with_self_role(std::env::var("REMEDIATOR_SELF_ROLE_ARN").ok()))
        .map_err(|e| CliError::Aws(format!("cannot learn the registry ID from ECR: {e}")))
}

/// One event file's text, or the sentence that says why it cannot be read.
fn read_event(name: &str) -> Result<String, String> {
    if name == "-" {
        let mut s = String::new();
        std::io::stdin()
            .read_to_string(&mut s)
            .map_err(|e| format!("cannot read standard input: {e}"))?;
        return Ok(s);
    }
    std::fs::read_to_string(name).map_err(|e| format!("cannot read {name}: {e}"))
}

pub(crate) async fn handle(
    config: Option<PathBuf>,
    dry_run: bool,
    events: &[String],
) -> Result<ExitCode, CliError> {
    let mut config = load_config(config)?;
    config.dry_run |= dry_run;
    let remediator = connect(config).await?;
    let mut failed = false;
    let mut stdout = std::io::stdout().lock();
    for name in events {
        // The Lambda runtime only ever hands over JSON; a file that cannot be read, or is not
        // JSON, is an event that cannot be handled, reported like any other, alone.
        let raw = read_event(name).and_then(|text| {
            serde_json::from_str::<Value>(&text).map_err(|e| format!("{name} is not JSON: {e}"))
        });
        let outcome = match raw {
            Ok(raw) => match remediator.handle(&raw, None).await {
                Ok(outcome) => outcome,
                Err(retryable) => *retryable.outcome,
            },
            Err(reason) => {
                let outcome = Outcome::unreadable(reason);
                outcome.log();
                outcome
            }
        };
        failed |= outcome.outcome == Status::Failed;
        let line = serde_json::to_string(&outcome).unwrap_or_default();
        writeln!(stdout, "{line}").map_err(|e| CliError::Aws(format!("cannot write: {e}")))?;
    }
    Ok(exit(failed))
}

pub(crate) async fn plan(
    config: Option<PathBuf>,
    registry: bool,
    repositories: &[String],
) -> Result<ExitCode, CliError> {
    let mut config = load_config(config)?;
    config.dry_run = true;
    for name in repositories {
        crate::names::check_repository_name(name).map_err(CliError::Usage)?;
    }
    let remediator = connect(config).await?;
    let mut failed = false;
    if registry {
        for d in remediator.converge_registry(None).await {
            failed |= d.outcome == Status::Failed;
            print_document(&d);
        }
    }
    for name in repositories {
        println!("== {name}");
        let report = match remediator.inspect(name, None).await {
            Ok(report) => report,
            Err(e) => {
                println!("   cannot read its policy: {e}");
                failed = true;
                continue;
            }
        };
        if report.rules.is_empty() {
            println!("   no rule matches");
        } else {
            println!("   rules: {}", report.rules.join(", "));
        }
        match report.decision.map(|d| d.plan) {
            Ok(Plan::Unchanged) => println!("   the policy is already right: nothing to write"),
            Ok(Plan::Write { text, .. }) => print_diff(report.current.as_deref(), Some(&text)),
            Ok(Plan::Delete { .. }) => {
                println!("   the policy would be deleted: no statement would be left in it");
                print_diff(report.current.as_deref(), None);
            }
            Err(reason) => {
                println!("   cannot write: {reason}");
                failed = true;
            }
        }
    }
    Ok(exit(failed))
}

/// One of the registry's documents: what would change, or why it cannot.
pub(crate) fn print_document(d: &DocumentReport) {
    println!("== {}", d.document);
    match d.outcome {
        Status::Planned | Status::Applied => {
            if d.after.is_none() && d.document == crate::documents::REGISTRY_POLICY {
                println!("   the policy would be deleted: no statement would be left in it");
            }
            if d.after.is_some() || d.before.is_some() {
                print_diff(d.before.as_deref(), d.after.as_deref());
            }
        }
        Status::Unchanged => println!("   already right: nothing to write"),
        _ => {}
    }
    if let Some(reason) = &d.reason {
        println!(
            "   {}: {reason}",
            if d.outcome == Status::Failed {
                "cannot"
            } else {
                "note"
            }
        );
    }
}

/// A unified diff of a policy, pretty-printed; `None` is no policy at all.
pub(crate) fn print_diff(before: Option<&str>, after: Option<&str>) {
    let before = before.map(|b| pretty(b) + "\n").unwrap_or_default();
    let after = after.map(|a| pretty(a) + "\n").unwrap_or_default();
    let diff = similar::TextDiff::from_lines(&before, &after);
    print!(
        "{}",
        diff.unified_diff()
            .context_radius(3)
            .header("current", "desired")
    );
}

pub(crate) fn check_config(file: Option<PathBuf>) -> Result<ExitCode, CliError> {
    let config = load_config(file)?;
    println!(
        "configuration is valid: {} rule(s), dryRun {}, deployment {}, statement Sids start with {}",
        config.rules.len(),
        config.dry_run,
        config.deployment.as_deref().unwrap_or("(none)"),
        config.ownership.prefix()
    );
    for rule in &config.rules {
        println!();
        println!("rule {}", rule.name);
        println!(
            "  repositories: {}",
            rule.repository_patterns().collect::<Vec<_>>().join(", ")
        );
        let exclude: Vec<_> = rule.exclude_patterns().collect();
        if !exclude.is_empty() {
            println!("  exclude: {}", exclude.join(", "));
        }
        println!(
            "  access: {}  createOnDeniedPull: {}",
            serde_json::to_string(&rule.access).unwrap_or_default(),
            rule.create_on_denied_pull
        );
        println!("  statements:");
        for statement in rule.statements(&config.ownership) {
            let text = serde_json::to_string_pretty(&statement).unwrap_or_default();
            for line in text.lines() {
                println!("    {line}");
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
