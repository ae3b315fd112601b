//! Uninstalling: `reconcile --revoke-all` takes back every statement the deployment owns, in every
//! repository policy, the registry policy and the templates it owns, and nothing else; its dry
//! run lists them and writes nothing.

mod common;

use aws_sdk_ecr::types::RctAppliedFor;
use aws_sdk_ecr::Client;
use common::*;

/// Someone else's grants: on a repository the rules match, in the registry policy, and a template
/// of their own.
const FOREIGN: &str = r#"{"Sid":"PlatformTeamReadOnly","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::999999999999:root"},"Action":["ecr:BatchGetImage","ecr:GetDownloadUrlForLayer"]}"#;
const REPLICATION: &str = r#"{"Sid":"ReplicationAccessCrossAccount","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::999999999999:root"},"Action":["ecr:CreateRepository","ecr:ReplicateImage"],"Resource":"arn:aws:ecr:us-east-1:111111111111:repository/*"}"#;
const THEIR_TEMPLATE: &str = r#"{"Version":"2012-10-17","Statement":[]}"#;

/// Every document of the registry: repository policies, the registry policy, the templates.
#[derive(Debug, PartialEq)]
struct Snapshot {
    policies: Vec<(String, Option<String>)>,
    registry: Option<String>,
    templates: Vec<(String, Option<String>)>,
}

async fn snapshot(client: &Client) -> Snapshot {
    let mut policies = Vec::new();
    for name in ["team-a/api", "registry.k8s.io/pause", "scratch/x"] {
        policies.push((name.to_string(), policy(client, name).await));
    }
    let registry = client
        .get_registry_policy()
        .send()
        .await
        .ok()
        .and_then(|o| o.policy_text().map(str::to_string));
    let listed = client
        .describe_repository_creation_templates()
        .send()
        .await
        .unwrap();
    let mut templates: Vec<_> = listed
        .repository_creation_templates()
        .iter()
        .map(|t| {
            let prefix = t.prefix().unwrap_or_default().to_string();
            (prefix, t.repository_policy().map(str::to_string))
        })
        .collect();
    templates.sort();
    Snapshot {
        policies,
        registry,
        templates,
    }
}

/// A registry the function has granted in, around someone else's statements.
async fn granted(moto: &Moto, client: &Client) {
    for name in ["team-a/api", "registry.k8s.io/pause", "scratch/x"] {
        create_repository(client, name).await;
    }
    let theirs = format!(r#"{{"Version":"2012-10-17","Statement":[{FOREIGN}]}}"#);
    set_policy(client, "team-a/api", &theirs).await;
    let registry = format!(r#"{{"Version":"2012-10-17","Statement":[{REPLICATION}]}}"#);
    client
        .put_registry_policy()
        .policy_text(registry)
        .send()
        .await
        .unwrap();
    client
        .create_repository_creation_template()
        .prefix("platform")
        .description("the platform team's")
        .repository_policy(THEIR_TEMPLATE)
        .applied_for(RctAppliedFor::CreateOnPush)
        .send()
        .await
        .unwrap();
    let out = run(
        Some(moto),
        &["reconcile", "--config", "events/config.json"],
        None,
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

#[tokio::test]
async fn revoke_all_dry_run_lists_every_owned_statement_and_writes_nothing() {
    let moto = Moto::start();
    let (client, _) = moto.client();
    granted(&moto, &client).await;
    let before = snapshot(&client).await;
    assert!(before.templates.iter().any(|t| t.0 == "registry.k8s.io"));
    let args = [
        "reconcile",
        "--config",
        "events/config.json",
        "--revoke-all",
        "--dry-run",
        "--detailed-exitcode",
    ];
    let out = run(Some(&moto), &args, None);
    assert_eq!(out.status.code(), Some(2), "changes: {}", stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    for needle in [
        "== registry policy",
        "- statement EcrPolicyRemediatorD00Rk8smirrorPullThroughCachePrincipals (removed)",
        "== template registry.k8s.io",
        "the template would be deleted: no rule asks for it any more",
        "== team-a/api",
        "- statement EcrPolicyRemediator-team-a-Principals (removed)",
        "- statement EcrPolicyRemediator-team-a-ci-Principals (removed)",
        "== registry.k8s.io/pause",
        "the policy would be deleted: no statement would be left in it",
    ] {
        assert!(text.contains(needle), "{needle} missing from:\n{text}");
    }
    for foreign in [
        "PlatformTeamReadOnly",
        "ReplicationAccessCrossAccount",
        "platform",
    ] {
        assert!(!text.contains(foreign), "{foreign} is not ours:\n{text}");
    }
    assert!(!text.contains("scratch/x"), "{text}");
    assert_eq!(snapshot(&client).await, before, "a dry run writes nothing");
}

/// The sample rules with `trust` in `revoke` mode: a sweep of them takes back foreign grants to
/// principals neither the rules nor the trust lists name, such as account 999999999999.
fn revoking_rules() -> std::path::PathBuf {
    let text = std::fs::read_to_string(sample_config_path()).unwrap();
    let mut rules: serde_json::Value = serde_json::from_str(&text).unwrap();
    rules["trust"] = serde_json::json!({ "mode": "revoke" });
    let dir = std::env::temp_dir().join(format!("remediator-uninstall-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("rules.json");
    std::fs::write(&file, rules.to_string()).unwrap();
    file
}

#[tokio::test]
async fn revoke_all_takes_back_exactly_what_the_deployment_owns() {
    let moto = Moto::start();
    let (client, _) = moto.client();
    granted(&moto, &client).await;
    // Uninstalling under a trust boundary that revokes: foreign grants are none of its business
    // (the engine does not act on `trust` yet; when it does, this keeps uninstalling out of it).
    let rules = revoking_rules();
    let args = [
        "reconcile",
        "--config",
        rules.to_str().unwrap(),
        "--revoke-all",
    ];
    let out = run(Some(&moto), &args, None);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("template registry.k8s.io: -EcrPolicyRemediator-k8s-mirror-Org"),
        "{text}"
    );
    assert!(text.contains("(template deleted)"), "{text}");
    assert!(
        text.contains("registry.k8s.io/pause: -EcrPolicyRemediator-k8s-mirror-Org"),
        "{text}"
    );

    let after = snapshot(&client).await;
    let team_a = after.policies[0]
        .1
        .as_deref()
        .expect("their statement stays");
    assert_eq!(sids(team_a), ["PlatformTeamReadOnly"]);
    assert!(team_a.contains(FOREIGN), "byte for byte: {team_a}");
    assert_eq!(after.policies[1].1, None, "nothing left: deleted");
    assert_eq!(after.policies[2].1, None, "never had a policy");
    let registry = after.registry.as_deref().expect("their statement stays");
    assert_eq!(sids(registry), ["ReplicationAccessCrossAccount"]);
    assert!(registry.contains(REPLICATION), "byte for byte: {registry}");
    assert_eq!(
        after.templates,
        [("platform".to_string(), Some(THEIR_TEMPLATE.to_string()))],
        "the templates the function owned are gone, theirs stays"
    );

    // Nothing of ours is left: the same command has nothing more to do.
    let again = [&args[..], &["--dry-run", "--detailed-exitcode"]].concat();
    let out = run(Some(&moto), &again, None);
    assert_eq!(out.status.code(), Some(0), "{}", stdout_text(&out));
}

fn stdout_text(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}
