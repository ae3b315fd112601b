//! The subcommands that read events, repositories and rules, and what every subcommand shares:
//! loading the rules, reaching ECR, exit codes, diffs.

use std::io::{Read, Write};
use std::path::PathBuf;

use clap::ValueEnum;
use serde_json::Value;

use ecr_policy_remediator::Plan;
use ecr_policy_remediator::Remediator;
use ecr_policy_remediator::{Config, ConfigError};
use ecr_policy_remediator::{DocumentReport, Outcome, Status};

/// Exit codes: 0 all fine, 1 something failed (an event, a repository, or AWS itself), 2 a usage
/// or configuration error only.
pub(crate) const FAILED: u8 = 1;
pub(crate) const USAGE_ERROR: u8 = 2;
/// With `--detailed-exitcode`: changes planned (or made).
pub(crate) const CHANGES: u8 = 2;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum OutputFormat {
    /// Diffs and a summary table.
    Text,
    /// The Lambda's outcome object.
    Json,
}

/// Where the subcommands reach AWS; the standard environment fills in what is not given.
#[derive(Debug, Clone, Default, clap::Args)]
pub(crate) struct AwsOptions {
    /// AWS region of the registry (default: AWS_REGION, or the profile's region).
    #[arg(long, global = true, value_name = "REGION")]
    pub region: Option<String>,
    /// Named profile from the AWS config and credentials files (default: AWS_PROFILE).
    #[arg(long, global = true, value_name = "NAME")]
    pub profile: Option<String>,
}

/// How a command that ran went: whether anything failed, and whether it planned (or made)
/// changes.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Ran {
    pub failed: bool,
    pub changes: bool,
}

impl Ran {
    /// The exit code: 1 when something failed; with `detailed`, 2 when there are changes.
    pub(crate) fn code(self, detailed: bool) -> u8 {
        match (self.failed, detailed && self.changes) {
            (true, _) => FAILED,
            (false, true) => CHANGES,
            (false, false) => 0,
        }
    }
}

/// Why a command could not run: the user's input, or AWS.
#[derive(Debug)]
pub(crate) enum CliError {
    Usage(String),
    Aws(String),
}

pub(crate) fn load_config(path: Option<PathBuf>) -> Result<Config, CliError> {
    let config = match path {
        Some(path) => Config::from_file(&path).map(|mut c| {
            c.dry_run |= ecr_policy_remediator::dry_run_from_env();
            c
        }),
        None => Config::from_env(),
    };
    config.map_err(|e: ConfigError| CliError::Usage(format!("invalid configuration: {e}")))
}

pub(crate) async fn connect(config: Config, aws: &AwsOptions) -> Result<Remediator, CliError> {
    let sdk = ecr_policy_remediator::sdk_config_for(aws.region.clone(), aws.profile.clone()).await;
    if sdk.region().is_none() {
        return Err(CliError::Usage(
            "no AWS region is set: pass --region, or set AWS_REGION (or a region in the profile)"
                .into(),
        ));
    }
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
    aws: &AwsOptions,
) -> Result<Ran, CliError> {
    let mut config = load_config(config)?;
    config.dry_run |= dry_run;
    let remediator = connect(config, aws).await?;
    let mut ran = Ran::default();
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
        ran.failed |= outcome.status == Status::Failed;
        ran.changes |= matches!(
            outcome.status,
            Status::Planned | Status::Applied | Status::Created
        );
        let line = serde_json::to_string(&outcome).unwrap_or_default();
        writeln!(stdout, "{line}").map_err(|e| CliError::Aws(format!("cannot write: {e}")))?;
    }
    Ok(ran)
}

pub(crate) async fn plan(
    config: Option<PathBuf>,
    registry: bool,
    repositories: &[String],
    aws: &AwsOptions,
) -> Result<Ran, CliError> {
    let mut config = load_config(config)?;
    config.dry_run = true;
    for name in repositories {
        ecr_policy_remediator::check_repository_name(name).map_err(CliError::Usage)?;
    }
    let remediator = connect(config, aws).await?;
    let mut ran = Ran::default();
    if registry {
        for d in remediator.converge_registry().await {
            ran.failed |= d.status == Status::Failed;
            ran.changes |= d.status == Status::Planned;
            print_document(&d);
        }
    }
    for name in repositories {
        println!("== {name}");
        let report = match remediator.inspect(name).await {
            Ok(report) => report,
            Err(e) => {
                println!("   cannot read its policy: {e}");
                ran.failed = true;
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
            Ok(Plan::Write { text, .. }) => {
                ran.changes = true;
                print_diff(report.current.as_deref(), Some(&text))
            }
            Ok(Plan::Delete { .. }) => {
                ran.changes = true;
                println!("   the policy would be deleted: no statement would be left in it");
                print_diff(report.current.as_deref(), None);
            }
            Err(reason) => {
                println!("   cannot write: {reason}");
                ran.failed = true;
            }
        }
    }
    Ok(ran)
}

/// One of the registry's documents: what would change, or why it cannot.
pub(crate) fn print_document(d: &DocumentReport) {
    println!("== {}", d.document);
    match d.status {
        Status::Planned | Status::Applied => {
            if d.after.is_none() && d.document == ecr_policy_remediator::REGISTRY_POLICY {
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
            if d.status == Status::Failed {
                "cannot"
            } else {
                "note"
            }
        );
    }
}

/// A policy's difference, statement by statement, each named by its `Sid`; `None` is no policy.
pub(crate) fn print_diff(before: Option<&str>, after: Option<&str>) {
    for line in crate::cli::diff::statement_diff(before, after).lines() {
        println!("   {line}");
    }
}

pub(crate) fn check_config(file: Option<PathBuf>) -> Result<Ran, CliError> {
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
    Ok(Ran::default())
}
