//! `ecr-policy-remediator reconcile`: the sweep from a terminal or a CI job, with a progress bar,
//! the diff of every change, and a summary.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Mutex;

use indicatif::{ProgressBar, ProgressStyle};

use crate::commands::{
    connect, exit, load_config, print_diff, print_document, CliError, OutputFormat,
};
use crate::outcome::{DocumentReport, Status, SweepReport};
use crate::sweep::{RepositoryResult, SweepObserver, SweepOptions};

/// A planned change: the repository, its policy before, and after (`None`: deleted).
type Planned = (String, Option<String>, Option<String>);

/// The progress bar, and the planned changes a dry run shows at the end.
struct Progress {
    bar: ProgressBar,
    changes: Mutex<Vec<Planned>>,
    documents: Mutex<Vec<DocumentReport>>,
}

impl SweepObserver for Progress {
    fn started(&self, total: usize) {
        self.bar.set_length(total as u64);
    }

    fn document(&self, d: &DocumentReport) {
        if let Ok(mut documents) = self.documents.lock() {
            documents.push(d.clone());
        }
    }

    fn repository(&self, r: &RepositoryResult) {
        self.bar.inc(1);
        if r.status == Status::Planned {
            if let Ok(mut changes) = self.changes.lock() {
                changes.push((r.repository.clone(), r.before.clone(), r.after.clone()));
            }
        }
    }
}

pub(crate) async fn reconcile(
    config: Option<PathBuf>,
    dry_run: bool,
    concurrency: Option<usize>,
    rate: Option<f64>,
    output: OutputFormat,
) -> Result<ExitCode, CliError> {
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
        .map_err(|e| CliError::Usage(format!("invalid option: {e}")))?;
    let options = SweepOptions::from(&config.sweep);
    let remediator = connect(config).await?;
    let bar = if output == OutputFormat::Text && std::io::stderr().is_terminal() {
        ProgressBar::new(0).with_style(
            ProgressStyle::with_template(
                "{spinner} {pos}/{len} repositories [{wide_bar}] {per_sec}, {eta} left",
            )
            .map_err(|e| CliError::Usage(e.to_string()))?,
        )
    } else {
        ProgressBar::hidden()
    };
    let progress = Progress {
        bar,
        changes: Mutex::new(Vec::new()),
        documents: Mutex::new(Vec::new()),
    };
    let report = remediator
        .sweep(&options, &progress)
        .await
        .map_err(|e| CliError::Aws(format!("cannot list the registry: {e}")))?;
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
            // Diffs for what a dry run would change; the summary says what a real run did.
            for d in progress.documents.into_inner().unwrap_or_default() {
                if d.outcome == Status::Planned || d.outcome == Status::Failed {
                    print_document(&d);
                }
            }
            let mut changes = progress.changes.into_inner().unwrap_or_default();
            changes.sort();
            for (name, before, after) in &changes {
                println!("== {name}");
                if after.is_none() {
                    println!("   the policy would be deleted: no statement would be left in it");
                }
                print_diff(before.as_deref(), after.as_deref());
            }
            print_summary(&report);
        }
    }
    let documents_failed = report.documents.iter().any(|d| d.outcome == Status::Failed);
    Ok(exit(report.failed > 0 || documents_failed))
}

fn print_summary(report: &SweepReport) {
    let rows = [
        ("repositories listed", report.listed),
        ("matching a rule", report.matching),
        ("checked", report.checked),
        ("applied", report.applied),
        ("unchanged", report.unchanged),
        ("planned (dry run)", report.planned),
        ("grants taken back", report.revoked),
        ("skipped", report.skipped),
        ("failed", report.failed),
    ];
    for (what, count) in rows {
        println!("{what:<22}{count:>8}");
    }
    for failure in &report.failed_repositories {
        println!("  failed: {failure}");
    }
    for d in &report.documents {
        let outcome = serde_json::to_value(d.outcome).unwrap_or_default();
        println!(
            "{:<22}{:>8}",
            d.document,
            outcome.as_str().unwrap_or_default()
        );
    }
}
