//! ECR's own events end to end: a replica gets its grant as a push does, a failed pull-through
//! cache sync leaves a WARN line and a metric, and a denied pull that names no caller warns of
//! nobody. Against moto, with the log lines and metrics of each invocation captured.

mod common;

use common::observe::{block_on, observe};
use common::*;
use ecr_policy_remediator::Status;
use ecr_policy_remediator::{Classified, Event, Trigger};
use serde_json::{json, Value};

#[test]
fn the_replica_is_in_the_envelopes_registry_with_or_without_its_arn() {
    let mut event = load_event("native-image-replicated.json");
    assert_eq!(event["resources"], json!([]));
    let with_arn = "arn:aws:ecr:us-east-1:111111111111:repository/team-a/billing-worker";
    for resources in [json!([]), json!([with_arn]), Value::Null] {
        event["resources"] = resources.clone();
        let Classified::Native { trigger, target } = Event::classify(&event).classified else {
            panic!("{resources}: not a native event")
        };
        assert_eq!(trigger, Trigger::ImageReplicated);
        assert_eq!(
            (target.registry_id.as_str(), target.region.as_str()),
            (REGISTRY, REGION)
        );
    }
    // An ARN that contradicts the envelope or the name: refused, not resolved.
    for arn in [
        "arn:aws:ecr:eu-west-1:111111111111:repository/team-a/billing-worker",
        "arn:aws:ecr:us-east-1:999999999999:repository/team-a/billing-worker",
        "arn:aws:ecr:us-east-1:111111111111:repository/team-a/other",
    ] {
        event["resources"] = json!([arn]);
        assert!(
            matches!(
                Event::classify(&event).classified,
                Classified::Invalid {
                    trigger: Trigger::ImageReplicated,
                    ..
                }
            ),
            "{arn}"
        );
    }
}

#[test]
fn a_failed_replication_is_skipped_saying_so() {
    let event = load_event("skip-native-image-replication-failed.json");
    let Classified::Skip { trigger, reason } = Event::classify(&event).classified else {
        panic!("not skipped")
    };
    assert_eq!(trigger, Trigger::ImageReplicated);
    assert!(
        reason.contains("\"FAILED\"") && reason.contains("not"),
        "{reason}"
    );
    assert_eq!(Event::classify(&event).sync_failure, None);
}

#[test]
fn a_replicated_repository_without_a_policy_gets_its_grant_and_a_second_delivery_writes_nothing() {
    let moto = Moto::start();
    let (client, recorder) = moto.client();
    block_on(create_repository(&client, "team-a/billing-worker"));
    let r = remediator(&client, sample_config());
    let event = load_event("native-image-replicated.json");
    recorder.clear();
    let first = observe(&r, &event).outcome;
    assert_eq!(first.status, Status::Applied, "{first:?}");
    assert_eq!(first.rules, ["team-a", "team-a-ci"]);
    assert_eq!(
        serde_json::to_value(first.trigger).unwrap(),
        "image-replicated"
    );
    assert_eq!(recorder.count("GetRepositoryPolicy"), 1);
    assert_eq!(recorder.count("SetRepositoryPolicy"), 1);
    let stored = block_on(policy(&client, "team-a/billing-worker")).expect("a policy");
    assert!(is_right(
        &sample_config(),
        "team-a/billing-worker",
        Some(&stored)
    ));

    recorder.clear();
    let second = observe(&r, &event).outcome;
    assert_eq!(second.status, Status::Unchanged, "{second:?}");
    assert_eq!(
        recorder.by_operation().keys().collect::<Vec<_>>(),
        ["GetRepositoryPolicy"]
    );
    assert_eq!(recorder.total(), 1);
}

#[test]
fn a_replica_in_another_registry_or_region_is_skipped_without_a_call() {
    let moto = Moto::start();
    let (client, recorder) = moto.client();
    let r = remediator(&client, sample_config());
    for (field, value) in [("account", "999999999999"), ("region", "eu-west-1")] {
        let mut event = load_event("native-image-replicated.json");
        event[field] = value.into();
        let out = observe(&r, &event).outcome;
        assert_eq!(out.status, Status::Skipped, "{out:?}");
        assert!(
            out.reason.unwrap().contains("this function manages"),
            "{field}"
        );
    }
    let failed = observe(&r, &load_event("skip-native-image-replication-failed.json"));
    assert_eq!(failed.outcome.status, Status::Skipped);
    assert_eq!(recorder.total(), 0, "{:?}", recorder.by_operation());
}

#[test]
fn a_failed_pull_through_cache_sync_warns_counts_and_still_makes_the_repository_right() {
    let moto = Moto::start();
    let (client, _) = moto.client();
    block_on(create_repository(&client, "registry.k8s.io/kube-proxy"));
    let r = remediator(&client, sample_config());
    let seen = observe(&r, &load_event("native-pull-through-cache-failed.json"));
    assert_eq!(seen.outcome.status, Status::Applied, "{:?}", seen.outcome);
    assert_eq!(seen.outcome.trigger, Trigger::PullThroughCache);
    let reason = seen.outcome.reason.clone().unwrap_or_default();
    assert!(reason.contains("UPSTREAM_UNAVAILABLE"), "{reason}");
    let warned = seen.with_message("pull-through cache sync failed");
    assert_eq!(warned.len(), 1, "{:?}", seen.lines);
    assert_eq!(warned[0]["level"], "WARN");
    let fields = &warned[0]["fields"];
    assert_eq!(fields["repository"], "registry.k8s.io/kube-proxy");
    assert_eq!(fields["upstream_registry"], "registry.k8s.io");
    assert_eq!(fields["failure_code"], "UPSTREAM_UNAVAILABLE");
    assert!(fields["failure_reason"]
        .as_str()
        .is_some_and(|r| r.contains("could not be reached")));
    assert_eq!(seen.counts.get("PullThroughCacheFailures"), 1);
    let stored = block_on(policy(&client, "registry.k8s.io/kube-proxy"));
    assert!(is_right(
        &sample_config(),
        "registry.k8s.io/kube-proxy",
        stored.as_deref()
    ));
}

#[test]
fn a_failed_sync_of_a_repository_that_does_not_exist_says_both_and_leaves_out_what_it_lacks() {
    let moto = Moto::start();
    let (client, _) = moto.client();
    let r = remediator(&client, sample_config());
    let mut event = load_event("native-pull-through-cache-failed.json");
    let detail = event["detail"].as_object_mut().unwrap();
    detail.remove("failure-reason");
    detail.remove("upstream-registry-url");
    let seen = observe(&r, &event);
    assert_eq!(seen.outcome.status, Status::Skipped, "{:?}", seen.outcome);
    let reason = seen.outcome.reason.clone().unwrap_or_default();
    assert!(
        reason.contains("UPSTREAM_UNAVAILABLE") && reason.contains("does not exist"),
        "{reason}"
    );
    let warned = seen.with_message("pull-through cache sync failed");
    assert_eq!(warned.len(), 1, "{:?}", seen.lines);
    let fields = warned[0]["fields"].as_object().unwrap();
    assert!(!fields.contains_key("failure_reason") && !fields.contains_key("upstream_registry"));
    assert_eq!(seen.counts.get("PullThroughCacheFailures"), 1);
}

#[test]
fn a_successful_pull_through_cache_sync_neither_warns_nor_counts() {
    let moto = Moto::start();
    let (client, _) = moto.client();
    block_on(create_repository(&client, "registry.k8s.io/pause"));
    let r = remediator(&client, sample_config());
    let seen = observe(&r, &load_event("native-pull-through-cache.json"));
    assert_eq!(seen.outcome.status, Status::Applied, "{:?}", seen.outcome);
    assert!(seen
        .with_message("pull-through cache sync failed")
        .is_empty());
    assert_eq!(seen.counts.get("PullThroughCacheFailures"), 0);
    assert_eq!(seen.outcome.reason, None);
}

const UNNAMED: &str = "denied pull from a caller that no matching rule names";

#[test]
fn a_denied_pull_without_user_identity_warns_of_no_caller_and_counts_none() {
    let moto = Moto::start();
    let (client, _) = moto.client();
    block_on(create_repository(&client, "team-a/payments-api"));
    let r = remediator(&client, sample_config());
    // The same pull with its caller: a caller no rule names is warned of and counted.
    let named = observe(&r, &load_event("pull-denied-outside-rules.json"));
    assert_eq!(named.with_message(UNNAMED).len(), 1, "{:?}", named.lines);
    assert_eq!(named.counts.get("UnnamedCallerPulls"), 1);

    let mut event = load_event("pull-denied-outside-rules.json");
    event["detail"]
        .as_object_mut()
        .unwrap()
        .remove("userIdentity");
    let unnamed = observe(&r, &event);
    assert_eq!(unnamed.outcome.trigger, Trigger::PullDenied);
    assert_eq!(
        unnamed.outcome.status,
        Status::Unchanged,
        "{:?}",
        unnamed.outcome
    );
    assert!(
        unnamed.with_message(UNNAMED).is_empty(),
        "{:?}",
        unnamed.lines
    );
    assert_eq!(unnamed.counts.get("UnnamedCallerPulls"), 0);
    // An identity that names nobody, in the registry's own trail, is no caller either.
    event["detail"]["userIdentity"] = json!({"invokedBy": "AWS Internal"});
    event["account"] = REGISTRY.into();
    event["detail"]["recipientAccountId"] = REGISTRY.into();
    let nobody = observe(&r, &event);
    assert_eq!(
        nobody.outcome.status,
        Status::Unchanged,
        "{:?}",
        nobody.outcome
    );
    assert!(
        nobody.with_message(UNNAMED).is_empty(),
        "{:?}",
        nobody.lines
    );
    assert_eq!(nobody.counts.get("UnnamedCallerPulls"), 0);
}
