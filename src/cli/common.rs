//! What every subcommand shares: loading the rules, reaching ECR, exit codes, writing to standard
//! output, the diffs of the registry's documents.

use std::io::{StdoutLock, Write};
use std::path::PathBuf;

use clap::ValueEnum;

use ecr_policy_remediator::Remediator;
use ecr_policy_remediator::REGISTRY_POLICY;
use ecr_policy_remediator::{Config, ConfigError};
use ecr_policy_remediator::{DocumentReport, Status};
use ecr_policy_remediator::{Finding, Revocation};

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

/// Why a command could not run, or stopped: the user's input, AWS, or its standard output.
#[derive(Debug)]
pub(crate) enum CliError {
    Usage(String),
    Aws(String),
    /// Standard output cannot be written to, for another reason than a closed pipe.
    Output(String),
    /// Whoever read standard output closed it (`| head -1`): stop, quietly.
    Closed,
}

impl From<std::io::Error> for CliError {
    fn from(e: std::io::Error) -> Self {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            CliError::Closed
        } else {
            CliError::Output(format!("cannot write to standard output: {e}"))
        }
    }
}

/// Standard output, locked once for a command's whole answer. Every subcommand writes through it
/// with `?`, never `println!`: `println!` panics on a closed pipe, where a write returns the
/// `BrokenPipe` error that [`CliError::Closed`] turns into a quiet exit.
pub(crate) fn stdout() -> StdoutLock<'static> {
    std::io::stdout().lock()
}

pub(crate) fn load_config(path: Option<PathBuf>) -> Result<Config, CliError> {
    let config = match path {
        Some(path) => Config::from_file(&path).map(|mut c| {
            c.dry_run |= ecr_policy_remediator::dry_run_from_env();
            c
        }),
        None => Config::from_env(),
    };
    config.map_err(|e: ConfigError| match e {
        ConfigError::Missing => CliError::Usage(
            "no configuration: pass --config FILE, or set REMEDIATOR_CONFIG (the JSON itself) or \
             REMEDIATOR_CONFIG_FILE (a path)"
                .into(),
        ),
        e => CliError::Usage(format!("invalid configuration: {e}")),
    })
}

pub(crate) async fn connect(config: Config, aws: &AwsOptions) -> Result<Remediator, CliError> {
    let sdk = crate::cli::profile::sdk_config(aws).await?;
    Remediator::connect(config, &sdk)
        .await
        .map(|r| r.with_self_role(std::env::var("REMEDIATOR_SELF_ROLE_ARN").ok()))
        .map_err(|e| CliError::Aws(format!("cannot learn the registry ID from ECR: {e}")))
}

/// One of the registry's documents: what would change, or why it cannot.
pub(crate) fn print_document(out: &mut impl Write, d: &DocumentReport) -> std::io::Result<()> {
    writeln!(out, "== {}", d.document)?;
    match d.status {
        Status::Planned | Status::Applied => {
            // A template updated without touching its policy keeps `after == before`: only a
            // deletion leaves `after` empty after a policy.
            if d.after.is_none() && (d.document == REGISTRY_POLICY || d.before.is_some()) {
                let gone = if d.document == REGISTRY_POLICY {
                    "the policy would be deleted: no statement would be left in it"
                } else {
                    "the template would be deleted: no rule asks for it any more"
                };
                writeln!(out, "   {gone}")?;
            }
            if d.after.is_some() || d.before.is_some() {
                let revoked = revoked(d.revocation.as_ref());
                print_diff(out, d.before.as_deref(), d.after.as_deref(), revoked)?;
            }
        }
        Status::Unchanged => writeln!(out, "   already right: nothing to write")?,
        _ => {}
    }
    if let Some(reason) = &d.reason {
        let label = if d.status == Status::Failed {
            "cannot"
        } else {
            "note"
        };
        writeln!(out, "   {label}: {reason}")?;
    }
    Ok(())
}

/// A policy's difference, statement by statement, each named by its `Sid`; `None` is no policy.
/// Each principal the trust boundary takes out (`revoked`) is marked under its statement.
pub(crate) fn print_diff(
    out: &mut impl Write,
    before: Option<&str>,
    after: Option<&str>,
    revoked: &[Finding],
) -> std::io::Result<()> {
    for line in crate::cli::diff::statement_diff_revoking(before, after, revoked).lines() {
        writeln!(out, "   {line}")?;
    }
    Ok(())
}

/// The principals the trust boundary took (or would take) out of a document.
pub(crate) fn revoked(revocation: Option<&Revocation>) -> &[Finding] {
    revocation.map_or(&[], |r| r.revoked.as_slice())
}
