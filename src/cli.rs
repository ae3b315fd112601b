//! The command line: the Lambda's own code path, runnable from a workstation or a CI job.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use tracing_subscriber::filter::LevelFilter;

pub use crate::commands::OutputFormat;
use crate::commands::{check_config, handle, plan, CliError, FAILED, USAGE_ERROR};
use crate::reconcile::reconcile;

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
    /// Show which rules match each repository and how its policy would change, and with
    /// --registry how the registry policy and the creation templates would; writes nothing.
    Plan {
        /// Rules file (default: REMEDIATOR_CONFIG or REMEDIATOR_CONFIG_FILE).
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
        /// Also show the registry policy and the creation templates the rules imply.
        #[arg(long)]
        registry: bool,
        /// Repository names.
        #[arg(required_unless_present = "registry", value_name = "REPOSITORY")]
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
            registry,
            repositories,
        } => plan(config, registry, &repositories).await,
        Command::CheckConfig { file } => check_config(file),
        Command::Reconcile {
            config,
            dry_run,
            concurrency,
            rate,
            output,
        } => reconcile(config, dry_run, concurrency, rate, output).await,
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
