//! Every sample in `events/` is classified as intended, with the repository name found wherever
//! that shape hides it. Pure: no network.

mod common;

use common::{load_event, sample_event_names};
use ecr_policy_remediator::{Classified, Event, Trigger};

/// What each sample must classify as: (file, trigger, repository, kind).
const EXPECTED: &[(&str, Trigger, Option<&str>, &str)] = &[
    (
        "create-repository-api.json",
        Trigger::RepositoryCreated,
        Some("team-a/payments-api"),
        "act",
    ),
    (
        "create-repository-pull-through-cache.json",
        Trigger::RepositoryCreated,
        Some("registry.k8s.io/pause"),
        "act",
    ),
    (
        "create-repository-replication.json",
        Trigger::RepositoryCreated,
        Some("team-a/billing-worker"),
        "act",
    ),
    (
        "create-repository-replication-api-call.json",
        Trigger::RepositoryCreated,
        Some("team-a/ledger"),
        "act",
    ),
    (
        "create-repository-unmatched.json",
        Trigger::RepositoryCreated,
        Some("scratch/experiment"),
        "act",
    ),
    (
        "pull-denied-batch-check-layer-availability.json",
        Trigger::PullDenied,
        Some("team-a/payments-api"),
        "act",
    ),
    (
        "pull-denied-batch-get-image-forwarded.json",
        Trigger::PullDenied,
        Some("registry.k8s.io/pause"),
        "act",
    ),
    (
        "pull-denied-get-download-url-for-layer.json",
        Trigger::PullDenied,
        Some("team-a/payments-api"),
        "act",
    ),
    (
        "pull-denied-not-found-unnamed-caller.json",
        Trigger::PullDenied,
        Some("team-a/ghost"),
        "act",
    ),
    (
        "pull-denied-outside-rules.json",
        Trigger::PullDenied,
        Some("team-a/payments-api"),
        "act",
    ),
    (
        "pull-denied-repository-not-found.json",
        Trigger::PullDenied,
        Some("team-a/checkout"),
        "act",
    ),
    (
        "skip-create-repository-failed.json",
        Trigger::Unrecognized,
        None,
        "skip",
    ),
    (
        "skip-create-repository-other-region.json",
        Trigger::RepositoryCreated,
        Some("team-a/payments-api"),
        "act",
    ),
    (
        "skip-delete-repository.json",
        Trigger::Unrecognized,
        None,
        "skip",
    ),
    (
        "skip-pull-denied-other-registry.json",
        Trigger::PullDenied,
        Some("team-a/payments-api"),
        "act",
    ),
    (
        "skip-pull-image-not-found.json",
        Trigger::Unrecognized,
        None,
        "skip",
    ),
    (
        "skip-pull-succeeded.json",
        Trigger::Unrecognized,
        None,
        "skip",
    ),
    ("scheduled-sweep.json", Trigger::Scheduled, None, "sweep"),
    (
        "policy-changed-by-the-function.json",
        Trigger::PolicyChanged,
        Some("registry.k8s.io/pause"),
        "act",
    ),
    (
        "policy-changed-deleted.json",
        Trigger::PolicyChanged,
        Some("team-a/ledger"),
        "act",
    ),
    (
        "policy-changed-statement-removed.json",
        Trigger::PolicyChanged,
        Some("team-a/payments-api"),
        "act",
    ),
    (
        "skip-policy-change-failed.json",
        Trigger::Unrecognized,
        None,
        "skip",
    ),
    (
        "registry-policy-changed.json",
        Trigger::RegistryChanged,
        None,
        "registry",
    ),
    (
        "registry-policy-deleted.json",
        Trigger::RegistryChanged,
        None,
        "registry",
    ),
    (
        "template-updated.json",
        Trigger::RegistryChanged,
        None,
        "registry",
    ),
    (
        "template-deleted.json",
        Trigger::RegistryChanged,
        None,
        "registry",
    ),
    (
        "template-created-by-the-function.json",
        Trigger::RegistryChanged,
        None,
        "registry",
    ),
    (
        "native-image-pushed.json",
        Trigger::ImagePushed,
        Some("team-a/payments-api"),
        "act",
    ),
    (
        "native-pull-through-cache.json",
        Trigger::PullThroughCache,
        Some("registry.k8s.io/pause"),
        "act",
    ),
    (
        "skip-native-image-deleted.json",
        Trigger::Unrecognized,
        None,
        "skip",
    ),
    (
        "native-image-replicated.json",
        Trigger::ImageReplicated,
        Some("team-a/billing-worker"),
        "act",
    ),
    (
        "skip-native-image-replication-failed.json",
        Trigger::ImageReplicated,
        None,
        "skip",
    ),
    (
        "native-pull-through-cache-failed.json",
        Trigger::PullThroughCache,
        Some("registry.k8s.io/kube-proxy"),
        "act",
    ),
];

fn summary(event: &Event) -> (Trigger, Option<&str>, &'static str) {
    match &event.classified {
        Classified::RepositoryCreated { target, .. } => {
            (Trigger::RepositoryCreated, Some(&target.repository), "act")
        }
        Classified::PullDenied { target, .. } => {
            (Trigger::PullDenied, Some(&target.repository), "act")
        }
        Classified::PolicyChanged { target, .. } => {
            (Trigger::PolicyChanged, Some(&target.repository), "act")
        }
        Classified::Scheduled(_) => (Trigger::Scheduled, None, "sweep"),
        Classified::RegistryChanged { .. } => (Trigger::RegistryChanged, None, "registry"),
        Classified::Native { trigger, target } => (*trigger, Some(&target.repository), "act"),
        Classified::Skip { trigger, .. } => (*trigger, None, "skip"),
        Classified::Invalid { trigger, .. } => (*trigger, None, "invalid"),
    }
}

#[test]
fn every_sample_event_is_classified_as_intended() {
    let names = sample_event_names();
    let mut listed: Vec<&str> = EXPECTED.iter().map(|e| e.0).collect();
    listed.sort();
    assert_eq!(
        names, listed,
        "every sample needs an expectation, and every expectation a sample"
    );
    for (name, trigger, repository, kind) in EXPECTED {
        let event = Event::classify(&load_event(name));
        assert_eq!(
            summary(&event),
            (*trigger, *repository, *kind),
            "{name}: {:?}",
            event.classified
        );
        assert!(event.id.is_some(), "{name} has an id");
    }
}

#[test]
fn skipped_samples_say_why() {
    for (name, ..) in EXPECTED.iter().filter(|e| e.3 == "skip") {
        match Event::classify(&load_event(name)).classified {
            Classified::Skip { reason, .. } => assert!(reason.len() > 10, "{name}: {reason}"),
            other => panic!("{name}: {other:?}"),
        }
    }
}

#[test]
fn pull_through_cache_name_is_read_from_service_event_details() {
    let event = load_event("create-repository-pull-through-cache.json");
    assert!(event["detail"]["requestParameters"].is_null());
    let Classified::RepositoryCreated { target, created_by } = Event::classify(&event).classified
    else {
        panic!("not a creation")
    };
    assert_eq!(target.registry_id, "111111111111");
    assert_eq!(target.region, "us-east-1");
    // ECR created it itself: no principal to name in the audit line.
    assert_eq!(created_by, None);
}

#[test]
fn a_forwarded_denied_pull_names_the_registry_from_request_parameters_and_the_caller() {
    let event = load_event("pull-denied-batch-get-image-forwarded.json");
    assert_eq!(event["account"], "222222222222");
    let Classified::PullDenied { target, caller } = Event::classify(&event).classified else {
        panic!("not a denied pull")
    };
    assert_eq!(target.registry_id, "111111111111");
    assert_eq!(caller.account.as_deref(), Some("222222222222"));
    assert_eq!(
        caller.principal_arn.as_deref(),
        Some("arn:aws:iam::222222222222:role/eks-node-role")
    );
}

#[test]
fn the_name_is_found_in_resources_or_the_error_message_when_request_parameters_lack_it() {
    let mut event = load_event("pull-denied-get-download-url-for-layer.json");
    event["detail"]["requestParameters"] = serde_json::json!({});
    let Classified::PullDenied { target, .. } = Event::classify(&event).classified else {
        panic!("not a denied pull")
    };
    assert_eq!(target.repository, "team-a/payments-api");
    assert_eq!(target.registry_id, "111111111111");

    event["detail"]["resources"] = serde_json::json!([]);
    let Classified::PullDenied { target, .. } = Event::classify(&event).classified else {
        panic!("not a denied pull")
    };
    assert_eq!(target.repository, "team-a/payments-api");
}

#[test]
fn the_samples_are_valid_eventbridge_events_for_the_ecosystem_type_too() {
    // aws_lambda_events' EventBridgeEvent is stricter than our types (it rejects events without
    // detail-type); the samples must satisfy it, so that they look like what EventBridge sends.
    for name in sample_event_names() {
        let value = load_event(&name);
        let typed: aws_lambda_events::eventbridge::EventBridgeEvent<serde_json::Value> =
            serde_json::from_value(value).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(!typed.detail_type.is_empty(), "{name}");
    }
}

#[test]
fn a_policy_change_names_who_made_it() {
    let Classified::PolicyChanged { changed_by, .. } =
        Event::classify(&load_event("policy-changed-by-the-function.json")).classified
    else {
        panic!("not a policy change")
    };
    assert_eq!(
        changed_by.as_deref(),
        Some("arn:aws:iam::111111111111:role/ecr-xacct-grant-role")
    );
}

#[test]
fn a_scheduled_event_carries_its_time_account_and_region() {
    let Classified::Scheduled(s) = Event::classify(&load_event("scheduled-sweep.json")).classified
    else {
        panic!("not a schedule")
    };
    assert_eq!(s.account.as_deref(), Some("111111111111"));
    assert_eq!(s.region.as_deref(), Some("us-east-1"));
    assert_eq!(s.time, Some(1_741_089_600));
}

#[test]
fn native_events_name_the_repository_with_hyphens_and_must_agree_with_their_arn() {
    let mut event = load_event("native-pull-through-cache.json");
    let Classified::Native { target, .. } = Event::classify(&event).classified else {
        panic!("not a native event")
    };
    assert_eq!(
        (target.registry_id.as_str(), target.region.as_str()),
        ("111111111111", "us-east-1")
    );
    event["detail"]["repository-name"] = "registry.k8s.io/other".into();
    assert!(matches!(
        Event::classify(&event).classified,
        Classified::Invalid {
            trigger: Trigger::PullThroughCache,
            ..
        }
    ));
    let mut push = load_event("native-image-pushed.json");
    push["detail"]["result"] = "FAILURE".into();
    assert!(matches!(
        Event::classify(&push).classified,
        Classified::Skip { .. }
    ));
}

#[test]
fn a_registry_change_names_its_registry_and_who_made_it() {
    let Classified::RegistryChanged {
        registry_id,
        region,
        changed_by,
    } = Event::classify(&load_event("template-created-by-the-function.json")).classified
    else {
        panic!("not a registry change")
    };
    assert_eq!(
        (registry_id.as_str(), region.as_str()),
        ("111111111111", "us-east-1")
    );
    assert_eq!(
        changed_by.as_deref(),
        Some("arn:aws:iam::111111111111:role/ecr-xacct-grant-role")
    );
}
