//! The registry's own documents against moto through the launcher: creation templates and the
//! registry policy, kept to what the rules say, through the real aws-sdk-ecr client.

mod common;

use common::*;
use ecr_policy_remediator::Cause;
use ecr_policy_remediator::Config;
use ecr_policy_remediator::DocumentReport;
use ecr_policy_remediator::Trigger;
use ecr_policy_remediator::{Remediator, Status};
use serde_json::Value;

const RULES: &str = r#"{"rules":[
  {"name":"k8s-mirror","repositories":["registry.k8s.io/*"],"principals":{"accounts":["222222222222"],"organizations":["o-a1b2c3d4e5"]},
   "creationTemplates":["PULL_THROUGH_CACHE"],"pullThroughCache":true},
  {"name":"team-a","repositories":["team-a/*"],"principals":{"accounts":["333333333333"]},
   "creationTemplates":["REPLICATION","CREATE_ON_PUSH"],"registryGrant":true}]}"#;

/// Someone else's statement in the registry policy: replication into this registry.
const REPLICATION: &str = r#"{"Sid":"ReplicationAccessCrossAccount","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::999999999999:root"},"Action":["ecr:CreateRepository","ecr:ReplicateImage"],"Resource":"arn:aws:ecr:us-east-1:111111111111:repository/*"}"#;

fn outcome<'a>(reports: &'a [DocumentReport], document: &str) -> &'a DocumentReport {
    reports
        .iter()
        .find(|d| d.document == document)
        .unwrap_or_else(|| panic!("no {document} in {reports:?}"))
}

async fn templates(
    client: &aws_sdk_ecr::Client,
) -> Vec<(String, Option<String>, Option<String>, Vec<String>)> {
    let out = client
        .describe_repository_creation_templates()
        .send()
        .await
        .unwrap();
    out.repository_creation_templates()
        .iter()
        .map(|t| {
            (
                t.prefix().unwrap_or_default().to_string(),
                t.description().map(str::to_string),
                t.repository_policy().map(str::to_string),
                t.applied_for()
                    .iter()
                    .map(|a| a.as_str().to_string())
                    .collect(),
            )
        })
        .collect()
}

async fn registry_policy(client: &aws_sdk_ecr::Client) -> Option<String> {
    client
        .get_registry_policy()
        .send()
        .await
        .ok()
        .and_then(|o| o.policy_text().map(str::to_string))
}

fn r(client: &aws_sdk_ecr::Client, rules: &str) -> Remediator {
    remediator(client, Config::from_json(rules).unwrap())
}

#[tokio::test]
async fn templates_hold_what_the_event_path_writes_and_follow_the_rules() {
    let moto = Moto::start();
    let (client, recorder) = moto.client();
    let remediator = r(&client, RULES);
    let reports = remediator.converge_registry().await;
    assert_eq!(
        outcome(&reports, "template registry.k8s.io").status,
        Status::Applied
    );
    assert_eq!(outcome(&reports, "template team-a").status, Status::Applied);
    let found = templates(&client).await;
    assert_eq!(found.len(), 2);
    let (_, description, policy, applied) = &found[0];
    assert!(description
        .as_deref()
        .unwrap()
        .contains("[managed by ecr-policy-remediator]"));
    assert_eq!(applied, &["PULL_THROUGH_CACHE"]);
    // A repository created from the template needs nothing more from the event path.
    let config = Config::from_json(RULES).unwrap();
    assert!(
        is_right(&config, "registry.k8s.io/pause", policy.as_deref()),
        "{policy:?}"
    );
    assert_eq!(found[1].3, ["CREATE_ON_PUSH", "REPLICATION"]);

    // A second pass writes nothing.
    recorder.clear();
    let again = remediator.converge_registry().await;
    assert!(
        again.iter().all(|d| d.status == Status::Unchanged),
        "{again:?}"
    );
    assert_eq!(
        recorder.total(),
        4,
        "the registry policy, its scope, the pull-through-cache rules, the templates: {:?}",
        recorder.by_operation()
    );

    // The rule changes: the template follows; the rule goes: the template goes.
    let changed = RULES.replace(
        r#""accounts":["333333333333"]"#,
        r#""accounts":["444444444444"]"#,
    );
    let reports = r(&client, &changed).converge_registry().await;
    assert_eq!(outcome(&reports, "template team-a").status, Status::Applied);
    let team_a = templates(&client)
        .await
        .into_iter()
        .find(|t| t.0 == "team-a")
        .unwrap();
    assert!(team_a.2.unwrap().contains("444444444444"));
    let only_k8s = r#"{"rules":[{"name":"k8s-mirror","repositories":["registry.k8s.io/*"],"principals":{"accounts":["222222222222"]},"creationTemplates":["PULL_THROUGH_CACHE"]}]}"#;
    let reports = r(&client, only_k8s).converge_registry().await;
    assert_eq!(outcome(&reports, "template team-a").status, Status::Applied);
    let prefixes: Vec<String> = templates(&client).await.into_iter().map(|t| t.0).collect();
    assert_eq!(prefixes, ["registry.k8s.io"]);
}

#[tokio::test]
async fn a_template_the_function_does_not_own_is_left_alone_and_reported() {
    let moto = Moto::start();
    let (client, _) = moto.client();
    let theirs = r#"{"Version":"2012-10-17","Statement":[]}"#;
    client
        .create_repository_creation_template()
        .prefix("registry.k8s.io")
        .description("the platform team's")
        .repository_policy(theirs)
        .applied_for(aws_sdk_ecr::types::RctAppliedFor::PullThroughCache)
        .send()
        .await
        .unwrap();
    let reports = r(&client, RULES).converge_registry().await;
    let conflict = outcome(&reports, "template registry.k8s.io");
    assert_eq!(conflict.status, Status::Failed);
    assert!(
        conflict
            .reason
            .as_deref()
            .unwrap()
            .contains("not the function's"),
        "{conflict:?}"
    );
    let t = templates(&client)
        .await
        .into_iter()
        .find(|t| t.0 == "registry.k8s.io")
        .unwrap();
    assert_eq!(t.1.as_deref(), Some("the platform team's"));
    assert_eq!(t.2.as_deref(), Some(theirs), "never changed");
    // Nor deleted, once no rule wants a template there.
    let none = r#"{"rules":[{"name":"x","repositories":["x/*"],"principals":{"accounts":["222222222222"]}}]}"#;
    r(&client, none).converge_registry().await;
    assert_eq!(templates(&client).await.len(), 1);
}

#[tokio::test]
async fn the_registry_policy_is_merged_never_replaced() {
    let moto = Moto::start();
    let (client, recorder) = moto.client();
    let before = format!(r#"{{"Version":"2012-10-17","Statement":[{REPLICATION}]}}"#);
    client
        .put_registry_policy()
        .policy_text(&before)
        .send()
        .await
        .unwrap();
    let remediator = r(&client, RULES);
    let reports = remediator.converge_registry().await;
    assert_eq!(
        outcome(&reports, "registry policy").status,
        Status::Applied,
        "{reports:?}"
    );
    let after = registry_policy(&client).await.unwrap();
    assert!(
        after.starts_with(&format!(
            r#"{{"Version":"2012-10-17","Statement":[{REPLICATION},"#
        )),
        "byte for byte: {after}"
    );
    let doc: Value = serde_json::from_str(&after).unwrap();
    let sids: Vec<&str> = doc["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["Sid"].as_str().unwrap())
        .collect();
    assert_eq!(
        sids,
        [
            "ReplicationAccessCrossAccount",
            "EcrPolicyRemediatorD00Rk8smirrorPullThroughCacheOrg",
            "EcrPolicyRemediatorD00Rk8smirrorPullThroughCachePrincipals",
            "EcrPolicyRemediatorD00RteamaGrantPrincipals"
        ]
    );
    let ptc = &doc["Statement"][2];
    assert_eq!(
        ptc["Action"],
        serde_json::json!(["ecr:BatchImportUpstreamImage", "ecr:CreateRepository"])
    );
    assert_eq!(
        ptc["Resource"],
        serde_json::json!(["arn:aws:ecr:us-east-1:111111111111:repository/registry.k8s.io/*"])
    );

    recorder.clear();
    let again = remediator.converge_registry().await;
    assert_eq!(outcome(&again, "registry policy").status, Status::Unchanged);
    assert_eq!(recorder.count("PutRegistryPolicy"), 0);

    // The rules asking nothing of the registry any more: only the foreign statement is left;
    // with none, the policy is deleted.
    let none = r#"{"rules":[{"name":"x","repositories":["x/*"],"principals":{"accounts":["222222222222"]}}]}"#;
    r(&client, none).converge_registry().await;
    assert_eq!(
        registry_policy(&client).await.as_deref(),
        Some(before.as_str())
    );
    client.delete_registry_policy().send().await.unwrap();
    remediator.converge_registry().await;
    r(&client, none).converge_registry().await;
    assert_eq!(
        registry_policy(&client).await,
        None,
        "nothing left: deleted"
    );
}

#[tokio::test]
async fn a_v1_scope_refuses_the_registry_grant_and_still_writes_the_rest() {
    let moto = Moto::start();
    let (client, _) = moto.client();
    client
        .put_account_setting()
        .name("REGISTRY_POLICY_SCOPE")
        .value("V1")
        .send()
        .await
        .unwrap();
    let reports = r(&client, RULES).converge_registry().await;
    let policy = outcome(&reports, "registry policy");
    assert_eq!(policy.status, Status::Failed, "{policy:?}");
    let reason = policy.reason.as_deref().unwrap();
    assert!(
        reason.contains("REGISTRY_POLICY_SCOPE") && reason.contains("team-a"),
        "{reason}"
    );
    let written = registry_policy(&client).await.unwrap();
    assert!(written.contains("k8smirrorPullThroughCache"), "{written}");
    assert!(!written.contains("Grant"), "{written}");
    // Repository policies are written as usual.
    create_repository(&client, "team-a/api").await;
    let c = r(&client, RULES)
        .converge("team-a/api", Cause::of(Trigger::Scheduled))
        .await
        .unwrap();
    assert_eq!(c.status, Status::Applied);
}

#[tokio::test]
async fn a_pull_through_cache_rule_that_covers_no_cache_prefix_is_reported() {
    let moto = Moto::start();
    let (client, _) = moto.client();
    client
        .create_pull_through_cache_rule()
        .ecr_repository_prefix("quay")
        .upstream_registry_url("quay.io")
        .send()
        .await
        .unwrap();
    let reports = r(&client, RULES).converge_registry().await;
    let reason = outcome(&reports, "registry policy")
        .reason
        .clone()
        .unwrap_or_default();
    assert!(
        reason.contains("rule k8s-mirror has pullThroughCache") && reason.contains("quay"),
        "{reason}"
    );
    client
        .create_pull_through_cache_rule()
        .ecr_repository_prefix("registry.k8s.io")
        .upstream_registry_url("registry.k8s.io")
        .send()
        .await
        .unwrap();
    let reports = r(&client, RULES).converge_registry().await;
    assert_eq!(outcome(&reports, "registry policy").reason, None);
}

#[tokio::test]
async fn each_new_trigger_converges_what_it_names() {
    let moto = Moto::start();
    let (client, recorder) = moto.client();
    let remediator = remediator(&client, sample_config());
    for name in [
        "registry.k8s.io/pause",
        "team-a/payments-api",
        "team-a/billing-worker",
    ] {
        create_repository(&client, name).await;
    }
    for (event, trigger, status) in [
        ("native-image-pushed.json", "image-pushed", Status::Applied),
        (
            "native-image-replicated.json",
            "image-replicated",
            Status::Applied,
        ),
        (
            "native-pull-through-cache.json",
            "pull-through-cache",
            Status::Applied,
        ),
        (
            "registry-policy-changed.json",
            "registry-changed",
            Status::Applied,
        ),
        (
            "template-deleted.json",
            "registry-changed",
            Status::Unchanged,
        ),
    ] {
        let out = remediator.handle(&load_event(event), None).await.unwrap();
        assert_eq!(out.status, status, "{event}: {out:?}");
        assert_eq!(serde_json::to_value(out.trigger).unwrap(), trigger);
    }
    // The function's own template write, when it knows its role: no call at all.
    let own = remediator.clone().with_self_role(Some(
        "arn:aws:iam::111111111111:role/ecr-xacct-grant-role".into(),
    ));
    recorder.clear();
    let out = own
        .handle(&load_event("template-created-by-the-function.json"), None)
        .await
        .unwrap();
    assert_eq!(out.status, Status::Skipped);
    assert_eq!(recorder.total(), 0);
    // A pull-through-cache creation after the templates exist: ECR gives the repository the
    // template's policy, and the event path finds nothing to change.
    let template = templates(&client)
        .await
        .into_iter()
        .find(|t| t.0 == "registry.k8s.io")
        .unwrap();
    create_repository(&client, "registry.k8s.io/coredns").await;
    set_policy(
        &client,
        "registry.k8s.io/coredns",
        template.2.as_deref().unwrap(),
    )
    .await;
    let mut event = load_event("create-repository-pull-through-cache.json");
    event["detail"]["serviceEventDetails"]["repositoryName"] = "registry.k8s.io/coredns".into();
    let out = remediator.handle(&event, None).await.unwrap();
    assert_eq!(out.status, Status::Unchanged, "{out:?}");
}
