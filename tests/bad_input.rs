//! Malformed and hostile events never panic, never reach ECR, and always end with a reason.

mod common;

use common::*;
use ecr_policy_remediator::Status;
use serde_json::{json, Value};

/// Sets `value` at a JSON pointer, creating objects on the way.
fn with(mut event: Value, pointer: &str, value: Value) -> Value {
    let mut target = &mut event;
    let parts: Vec<&str> = pointer.split('/').skip(1).collect();
    for (i, part) in parts.iter().enumerate() {
        if !target.is_object() {
            *target = json!({});
        }
        let map = target.as_object_mut().unwrap();
        if i == parts.len() - 1 {
            map.insert(part.to_string(), value);
            return event;
        }
        target = map.entry(part.to_string()).or_insert(json!({}));
    }
    event
}

fn without(mut event: Value, pointer: &str) -> Value {
    let (parent, key) = pointer.rsplit_once('/').unwrap();
    if let Some(Value::Object(map)) = event.pointer_mut(if parent.is_empty() { "" } else { parent })
    {
        map.remove(key);
    }
    event
}

/// Sets the repository name everywhere the creation sample carries it.
fn named(name: Value) -> Value {
    let e = load_event("create-repository-api.json");
    let e = with(e, "/detail/requestParameters/repositoryName", name.clone());
    let e = with(
        e,
        "/detail/responseElements/repository/repositoryName",
        name,
    );
    let e = without(e, "/detail/responseElements/repository/repositoryArn");
    without(e, "/detail/resources")
}

fn hostile_events() -> Vec<(&'static str, Value)> {
    let create = load_event("create-repository-api.json");
    let ptc = load_event("create-repository-pull-through-cache.json");
    let pull = load_event("pull-denied-repository-not-found.json");
    let replica = load_event("native-image-replicated.json");
    let sync = load_event("native-pull-through-cache-failed.json");
    let mut deep = json!("bottom");
    for _ in 0..100 {
        deep = json!({ "detail": deep });
    }
    vec![
        ("null", Value::Null),
        ("an array", json!([create.clone()])),
        ("a string", json!("CreateRepository team-a/x")),
        ("a number", json!(42)),
        ("an empty object", json!({})),
        (
            "truncated JSON text as a string",
            json!("{\"detail-type\":\"AWS API Call via CloudTrail\",\"detail\":{"),
        ),
        ("detail null", with(create.clone(), "/detail", Value::Null)),
        ("detail missing", without(create.clone(), "/detail")),
        (
            "detail a string",
            with(create.clone(), "/detail", json!("CreateRepository")),
        ),
        (
            "detail an array",
            with(create.clone(), "/detail", json!([1, 2])),
        ),
        (
            "detail-type a number",
            with(create.clone(), "/detail-type", json!(7)),
        ),
        (
            "source another service",
            with(create.clone(), "/source", json!("aws.s3")),
        ),
        ("source missing", without(create.clone(), "/source")),
        (
            "no repository name anywhere",
            without(
                without(
                    named(Value::Null),
                    "/detail/requestParameters/repositoryName",
                ),
                "/detail/responseElements",
            ),
        ),
        ("upper-case name", named(json!("Team-A/api"))),
        ("path traversal", named(json!("../../etc/passwd"))),
        ("dot-dot component", named(json!("team-a/../admin"))),
        ("empty component", named(json!("team-a//api"))),
        ("trailing slash", named(json!("team-a/api/"))),
        (
            "huge name",
            named(json!(format!("team-a/{}", "a".repeat(100_000)))),
        ),
        ("NUL in name", named(json!("team-a/ap\u{0}i"))),
        ("unicode in name", named(json!("team-a/åpi"))),
        ("space in name", named(json!("team-a/a pi"))),
        ("name a number", named(json!(12345))),
        ("name an array", named(json!(["team-a/api"]))),
        ("name an object", named(json!({"S": "team-a/api"}))),
        (
            "conflicting names",
            with(
                create.clone(),
                "/detail/responseElements/repository/repositoryName",
                json!("team-a/other"),
            ),
        ),
        (
            "resource ARN of another repository",
            with(
                named(json!("team-a/api")),
                "/detail/resources",
                json!([{"ARN": "arn:aws:ecr:us-east-1:111111111111:repository/team-a/other"}]),
            ),
        ),
        (
            "registry too short",
            with(
                create.clone(),
                "/detail/responseElements/repository/registryId",
                json!("1111"),
            ),
        ),
        (
            "registry not digits",
            with(
                create.clone(),
                "/detail/responseElements/repository/registryId",
                json!("abcdefghijkl"),
            ),
        ),
        (
            "conflicting registries",
            with(
                create.clone(),
                "/detail/requestParameters/registryId",
                json!("999999999999"),
            ),
        ),
        (
            "region a path",
            with(
                create.clone(),
                "/detail/awsRegion",
                json!("../../us-east-1"),
            ),
        ),
        (
            "region huge",
            with(
                create.clone(),
                "/detail/awsRegion",
                json!("u".repeat(50_000)),
            ),
        ),
        (
            "errorCode a number on a pull",
            with(pull.clone(), "/detail/errorCode", json!(403)),
        ),
        (
            "event name huge",
            with(
                create.clone(),
                "/detail/eventName",
                json!("C".repeat(1_000_000)),
            ),
        ),
        (
            "event source spoofed",
            with(
                create.clone(),
                "/detail/eventSource",
                json!("evil.example.com"),
            ),
        ),
        (
            "service event without its details",
            with(
                ptc.clone(),
                "/detail/serviceEventDetails",
                json!("registry.k8s.io/pause"),
            ),
        ),
        (
            "pull-through name with a scheme",
            with(
                ptc.clone(),
                "/detail/serviceEventDetails/repositoryName",
                json!("https://registry.k8s.io/pause"),
            ),
        ),
        ("deeply nested junk", with(create.clone(), "/detail", deep)),
        (
            "failed creation with a valid name",
            with(create.clone(), "/detail/errorCode", json!("AccessDenied")),
        ),
        (
            "pull whose userIdentity names two accounts",
            with(
                pull.clone(),
                "/detail/userIdentity/accountId",
                json!("333333333333"),
            ),
        ),
        (
            "pull forwarded by an account that is not the caller's",
            with(pull.clone(), "/account", json!("444444444444")),
        ),
        (
            "pull with registry id a number",
            with(
                pull.clone(),
                "/detail/requestParameters/registryId",
                json!(111111111111u64),
            ),
        ),
        (
            "replica named by a number",
            with(replica.clone(), "/detail/repository-name", json!(42)),
        ),
        (
            "replica with a result list",
            with(replica.clone(), "/detail/result", json!(["SUCCESS"])),
        ),
        (
            "replica whose ARN names another region",
            with(
                replica.clone(),
                "/resources",
                json!(["arn:aws:ecr:eu-west-1:111111111111:repository/team-a/billing-worker"]),
            ),
        ),
        (
            "failed sync with an absurd code and a name with a scheme",
            with(
                with(
                    sync.clone(),
                    "/detail/failure-code",
                    json!("X".repeat(100_000)),
                ),
                "/detail/repository-name",
                json!("https://registry.k8s.io/kube-proxy"),
            ),
        ),
    ]
}

#[tokio::test]
async fn malformed_and_hostile_events_end_with_a_reason_and_no_ecr_call() {
    let moto = Moto::start();
    let (client, recorder) = moto.client();
    // Repositories the hostile events point at exist, so any write would go through.
    for name in [
        "team-a/payments-api",
        "team-a/api",
        "team-a/other",
        "registry.k8s.io/pause",
    ] {
        create_repository(&client, name).await;
    }
    recorder.clear();
    let r = remediator(&client, sample_config());
    let events = hostile_events();
    for (what, event) in &events[..4] {
        let out = r.handle(event, None).await.unwrap();
        assert_eq!(
            out.status,
            Status::Failed,
            "{what} is not an event: {out:?}"
        );
    }
    assert!(events.len() >= 30);
    for (what, event) in &events {
        let out = r
            .handle(event, None)
            .await
            .unwrap_or_else(|e| panic!("{what}: retryable {e}"));
        assert!(
            matches!(out.status, Status::Skipped | Status::Failed),
            "{what}: {out:?}"
        );
        let reason = out.reason.as_deref().unwrap_or_default();
        assert!(reason.len() >= 10, "{what}: a clear reason, got {reason:?}");
        assert!(
            reason.len() < 400,
            "{what}: a reason of reasonable size, got {} bytes",
            reason.len()
        );
        assert_eq!(
            recorder.total(),
            0,
            "{what}: called ECR {:?}",
            recorder.by_operation()
        );
    }
    for name in [
        "team-a/payments-api",
        "team-a/api",
        "team-a/other",
        "registry.k8s.io/pause",
    ] {
        assert_eq!(policy(&client, name).await, None, "{name} untouched");
    }
}

#[tokio::test]
async fn an_absurd_event_id_is_cut_short_in_the_outcome() {
    let moto = Moto::start();
    let (client, _) = moto.client();
    let r = remediator(&client, sample_config());
    let event = with(
        load_event("skip-delete-repository.json"),
        "/id",
        json!("i".repeat(1_000_000)),
    );
    let out = r.handle(&event, None).await.unwrap();
    assert!(out.event_id.unwrap().len() <= 128);
}
