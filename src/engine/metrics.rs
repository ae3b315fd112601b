//! CloudWatch metrics in the embedded metric format: one JSON document per dimension set, written
//! to standard output after each invocation, which Lambda's log pipeline turns into metrics with
//! no API call and no extra permission.
//!
//! Recording goes through the `metrics` facade: without an installed recorder (the command line,
//! the tests) every call here is a no-op, so the decision path never knows whether it is measured.
//!
//! | Metric | Unit | Dimensions | What it counts |
//! |---|---|---|---|
//! | `Invocations` | Count | `FunctionName`, `Trigger`, `Outcome` | invocations, by trigger and outcome |
//! | `FailedOutcomes` | Count | `FunctionName` | invocations that ended `failed` (alarm) |
//! | `EventAgeSeconds` | Seconds | `FunctionName` | event time to done, for events about a repository or the registry (alarm) |
//! | `UnnamedCallerPulls` | Count | `FunctionName` | denied pulls from callers that no matching rule names (a security signal) |
//! | `PullThroughCacheFailures` | Count | `FunctionName` | "ECR Pull Through Cache Action" events whose sync with the upstream registry failed (alarm) |
//! | `MissedEvents` | Count | `FunctionName` | repositories the sweep had to give grants that the event path should have given (alarm) |
//! | `UntrustedGrants` | Count | `FunctionName` | principals outside the rules' trust boundary in the documents an invocation read (only with `trust`; alarm) |
//! | `SweepChecked`, `SweepApplied`, `SweepRevoked`, `SweepFailed`, `SweepNotReached` | Count | `FunctionName` | a sweep's counts |
//! | `SweepCoverageSweeps` | None | `FunctionName` | how many consecutive sweeps cover every repository at this pace |

use std::io::Write;

use metrics::{counter, describe_counter, describe_gauge, describe_histogram, gauge, histogram};
use metrics_cloudwatch_embedded::Collector;
use tracing::warn;

use crate::engine::outcome::{Outcome, Status, SweepReport};
use crate::event::SyncFailure;

/// The CloudWatch namespace of every metric the function emits.
pub const NAMESPACE: &str = "EcrPolicyRemediator";

/// A repository younger than this when the sweep repairs it may simply be waiting for its event;
/// an older one was missed by the event path (CloudTrail delivers within about five minutes).
pub const MISSED_EVENT_AGE_SECONDS: i64 = 10 * 60;

/// Installs the global recorder, once per process (the Lambda's, never the command line's).
/// `function_name` becomes the `FunctionName` dimension of every metric, so that two deployments
/// in one account never mix.
pub fn install(function_name: &str) -> Result<&'static Collector, String> {
    let collector = metrics_cloudwatch_embedded::Builder::new()
        .cloudwatch_namespace(NAMESPACE)
        .with_dimension("FunctionName", function_name.to_string())
        .init()
        .map_err(|e| e.to_string())?;
    describe_counter!(
        "Invocations",
        metrics::Unit::Count,
        "invocations by trigger and outcome"
    );
    describe_counter!("FailedOutcomes", metrics::Unit::Count, "failed invocations");
    describe_counter!(
        "UnnamedCallerPulls",
        metrics::Unit::Count,
        "denied pulls, caller unnamed"
    );
    describe_counter!(
        "PullThroughCacheFailures",
        metrics::Unit::Count,
        "failed pull-through-cache syncs"
    );
    describe_histogram!(
        "EventAgeSeconds",
        metrics::Unit::Seconds,
        "event time to done"
    );
    describe_counter!(
        "MissedEvents",
        metrics::Unit::Count,
        "repairs the events missed"
    );
    describe_counter!(
        "UntrustedGrants",
        metrics::Unit::Count,
        "grants outside the trust boundary"
    );
    for name in SWEEP_COUNTS {
        describe_counter!(name, metrics::Unit::Count, "a sweep's counts");
    }
    describe_gauge!("SweepCoverageSweeps", "sweeps that cover every repository");
    Ok(collector)
}

/// Writes what was recorded since the last flush, one line per dimension set, tagged with the
/// request id so that a metric can be traced back to its log lines.
pub fn flush(collector: &Collector, request_id: &str, out: impl Write) -> std::io::Result<()> {
    collector.set_property("requestId", request_id.to_string());
    collector.flush(out)
}

const SWEEP_COUNTS: [&str; 5] = [
    "SweepChecked",
    "SweepApplied",
    "SweepRevoked",
    "SweepFailed",
    "SweepNotReached",
];

/// Records one invocation's outcome; `event_age_seconds` when the event says when it happened.
pub fn record(outcome: &Outcome) {
    let trigger = outcome.trigger.as_str();
    let status = outcome.status.as_str();
    counter!("Invocations", "Trigger" => trigger, "Outcome" => status).increment(1);
    if outcome.status == Status::Failed {
        counter!("FailedOutcomes").increment(1);
    }
    if let Some(age) = outcome.event_age_seconds {
        histogram!("EventAgeSeconds").record(age as f64);
    }
    if let Some(sweep) = &outcome.sweep {
        record_sweep(sweep);
    }
    let untrusted = untrusted_grants(outcome);
    if untrusted > 0 {
        counter!("UntrustedGrants").increment(untrusted as u64);
    }
}

/// Every finding an invocation reported: in the repository's policy, in the registry documents
/// an event about them converged, and in everything a sweep read (its own documents included).
pub fn untrusted_grants(outcome: &Outcome) -> usize {
    let documents: usize = outcome.documents.iter().map(|d| d.untrusted.len()).sum();
    let swept = outcome.sweep.as_ref().map_or(0, |s| s.untrusted_grants);
    outcome.untrusted.len() + documents + swept
}

/// A denied pull from a caller that no matching rule names: someone is trying to pull what the
/// rules do not give them.
pub fn unnamed_caller_pull() {
    counter!("UnnamedCallerPulls").increment(1);
}

/// A pull-through cache failed to sync with its upstream registry: pulls of images it has not
/// cached yet fail until someone fixes its credentials or upstream. One WARN line with what the
/// event says (fields it leaves out are left out), and the metric the alarm watches.
pub fn pull_through_cache_failure(f: &SyncFailure) {
    counter!("PullThroughCacheFailures").increment(1);
    warn!(
        repository = f.repository.as_deref(),
        upstream_registry = f.upstream_registry.as_deref(),
        sync_status = f.sync_status.as_deref(),
        failure_code = f.failure_code.as_deref(),
        failure_reason = f.failure_reason.as_deref(),
        "pull-through cache sync failed"
    );
}

fn record_sweep(r: &SweepReport) {
    let counts = [r.checked, r.applied, r.revoked, r.failed, r.not_reached];
    for (name, value) in SWEEP_COUNTS.into_iter().zip(counts) {
        counter!(name).increment(value as u64);
    }
    counter!("MissedEvents").increment(r.missed_events as u64);
    if let Some(bound) = r.coverage_sweeps {
        gauge!("SweepCoverageSweeps").set(bound as f64);
    }
}

/// Whether a repository the sweep gave grants to is one the event path missed: it was only
/// missing grants (nothing taken back or changed, which a rule change explains) and it is older
/// than its creation event can take to arrive. The first sweep after a new rule counts the
/// repositories it newly covers too: they never had an event to miss.
pub fn is_missed_event(
    created_at: Option<i64>,
    now: i64,
    change: Option<&crate::policy::Change>,
) -> bool {
    let only_added =
        change.is_some_and(|c| !c.added.is_empty() && c.removed.is_empty() && c.changed.is_empty());
    let old = created_at.is_some_and(|t| now.saturating_sub(t) > MISSED_EVENT_AGE_SECONDS);
    only_added && old
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::Change;

    fn change(added: &[&str], removed: &[&str], changed: &[&str]) -> Change {
        let v = |s: &[&str]| s.iter().map(|x| x.to_string()).collect();
        Change {
            added: v(added),
            removed: v(removed),
            changed: v(changed),
        }
    }

    #[test]
    fn a_missed_event_is_an_old_repository_that_was_only_missing_grants() {
        let now = 1_000_000;
        let old = Some(now - MISSED_EVENT_AGE_SECONDS - 1);
        let added = change(&["A"], &[], &[]);
        assert!(is_missed_event(old, now, Some(&added)));
        // Young: its event may still be on the way.
        assert!(!is_missed_event(Some(now - 30), now, Some(&added)));
        // A rule narrowed or its principals changed: a configuration change, not a missed event.
        assert!(!is_missed_event(
            old,
            now,
            Some(&change(&["A"], &["B"], &[]))
        ));
        assert!(!is_missed_event(old, now, Some(&change(&[], &[], &["A"]))));
        // Nothing written, or no creation time known.
        assert!(!is_missed_event(old, now, None));
        assert!(!is_missed_event(None, now, Some(&added)));
    }

    #[test]
    fn untrusted_grants_count_every_document_an_invocation_read() {
        use crate::engine::outcome::{DocumentReport, Outcome, SweepReport};
        use crate::event::Trigger;
        use crate::policy::trust::{Finding, FindingKind};
        let finding = |sid: &str| Finding {
            sid: sid.into(),
            principal: "999999999999".into(),
            kind: FindingKind::Untrusted,
        };
        let mut out = Outcome::new(None, Trigger::PolicyChanged, Status::Unchanged);
        assert_eq!(untrusted_grants(&out), 0, "nothing found, nothing counted");
        out.untrusted = vec![finding("A"), finding("B")];
        let mut document = DocumentReport::new("registry policy", Status::Unchanged);
        document.untrusted = vec![finding("C")];
        out.documents = vec![document];
        out.sweep = Some(SweepReport {
            untrusted_grants: 4,
            ..SweepReport::default()
        });
        assert_eq!(untrusted_grants(&out), 7);
    }
}
