//! The command line: the Lambda's own code path, runnable from a workstation or a CI job.

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use serde_json::Value;

use crate::handler::{Outcome, Remediator, Status};
use crate::policy::{pretty, Plan};
use crate::rules::{Config, ConfigError};

const USAGE_ERROR: u8 = 2;

#[derive(Debug, Parser)]
#[command(
    name = "ecr-policy-remediator",
    version,
    about = "Attaches the configured cross-account policy to ECR repositories.",
    long_about = "Attaches the configured cross-account policy to ECR repositories.\n\n\
        Without a subcommand, under the Lambda runtime, it serves invocations. The subcommands \
        run the same code against the ECR endpoint of the standard AWS environment \
        (AWS_ENDPOINT_URL, AWS_REGION, credentials)."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Handle EventBridge events exactly as the Lambda does; prints one outcome line per event.
    Handle {
        /// Rules file (default: REMEDIATOR_CONFIG or REMEDIATOR_CONFIG_FILE).
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
        /// Decide and report, write nothing.
        #[arg(long)]
        dry_run: bool,
        /// Event files; `-` reads one event from standard input.
        #[arg(required = true, value_name = "EVENT.json")]
        events: Vec<String>,
    },
    /// Show which rules match each repository and how its policy would change; writes nothing.
    Plan {
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
        #[arg(required = true, value_name = "REPOSITORY")]
        repositories: Vec<String>,
    },
    /// Validate a rules file and print every rule with the statements it generates.
    CheckConfig {
        /// Rules file (default: REMEDIATOR_CONFIG or REMEDIATOR_CONFIG_FILE).
        file: Option<PathBuf>,
    },
}

/// Runs one subcommand: 0 when nothing failed, 1 when something did, 2 for a usage or
/// configuration error.
pub async fn run(command: Command) -> ExitCode {
    let result = match command {
        Command::Handle {
            config,
            dry_run,
            events,
        } => handle(config, dry_run, &events).await,
        Command::Plan {
            config,
            repositories,
        } => plan(config, &repositories).await,
        Command::CheckConfig { file } => check_config(file),
    };
    result.unwrap_or_else(|message| {
        eprintln!("ecr-policy-remediator: {message}");
        ExitCode::from(USAGE_ERROR)
    })
}

fn load_config(path: Option<PathBuf>) -> Result<Config, String> {
    let config = match path {
        Some(path) => Config::from_file(&path).map(|mut c| {
            c.dry_run |= crate::rules::dry_run_from_env();
            c
        }),
        None => Config::from_env(),
    };
    config.map_err(|e: ConfigError| format!("invalid configuration: {e}"))
}

async fn connect(config: Config) -> Result<Remediator, String> {
    let sdk = crate::sdk_config().await;
    Remediator::connect(config, &sdk)
        .await
        .map(|r| r.with_self_role(std::env::var("REMEDIATOR_SELF_ROLE_ARN").ok()))
        .map_err(|e| format!("cannot learn the registry ID from ECR: {e}"))
}

async fn handle(
    config: Option<PathBuf>,
    dry_run: bool,
    events: &[String],
) -> Result<ExitCode, String> {
    let mut config = load_config(config)?;
    config.dry_run |= dry_run;
    // Read every event first: a missing file is a usage error and must not leave half the
    // events handled.
    let mut inputs = Vec::with_capacity(events.len());
    for name in events {
        let text = if name == "-" {
            let mut s = String::new();
            std::io::stdin()
                .read_to_string(&mut s)
                .map_err(|e| format!("cannot read standard input: {e}"))?;
            s
        } else {
            std::fs::read_to_string(name).map_err(|e| format!("cannot read {name}: {e}"))?
        };
        inputs.push((name, text));
    }
    let remediator = connect(config).await?;
    let mut failed = false;
    let mut stdout = std::io::stdout().lock();
    for (name, text) in inputs {
        // The Lambda runtime only ever hands over JSON; text that is not JSON is an event that
        // cannot be handled, reported like any other.
        let outcome = match serde_json::from_str::<Value>(&text) {
            Ok(raw) => match remediator.handle(&raw, None).await {
                Ok(outcome) => outcome,
                Err(retryable) => *retryable.outcome,
            },
            Err(e) => {
                let outcome = Outcome::unreadable(format!("{name} is not JSON: {e}"));
                outcome.log();
                outcome
            }
        };
        failed |= outcome.outcome == Status::Failed;
        let line = serde_json::to_string(&outcome).unwrap_or_default();
        writeln!(stdout, "{line}").map_err(|e| format!("cannot write: {e}"))?;
    }
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

async fn plan(config: Option<PathBuf>, repositories: &[String]) -> Result<ExitCode, String> {
    let config = load_config(config)?;
    for name in repositories {
        crate::event::check_repository_name(name)?;
    }
    let remediator = connect(config).await?;
    let mut failed = false;
    for name in repositories {
        println!("== {name}");
        let report = match remediator.plan_repository(name).await {
            Ok(report) => report,
            Err(e) => {
                println!("   cannot read its policy: {e}");
                failed = true;
                continue;
            }
        };
        if report.rules.is_empty() {
            println!("   no rule matches: nothing to do");
            continue;
        }
        println!("   rules: {}", report.rules.join(", "));
        match report.plan {
            Ok(Plan::Unchanged) => println!("   the policy is already right: nothing to write"),
            Ok(Plan::Write(text)) => {
                let before = report.current.as_deref().map(pretty).unwrap_or_default();
                let after = pretty(&text);
                let diff = similar::TextDiff::from_lines(&before, &after);
                print!(
                    "{}",
                    diff.unified_diff()
                        .context_radius(3)
                        .header("current", "desired")
                );
            }
            Err(reason) => {
                println!("   cannot write: {reason}");
                failed = true;
            }
        }
    }
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

fn check_config(file: Option<PathBuf>) -> Result<ExitCode, String> {
    let config = load_config(file)?;
    println!(
        "configuration is valid: {} rule(s), dryRun {}",
        config.rules.len(),
        config.dry_run
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
        for statement in rule.statements() {
            let text = serde_json::to_string_pretty(&statement).unwrap_or_default();
            for line in text.lines() {
                println!("    {line}");
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
