//! `ecr-policy-remediator plan`: which rules match each repository named and how its policy would
//! change, and with `--registry` how the registry's documents would; writes nothing.

use std::io::Write;
use std::path::PathBuf;

use crate::cli::common::{
    connect, load_config, print_diff, print_document, revoked, stdout, AwsOptions, CliError, Ran,
};
use ecr_policy_remediator::Plan;
use ecr_policy_remediator::Remediator;
use ecr_policy_remediator::Status;

/// The refusal of a plan of nothing: `reconcile --dry-run` is the plan of every repository.
pub(crate) const NOTHING_TO_PLAN: &str = "plan needs at least one repository name, or \
    --registry: `reconcile --dry-run` plans every repository";

pub(crate) async fn plan(
    config: Option<PathBuf>,
    registry: bool,
    repositories: &[String],
    aws: &AwsOptions,
) -> Result<Ran, CliError> {
    if repositories.is_empty() && !registry {
        return Err(CliError::Usage(NOTHING_TO_PLAN.into()));
    }
    let mut config = load_config(config)?;
    config.dry_run = true;
    for name in repositories {
        ecr_policy_remediator::check_repository_name(name).map_err(CliError::Usage)?;
    }
    let remediator = connect(config, aws).await?;
    let mut ran = Ran::default();
    let mut out = stdout();
    if registry {
        for d in remediator.converge_registry().await {
            ran.failed |= d.status == Status::Failed;
            ran.changes |= d.status == Status::Planned;
            print_document(&mut out, &d)?;
        }
    }
    for name in repositories {
        plan_repository(&mut out, &remediator, name, &mut ran).await?;
    }
    out.flush()?;
    Ok(ran)
}

/// One repository: the rules that match it, and its policy's difference or why it cannot be
/// written.
async fn plan_repository(
    out: &mut impl Write,
    remediator: &Remediator,
    name: &str,
    ran: &mut Ran,
) -> std::io::Result<()> {
    writeln!(out, "== {name}")?;
    let report = match remediator.inspect(name).await {
        Ok(report) => report,
        Err(e) => {
            ran.failed = true;
            return writeln!(out, "   cannot read its policy: {e}");
        }
    };
    if report.rules.is_empty() {
        writeln!(out, "   no rule matches")?;
    } else {
        writeln!(out, "   rules: {}", report.rules.join(", "))?;
    }
    // What the trust boundary reports and does not take out: services, unreadable statements,
    // or everything in report mode. What it takes out is marked in the diff.
    let revoked = revoked(report.revocation.as_ref());
    for f in report.untrusted.iter().filter(|f| !revoked.contains(f)) {
        let (sid, principal, kind) = (&f.sid, &f.principal, f.kind.as_str());
        writeln!(
            out,
            "   untrusted grant (reported): {principal} in {sid}, {kind}"
        )?;
    }
    match report.decision.map(|d| d.plan) {
        Ok(Plan::Unchanged) => writeln!(out, "   the policy is already right: nothing to write"),
        Ok(Plan::Write { text, .. }) => {
            ran.changes = true;
            print_diff(out, report.current.as_deref(), Some(&text), revoked)
        }
        Ok(Plan::Delete { .. }) => {
            ran.changes = true;
            writeln!(
                out,
                "   the policy would be deleted: no statement would be left in it"
            )?;
            print_diff(out, report.current.as_deref(), None, revoked)
        }
        Err(reason) => {
            ran.failed = true;
            writeln!(out, "   cannot write: {reason}")
        }
    }
}
