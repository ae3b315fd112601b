//! Deciding what an EventBridge event asks of the remediator, and which repository it concerns.
//!
//! Reading never fails: an event that cannot be used becomes `Skip` (not ours) or `Invalid` (ours,
//! but unreadable), each with the sentence that says why.

pub(crate) mod envelope;
pub(crate) mod locate;
pub(crate) mod native;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::event::envelope::{Detail, Envelope};
pub(crate) use crate::event::locate::Target;
use crate::event::locate::{caller, principal_arn, registry_of, target};
pub(crate) use crate::event::native::SyncFailure;
use crate::event::native::{native, sync_failure};
use crate::names::caller::Caller;
use crate::names::shown;

/// Longest event ID echoed back; a hostile event must not blow up the logs.
const MAX_ID_CHARS: usize = 128;

/// What kind of event this was.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Trigger {
    /// `CreateRepository`, from CloudTrail.
    RepositoryCreated,
    /// A cross-account pull was denied.
    PullDenied,
    /// `SetRepositoryPolicy` or `DeleteRepositoryPolicy`.
    PolicyChanged,
    /// Someone changed the registry policy or a creation template.
    RegistryChanged,
    /// ECR's native "ECR Image Action": an image was pushed.
    ImagePushed,
    /// ECR's native "ECR Replication Action": an image was replicated into the registry.
    ImageReplicated,
    /// ECR's native "ECR Pull Through Cache Action": a pull-through-cache pull was attempted.
    PullThroughCache,
    /// The schedule's sweep.
    Scheduled,
    /// Not an event this function knows.
    Unrecognized,
}

impl Trigger {
    /// Every trigger, for the tests that check each spelling.
    pub const ALL: [Trigger; 9] = [
        Trigger::RepositoryCreated,
        Trigger::PullDenied,
        Trigger::PolicyChanged,
        Trigger::RegistryChanged,
        Trigger::ImagePushed,
        Trigger::ImageReplicated,
        Trigger::PullThroughCache,
        Trigger::Scheduled,
        Trigger::Unrecognized,
    ];

    /// The trigger as the outcome's JSON, the logs and the metrics spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            Trigger::RepositoryCreated => "repository-created",
            Trigger::PullDenied => "pull-denied",
            Trigger::PolicyChanged => "policy-changed",
            Trigger::RegistryChanged => "registry-changed",
            Trigger::ImagePushed => "image-pushed",
            Trigger::ImageReplicated => "image-replicated",
            Trigger::PullThroughCache => "pull-through-cache",
            Trigger::Scheduled => "scheduled",
            Trigger::Unrecognized => "unrecognized",
        }
    }
}

/// What an event asks of the remediator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Classified {
    /// A repository was created. `created_by` is the IAM role (session issuer) or user that
    /// created it; none for pull-through cache, which ECR does itself.
    RepositoryCreated {
        /// The repository and its registry.
        target: Target,
        /// Who created it, when the record says.
        created_by: Option<String>,
    },
    /// A denied pull of a repository.
    PullDenied {
        /// The repository and its registry.
        target: Target,
        /// Who was denied.
        caller: Caller,
    },
    /// Someone set or deleted a repository policy. `changed_by` is the IAM role (session issuer)
    /// or user that did it.
    PolicyChanged {
        /// The repository and its registry.
        target: Target,
        /// Who changed it, when the record says.
        changed_by: Option<String>,
    },
    /// Someone changed the registry policy or a creation template: converge the registry's own
    /// documents.
    RegistryChanged {
        /// The registry's own account.
        registry_id: String,
        /// The registry's region.
        region: String,
        /// Who changed it, when the record says.
        changed_by: Option<String>,
    },
    /// A native ECR event about one repository: converge it.
    Native {
        /// Which native event it was.
        trigger: Trigger,
        /// The repository and its registry.
        target: Target,
    },
    /// An EventBridge schedule: sweep the registry.
    Scheduled(Schedule),
    /// Not an event to act on (another event name, a failed call, another source...).
    Skip {
        /// The trigger the event looked like.
        trigger: Trigger,
        /// Why it is not ours.
        reason: String,
    },
    /// An event we should act on but cannot read: the reason says what is missing or wrong.
    Invalid {
        /// The trigger the event was.
        trigger: Trigger,
        /// What could not be read.
        reason: String,
    },
}

/// What a scheduled event says about itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    pub account: Option<String>,
    pub region: Option<String>,
    /// Seconds since the epoch of the scheduled time, when the event carries a readable one.
    pub time: Option<i64>,
}

/// An event, classified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// The EventBridge event ID, shortened if absurdly long.
    pub id: Option<String>,
    /// The envelope's `time`, in seconds since the epoch, when it is readable.
    pub time: Option<i64>,
    /// What the event asks for.
    pub classified: Classified,
    /// A pull-through cache's failed sync with its upstream, which the operator must hear of
    /// whatever becomes of the repository.
    pub sync_failure: Option<SyncFailure>,
}

pub(crate) const API_CALL: &str = "AWS API Call via CloudTrail";
pub(crate) const SERVICE_EVENT: &str = "AWS Service Event via CloudTrail";
pub(crate) const CREATE_SOURCES: &[&str] = &["ecr.amazonaws.com", "replication.ecr.amazonaws.com"];
pub(crate) const PULL_EVENTS: &[&str] = &[
    "BatchGetImage",
    "GetDownloadUrlForLayer",
    "BatchCheckLayerAvailability",
];
pub(crate) const POLICY_EVENTS: &[&str] = &["SetRepositoryPolicy", "DeleteRepositoryPolicy"];
pub(crate) const REGISTRY_EVENTS: &[&str] = &[
    "PutRegistryPolicy",
    "DeleteRegistryPolicy",
    "CreateRepositoryCreationTemplate",
    "UpdateRepositoryCreationTemplate",
    "DeleteRepositoryCreationTemplate",
];
pub(crate) const IMAGE_ACTION: &str = "ECR Image Action";
pub(crate) const PULL_THROUGH_CACHE_ACTION: &str = "ECR Pull Through Cache Action";
pub(crate) const REPLICATION_ACTION: &str = "ECR Replication Action";
pub(crate) const NATIVE_EVENTS: &[&str] =
    &[IMAGE_ACTION, REPLICATION_ACTION, PULL_THROUGH_CACHE_ACTION];
pub(crate) const DENIED_ERRORS: &[&str] = &[
    "AccessDenied",
    "AccessDeniedException",
    "RepositoryNotFoundException",
];

impl Event {
    /// Reads and classifies an event. Never fails: anything unusable becomes `Skip` or `Invalid`.
    pub fn classify(raw: &Value) -> Event {
        if !raw.is_object() {
            return Event {
                id: None,
                time: None,
                classified: Classified::Invalid {
                    trigger: Trigger::Unrecognized,
                    reason: "an event is a JSON object, and this is not one".into(),
                },
                sync_failure: None,
            };
        }
        let envelope = Envelope::deserialize(raw).unwrap_or_default();
        let id = envelope
            .id
            .as_deref()
            .map(|id| id.chars().take(MAX_ID_CHARS).collect());
        Event {
            id,
            time: envelope.time.as_deref().and_then(epoch_seconds),
            classified: classify(&envelope),
            sync_failure: sync_failure(&envelope),
        }
    }
}

/// Seconds since the epoch of an ISO-8601 time such as EventBridge's `2025-03-04T11:02:45Z`.
pub(crate) fn epoch_seconds(time: &str) -> Option<i64> {
    let at = humantime::parse_rfc3339_weak(time.trim()).ok()?;
    match at.duration_since(std::time::UNIX_EPOCH) {
        Ok(after) => i64::try_from(after.as_secs()).ok(),
        Err(before) => i64::try_from(before.duration().as_secs()).ok().map(|s| -s),
    }
}

fn skip(reason: impl Into<String>) -> Classified {
    Classified::Skip {
        trigger: Trigger::Unrecognized,
        reason: reason.into(),
    }
}

fn invalid(trigger: Trigger, reason: impl Into<String>) -> Classified {
    Classified::Invalid {
        trigger,
        reason: reason.into(),
    }
}

fn classify(e: &Envelope) -> Classified {
    let source = e.source.as_deref().unwrap_or_default();
    let detail_type = e.detail_type.as_deref().unwrap_or_default();
    if source.is_empty() && detail_type.is_empty() {
        return skip("not an EventBridge event: it has no source and no detail-type");
    }
    if source == "aws.events" && detail_type == "Scheduled Event" {
        return Classified::Scheduled(Schedule {
            account: e.account.clone(),
            region: e.region.clone(),
            time: e.time.as_deref().and_then(epoch_seconds),
        });
    }
    if source != "aws.ecr" {
        return skip(format!("event source {} is not aws.ecr", shown(source)));
    }
    if NATIVE_EVENTS.contains(&detail_type) {
        return native(e, detail_type);
    }
    if detail_type != API_CALL && detail_type != SERVICE_EVENT {
        return skip(format!(
            "detail-type {} is not a CloudTrail record",
            shown(detail_type)
        ));
    }
    let Some(d) = &e.detail else {
        return invalid(
            Trigger::Unrecognized,
            "the event has no CloudTrail record in detail",
        );
    };
    let event_source = d.event_source.as_deref().unwrap_or_default();
    let event_name = d.event_name.as_deref().unwrap_or_default();
    if event_name == "CreateRepository" && CREATE_SOURCES.contains(&event_source) {
        return creation(e, d);
    }
    if event_source == "ecr.amazonaws.com" && PULL_EVENTS.contains(&event_name) {
        return pull(e, d, event_name);
    }
    if event_source == "ecr.amazonaws.com" && POLICY_EVENTS.contains(&event_name) {
        return policy_change(e, d, event_name, detail_type);
    }
    if event_source == "ecr.amazonaws.com" && REGISTRY_EVENTS.contains(&event_name) {
        return registry_change(e, d, event_name, detail_type);
    }
    skip(format!(
        "{} from {} is not a repository creation, a denied pull or a policy change",
        shown(event_name),
        shown(event_source)
    ))
}

fn creation(e: &Envelope, d: &Detail) -> Classified {
    if let Some(code) = &d.error_code {
        return skip(format!(
            "CreateRepository failed with {}: no repository was created",
            shown(code)
        ));
    }
    match target(e, d, false) {
        Ok(target) => Classified::RepositoryCreated {
            target,
            created_by: principal_arn(d),
        },
        Err(reason) => invalid(Trigger::RepositoryCreated, reason),
    }
}

fn pull(e: &Envelope, d: &Detail, event_name: &str) -> Classified {
    let code = d.error_code.as_deref().unwrap_or_default();
    if !DENIED_ERRORS.contains(&code) {
        let what = if code.is_empty() {
            "succeeded".to_string()
        } else {
            format!("failed with {}", shown(code))
        };
        return skip(format!("{event_name} {what}: not a denied pull"));
    }
    let found = target(e, d, true).and_then(|t| {
        let c = caller(e, d, &t.registry_id)?;
        Ok((t, c))
    });
    match found {
        Ok((target, caller)) => Classified::PullDenied { target, caller },
        Err(reason) => invalid(Trigger::PullDenied, reason),
    }
}

/// Why a change event records no change (it is not an API call, or the call failed), saying
/// `what` did not change.
fn no_change(d: &Detail, event_name: &str, detail_type: &str, what: &str) -> Option<Classified> {
    if detail_type != API_CALL {
        return Some(skip(format!(
            "{event_name} as {detail_type:?} is not an API call"
        )));
    }
    d.error_code
        .as_ref()
        .map(|code| skip(format!("{event_name} failed with {}: {what}", shown(code))))
}

fn policy_change(e: &Envelope, d: &Detail, event_name: &str, detail_type: &str) -> Classified {
    if let Some(skipped) = no_change(d, event_name, detail_type, "the policy did not change") {
        return skipped;
    }
    match target(e, d, false) {
        Ok(target) => Classified::PolicyChanged {
            changed_by: principal_arn(d),
            target,
        },
        Err(reason) => invalid(Trigger::PolicyChanged, reason),
    }
}

fn registry_change(e: &Envelope, d: &Detail, event_name: &str, detail_type: &str) -> Classified {
    if let Some(skipped) = no_change(d, event_name, detail_type, "nothing changed") {
        return skipped;
    }
    match registry_of(e, d) {
        Ok((registry_id, region)) => Classified::RegistryChanged {
            registry_id,
            region,
            changed_by: principal_arn(d),
        },
        Err(reason) => invalid(Trigger::RegistryChanged, reason),
    }
}
