//! `ecr-policy-remediator reconcile`: the sweep from a terminal or a CI job, with a progress bar,
//! the diff of every change, and a summary.

use std::fmt::Write as _;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Mutex;

use indicatif::{ProgressBar, ProgressState, ProgressStyle};

use crate::cli::commands::{
    connect, load_config, print_diff, print_document, AwsOptions, CliError, OutputFormat, Ran,
};
use ecr_policy_remediator::Change;
use ecr_policy_remediator::{DocumentReport, Status, SweepReport};
use ecr_policy_remediator::{RepositoryResult, SweepObserver, SweepOptions};

/// A change planned or made: the repository, its policy before, after (`None`: deleted), and
/// the Sids that came, went and changed.
type Planned = (String, Option<String>, Option<String>, Option<Change>);

/// What `reconcile` was asked for, besides the rules.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ReconcileOptions {
    pub dry_run: bool,
    pub concurrency: Option<usize>,
    pub rate: Option<f64>,
    pub output: OutputFormat,
    pub summary: bool,
}

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
        if matches!(r.status, Status::Planned | Status::Applied) {
            if let Ok(mut changes) = self.changes.lock() {
                let (before, after) = (r.before.clone(), r.after.clone());
                changes.push((r.repository.clone(), before, after, r.change.clone()));
            }
        }
    }
}

pub(crate) async fn reconcile(
    config: Option<PathBuf>,
    o: ReconcileOptions,
    aws: &AwsOptions,
) -> Result<Ran, CliError> {
    let mut config = load_config(config)?;
    config.dry_run |= o.dry_run;
    if let Some(n) = o.concurrency {
        config.sweep.concurrency = n;
    }
    if let Some(r) = o.rate {
        config.sweep.requests_per_second = r;
    }
    config
        .sweep
        .validate("sweep")
        .map_err(|e| CliError::Usage(format!("invalid option: {e}")))?;
    let options = SweepOptions::from(&config.sweep);
    let remediator = connect(config, aws).await?;
    let bar = if o.output == OutputFormat::Text && std::io::stderr().is_terminal() {
        ProgressBar::new(0).with_style(
            ProgressStyle::with_template(
                "{spinner} {pos}/{len} repositories [{wide_bar}] {rate}, {eta} left",
            )
            .map_err(|e| CliError::Usage(e.to_string()))?
            .with_key("rate", |s: &ProgressState, w: &mut dyn std::fmt::Write| {
                let _ = write!(w, "{}", rate(s.per_sec()));
            }),
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
    let changes = progress.changes.into_inner().unwrap_or_default();
    let documents = progress.documents.into_inner().unwrap_or_default();
    match o.output {
        OutputFormat::Json => {
            let outcome = serde_json::json!({
                "trigger": "scheduled",
                "outcome": "swept",
                "dryRun": remediator.config().dry_run,
                "sweep": report,
            });
            println!("{outcome}");
        }
        OutputFormat::Text => print_text(&report, &documents, changes, o),
    }
    let documents_failed = report.documents.iter().any(|d| d.status == Status::Failed);
    let documents_changed = report
        .documents
        .iter()
        .any(|d| matches!(d.status, Status::Planned | Status::Applied));
    Ok(Ran {
        failed: report.failed > 0 || documents_failed,
        changes: report.applied + report.planned > 0 || documents_changed,
    })
}

/// A rate people read: `12.3 repos/s`.
fn rate(per_sec: f64) -> String {
    format!("{per_sec:.1} repos/s")
}

/// The diffs of what a dry run would change (or, with `--summary`, one line per repository),
/// then the summary table; a real run lists what it changed.
fn print_text(
    report: &SweepReport,
    documents: &[DocumentReport],
    mut changes: Vec<Planned>,
    o: ReconcileOptions,
) {
    for d in documents {
        if d.status == Status::Planned || d.status == Status::Failed {
            print_document(d);
        }
    }
    changes.sort_by(|a, b| a.0.cmp(&b.0));
    for (name, before, after, change) in &changes {
        if o.summary || !o.dry_run {
            println!("{name}: {}", sids(change.as_ref(), after.is_none()));
            continue;
        }
        println!("== {name}");
        if after.is_none() {
            println!("   the policy would be deleted: no statement would be left in it");
        }
        print_diff(before.as_deref(), after.as_deref());
    }
    print_summary(report);
}

/// `+Sid -Sid ~Sid`, and whether the policy goes.
fn sids(change: Option<&Change>, deleted: bool) -> String {
    let mut out = String::new();
    if let Some(c) = change {
        for (mark, list) in [('+', &c.added), ('-', &c.removed), ('~', &c.changed)] {
            for sid in list {
                let _ = write!(out, "{mark}{sid} ");
            }
        }
    }
    if deleted {
        out.push_str("(policy deleted)");
    }
    out.trim_end().to_string()
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
        println!("{:<22}{:>8}", d.document, d.status.as_str());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_progress_rate_reads_as_repositories_per_second() {
        assert_eq!(rate(12.3456), "12.3 repos/s");
        assert_eq!(rate(0.04), "0.0 repos/s");
    }

    #[test]
    fn a_summary_line_names_each_sid_and_a_deletion() {
        let change = Change {
            added: vec!["A".into()],
            removed: vec!["B".into()],
            changed: vec!["C".into()],
        };
        assert_eq!(sids(Some(&change), false), "+A -B ~C");
        assert_eq!(sids(None, true), "(policy deleted)");
    }
}
