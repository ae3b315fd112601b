//! The command line: the Lambda's own code path, runnable from a workstation or a CI job.

use std::io::{IsTerminal, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use serde_json::Value;
use tracing_subscriber::filter::LevelFilter;

use crate::converge::Remediator;
use crate::outcome::{Outcome, Status};
use crate::policy::{pretty, Plan};
use crate::rules::{Config, ConfigError};

/// Exit codes: 0 all fine, 1 something failed (an event, a repository, or AWS itself), 2 a usage
/// or configuration error only.
const FAILED: u8 = 1;
const USAGE_ERROR: u8 = 2;

#[derive(Debug, Parser)]
#[command(
    name = "ecr-policy-remediator",
    version,
    about = "Keeps ECR repository policies exactly what the configured rules grant.",
    long_about = "Keeps ECR repository policies exactly what the configured rules grant.\n\n\
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
        /// Rules file (default: REMEDIATOR_CONFIG or REMEDIATOR_CONFIG_FILE).
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
        /// Repository names.
        #[arg(required = true, value_name = "REPOSITORY")]
        repositories: Vec<String>,
    },
    /// Sweep the whole registry now, as the scheduled sweep does but without its deadline: every
    /// repository is made right, grants no rule gives any more are taken back.
    Reconcile {
        /// Rules file (default: REMEDIATOR_CONFIG or REMEDIATOR_CONFIG_FILE).
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
        /// Decide and report, write nothing; prints the diff of every policy it would change.
        #[arg(long)]
        dry_run: bool,
        /// Repositories worked on at once (default: the config's sweep.concurrency, else 4).
        #[arg(long, value_name = "N")]
        concurrency: Option<usize>,
        /// Cap on ECR requests per second (default: sweep.requestsPerSecond, else 10).
        #[arg(long, value_name = "R")]
        rate: Option<f64>,
        /// `text`: diffs and a summary table; `json`: the Lambda's outcome object.
        #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
        output: OutputFormat,
    },
    /// Validate a rules file and print every rule with the statements it generates.
    CheckConfig {
        /// Rules file (default: REMEDIATOR_CONFIG or REMEDIATOR_CONFIG_FILE).
        file: Option<PathBuf>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    Text,
    Json,
}

impl Command {
    /// The log level when `RUST_LOG` does not say: the Lambda's `info`, except under a progress
    /// bar, whose line the per-repository log lines would break (the summary lists failures).
    pub fn default_log_level(&self) -> LevelFilter {
        match self {
            Command::Reconcile {
                output: OutputFormat::Text,
                ..
            } if std::io::stderr().is_terminal() => LevelFilter::ERROR,
            _ => LevelFilter::INFO,
        }
    }
}

/// Why a command could not run: the user's input, or AWS.
#[derive(Debug)]
pub(crate) enum CliError {
    Usage(String),
    Aws(String),
}

/// Runs one subcommand: 0 when nothing failed, 1 when something did (an event, a repository, or
/// a call to AWS), 2 for a usage or configuration error.
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
        Command::Reconcile {
            config,
            dry_run,
            concurrency,
            rate,
            output,
        } => crate::reconcile::reconcile(config, dry_run, concurrency, rate, output).await,
    };
    result.unwrap_or_else(|e| {
        let (message, code) = match e {
            CliError::Usage(m) => (m, USAGE_ERROR),
            CliError::Aws(m) => (m, FAILED),
        };
        eprintln!("ecr-policy-remediator: {message}");
        ExitCode::from(code)
    })
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

async fn handle(
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

async fn plan(config: Option<PathBuf>, repositories: &[String]) -> Result<ExitCode, CliError> {
    let config = load_config(config)?;
    for name in repositories {
        crate::names::check_repository_name(name).map_err(CliError::Usage)?;
    }
    let remediator = connect(config).await?;
    let mut failed = false;
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

fn check_config(file: Option<PathBuf>) -> Result<ExitCode, CliError> {
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
