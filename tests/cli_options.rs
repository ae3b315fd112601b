//! The command line's conventions: Terraform's detailed exit codes for CI drift checks, the AWS
//! options, one-sentence errors with their fix, suggestions for mistyped options, summaries.

mod common;

use std::process::Command;

use common::*;

fn code(out: &std::process::Output) -> Option<i32> {
    out.status.code()
}

#[tokio::test]
async fn detailed_exitcode_is_two_for_planned_changes_zero_for_none_one_for_errors() {
    let moto = Moto::start();
    let (client, _) = moto.client();
    create_repository(&client, "team-a/api").await;
    let plan = ["plan", "--config", "events/config.json", "team-a/api"];
    let out = run(Some(&moto), &plan, None);
    assert_eq!(code(&out), Some(0), "without the flag: {}", stderr(&out));
    let detailed = [&plan[..], &["--detailed-exitcode"]].concat();
    let out = run(Some(&moto), &detailed, None);
    assert_eq!(code(&out), Some(2), "changes planned: {}", stderr(&out));

    let reconcile = ["reconcile", "--config", "events/config.json"];
    let out = run(
        Some(&moto),
        &[&reconcile[..], &["--detailed-exitcode"]].concat(),
        None,
    );
    assert_eq!(code(&out), Some(2), "changes made: {}", stderr(&out));
    let out = run(Some(&moto), &detailed, None);
    assert_eq!(
        code(&out),
        Some(0),
        "nothing left to change: {}",
        stderr(&out)
    );
    let dry = [&reconcile[..], &["--dry-run", "--detailed-exitcode"]].concat();
    let out = run(Some(&moto), &dry, None);
    assert_eq!(code(&out), Some(0), "{}", stderr(&out));

    // A configuration error is an error like any other, never "changes".
    let broken = [
        "plan",
        "--config",
        "no-such.json",
        "--detailed-exitcode",
        "x1",
    ];
    let out = run(Some(&moto), &broken, None);
    assert_eq!(code(&out), Some(1), "{}", stderr(&out));
    let without_flag = [&broken[..3], &broken[4..]].concat();
    let out = run(Some(&moto), &without_flag, None);
    assert_eq!(code(&out), Some(2), "usage error without the flag");
}

#[tokio::test]
async fn summary_lists_each_repository_by_sid_instead_of_diffs() {
    let moto = Moto::start();
    let (client, _) = moto.client();
    create_repository(&client, "team-a/api").await;
    let args = [
        "reconcile",
        "--config",
        "events/config.json",
        "--dry-run",
        "--summary",
    ];
    let out = run(Some(&moto), &args, None);
    assert_eq!(code(&out), Some(0), "{}", stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(
            "team-a/api: +EcrPolicyRemediator-team-a-Principals \
             +EcrPolicyRemediator-team-a-ci-Principals"
        ),
        "{text}"
    );
    assert!(!text.contains("== team-a/api"), "no diff: {text}");
    assert!(text.contains("planned (dry run)"), "the table: {text}");
}

#[test]
fn a_missing_region_is_one_sentence_with_the_fix() {
    let out = Command::new(bin())
        .args(["plan", "--config", "events/config.json", "team-a/api"])
        .current_dir(manifest_dir())
        .env_remove("AWS_REGION")
        .env_remove("AWS_DEFAULT_REGION")
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_CONFIG_FILE")
        .env("HOME", std::env::temp_dir().join("no-aws-config-here"))
        .output()
        .unwrap();
    assert_eq!(code(&out), Some(2), "{}", stderr(&out));
    let message = stderr(&out);
    assert!(
        message.contains("no AWS region is set: pass --region, or set AWS_REGION"),
        "{message}"
    );
    assert_eq!(message.trim().lines().count(), 1, "{message}");
}

#[tokio::test]
async fn region_and_profile_options_reach_the_sdk() {
    let moto = Moto::start();
    let (client, _) = moto.client();
    create_repository(&client, "team-a/api").await;
    // The region comes from --region alone: the sample's registry is in us-east-1, so a plan
    // in another region still reads the policy, and --region us-east-1 is accepted.
    let env: Vec<_> = moto
        .env()
        .into_iter()
        .filter(|(k, _)| !k.contains("REGION"))
        .collect();
    let out = Command::new(bin())
        .args(["plan", "--config", "events/config.json", "team-a/api"])
        .args(["--region", REGION])
        .current_dir(manifest_dir())
        .env_remove("AWS_REGION")
        .env_remove("AWS_DEFAULT_REGION")
        .env("AWS_CONFIG_FILE", "/nonexistent")
        .envs(env.clone())
        .output()
        .unwrap();
    assert_eq!(code(&out), Some(0), "{}", stderr(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("(added)"));
    // A profile the shared files do not have is named in the error, as a profile that does not
    // exist, not as a missing region or credentials.
    let out = Command::new(bin())
        .args(["plan", "--config", "events/config.json", "team-a/api"])
        .args(["--region", REGION, "--profile", "no-such-profile"])
        .current_dir(manifest_dir())
        .env("AWS_CONFIG_FILE", "/nonexistent")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .envs(env.into_iter().filter(|(k, _)| !k.contains("KEY")))
        .output()
        .unwrap();
    assert_eq!(code(&out), Some(2), "{}", stderr(&out));
    let message = stderr(&out);
    assert!(
        message.contains(
            "the AWS profile \"no-such-profile\" (--profile) does not exist in /nonexistent"
        ),
        "{message}"
    );
    assert!(!message.contains("region"), "{message}");
    assert_eq!(message.trim().lines().count(), 1, "{message}");
}

#[test]
fn a_mistyped_option_gets_a_suggestion_and_every_command_an_example() {
    let out = run(None, &["reconcile", "--dryrun"], None);
    assert_eq!(code(&out), Some(2));
    assert!(stderr(&out).contains("--dry-run"), "{}", stderr(&out));
    for command in ["handle", "plan", "reconcile", "check-config"] {
        let out = run(None, &[command, "--help"], None);
        let help = String::from_utf8_lossy(&out.stdout);
        assert!(help.contains("Example"), "{command}: {help}");
        assert!(
            help.contains("--region") && help.contains("--profile"),
            "{help}"
        );
    }
}

#[tokio::test]
async fn a_registry_document_put_back_leaves_an_audit_line_with_its_sids_and_caller() {
    let moto = Moto::start();
    let (client, _) = moto.client();
    let out = run(
        Some(&moto),
        &["reconcile", "--config", "events/config.json"],
        None,
    );
    assert_eq!(code(&out), Some(0), "{}", stderr(&out));
    // Someone deletes the registry policy; the function puts its statements back.
    client.delete_registry_policy().send().await.unwrap();
    let event = "events/registry-policy-deleted.json";
    let out = run(
        Some(&moto),
        &["handle", "--config", "events/config.json", event],
        None,
    );
    assert_eq!(code(&out), Some(0), "{}", stderr(&out));
    let audit: Vec<serde_json::Value> = stderr(&out)
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .filter(|l: &serde_json::Value| l["message"] == "registry document changed")
        .collect();
    assert_eq!(audit.len(), 1, "{}", stderr(&out));
    assert_eq!(audit[0]["document"], "registry policy");
    assert_eq!(audit[0]["trigger"], "registry-changed");
    assert!(
        audit[0]["added"]
            .as_str()
            .unwrap()
            .contains("EcrPolicyRemediatorD00Rk8smirrorPullThroughCachePrincipals"),
        "{}",
        audit[0]
    );
    let recorded: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(event).unwrap()).unwrap();
    let issuer = &recorded["detail"]["userIdentity"]["sessionContext"]["sessionIssuer"]["arn"];
    assert_eq!(&audit[0]["caller"], issuer);
}
