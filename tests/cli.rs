//! The command line, as a user runs it: the real binary against moto.

mod common;

use std::process::Command;

use common::*;
use serde_json::Value;

#[test]
fn check_config_prints_every_rule_with_its_statements() {
    let out = run(None, &["check-config", "events/config.json"], None);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    for needle in [
        "rule k8s-mirror",
        "rule team-a-ci",
        "EcrPolicyRemediator-k8s-mirror-Org",
        "aws:PrincipalOrgID",
        "ecr:PutImage",
    ] {
        assert!(text.contains(needle), "{needle} missing from:\n{text}");
    }
}

#[test]
fn a_bad_configuration_exits_2_with_the_path_of_the_field() {
    let dir = std::env::temp_dir().join(format!("remediator-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("bad.json");
    std::fs::write(
        &file,
        r#"{"rules":[{"name":"r","repositories":["*"],"principals":{"accounts":["12345678901"]}}]}"#,
    )
    .unwrap();
    let out = run(None, &["check-config", file.to_str().unwrap()], None);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("rules[0].principals.accounts[0]"),
        "{}",
        stderr(&out)
    );
    let out = run(None, &["check-config"], None);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("REMEDIATOR_CONFIG"),
        "{}",
        stderr(&out)
    );
}

#[tokio::test]
async fn handle_prints_one_outcome_per_event_and_exits_0_when_none_failed() {
    let moto = Moto::start();
    let (client, _) = moto.client();
    create_repository(&client, "team-a/payments-api").await;
    let out = run(
        Some(&moto),
        &[
            "handle",
            "--config",
            "events/config.json",
            "events/create-repository-api.json",
            "events/skip-delete-repository.json",
            "events/create-repository-api.json",
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let outcomes = lines(&out);
    assert_eq!(outcomes.len(), 3);
    assert_eq!(outcomes[0]["outcome"], "applied");
    assert_eq!(outcomes[0]["trigger"], "repository-created");
    assert_eq!(outcomes[0]["repository"], "team-a/payments-api");
    assert_eq!(
        outcomes[0]["rules"],
        serde_json::json!(["team-a", "team-a-ci"])
    );
    assert_eq!(outcomes[0]["reason"], Value::Null);
    assert_eq!(outcomes[1]["outcome"], "skipped");
    assert_eq!(outcomes[2]["outcome"], "unchanged");
    // The structured log line of each invocation goes to standard error.
    let logs: Vec<Value> = stderr(&out)
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .filter(|l: &Value| l["message"] == "event handled")
        .collect();
    assert_eq!(logs.len(), 3, "{}", stderr(&out));
    assert_eq!(logs[0]["outcome"], "applied");
}

#[tokio::test]
async fn handle_reads_standard_input_and_honours_dry_run() {
    let moto = Moto::start();
    let (client, _) = moto.client();
    create_repository(&client, "team-a/payments-api").await;
    let event =
        std::fs::read_to_string(manifest_dir().join("events/create-repository-api.json")).unwrap();
    let out = run(
        Some(&moto),
        &["handle", "--config", "events/config.json", "--dry-run", "-"],
        Some(&event),
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(lines(&out)[0]["outcome"], "planned");
    assert_eq!(policy(&client, "team-a/payments-api").await, None);
}

#[test]
fn handle_exits_1_when_an_event_failed_and_2_for_a_missing_file() {
    let moto = Moto::start();
    let out = run(
        Some(&moto),
        &["handle", "--config", "events/config.json", "-"],
        Some("{\"truncated\": "),
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let outcome = &lines(&out)[0];
    assert_eq!(outcome["outcome"], "failed");
    assert!(
        outcome["reason"].as_str().unwrap().contains("not JSON"),
        "{outcome}"
    );
    let out = run(
        Some(&moto),
        &["handle", "--config", "events/config.json", "-"],
        Some(
            r#"{"source":"aws.ecr","detail-type":"AWS API Call via CloudTrail","detail":{"eventSource":"ecr.amazonaws.com","eventName":"CreateRepository","requestParameters":{"repositoryName":"Bad Name"}}}"#,
        ),
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(lines(&out)[0]["outcome"], "failed");

    let out = run(
        Some(&moto),
        &["handle", "--config", "events/config.json", "-"],
        Some("[]"),
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(lines(&out)[0]["reason"]
        .as_str()
        .unwrap()
        .contains("JSON object"));
}

#[tokio::test]
async fn one_unreadable_file_in_a_batch_fails_alone() {
    let moto = Moto::start();
    let (client, _) = moto.client();
    create_repository(&client, "team-a/payments-api").await;
    let dir = std::env::temp_dir().join(format!("remediator-batch-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let latin1 = dir.join("latin1.json");
    std::fs::write(&latin1, b"{\"id\":\"caf\xe9\"}").unwrap();
    let out = run(
        Some(&moto),
        &[
            "handle",
            "--config",
            "events/config.json",
            "events/no-such-event.json",
            latin1.to_str().unwrap(),
            "events/create-repository-api.json",
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let outcomes = lines(&out);
    assert_eq!(outcomes.len(), 3);
    assert_eq!(outcomes[0]["outcome"], "failed");
    assert!(outcomes[0]["reason"]
        .as_str()
        .unwrap()
        .contains("no-such-event.json"));
    assert_eq!(outcomes[1]["outcome"], "failed");
    assert_eq!(
        outcomes[2]["outcome"], "applied",
        "the good file is handled"
    );
    assert!(policy(&client, "team-a/payments-api").await.is_some());
}

#[test]
fn exit_codes_tell_usage_errors_from_aws_failures() {
    // Nothing listens on this port: a failure of AWS, not of the user's input.
    let port = free_port();
    let out = Command::new(bin())
        .args([
            "handle",
            "--config",
            "events/config.json",
            "events/create-repository-api.json",
        ])
        .current_dir(manifest_dir())
        .env("AWS_ENDPOINT_URL", format!("http://127.0.0.1:{port}"))
        .env("AWS_REGION", REGION)
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_MAX_ATTEMPTS", "1")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let message = stderr(&out);
    assert!(message.contains("did not reach ECR"), "{message}");
    assert!(
        !message.contains("DispatchFailure"),
        "no Debug dump: {message}"
    );
    let out = run(
        None,
        &["handle", "--config", "no-such-config.json", "-"],
        Some("{}"),
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
}

#[tokio::test]
async fn plan_shows_the_difference_and_writes_nothing() {
    let moto = Moto::start();
    let (client, _) = moto.client();
    create_repository(&client, "team-a/payments-api").await;
    create_repository(&client, "scratch/experiment").await;
    let out = run(
        Some(&moto),
        &[
            "plan",
            "--config",
            "events/config.json",
            "team-a/payments-api",
            "scratch/experiment",
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("== team-a/payments-api"), "{text}");
    assert!(text.contains("rules: team-a, team-a-ci"), "{text}");
    assert!(text.contains("(added)"), "{text}");
    assert!(
        text.contains("+ statement EcrPolicyRemediator-team-a-Principals (added)"),
        "{text}"
    );
    assert!(text.contains("no rule matches"), "{text}");
    assert_eq!(policy(&client, "team-a/payments-api").await, None);
}

#[tokio::test]
async fn reconcile_dry_run_shows_diffs_then_the_real_run_applies_them() {
    let moto = Moto::start();
    let (client, _) = moto.client();
    for name in [
        "team-a/one",
        "team-a/two",
        "registry.k8s.io/pause",
        "scratch/x",
    ] {
        create_repository(&client, name).await;
    }
    let config = ["--config", "events/config.json"];
    let out = run(
        Some(&moto),
        &[&["reconcile", "--dry-run"][..], &config[..]].concat(),
        None,
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    for needle in [
        "== registry.k8s.io/pause",
        "== team-a/one",
        "+ statement EcrPolicyRemediator-team-a-Principals (added)",
    ] {
        assert!(text.contains(needle), "{needle} missing from:\n{text}");
    }
    let planned = text.lines().find(|l| l.starts_with("planned (dry run)"));
    assert!(
        planned.is_some_and(|l| l.split_whitespace().last() == Some("3")),
        "{text}"
    );
    assert!(!text.contains("scratch/x"), "{text}");
    assert_eq!(policy(&client, "team-a/one").await, None);

    let out = run(
        Some(&moto),
        &[
            &[
                "reconcile",
                "--output",
                "json",
                "--concurrency",
                "2",
                "--rate",
                "50",
            ][..],
            &config[..],
        ]
        .concat(),
        None,
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let outcome = &lines(&out)[0];
    assert_eq!(outcome["outcome"], "swept");
    assert_eq!(outcome["sweep"]["applied"], 3);
    assert_eq!(outcome["sweep"]["listed"], 4);
    assert!(policy(&client, "team-a/one").await.is_some());
}

#[tokio::test]
async fn reconcile_exits_1_when_a_repository_failed_and_2_for_a_bad_option() {
    let moto = Moto::start();
    let (client, _) = moto.client();
    create_repository(&client, "team-a/big").await;
    set_policy(&client, "team-a/big", &near_limit_policy()).await;
    let out = run(
        Some(&moto),
        &["reconcile", "--config", "events/config.json"],
        None,
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("failed: team-a/big: "));
    let out = run(
        Some(&moto),
        &["reconcile", "--config", "events/config.json", "--rate", "0"],
        None,
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("requestsPerSecond"),
        "{}",
        stderr(&out)
    );
}

#[tokio::test]
async fn plan_registry_shows_the_templates_and_registry_statements_before_any_repository_exists() {
    let moto = Moto::start();
    let (client, _) = moto.client();
    let out = run(
        Some(&moto),
        &["plan", "--config", "events/config.json", "--registry"],
        None,
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    for needle in [
        "== registry policy",
        "+ statement EcrPolicyRemediatorD00Rk8smirrorPullThroughCachePrincipals (added)",
        "arn:aws:ecr:us-east-1:111111111111:repository/registry.k8s.io/*",
        "== template ecr-public",
        "== template registry.k8s.io",
        "+ statement EcrPolicyRemediator-k8s-mirror-Principals (added)",
    ] {
        assert!(text.contains(needle), "{needle} missing from:\n{text}");
    }
    let templates = client
        .describe_repository_creation_templates()
        .send()
        .await
        .unwrap();
    assert!(
        templates.repository_creation_templates().is_empty(),
        "plan writes nothing"
    );
    assert!(
        client.get_registry_policy().send().await.is_err(),
        "plan writes nothing"
    );
}

#[tokio::test]
async fn reconcile_dry_run_shows_the_diff_of_all_three_kinds_of_document() {
    let moto = Moto::start();
    let (client, _) = moto.client();
    create_repository(&client, "team-a/payments-api").await;
    let out = run(
        Some(&moto),
        &["reconcile", "--config", "events/config.json", "--dry-run"],
        None,
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    for needle in [
        "== registry policy",
        "== template registry.k8s.io",
        "== team-a/payments-api",
        "+ statement EcrPolicyRemediator-team-a-ci-Principals (added)",
    ] {
        assert!(text.contains(needle), "{needle} missing from:\n{text}");
    }
    assert_eq!(policy(&client, "team-a/payments-api").await, None);
}

#[tokio::test]
async fn every_change_leaves_an_audit_line_naming_the_sids_added_and_removed_and_the_caller() {
    let moto = Moto::start();
    let (client, _) = moto.client();
    create_repository(&client, "team-a/payments-api").await;
    let event = "events/create-repository-api.json";
    let out = run(
        Some(&moto),
        &["handle", "--config", "events/config.json", event],
        None,
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let dir = std::env::temp_dir().join(format!("remediator-audit-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let smaller = dir.join("rules.json");
    let mut config: Value =
        serde_json::from_str(&std::fs::read_to_string("events/config.json").unwrap()).unwrap();
    config["rules"]
        .as_array_mut()
        .unwrap()
        .retain(|r| r["name"] != "team-a-ci");
    std::fs::write(&smaller, config.to_string()).unwrap();
    let out = run(
        Some(&moto),
        &["handle", "--config", smaller.to_str().unwrap(), event],
        None,
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let audit: Vec<Value> = stderr(&out)
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|l| l["message"] == "repository policy changed")
        .collect();
    assert_eq!(audit.len(), 1, "{}", stderr(&out));
    assert_eq!(audit[0]["repository"], "team-a/payments-api");
    assert_eq!(
        audit[0]["removed"],
        "EcrPolicyRemediator-team-a-ci-Principals"
    );
    assert_eq!(audit[0]["added"], "");
    assert_eq!(audit[0]["level"], "INFO");
    // What set it off, and whose call the event records.
    assert_eq!(audit[0]["trigger"], "repository-created");
    let creator: Value = serde_json::from_str(&std::fs::read_to_string(event).unwrap()).unwrap();
    let issuer = &creator["detail"]["userIdentity"]["sessionContext"]["sessionIssuer"]["arn"];
    assert_eq!(&audit[0]["caller"], issuer, "{}", stderr(&out));
}

#[test]
fn logs_follow_lambdas_log_level_and_format() {
    let moto = Moto::start();
    let handle = |vars: &[(&str, &str)]| {
        let mut cmd = Command::new(bin());
        cmd.args([
            "handle",
            "--config",
            "events/config.json",
            "events/skip-delete-repository.json",
        ])
        .current_dir(manifest_dir())
        .envs(moto.env())
        .env_remove("RUST_LOG")
        .env_remove("AWS_LAMBDA_LOG_LEVEL")
        .env_remove("AWS_LAMBDA_LOG_FORMAT");
        for (k, v) in vars {
            cmd.env(k, v);
        }
        let out = cmd.output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        stderr(&out)
    };
    let json = handle(&[]);
    let line: Value = serde_json::from_str(json.lines().last().unwrap()).unwrap();
    assert_eq!(line["message"], "event handled");
    let text = handle(&[("AWS_LAMBDA_LOG_FORMAT", "Text")]);
    assert!(
        text.contains("event handled") && !text.trim_start().starts_with('{'),
        "{text}"
    );
    // Lambda's log level wins over RUST_LOG, as the runtime documents.
    let quiet = handle(&[("AWS_LAMBDA_LOG_LEVEL", "ERROR"), ("RUST_LOG", "debug")]);
    assert!(!quiet.contains("event handled"), "{quiet}");
    // DEBUG through Lambda's setting is this crate's detail, not the SDK's internals (this event
    // gives the crate nothing to say at debug); RUST_LOG=debug is a directive for everything.
    let debug = handle(&[("AWS_LAMBDA_LOG_LEVEL", "DEBUG")]);
    assert!(debug.contains("event handled"), "{debug}");
    assert!(!debug.contains(r#""level":"DEBUG""#), "{debug}");
    let everything = handle(&[("RUST_LOG", "debug")]);
    assert!(
        everything.matches(r#""level":"DEBUG""#).count() > 5,
        "{everything}"
    );
}
