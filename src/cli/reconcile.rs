//! `ecr-policy-remediator reconcile`: the sweep from a terminal or a CI job, with a progress bar,
//! the diff of every change, and a summary; with `--revoke-all`, the sweep of no rules, which
//! takes back every statement the deployment owns (uninstalling).

use std::fmt::Write as _;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::sync::Mutex;

use indicatif::{ProgressBar, ProgressState, ProgressStyle};

use crate::cli::common::{
    connect, load_config, print_diff, print_document, revoked, stdout, AwsOptions, CliError,
    OutputFormat, Ran,
};
use ecr_policy_remediator::Config;
use ecr_policy_remediator::REGISTRY_POLICY;
use ecr_policy_remediator::{Change, Finding};
use ecr_policy_remediator::{DocumentReport, Status, SweepReport};
use ecr_policy_remediator::{RepositoryResult, SweepObserver, SweepOptions};

/// A change planned or made: the repository, its policy before, after (`None`: deleted), the
/// Sids that came, went and changed, and the principals the trust boundary took out.
type Planned = (
    String,
    Option<String>,
    Option<String>,
    Option<Change>,
    Vec<Finding>,
);

/// What `reconcile` was asked for, besides the rules.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ReconcileOptions {
    pub dry_run: bool,
    /// Sweep with no rules: every statement the deployment owns goes, whatever the rules say.
    pub revoke_all: bool,
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
                let revoked = revoked(r.revocation.as_ref()).to_vec();
                changes.push((
                    r.repository.clone(),
                    before,
                    after,
                    r.change.clone(),
                    revoked,
                ));
            }
        }
    }
}

pub(crate) async fn reconcile(
    config: Option<PathBuf>,
    o: ReconcileOptions,
    aws: &AwsOptions,
) -> Result<Ran, CliError> {
    let config = configure(load_config(config)?, &o)?;
    let options = SweepOptions::from(&config.sweep);
    let remediator = connect(config, aws).await?;
    let progress = Progress {
        bar: progress_bar(o.output)?,
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
    let mut out = stdout();
    match o.output {
        OutputFormat::Json => {
            let outcome = serde_json::json!({
                "trigger": "scheduled",
                "outcome": "swept",
                "dryRun": remediator.config().dry_run,
                "sweep": report,
            });
            writeln!(out, "{outcome}")?;
        }
        OutputFormat::Text => print_text(&mut out, &report, &documents, changes, o)?,
    }
    out.flush()?;
    Ok(ran(&report))
}

/// The rules as the options make them: none with `--revoke-all` (the deployment, and so which
/// statements are its own, stays), a dry run, the sweep's pace.
fn configure(config: Config, o: &ReconcileOptions) -> Result<Config, CliError> {
    let mut config = if o.revoke_all {
        config.without_rules()
    } else {
        config
    };
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
    Ok(config)
}

/// A progress bar on a terminal, for text output; hidden otherwise.
fn progress_bar(output: OutputFormat) -> Result<ProgressBar, CliError> {
    if output != OutputFormat::Text || !std::io::stderr().is_terminal() {
        return Ok(ProgressBar::hidden());
    }
    let style = ProgressStyle::with_template(
        "{spinner} {pos}/{len} repositories [{wide_bar}] {rate}, {eta} left",
    )
    .map_err(|e| CliError::Usage(e.to_string()))?
    .with_key("rate", |s: &ProgressState, w: &mut dyn std::fmt::Write| {
        let _ = write!(w, "{}", rate(s.per_sec()));
    });
    Ok(ProgressBar::new(0).with_style(style))
}

fn ran(report: &SweepReport) -> Ran {
    let documents_failed = report.documents.iter().any(|d| d.status == Status::Failed);
    let documents_changed = report
        .documents
        .iter()
        .any(|d| matches!(d.status, Status::Planned | Status::Applied));
    Ran {
        failed: report.failed > 0 || documents_failed,
        changes: report.applied + report.planned > 0 || documents_changed,
    }
}

/// A rate people read: `12.3 repos/s`.
fn rate(per_sec: f64) -> String {
    format!("{per_sec:.1} repos/s")
}

/// The diffs of what a dry run would change (or, with `--summary`, one line per document and
/// repository), then the summary table; a real run lists what it changed, one line each.
fn print_text(
    out: &mut impl Write,
    report: &SweepReport,
    documents: &[DocumentReport],
    mut changes: Vec<Planned>,
    o: ReconcileOptions,
) -> std::io::Result<()> {
    let one_line = o.summary || !o.dry_run;
    for d in documents {
        print_document_change(out, d, one_line)?;
    }
    changes.sort_by(|a, b| a.0.cmp(&b.0));
    for (name, before, after, change, revoked) in &changes {
        if one_line {
            let deleted = after.is_none().then_some("policy");
            let line = sids(change.as_ref(), deleted) + &trust_revoked(revoked);
            writeln!(out, "{name}: {}", line.trim_start())?;
            continue;
        }
        writeln!(out, "== {name}")?;
        if after.is_none() {
            writeln!(
                out,
                "   the policy would be deleted: no statement would be left in it"
            )?;
        }
        print_diff(out, before.as_deref(), after.as_deref(), revoked)?;
    }
    print_summary(out, report)
}

/// A registry document that changes (or cannot): its diff, or in one line its Sids (the
/// statements of a policy of several hundred lines are not what a summary is for).
fn print_document_change(
    out: &mut impl Write,
    d: &DocumentReport,
    one_line: bool,
) -> std::io::Result<()> {
    let changed = matches!(d.status, Status::Planned | Status::Applied);
    if !changed && d.status != Status::Failed {
        return Ok(());
    }
    if !one_line {
        return print_document(out, d);
    }
    if !changed {
        let reason = d.reason.as_deref().unwrap_or("failed");
        return writeln!(out, "{}: cannot: {reason}", d.document);
    }
    let change = crate::cli::diff::sid_change(d.before.as_deref(), d.after.as_deref());
    let deleted = d.after.is_none() && (d.document == REGISTRY_POLICY || d.before.is_some());
    let what = if d.document == REGISTRY_POLICY {
        "policy"
    } else {
        "template"
    };
    let line = sids(Some(&change), deleted.then_some(what));
    let line = line + &trust_revoked(revoked(d.revocation.as_ref()));
    writeln!(out, "{}: {}", d.document, line.trim_start())
}

/// ` (trust: revoked N)` after a summary line, when the trust boundary took principals out.
fn trust_revoked(revoked: &[Finding]) -> String {
    match revoked.len() {
        0 => String::new(),
        n => format!(" (trust: revoked {n})"),
    }
}

/// `+Sid -Sid ~Sid`, and whether the policy (or template) goes.
fn sids(change: Option<&Change>, deleted: Option<&str>) -> String {
    let mut out = String::new();
    if let Some(c) = change {
        for (mark, list) in [('+', &c.added), ('-', &c.removed), ('~', &c.changed)] {
            for sid in list {
                let _ = write!(out, "{mark}{sid} ");
            }
        }
    }
    if let Some(what) = deleted {
        let _ = write!(out, "({what} deleted)");
    }
    out.trim_end().to_string()
}

/// The counts, the failures, and each registry document's outcome, in columns as wide as their
/// widest entry, two spaces apart, so that a long template name never runs into its outcome.
fn print_summary(out: &mut impl Write, report: &SweepReport) -> std::io::Result<()> {
    let mut counts = vec![
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
    // Only with findings: without a trust boundary the table is what it always was.
    if report.untrusted_grants > 0 {
        counts.insert(7, ("untrusted grants", report.untrusted_grants));
        counts.insert(8, ("untrusted revoked", report.untrusted_revoked));
    }
    let mut rows: Vec<(String, String)> = counts
        .iter()
        .map(|(what, n)| (what.to_string(), n.to_string()))
        .collect();
    for d in &report.documents {
        rows.push((d.document.clone(), d.status.as_str().to_string()));
    }
    let (labels, values) = column_widths(&rows);
    for (i, (label, value)) in rows.iter().enumerate() {
        writeln!(out, "{label:<labels$}  {value:>values$}")?;
        if i + 1 == counts.len() {
            for failure in &report.failed_repositories {
                writeln!(out, "  failed: {failure}")?;
            }
        }
    }
    Ok(())
}

/// The widths of the two columns: at least those of the table before documents had long names
/// (20 and 8), at least the widest entry.
fn column_widths(rows: &[(String, String)]) -> (usize, usize) {
    let widest =
        |f: fn(&(String, String)) -> usize, least| rows.iter().map(f).fold(least, usize::max);
    (
        widest(|r| r.0.chars().count(), 20),
        widest(|r| r.1.chars().count(), 8),
    )
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
        assert_eq!(sids(Some(&change), None), "+A -B ~C");
        assert_eq!(sids(None, Some("policy")), "(policy deleted)");
        assert_eq!(sids(None, Some("template")), "(template deleted)");
    }

    #[test]
    fn a_long_document_name_stays_two_spaces_away_from_its_outcome() {
        let mut report = SweepReport::default();
        let name = "template registry.k8s.io-and-a-much-longer-name";
        report
            .documents
            .push(DocumentReport::new(name, Status::Unchanged));
        let mut out = Vec::new();
        print_summary(&mut out, &report).unwrap();
        let text = String::from_utf8(out).unwrap();
        let line = text.lines().find(|l| l.starts_with(name)).unwrap();
        assert_eq!(line, format!("{name}  unchanged"), "{text}");
        let listed = text.lines().next().unwrap();
        assert!(listed.starts_with("repositories listed "), "{text}");
        assert!(listed.ends_with("  0"), "{text}");
        assert_eq!(listed.len(), line.len(), "one column of values: {text}");
    }

    #[test]
    fn a_table_of_short_names_keeps_its_columns() {
        let mut out = Vec::new();
        print_summary(&mut out, &SweepReport::default()).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains("planned (dry run)            0\n"), "{text}");
    }
}
