//! What handling an event or sweeping a registry ended in: the answer the Lambda returns and the
//! one log line each invocation leaves.

use serde::Serialize;
use tracing::{info, warn};

use crate::ecr::EcrError;
use crate::event::Trigger;
use crate::policy::trust::{Finding, Revocation};

/// What happened to one event, or to one repository of a sweep.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// The policy was written (or, when nothing was left in it, deleted).
    Applied,
    /// The policy was already right; nothing was written.
    Unchanged,
    /// The repository was created on a denied pull, and its policy attached.
    Created,
    /// Dry run: the policy (or repository) would have been written.
    Planned,
    /// Nothing to do, or not ours; the reason says which.
    Skipped,
    /// Cannot succeed as it stands; the reason says why.
    Failed,
    /// A scheduled sweep ran; `sweep` has its counts.
    Swept,
}

impl Status {
    /// The status as the outcome's JSON, the logs and the metrics spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Applied => "applied",
            Status::Unchanged => "unchanged",
            Status::Created => "created",
            Status::Planned => "planned",
            Status::Skipped => "skipped",
            Status::Failed => "failed",
            Status::Swept => "swept",
        }
    }
}

/// What happened to one of the registry's own documents: its policy, or a creation template.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DocumentReport {
    /// `registry policy`, or `template PREFIX`.
    pub document: String,
    /// How it ended.
    #[serde(rename = "outcome")]
    pub status: Status,
    /// Why, when the status alone does not say it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The document before and after a change written or planned (`after`: `None` when it is, or
    /// would be, deleted); for the diffs the command line shows.
    #[serde(skip)]
    pub before: Option<String>,
    /// The document written or planned; `None` when it was (or would be) deleted.
    #[serde(skip)]
    pub after: Option<String>,
    /// A retry could fix the failure (throttling, 5xx).
    #[serde(skip)]
    pub retryable: bool,
    /// The principals outside the trust boundary in the document read.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub untrusted: Vec<Finding>,
    /// What `revoke` mode took out of it (or, in a dry run, would), in the same write.
    #[serde(skip)]
    pub revocation: Option<Revocation>,
}

impl DocumentReport {
    /// A report of `document` with `status` and no reason yet.
    pub fn new(document: impl Into<String>, outcome: Status) -> Self {
        DocumentReport {
            document: document.into(),
            status: outcome,
            reason: None,
            before: None,
            after: None,
            retryable: false,
            untrusted: Vec::new(),
            revocation: None,
        }
    }

    /// The same, with its reason.
    pub fn because(mut self, reason: impl Into<String>) -> Self {
        self.reason = Some(reason.into());
        self
    }
}

/// The outcome that stands for several documents: the worst of them.
pub(crate) fn overall(documents: &[DocumentReport]) -> Status {
    let has = |s: Status| documents.iter().any(|d| d.status == s);
    [Status::Failed, Status::Applied, Status::Planned]
        .into_iter()
        .find(|s| has(*s))
        .unwrap_or(Status::Unchanged)
}

/// What one sweep did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SweepReport {
    /// Repositories in the registry; the sweep looks at every one of them, because a repository
    /// that no rule matches any more may still carry a grant to take back.
    pub listed: usize,
    /// Repositories some rule matches.
    pub matching: usize,
    /// Repositories whose policy was read.
    pub checked: usize,
    /// Repositories whose policy was written or deleted.
    pub applied: usize,
    /// Repositories already right.
    pub unchanged: usize,
    /// Repositories a dry run would change.
    pub planned: usize,
    /// Repositories skipped (gone meanwhile, deadline).
    pub skipped: usize,
    /// Repositories that failed; the first are named in `failed_repositories`.
    pub failed: usize,
    /// Repositories that lost (or, in a dry run, would lose) a statement no rule wants any more.
    pub revoked: usize,
    /// The first failed repositories, with their reasons.
    pub failed_repositories: Vec<String>,
    /// Where in the sorted listing this sweep started.
    pub start: usize,
    /// Repositories this sweep did not reach (deadline or budget); later sweeps do.
    pub not_reached: usize,
    /// Whether every listed repository was checked.
    pub complete: bool,
    /// At this sweep's pace, every repository is checked within this many consecutive sweeps.
    pub coverage_sweeps: Option<u64>,
    /// The registry policy and the creation templates, converged once per sweep.
    pub documents: Vec<DocumentReport>,
    /// Repositories this sweep gave grants that the event path should have given (see
    /// `metrics::is_missed_event`).
    pub missed_events: usize,
    /// Principals outside the trust boundary in the documents this sweep read (repository
    /// policies and the registry's own documents); absent without any.
    #[serde(skip_serializing_if = "is_zero")]
    pub untrusted_grants: usize,
    /// Of them, those `revoke` mode took out (or, in a dry run, would).
    #[serde(skip_serializing_if = "is_zero")]
    pub untrusted_revoked: usize,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// The handler's answer, and the one log line each invocation leaves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Outcome {
    /// EventBridge's event `id`, when the event had one.
    pub event_id: Option<String>,
    /// What kind of event it was.
    pub trigger: Trigger,
    /// The repository it concerned, when it concerned one.
    pub repository: Option<String>,
    /// How it ended (the JSON key is `outcome`).
    #[serde(rename = "outcome")]
    pub status: Status,
    /// The rules that match the repository.
    pub rules: Vec<String>,
    /// Why, when the status alone does not say it.
    pub reason: Option<String>,
    /// The counts of a scheduled sweep.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sweep: Option<SweepReport>,
    /// The registry's own documents an event about them converged.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub documents: Vec<DocumentReport>,
    /// The principals outside the trust boundary in the repository's policy, as
    /// `{"sid", "principal", "kind"}`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub untrusted: Vec<Finding>,
    /// Seconds from the event's time to its outcome (events about a repository or the
    /// registry): in the log line and the metrics, not in the answer, which stays the same
    /// for the same event.
    #[serde(skip)]
    pub event_age_seconds: Option<u64>,
}

impl Outcome {
    /// An outcome with no reason yet.
    pub fn new(event_id: Option<String>, trigger: Trigger, outcome: Status) -> Self {
        Outcome {
            event_id,
            trigger,
            repository: None,
            status: outcome,
            rules: Vec::new(),
            reason: None,
            sweep: None,
            documents: Vec::new(),
            untrusted: Vec::new(),
            event_age_seconds: None,
        }
    }

    /// The outcome of input that is not an event at all (only the command line can receive
    /// such).
    pub fn unreadable(reason: impl Into<String>) -> Self {
        Outcome::new(None, Trigger::Unrecognized, Status::Failed).because(reason)
    }

    /// The same, with its reason.
    pub fn because(mut self, reason: impl Into<String>) -> Self {
        self.reason = Some(reason.into());
        self
    }

    /// Emits the invocation's structured log line.
    pub fn log(&self) {
        let (trigger, outcome) = (self.trigger.as_str(), self.status.as_str());
        let event_id = self.event_id.as_deref().unwrap_or_default();
        let repository = self.repository.as_deref().unwrap_or_default();
        let rules = self.rules.join(",");
        let reason = self.reason.as_deref().unwrap_or_default();
        let event_age_seconds = self.event_age_seconds;
        if self.status == Status::Failed {
            warn!(
                event_id,
                trigger, repository, outcome, rules, reason, event_age_seconds, "event handled"
            );
        } else {
            info!(
                event_id,
                trigger, repository, outcome, rules, reason, event_age_seconds, "event handled"
            );
        }
    }
}

/// An event that a retry may fix (throttling, 5xx, a principal IAM does not know yet). The Lambda
/// returns it as an error so that Lambda's retries and the dead-letter queue do their job.
#[derive(Debug, thiserror::Error)]
#[error("{}", .outcome.reason.as_deref().unwrap_or("retryable failure"))]
pub struct RetryableError {
    /// What the outcome was when it gave up (`failed`, with the reason).
    pub outcome: Box<Outcome>,
    /// The ECR error behind it, when there was one.
    #[source]
    pub source: Option<EcrError>,
}

impl From<RetryableError> for lambda_runtime::Diagnostic {
    fn from(e: RetryableError) -> Self {
        lambda_runtime::Diagnostic {
            error_type: "Retryable".to_string(),
            error_message: e.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_status_and_trigger_is_spelled_as_its_json() {
        let statuses = [
            Status::Applied,
            Status::Unchanged,
            Status::Created,
            Status::Planned,
            Status::Skipped,
            Status::Failed,
            Status::Swept,
        ];
        for s in statuses {
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
        }
        for t in Trigger::ALL {
            assert_eq!(serde_json::to_value(t).unwrap(), t.as_str());
        }
    }
}
