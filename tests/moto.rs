//! The handler against a real ECR emulator (moto), through the real aws-sdk-ecr client.

mod common;

use common::*;
use ecr_policy_remediator::Config;
use ecr_policy_remediator::{Outcome, Remediator, Status};
use serde_json::{json, Value};

const FOREIGN: &str = r#"{"Sid":"PlatformBreakGlass","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111111111111:role/platform-admin"},"Action":["ecr:*"]}"#;

async fn handle(r: &Remediator, event: &Value) -> Outcome {
    r.handle(event, None)
        .await
        .expect("no retryable failure against moto")
}

/// The demo's registry: the repositories the sample events talk about, one with a statement of
/// its own.
async fn seed(client: &aws_sdk_ecr::Client) {
    for name in [
        "team-a/payments-api",
        "registry.k8s.io/pause",
        "team-a/billing-worker",
        "team-a/ledger",
        "scratch/experiment",
    ] {
        create_repository(client, name).await;
    }
    set_policy(
        client,
        "team-a/payments-api",
        &format!(r#"{{"Version":"2012-10-17","Statement":[{FOREIGN}]}}"#),
    )
    .await;
}

#[tokio::test]
async fn api_creation_grants_the_configured_policy() {
    let moto = Moto::start();
    let (client, _) = moto.client();
    create_repository(&client, "team-a/payments-api").await;
    let r = remediator(&client, sample_config());
    let out = handle(&r, &load_event("create-repository-api.json")).await;
    assert_eq!(out.status, Status::Applied, "{out:?}");
    assert_eq!(
        out.trigger,
        ecr_policy_remediator::Trigger::RepositoryCreated
    );
    assert_eq!(out.rules, ["team-a", "team-a-ci"]);
    let policy = policy(&client, "team-a/payments-api")
        .await
        .expect("a policy");
    assert_eq!(
        sids(&policy),
        [
            "EcrPolicyRemediator-team-a-Principals",
            "EcrPolicyRemediator-team-a-ci-Principals"
        ]
    );
    let push = &statements(&policy)[1];
    assert!(push["Action"]
        .as_array()
        .unwrap()
        .contains(&json!("ecr:PutImage")));
    let pull = &statements(&policy)[0];
    assert!(!pull["Action"]
        .as_array()
        .unwrap()
        .contains(&json!("ecr:PutImage")));
    assert_eq!(
        pull["Principal"]["AWS"],
        json!([
            "arn:aws:iam::222222222222:role/eks-node-role",
            "arn:aws:iam::333333333333:root"
        ])
    );
}

#[tokio::test]
async fn pull_through_cache_creation_grants_the_configured_policy() {
    let moto = Moto::start();
    let (client, _) = moto.client();
    create_repository(&client, "registry.k8s.io/pause").await;
    let r = remediator(&client, sample_config());
    let out = handle(&r, &load_event("create-repository-pull-through-cache.json")).await;
    assert_eq!(out.status, Status::Applied, "{out:?}");
    assert_eq!(out.repository.as_deref(), Some("registry.k8s.io/pause"));
    let policy = policy(&client, "registry.k8s.io/pause")
        .await
        .expect("a policy");
    assert_eq!(
        sids(&policy),
        [
            "EcrPolicyRemediator-k8s-mirror-Org",
            "EcrPolicyRemediator-k8s-mirror-Principals"
        ]
    );
    let org = &statements(&policy)[0];
    assert_eq!(org["Principal"], "*");
    assert_eq!(
        org["Condition"]["StringEquals"]["aws:PrincipalOrgID"],
        json!(["o-a1b2c3d4e5"])
    );
}

#[tokio::test]
async fn foreign_statements_are_kept_and_stale_owned_ones_removed() {
    let moto = Moto::start();
    let (client, _) = moto.client();
    create_repository(&client, "team-a/payments-api").await;
    let stale = r#"{"Sid":"EcrPolicyRemediator-retired-Principals","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::999999999999:root"},"Action":"ecr:BatchGetImage"}"#;
    set_policy(
        &client,
        "team-a/payments-api",
        &format!(r#"{{"Version":"2008-10-17","Statement":[{FOREIGN},{stale}]}}"#),
    )
    .await;
    let before = policy(&client, "team-a/payments-api").await.unwrap();
    let foreign_before = statements(&before)[0].clone();

    let r = remediator(&client, sample_config());
    let out = handle(&r, &load_event("create-repository-api.json")).await;
    assert_eq!(out.status, Status::Applied);
    let after = policy(&client, "team-a/payments-api").await.unwrap();
    assert!(
        after.contains(FOREIGN),
        "foreign statement kept verbatim: {after}"
    );
    assert_eq!(statements(&after)[0], foreign_before);
    assert!(
        !after.contains("retired"),
        "stale owned statement removed: {after}"
    );
    assert!(
        after.starts_with(r#"{"Version":"2008-10-17""#),
        "version kept: {after}"
    );
    assert_eq!(sids(&after).len(), 3);
}

#[tokio::test]
async fn a_second_delivery_is_unchanged_and_writes_nothing() {
    let moto = Moto::start();
    let (client, recorder) = moto.client();
    create_repository(&client, "team-a/payments-api").await;
    let r = remediator(&client, sample_config());
    let event = load_event("create-repository-api.json");
    assert_eq!(handle(&r, &event).await.status, Status::Applied);
    recorder.clear();
    let out = handle(&r, &event).await;
    assert_eq!(out.status, Status::Unchanged, "{out:?}");
    assert_eq!(recorder.count("GetRepositoryPolicy"), 1);
    assert_eq!(recorder.count("SetRepositoryPolicy"), 0);
    assert_eq!(recorder.total(), 1, "a compliant repository costs one read");
}

#[tokio::test]
async fn a_denied_pull_of_a_missing_repository_creates_it_for_a_caller_the_rule_names() {
    let moto = Moto::start();
    let (client, recorder) = moto.client();
    let r = remediator(&client, sample_config());
    let out = handle(&r, &load_event("pull-denied-repository-not-found.json")).await;
    assert_eq!(out.status, Status::Created, "{out:?}");
    assert_eq!(out.repository.as_deref(), Some("team-a/checkout"));
    assert!(repository_exists(&client, "team-a/checkout").await);
    let policy = policy(&client, "team-a/checkout")
        .await
        .expect("policy attached");
    assert_eq!(
        sids(&policy).len(),
        2,
        "every matching rule's grant: {policy}"
    );
    assert_eq!(recorder.count("CreateRepository"), 1);
    assert_eq!(recorder.count("SetRepositoryPolicy"), 1);
}

#[tokio::test]
async fn a_denied_pull_of_a_missing_repository_creates_nothing_for_a_caller_no_rule_names() {
    let moto = Moto::start();
    let (client, recorder) = moto.client();
    let r = remediator(&client, sample_config());
    let out = handle(&r, &load_event("pull-denied-not-found-unnamed-caller.json")).await;
    assert_eq!(out.status, Status::Skipped, "{out:?}");
    assert!(
        out.reason
            .as_deref()
            .unwrap()
            .contains("createOnDeniedPull"),
        "{out:?}"
    );
    assert!(!repository_exists(&client, "team-a/ghost").await);
    assert_eq!(recorder.count("CreateRepository"), 0);
    assert_eq!(recorder.count("SetRepositoryPolicy"), 0);
}

#[tokio::test]
async fn a_rule_without_create_on_denied_pull_never_creates() {
    let moto = Moto::start();
    let (client, recorder) = moto.client();
    let config = Config::from_json(
        r#"{"rules":[{"name":"team-a","repositories":["team-a/*"],
            "principals":{"roles":["arn:aws:iam::222222222222:role/eks-node-role"]}}]}"#,
    )
    .unwrap();
    let r = remediator(&client, config);
    let out = handle(&r, &load_event("pull-denied-repository-not-found.json")).await;
    assert_eq!(out.status, Status::Skipped, "{out:?}");
    assert_eq!(recorder.count("CreateRepository"), 0);
}

#[tokio::test]
async fn events_about_another_registry_or_region_make_no_ecr_call() {
    let moto = Moto::start();
    let (client, recorder) = moto.client();
    seed(&client).await;
    recorder.clear();
    let r = remediator(&client, sample_config());
    for name in [
        "skip-pull-denied-other-registry.json",
        "skip-create-repository-other-region.json",
    ] {
        let out = handle(&r, &load_event(name)).await;
        assert_eq!(out.status, Status::Skipped, "{name}: {out:?}");
        assert!(
            out.reason
                .as_deref()
                .unwrap()
                .contains("this function manages"),
            "{out:?}"
        );
    }
    assert_eq!(recorder.total(), 0, "{:?}", recorder.by_operation());
}

#[tokio::test]
async fn a_dry_run_writes_nothing() {
    let moto = Moto::start();
    let (client, recorder) = moto.client();
    seed(&client).await;
    let before = policy(&client, "team-a/payments-api").await;
    recorder.clear();
    let mut config = sample_config();
    config.dry_run = true;
    let r = remediator(&client, config);
    for name in sample_event_names() {
        let out = handle(&r, &load_event(&name)).await;
        assert_ne!(out.status, Status::Applied, "{name}");
        assert_ne!(out.status, Status::Created, "{name}");
    }
    assert_eq!(recorder.count("SetRepositoryPolicy"), 0);
    assert_eq!(recorder.count("CreateRepository"), 0);
    assert_eq!(policy(&client, "team-a/payments-api").await, before);
    assert_eq!(policy(&client, "registry.k8s.io/pause").await, None);
    let planned = handle(&r, &load_event("create-repository-api.json")).await;
    assert_eq!(planned.status, Status::Planned);
    let create = handle(&r, &load_event("pull-denied-repository-not-found.json")).await;
    assert_eq!(create.status, Status::Planned);
    assert!(!repository_exists(&client, "team-a/checkout").await);
}

/// Every sample, in order, against the demo's registry: what the README's demo shows.
#[tokio::test]
async fn every_sample_event_has_its_intended_outcome() {
    let expected: &[(&str, Status)] = &[
        ("create-repository-api.json", Status::Applied),
        ("create-repository-pull-through-cache.json", Status::Applied),
        (
            "create-repository-replication-api-call.json",
            Status::Applied,
        ),
        ("create-repository-replication.json", Status::Applied),
        ("create-repository-unmatched.json", Status::Skipped),
        ("policy-changed-by-the-function.json", Status::Unchanged),
        ("policy-changed-deleted.json", Status::Unchanged),
        ("policy-changed-statement-removed.json", Status::Unchanged),
        (
            "pull-denied-batch-check-layer-availability.json",
            Status::Unchanged,
        ),
        (
            "pull-denied-batch-get-image-forwarded.json",
            Status::Unchanged,
        ),
        (
            "pull-denied-get-download-url-for-layer.json",
            Status::Unchanged,
        ),
        ("pull-denied-not-found-unnamed-caller.json", Status::Skipped),
        ("pull-denied-outside-rules.json", Status::Unchanged),
        ("pull-denied-repository-not-found.json", Status::Created),
        ("scheduled-sweep.json", Status::Swept),
        ("skip-create-repository-failed.json", Status::Skipped),
        ("skip-create-repository-other-region.json", Status::Skipped),
        ("skip-delete-repository.json", Status::Skipped),
        ("skip-pull-denied-other-registry.json", Status::Skipped),
        ("skip-pull-image-not-found.json", Status::Skipped),
        ("skip-pull-succeeded.json", Status::Skipped),
        ("skip-policy-change-failed.json", Status::Skipped),
        // The sweep above made the registry's documents right: the drift samples find them so.
        ("registry-policy-changed.json", Status::Unchanged),
        ("registry-policy-deleted.json", Status::Unchanged),
        ("template-updated.json", Status::Unchanged),
        ("template-deleted.json", Status::Unchanged),
        ("template-created-by-the-function.json", Status::Unchanged),
        ("native-image-pushed.json", Status::Unchanged),
        ("native-pull-through-cache.json", Status::Unchanged),
        ("skip-native-image-deleted.json", Status::Skipped),
        ("native-image-replicated.json", Status::Unchanged),
        ("skip-native-image-replication-failed.json", Status::Skipped),
        // A failed sync of an image the cache never held: no repository, the failure in the reason.
        ("native-pull-through-cache-failed.json", Status::Skipped),
    ];
    let moto = Moto::start();
    let (client, _) = moto.client();
    seed(&client).await;
    let r = remediator(&client, sample_config());
    let mut names = sample_event_names();
    names.sort();
    assert_eq!(names.len(), expected.len());
    for (name, status) in expected {
        let out = handle(&r, &load_event(name)).await;
        assert_eq!(out.status, *status, "{name}: {out:?}");
        if *status == Status::Skipped {
            assert!(out.reason.is_some(), "{name}");
        }
    }
    let payments = policy(&client, "team-a/payments-api").await.unwrap();
    assert!(payments.contains(FOREIGN), "{payments}");
    assert_eq!(
        policy(&client, "scratch/experiment").await,
        None,
        "unmatched repository untouched"
    );
}

#[tokio::test]
async fn a_policy_that_would_exceed_the_size_limit_is_not_written() {
    let moto = Moto::start();
    let (client, recorder) = moto.client();
    create_repository(&client, "team-a/payments-api").await;
    let text = near_limit_policy();
    assert!(
        (9_800..10_240).contains(&text.len()),
        "the existing policy itself is legal: {}",
        text.len()
    );
    set_policy(&client, "team-a/payments-api", &text).await;
    let before = policy(&client, "team-a/payments-api").await;
    recorder.clear();
    let r = remediator(&client, sample_config());
    let out = handle(&r, &load_event("create-repository-api.json")).await;
    assert_eq!(out.status, Status::Failed, "{out:?}");
    assert!(out.reason.as_deref().unwrap().contains("10240"), "{out:?}");
    assert_eq!(recorder.count("SetRepositoryPolicy"), 0);
    assert_eq!(policy(&client, "team-a/payments-api").await, before);
}

#[tokio::test]
async fn a_repository_deleted_meanwhile_is_skipped_not_failed() {
    let moto = Moto::start();
    let (client, _) = moto.client();
    let r = remediator(&client, sample_config());
    let out = handle(&r, &load_event("create-repository-api.json")).await;
    assert_eq!(out.status, Status::Skipped, "{out:?}");
    assert!(out.reason.as_deref().unwrap().contains("does not exist"));
}

#[tokio::test]
async fn connect_learns_the_registry_id_from_ecr() {
    let moto = Moto::start();
    for (key, value) in moto.env() {
        // Only this test reads the process environment, through the SDK's loader.
        unsafe { std::env::set_var(key, value) };
    }
    let sdk = ecr_policy_remediator::sdk_config().await;
    let r = Remediator::connect(sample_config(), &sdk)
        .await
        .expect("DescribeRegistry");
    assert_eq!(r.registry_id(), REGISTRY);
    assert_eq!(r.region(), REGION);
}

#[tokio::test]
async fn a_statement_someone_else_removed_is_restored_and_theirs_kept() {
    let moto = Moto::start();
    let (client, _) = moto.client();
    seed(&client).await;
    let r = remediator(&client, sample_config());
    assert_eq!(
        handle(&r, &load_event("create-repository-api.json"))
            .await
            .status,
        Status::Applied
    );
    // Someone rewrites the policy with their statement only, as the sample event records.
    set_policy(
        &client,
        "team-a/payments-api",
        &format!(r#"{{"Version":"2012-10-17","Statement":[{FOREIGN}]}}"#),
    )
    .await;
    let out = handle(&r, &load_event("policy-changed-statement-removed.json")).await;
    assert_eq!(out.status, Status::Applied, "{out:?}");
    assert_eq!(out.trigger, ecr_policy_remediator::Trigger::PolicyChanged);
    let after = policy(&client, "team-a/payments-api").await.unwrap();
    assert!(after.contains(FOREIGN));
    assert_eq!(
        sids(&after),
        [
            "PlatformBreakGlass",
            "EcrPolicyRemediator-team-a-Principals",
            "EcrPolicyRemediator-team-a-ci-Principals"
        ]
    );
}

#[tokio::test]
async fn a_deleted_policy_is_restored() {
    let moto = Moto::start();
    let (client, _) = moto.client();
    seed(&client).await;
    let r = remediator(&client, sample_config());
    assert_eq!(
        handle(
            &r,
            &load_event("create-repository-replication-api-call.json")
        )
        .await
        .status,
        Status::Applied
    );
    client
        .delete_repository_policy()
        .repository_name("team-a/ledger")
        .send()
        .await
        .unwrap();
    let out = handle(&r, &load_event("policy-changed-deleted.json")).await;
    assert_eq!(out.status, Status::Applied, "{out:?}");
    assert_eq!(
        sids(&policy(&client, "team-a/ledger").await.unwrap()).len(),
        2
    );
}

#[tokio::test]
async fn the_event_of_our_own_write_ends_without_a_write() {
    let moto = Moto::start();
    let (client, recorder) = moto.client();
    seed(&client).await;
    let r = remediator(&client, sample_config());
    assert_eq!(
        handle(&r, &load_event("create-repository-pull-through-cache.json"))
            .await
            .status,
        Status::Applied
    );
    let own_write = load_event("policy-changed-by-the-function.json");

    // Not told its role: one read, no write.
    recorder.clear();
    assert_eq!(handle(&r, &own_write).await.status, Status::Unchanged);
    assert_eq!(
        (recorder.count("GetRepositoryPolicy"), recorder.total()),
        (1, 1)
    );

    // Told its role: no call at all.
    let r = r.with_self_role(Some(
        "arn:aws:iam::111111111111:role/ecr-xacct-grant-role".into(),
    ));
    recorder.clear();
    let out = handle(&r, &own_write).await;
    assert_eq!(out.status, Status::Skipped, "{out:?}");
    assert_eq!(recorder.total(), 0);

    // Someone else's change is still looked at (and this repository was never converged).
    let theirs = load_event("policy-changed-statement-removed.json");
    recorder.clear();
    assert_eq!(handle(&r, &theirs).await.status, Status::Applied);
    assert_eq!(recorder.count("GetRepositoryPolicy"), 1);
}

const PULL_ONLY: &str = r#"{"rules":[{"name":"k8s-mirror","repositories":["registry.k8s.io/*"],
    "principals":{"accounts":["222222222222"]}}]}"#;

#[tokio::test]
async fn a_removed_rule_is_taken_back_on_the_next_event_and_foreign_statements_stay() {
    let moto = Moto::start();
    let (client, recorder) = moto.client();
    seed(&client).await;
    let r = remediator(&client, sample_config());
    let event = load_event("create-repository-api.json");
    assert_eq!(handle(&r, &event).await.status, Status::Applied);

    // The team-a rules are removed from the configuration.
    let r = remediator(&client, Config::from_json(PULL_ONLY).unwrap());
    recorder.clear();
    let out = handle(&r, &event).await;
    assert_eq!(out.status, Status::Applied, "{out:?}");
    assert!(
        out.reason.as_deref().unwrap().contains("took back"),
        "{out:?}"
    );
    let after = policy(&client, "team-a/payments-api").await.unwrap();
    assert_eq!(
        after,
        format!(r#"{{"Version":"2012-10-17","Statement":[{FOREIGN}]}}"#)
    );
    assert_eq!(
        recorder.by_operation().len(),
        2,
        "{:?}",
        recorder.by_operation()
    );
    assert_eq!(recorder.count("SetRepositoryPolicy"), 1);

    // Where the function's statements were all there was, the policy is deleted.
    let r_all = remediator(&client, sample_config());
    handle(
        &r_all,
        &load_event("create-repository-replication-api-call.json"),
    )
    .await;
    let out = handle(
        &r,
        &load_event("create-repository-replication-api-call.json"),
    )
    .await;
    assert_eq!(out.status, Status::Applied, "{out:?}");
    assert_eq!(policy(&client, "team-a/ledger").await, None);

    // And the next event about it costs one read, no write.
    recorder.clear();
    let out = handle(
        &r,
        &load_event("create-repository-replication-api-call.json"),
    )
    .await;
    assert_eq!(out.status, Status::Skipped, "{out:?}");
    assert_eq!(recorder.total(), 1);
}

#[tokio::test]
async fn a_missing_version_stays_missing() {
    let moto = Moto::start();
    let (client, _) = moto.client();
    create_repository(&client, "team-a/payments-api").await;
    set_policy(
        &client,
        "team-a/payments-api",
        &format!(r#"{{"Statement":[{FOREIGN}]}}"#),
    )
    .await;
    let r = remediator(&client, sample_config());
    let out = handle(&r, &load_event("create-repository-api.json")).await;
    assert_eq!(out.status, Status::Applied, "{out:?}");
    let after = policy(&client, "team-a/payments-api").await.unwrap();
    assert!(!after.contains("Version"), "{after}");
    assert!(after.contains(FOREIGN), "{after}");
}

#[tokio::test]
async fn a_foreign_deny_under_the_prefix_survives() {
    let moto = Moto::start();
    let (client, _) = moto.client();
    create_repository(&client, "team-a/payments-api").await;
    let deny = r#"{"Sid":"EcrPolicyRemediator-retired-Principals","Effect":"Deny","Principal":{"AWS":"arn:aws:iam::999999999999:root"},"Action":"ecr:*"}"#;
    set_policy(
        &client,
        "team-a/payments-api",
        &format!(r#"{{"Version":"2012-10-17","Statement":[{deny}]}}"#),
    )
    .await;
    let r = remediator(&client, sample_config());
    let out = handle(&r, &load_event("create-repository-api.json")).await;
    assert_eq!(out.status, Status::Applied, "{out:?}");
    let after = policy(&client, "team-a/payments-api").await.unwrap();
    assert!(
        after.contains(deny),
        "the Deny is kept byte for byte: {after}"
    );
    // Without any rule, the Deny is still not the function's to take back.
    let r = remediator(&client, Config::from_json(PULL_ONLY).unwrap());
    handle(&r, &load_event("create-repository-api.json")).await;
    assert!(policy(&client, "team-a/payments-api")
        .await
        .unwrap()
        .contains(deny));
}

#[tokio::test]
async fn two_deployments_on_one_registry_converge_without_a_write_loop() {
    let moto = Moto::start();
    let (client, recorder) = moto.client();
    create_repository(&client, "team-a/payments-api").await;
    let blue = remediator(
        &client,
        Config::from_json(r#"{"deployment":"blue","rules":[{"name":"team-a","repositories":["team-a/*"],"principals":{"accounts":["333333333333"]}}]}"#).unwrap(),
    );
    let green = remediator(
        &client,
        Config::from_json(r#"{"deployment":"green","rules":[{"name":"team-a","repositories":["team-a/*"],"principals":{"accounts":["555555555555"]}}]}"#).unwrap(),
    );
    let event = load_event("create-repository-api.json");
    assert_eq!(handle(&blue, &event).await.status, Status::Applied);
    assert_eq!(handle(&green, &event).await.status, Status::Applied);
    recorder.clear();
    for _ in 0..3 {
        assert_eq!(handle(&blue, &event).await.status, Status::Unchanged);
        assert_eq!(handle(&green, &event).await.status, Status::Unchanged);
    }
    assert_eq!(
        recorder.count("SetRepositoryPolicy"),
        0,
        "a second pass over both writes nothing"
    );
    assert_eq!(
        sids(&policy(&client, "team-a/payments-api").await.unwrap()),
        [
            "EcrPolicyRemediator_blue-team-a-Principals",
            "EcrPolicyRemediator_green-team-a-Principals"
        ]
    );
}

#[tokio::test]
async fn a_denied_pull_with_disagreeing_identity_fields_creates_nothing_and_calls_nothing() {
    let moto = Moto::start();
    let (client, recorder) = moto.client();
    let r = remediator(&client, sample_config());
    let base = load_event("pull-denied-repository-not-found.json");
    let mut cases = Vec::new();
    let mut e = base.clone();
    e["detail"]["userIdentity"]["accountId"] = "333333333333".into();
    cases.push(("userIdentity.accountId", e));
    let mut e = base.clone();
    e["detail"]["userIdentity"]["sessionContext"]["sessionIssuer"]["arn"] =
        "arn:aws:iam::333333333333:role/eks-node-role".into();
    cases.push(("the session issuer's ARN", e));
    let mut e = base.clone();
    e["account"] = "333333333333".into();
    cases.push(("the forwarding account", e));
    let mut e = base.clone();
    e["detail"]["recipientAccountId"] = "333333333333".into();
    cases.push(("recipientAccountId", e));
    for (what, event) in cases {
        let out = handle(&r, &event).await;
        assert_eq!(out.status, Status::Failed, "{what}: {out:?}");
        assert!(
            out.reason.as_deref().unwrap().contains("not proven"),
            "{what}: {out:?}"
        );
    }
    let mut e = base.clone();
    e["detail"].as_object_mut().unwrap().remove("userIdentity");
    let out = handle(&r, &e).await;
    assert_eq!(
        out.status,
        Status::Skipped,
        "no caller proves nothing: {out:?}"
    );
    assert!(!repository_exists(&client, "team-a/checkout").await);
    assert_eq!(recorder.count("CreateRepository"), 0);
    assert_eq!(
        recorder.total(),
        2,
        "one read for the last event, one to look: {:?}",
        recorder.by_operation()
    );
}
