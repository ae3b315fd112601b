//! The trust boundary on the engine's side: every document the engine reads anyway is judged
//! against the trusted set (no extra ECR call), each finding is reported in one WARN line per
//! document, and in `revoke` mode the untrusted and public principals are taken out of the text
//! the merge starts from, so that the one write the merge makes carries both.

use serde::Serialize;
use tracing::{info, warn};

use crate::config::TrustMode;
use crate::engine::converge::{Cause, Remediator};
use crate::policy::trust::{check, revoke, Before, Finding, Revocation};
use crate::policy::{Change, Kind, Plan, PolicyError};

/// Which document a finding or a change is in, as the log lines name it: a repository's policy
/// (`repository`), or one of the registry's own documents (`document`).
#[derive(Debug, Clone, Copy)]
pub(crate) enum Place<'a> {
    Repository(&'a str),
    Document(&'a str),
}

/// What the trust check made of one document just read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Screened {
    /// Every principal outside the trusted set (always empty without `trust`).
    pub untrusted: Vec<Finding>,
    /// What `revoke` mode took out; `None` when it took nothing (or the mode is `report`).
    pub revocation: Option<Revocation>,
}

impl Screened {
    /// The text the merge starts from: the revoked one when something was revoked.
    pub(crate) fn text<'a>(&'a self, current: Option<&'a str>) -> Option<&'a str> {
        match &self.revocation {
            Some(r) => Some(r.text.as_str()),
            None => current,
        }
    }

    /// The merge's plan, made from [`Screened::text`], with the revocation carried in it: one
    /// write (or delete) for both.
    pub(crate) fn plan(&self, merge: Plan) -> Plan {
        match &self.revocation {
            Some(r) => r.with_merge(merge),
            None => merge,
        }
    }
}

impl Remediator {
    /// Judges a document just read. `may_revoke` is false for what the function never writes
    /// from a revocation (creation templates: report only). Without `trust`, or without a
    /// document, nothing is judged and nothing is logged.
    pub(crate) fn screen(
        &self,
        place: Place<'_>,
        current: Option<&str>,
        kind: Kind,
        may_revoke: bool,
    ) -> Result<Screened, PolicyError> {
        let (Some(trusted), Some(trust), Some(text)) = (&self.trusted, &self.config.trust, current)
        else {
            return Ok(Screened::default());
        };
        let owner = &self.config.ownership;
        let mode = if may_revoke {
            trust.mode
        } else {
            TrustMode::Report
        };
        let screened = match mode {
            TrustMode::Report => Screened {
                untrusted: check(text, owner, kind, trusted)?,
                revocation: None,
            },
            TrustMode::Revoke => {
                let r = revoke(text, owner, kind, trusted)?;
                Screened {
                    untrusted: r.findings.clone(),
                    revocation: r.changed().then_some(r),
                }
            }
        };
        warn_untrusted(place, &screened.untrusted, mode);
        Ok(screened)
    }
}

/// JSON text of a list, for a log field that must carry several structured items on one line.
fn json<T: Serialize>(items: &[T]) -> String {
    serde_json::to_string(items).unwrap_or_default()
}

/// The one WARN line of a document with findings: each as `{"sid","principal","kind"}` in the
/// `untrusted` field, so that one line per document says everything, whatever the count.
fn warn_untrusted(place: Place<'_>, findings: &[Finding], mode: TrustMode) {
    if findings.is_empty() {
        return;
    }
    let (untrusted, count) = (json(findings), findings.len());
    let mode = match mode {
        TrustMode::Report => "report",
        TrustMode::Revoke => "revoke",
    };
    match place {
        Place::Repository(repository) => {
            warn!(repository, count, mode, untrusted = %untrusted, "untrusted grant")
        }
        Place::Document(document) => {
            warn!(document, count, mode, untrusted = %untrusted, "untrusted grant")
        }
    }
}

/// A short account of what a revocation took (`would` in a dry run), for an outcome's reason.
pub(crate) fn revoked_reason(revocation: &Revocation, dry_run: bool) -> String {
    let each: Vec<String> = revocation
        .revoked
        .iter()
        .map(|f| format!("{} in {} ({})", f.principal, f.sid, f.kind.as_str()))
        .collect();
    let verb = if dry_run {
        "would take back"
    } else {
        "took back"
    };
    format!(
        "{verb} grants outside the trust boundary: {}",
        each.join(", ")
    )
}

/// The audit line of a document change. With a revocation it also names each principal taken
/// out (`revoked`, with its Sid and kind) and the text of each statement before the change
/// (`statements_before`), so that a person can restore it; without one, the line is as it always
/// was.
pub(crate) fn log_changed(
    place: Place<'_>,
    change: &Change,
    deleted: bool,
    revocation: Option<&Revocation>,
    cause: Cause<'_>,
) {
    let (added, removed, changed) = (
        change.added.join(","),
        change.removed.join(","),
        change.changed.join(","),
    );
    let trigger = cause.trigger.as_str();
    let caller = cause.caller.unwrap_or_default();
    let Some(r) = revocation else {
        match place {
            Place::Repository(repository) => info!(
                repository, added = %added, removed = %removed, changed = %changed, deleted,
                trigger, caller, "repository policy changed"
            ),
            Place::Document(document) => info!(
                document, added = %added, removed = %removed, changed = %changed, deleted,
                trigger, caller, "registry document changed"
            ),
        }
        return;
    };
    let revoked = json(&r.revoked);
    let statements_before = json::<Before>(&r.before);
    match place {
        Place::Repository(repository) => info!(
            repository, added = %added, removed = %removed, changed = %changed, deleted,
            trigger, caller, revoked = %revoked, statements_before = %statements_before,
            "repository policy changed"
        ),
        Place::Document(document) => info!(
            document, added = %added, removed = %removed, changed = %changed, deleted,
            trigger, caller, revoked = %revoked, statements_before = %statements_before,
            "registry document changed"
        ),
    }
}

#[cfg(test)]
mod tests;
