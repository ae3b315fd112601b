//! The command line: the Lambda's own code path, runnable from a workstation or a CI job.

use std::io::{IsTerminal, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Mutex;

use clap::{Parser, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::Value;
use tracing_subscriber::filter::LevelFilter;

use crate::handler::{Outcome, Remediator, Status};
use crate::policy::{pretty, Plan};
use crate::rules::{Config, ConfigError};
use crate::sweep::{RepositoryResult, SweepObserver, SweepOptions};

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
    /// Sweep the whole registry now, as the scheduled sweep does but without its deadline: every
    /// repository a rule matches is made right.
    Reconcile {
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
        Command::Reconcile {
            config,
            dry_run,
            concurrency,
            rate,
            output,
        } => reconcile(config, dry_run, concurrency, rate, output).await,
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
            Ok(Plan::Write(text)) => print_diff(report.current.as_deref(), &text),
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

fn print_diff(before: Option<&str>, after: &str) {
    let before = before.map(|b| pretty(b) + "\n").unwrap_or_default();
    let after = pretty(after) + "\n";
    let diff = similar::TextDiff::from_lines(&before, &after);
    print!(
        "{}",
        diff.unified_diff()
            .context_radius(3)
            .header("current", "desired")
    );
}

/// The progress bar, and the planned changes a dry run shows at the end.
struct Progress {
    bar: ProgressBar,
    changes: Mutex<Vec<(String, Option<String>, String)>>,
}

impl SweepObserver for Progress {
    fn started(&self, total: usize) {
        self.bar.set_length(total as u64);
    }

    fn repository(&self, r: &RepositoryResult) {
        self.bar.inc(1);
        if r.status == Status::Planned {
            if let (Ok(mut changes), Some(after)) = (self.changes.lock(), &r.after) {
                changes.push((r.repository.clone(), r.before.clone(), after.clone()));
            }
        }
    }
}

async fn reconcile(
    config: Option<PathBuf>,
    dry_run: bool,
    concurrency: Option<usize>,
    rate: Option<f64>,
    output: OutputFormat,
) -> Result<ExitCode, String> {
    let mut config = load_config(config)?;
    config.dry_run |= dry_run;
    if let Some(n) = concurrency {
        config.sweep.concurrency = n;
    }
    if let Some(r) = rate {
        config.sweep.requests_per_second = r;
    }
    config
        .sweep
        .validate("sweep")
        .map_err(|e| format!("invalid option: {e}"))?;
    let options = SweepOptions::from(&config.sweep);
    let remediator = connect(config).await?;

    let bar = if output == OutputFormat::Text && std::io::stderr().is_terminal() {
        ProgressBar::new(0).with_style(
            ProgressStyle::with_template(
                "{spinner} {pos}/{len} repositories [{wide_bar}] {per_sec}, {eta} left",
            )
            .map_err(|e| e.to_string())?,
        )
    } else {
        ProgressBar::hidden()
    };
    let progress = Progress {
        bar,
        changes: Mutex::new(Vec::new()),
    };
    let report = remediator
        .sweep(&options, &progress)
        .await
        .map_err(|e| format!("cannot list the registry: {e}"))?;
    progress.bar.finish_and_clear();

    match output {
        OutputFormat::Json => {
            let outcome = serde_json::json!({
                "trigger": "scheduled",
                "outcome": "swept",
                "dryRun": remediator.config().dry_run,
                "sweep": report,
            });
            println!("{outcome}");
        }
        OutputFormat::Text => {
            let mut changes = progress.changes.into_inner().unwrap_or_default();
            changes.sort();
            for (name, before, after) in &changes {
                println!("== {name}");
                print_diff(before.as_deref(), after);
            }
            let rows = [
                ("repositories listed", report.listed),
                ("matching a rule", report.matching),
                ("checked", report.checked),
                ("applied", report.applied),
                ("unchanged", report.unchanged),
                ("planned (dry run)", report.planned),
                ("skipped", report.skipped),
                ("failed", report.failed),
            ];
            for (what, count) in rows {
                println!("{what:<22}{count:>8}");
            }
            for failure in &report.failed_repositories {
                println!("  failed: {failure}");
            }
        }
    }
    Ok(if report.failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
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
