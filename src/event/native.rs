//! ECR's own events, which reach the default bus without a trail: a push ("ECR Image Action"), a
//! replica ("ECR Replication Action") and a pull-through-cache pull ("ECR Pull Through Cache
//! Action"). Their fields use hyphens, and any of them may be missing.

use serde_json::Value;

use crate::event::envelope::{Detail, Envelope};
use crate::event::locate::native_target;
use crate::event::{
    invalid, skip, Classified, Trigger, IMAGE_ACTION, PULL_THROUGH_CACHE_ACTION, REPLICATION_ACTION,
};
use crate::names::{parse_repository_arn, shown};

/// Longest value of a failed sync's field that reaches the log.
const MAX_FIELD_CHARS: usize = 256;

/// A pull-through cache that could not sync with its upstream registry, as ECR's event reports
/// it: each field as the event has it (cut short), `None` when the event leaves it out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncFailure {
    pub repository: Option<String>,
    pub upstream_registry: Option<String>,
    /// `sync-status`: anything but `SUCCESS`.
    pub sync_status: Option<String>,
    pub failure_code: Option<String>,
    pub failure_reason: Option<String>,
}

impl SyncFailure {
    /// The outcome's reason: the failure and its code first, then what became of the repository
    /// (`outcome`, the reason the event path gave, if any).
    pub fn reason(&self, outcome: Option<&str>) -> String {
        let code = match &self.failure_code {
            Some(code) => format!(" with failure-code {}", shown(code)),
            None => " (no failure-code)".into(),
        };
        let head = format!("pull-through cache sync failed{code}");
        match outcome.filter(|r| !r.is_empty()) {
            Some(r) => format!("{head}; {r}"),
            None => head,
        }
    }
}

/// What an "ECR Pull Through Cache Action" says went wrong: `None` for any other event, and for
/// a sync that succeeded (or whose status the event does not give, without a failure code).
pub(crate) fn sync_failure(e: &Envelope) -> Option<SyncFailure> {
    let ours = e.source.as_deref() == Some("aws.ecr")
        && e.detail_type.as_deref() == Some(PULL_THROUGH_CACHE_ACTION);
    let d = e.detail.as_ref().filter(|_| ours)?;
    let given = |v: &Option<String>| v.as_deref().filter(|s| !s.is_empty()).map(cut);
    let status = given(&d.sync_status);
    let code = given(&d.failure_code);
    let failed = match &status {
        Some(s) => !s.eq_ignore_ascii_case("SUCCESS"),
        None => code.is_some(),
    };
    let arn_name = || {
        e.resources
            .iter()
            .flatten()
            .find_map(|a| parse_repository_arn(a))
            .map(|a| a.2)
    };
    let repository = d
        .native_repository_name
        .as_ref()
        .and_then(Value::as_str)
        .filter(|n| !n.is_empty())
        .or_else(arn_name)
        .map(cut);
    failed.then(|| SyncFailure {
        repository,
        upstream_registry: given(&d.upstream_registry_url),
        sync_status: status,
        failure_code: code,
        failure_reason: given(&d.failure_reason),
    })
}

fn cut(s: &str) -> String {
    s.chars().take(MAX_FIELD_CHARS).collect()
}

/// ECR's own events: a successful push, a successful replica, or a pull-through-cache pull
/// (whatever became of it, the repository may exist now).
pub(super) fn native(e: &Envelope, detail_type: &str) -> Classified {
    let d = e.detail.as_ref();
    let trigger = match detail_type {
        IMAGE_ACTION => match pushed(d) {
            Ok(()) => Trigger::ImagePushed,
            Err(reason) => return skip(reason),
        },
        REPLICATION_ACTION => match replicated(d) {
            Ok(()) => Trigger::ImageReplicated,
            Err(reason) => {
                return Classified::Skip {
                    trigger: Trigger::ImageReplicated,
                    reason,
                }
            }
        },
        _ => Trigger::PullThroughCache,
    };
    match native_target(e) {
        Ok(target) => Classified::Native { trigger, target },
        Err(reason) => invalid(trigger, reason),
    }
}

fn field(d: Option<&Detail>, f: impl Fn(&Detail) -> Option<&String>) -> &str {
    d.and_then(f).map(String::as_str).unwrap_or_default()
}

/// An "ECR Image Action" acts only as a successful push.
fn pushed(d: Option<&Detail>) -> Result<(), String> {
    let action = field(d, |d| d.action_type.as_ref());
    let result = field(d, |d| d.result.as_ref());
    if action == "PUSH" && result == "SUCCESS" {
        return Ok(());
    }
    Err(format!(
        "ECR Image Action {} with result {}: not a successful push",
        shown(action),
        shown(result)
    ))
}

/// An "ECR Replication Action" acts only as a successful replica (`action-type` `REPLICATE`, or
/// none given): a failed one put nothing in the registry.
fn replicated(d: Option<&Detail>) -> Result<(), String> {
    let action = field(d, |d| d.action_type.as_ref());
    let result = field(d, |d| d.result.as_ref());
    if !action.is_empty() && action != "REPLICATE" {
        return Err(format!(
            "ECR Replication Action {}: not a replication",
            shown(action)
        ));
    }
    if result == "SUCCESS" {
        return Ok(());
    }
    Err(format!(
        "ECR Replication Action with result {}: the image from account {} in {} was not \
         replicated, nothing to do",
        shown(result),
        shown(field(d, |d| d.source_account.as_ref())),
        shown(field(d, |d| d.source_region.as_ref()))
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;
    use serde_json::json;

    fn envelope(detail_type: &str, detail: Value) -> Envelope {
        Envelope::deserialize(json!({
            "detail-type": detail_type, "source": "aws.ecr", "account": "111111111111",
            "region": "us-east-1", "detail": detail
        }))
        .unwrap()
    }

    #[test]
    fn a_failed_sync_keeps_what_the_event_says_and_nothing_else() {
        let e = envelope(
            PULL_THROUGH_CACHE_ACTION,
            json!({"sync-status": "FAILED", "repository-name": "quay/app",
                   "upstream-registry-url": "quay.io", "failure-code": "UPSTREAM_UNAVAILABLE",
                   "failure-reason": "x".repeat(10_000)}),
        );
        let f = sync_failure(&e).expect("a failure");
        assert_eq!(f.repository.as_deref(), Some("quay/app"));
        assert_eq!(f.upstream_registry.as_deref(), Some("quay.io"));
        assert_eq!(f.failure_code.as_deref(), Some("UPSTREAM_UNAVAILABLE"));
        assert_eq!(f.failure_reason.unwrap().len(), MAX_FIELD_CHARS);
    }

    #[test]
    fn a_successful_or_silent_sync_is_no_failure() {
        for detail in [
            json!({"sync-status": "SUCCESS", "repository-name": "quay/app"}),
            json!({"repository-name": "quay/app"}),
            json!({"sync-status": 7}),
            json!(null),
        ] {
            let e = envelope(PULL_THROUGH_CACHE_ACTION, detail.clone());
            assert_eq!(sync_failure(&e), None, "{detail}");
        }
        let push = envelope(IMAGE_ACTION, json!({"sync-status": "FAILED"}));
        assert_eq!(sync_failure(&push), None);
    }

    #[test]
    fn a_failure_code_without_a_status_is_a_failure_named_from_the_arn() {
        let mut e = envelope(
            PULL_THROUGH_CACHE_ACTION,
            json!({"failure-code": "AUTH_FAILED"}),
        );
        e.resources = Some(vec![
            "arn:aws:ecr:us-east-1:111111111111:repository/quay/app".into(),
        ]);
        let f = sync_failure(&e).expect("a failure");
        assert_eq!(f.repository.as_deref(), Some("quay/app"));
        assert_eq!(f.sync_status, None);
        assert_eq!(
            f.reason(Some("the repository does not exist")),
            "pull-through cache sync failed with failure-code \"AUTH_FAILED\"; the repository \
             does not exist"
        );
    }

    #[test]
    fn a_replication_acts_only_when_it_succeeded() {
        let ok = |detail: Value| replicated(envelope(REPLICATION_ACTION, detail).detail.as_ref());
        assert_eq!(
            ok(json!({"result": "SUCCESS", "action-type": "REPLICATE"})),
            Ok(())
        );
        assert_eq!(ok(json!({"result": "SUCCESS"})), Ok(()));
        let failed = ok(json!({"result": "FAILED", "source-account": "999999999999"})).unwrap_err();
        assert!(
            failed.contains("\"FAILED\"") && failed.contains("999999999999"),
            "{failed}"
        );
        assert!(ok(json!({"result": "SUCCESS", "action-type": "DELETE"})).is_err());
        assert!(ok(json!({"result": ["SUCCESS"]})).is_err());
        assert!(ok(json!(null)).is_err());
    }
}
