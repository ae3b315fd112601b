//! The command line: the Lambda's own code path, runnable from a workstation or a CI job.

pub(crate) mod access;
mod check_config;
pub(crate) mod common;
mod diff;
pub(crate) mod doctor;
mod handle;
mod plan;
mod profile;
pub(crate) mod reconcile;

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use tracing_subscriber::filter::LevelFilter;

use crate::cli::access::{access, AccessFormat, AccessOptions};
use crate::cli::check_config::check_config;
pub(crate) use crate::cli::common::{AwsOptions, OutputFormat};
use crate::cli::common::{CliError, Ran, FAILED, USAGE_ERROR};
use crate::cli::doctor::{doctor, DoctorFormat};
use crate::cli::handle::handle;
use crate::cli::plan::plan;
use crate::cli::reconcile::{reconcile, ReconcileOptions};

#[derive(Debug, Parser)]
#[command(
    name = "ecr-policy-remediator",
    version,
    about = "Keeps ECR repository policies exactly what the configured rules grant.",
    long_about = "Keeps ECR repository policies exactly what the configured rules grant.\n\n\
        The subcommands run the Lambda's code against the ECR endpoint of the standard AWS environment \
        (AWS_ENDPOINT_URL, AWS_REGION, credentials)."
)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub aws: AwsOptions,
}

/// Terraform's convention, for CI drift checks: 0 nothing to change, 1 an error, 2 changes
/// planned (or made).
#[derive(Debug, Clone, Copy, Default, clap::Args)]
pub(crate) struct ExitCodes {
    /// Exit 2 when changes are planned (or made), 0 when there are none, 1 on any error (a
    /// usage or configuration error included), as `terraform plan -detailed-exitcode` does.
    #[arg(long)]
    pub detailed_exitcode: bool,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Handle EventBridge events exactly as the Lambda does; prints one outcome line per event.
    #[command(
        after_help = "Example:\n  ecr-policy-remediator handle --config rules.json --dry-run events/create-repository-api.json"
    )]
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
        #[command(flatten)]
        exit_codes: ExitCodes,
    },
    /// Show which rules match each repository and how its policy would change, and with
    /// --registry how the registry policy and the creation templates would; writes nothing.
    #[command(
        after_help = "Examples:\n  ecr-policy-remediator plan --config rules.json team-a/api registry.k8s.io/pause\n  ecr-policy-remediator plan --config rules.json --registry --detailed-exitcode"
    )]
    Plan {
        /// Rules file (default: REMEDIATOR_CONFIG or REMEDIATOR_CONFIG_FILE).
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
        /// Also show the registry policy and the creation templates the rules imply.
        #[arg(long)]
        registry: bool,
        /// Repository names: at least one, unless --registry (`reconcile --dry-run` plans every
        /// repository).
        #[arg(value_name = "REPOSITORY")]
        repositories: Vec<String>,
        #[command(flatten)]
        exit_codes: ExitCodes,
    },
    /// Sweep the whole registry now, as the scheduled sweep does but without its deadline: every
    /// repository is made right, grants no rule gives any more are taken back.
    #[command(
        after_help = "Examples:\n  ecr-policy-remediator reconcile --config rules.json --dry-run --summary --detailed-exitcode\n  ecr-policy-remediator reconcile --config rules.json --rate 5\n  ecr-policy-remediator reconcile --config rules.json --revoke-all --dry-run"
    )]
    Reconcile {
        /// Rules file (default: REMEDIATOR_CONFIG or REMEDIATOR_CONFIG_FILE).
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
        /// Decide and report, write nothing; prints the diff of every policy it would change.
        #[arg(long)]
        dry_run: bool,
        /// Uninstall: take back every statement this deployment owns (the rules file's
        /// `deployment` says which), in every repository policy, the registry policy and the
        /// creation templates it owns, whatever its rules say; statements it does not own stay.
        #[arg(long)]
        revoke_all: bool,
        /// Repositories worked on at once (default: the config's sweep.concurrency, else 4).
        #[arg(long, value_name = "N")]
        concurrency: Option<usize>,
        /// Cap on ECR requests per second (default: sweep.requestsPerSecond, else 10).
        #[arg(long, value_name = "R")]
        rate: Option<f64>,
        /// How to print the result.
        #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
        output: OutputFormat,
        /// With text output: one line per repository that changes (its Sids added, removed,
        /// changed) and the summary table, instead of every diff.
        #[arg(long)]
        summary: bool,
        #[command(flatten)]
        exit_codes: ExitCodes,
    },
    /// Who can pull and push what: every grant in the repository policies, the registry policy
    /// and the creation templates, with the rule that explains it (or none); writes nothing.
    #[command(
        after_help = "Examples:\n  ecr-policy-remediator access --config rules.json\n  ecr-policy-remediator access --config rules.json --principal 222222222222 --output csv team-a/api\n  ecr-policy-remediator access --config rules.json --untrusted"
    )]
    Access {
        /// Rules file (default: REMEDIATOR_CONFIG or REMEDIATOR_CONFIG_FILE).
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
        /// Only grants to this principal: an account ID, an ARN, an organization ID (o-...) or
        /// path (o-.../r-.../ou-.../*), or * for grants to anyone.
        #[arg(long, value_name = "PRINCIPAL")]
        principal: Option<String>,
        /// How to print the grants.
        #[arg(long, value_enum, default_value_t = AccessFormat::Table)]
        output: AccessFormat,
        /// Only the grants outside the trust boundary (the rules' principals, the registry's own
        /// account and the rules' `trust` object), each with its Sid and kind: untrusted, public,
        /// service or unreadable.
        #[arg(long)]
        untrusted: bool,
        /// Only these repositories (default: all of them, the registry policy, the templates).
        #[arg(value_name = "REPOSITORY")]
        repositories: Vec<String>,
    },
    /// Check, from the registry account, everything the deployment needs: a trail, each
    /// EventBridge rule (state, target, dead-letter queue), the function and its rules, the bus
    /// policy, the registry policy scope, pull-through cache coverage, the registry's documents.
    /// Exits 1 when anything is missing.
    #[command(
        after_help = "Examples:\n  ecr-policy-remediator doctor --region eu-west-1\n  ecr-policy-remediator doctor --function my-remediator --config rules.json --output json"
    )]
    Doctor {
        /// Rules file (default: the function's own REMEDIATOR_CONFIG, else the environment's).
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
        /// Name of the deployed function.
        #[arg(long, value_name = "NAME", default_value = "ecr-policy-remediator")]
        function: String,
        /// How to print the checklist.
        #[arg(long, value_enum, default_value_t = DoctorFormat::Text)]
        output: DoctorFormat,
    },
    /// Validate a rules file and print every rule with the statements it generates; reaches no
    /// AWS.
    #[command(after_help = "Example:\n  ecr-policy-remediator check-config --config rules.json")]
    CheckConfig {
        /// Rules file (default: REMEDIATOR_CONFIG or REMEDIATOR_CONFIG_FILE).
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
        /// The rules file, as --config gives it (the form of earlier versions).
        #[arg(value_name = "FILE", conflicts_with = "config")]
        file: Option<PathBuf>,
    },
}

impl Command {
    fn exit_codes(&self) -> ExitCodes {
        match self {
            Command::Handle { exit_codes, .. }
            | Command::Plan { exit_codes, .. }
            | Command::Reconcile { exit_codes, .. } => *exit_codes,
            Command::CheckConfig { .. } | Command::Access { .. } | Command::Doctor { .. } => {
                ExitCodes::default()
            }
        }
    }

    /// The log level when `RUST_LOG` does not say: the Lambda's `info`, except under a progress
    /// bar, whose line the per-repository log lines would break (the summary lists failures).
    pub(crate) fn default_log_level(&self) -> LevelFilter {
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
/// a call to AWS), 2 for a usage or configuration error; with `--detailed-exitcode`, 2 means
/// changes planned and every error is 1.
pub(crate) async fn run(command: Command, aws: &AwsOptions) -> ExitCode {
    let detailed = command.exit_codes().detailed_exitcode;
    let (message, code) = match dispatch(command, aws).await {
        Ok(ran) => return ExitCode::from(ran.code(detailed)),
        // Whoever read the output closed it (`| head -1`): stop quietly and exit 0, as ripgrep
        // does. A C tool would die of SIGPIPE (status 141 in a shell); Rust ignores the signal,
        // so the write fails with BrokenPipe instead, and a reader that stops early is no error
        // of ours: nothing to report, and `set -o pipefail` scripts keep working.
        Err(CliError::Closed) => return ExitCode::SUCCESS,
        Err(CliError::Usage(m)) if !detailed => (m, USAGE_ERROR),
        Err(CliError::Usage(m) | CliError::Aws(m) | CliError::Output(m)) => (m, FAILED),
    };
    eprintln!("ecr-policy-remediator: {message}");
    ExitCode::from(code)
}

/// The subcommand's own function, with what it was asked.
async fn dispatch(command: Command, aws: &AwsOptions) -> Result<Ran, CliError> {
    match command {
        Command::Handle {
            config,
            dry_run,
            events,
            ..
        } => handle(config, dry_run, &events, aws).await,
        Command::Plan {
            config,
            registry,
            repositories,
            ..
        } => plan(config, registry, &repositories, aws).await,
        Command::CheckConfig { config, file } => check_config(config.or(file)),
        Command::Doctor {
            config,
            function,
            output,
        } => doctor(config, function, output, aws).await,
        Command::Access {
            config,
            principal,
            output,
            untrusted,
            repositories,
        } => {
            let options = AccessOptions {
                repositories,
                principal,
                output,
                untrusted,
            };
            access(config, options, aws).await
        }
        Command::Reconcile {
            config,
            dry_run,
            revoke_all,
            concurrency,
            rate,
            output,
            summary,
            ..
        } => {
            let options = ReconcileOptions {
                dry_run,
                revoke_all,
                concurrency,
                rate,
                output,
                summary,
            };
            reconcile(config, options, aws).await
        }
    }
}
