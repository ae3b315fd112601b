//! The trust boundary from the command line, against moto: `access --untrusted` lists only the
//! grants outside it (table, JSON, CSV), and `plan` and `reconcile --dry-run` mark each
//! revocation in the statement-level diff, writing nothing.

mod common;

use std::path::PathBuf;

use common::*;
use serde_json::{json, Value};

const RULE: &str =
    r#"{"name":"team-a","repositories":["team-a/*"],"principals":{"accounts":["222222222222"]}}"#;

/// An outsider beside a trusted account, a public statement, a Lambda grant, and a Deny.
const POLICY: &str = r#"{"Version":"2012-10-17","Statement":[
  {"Sid":"Contractor","Effect":"Allow","Principal":{"AWS":["arn:aws:iam::999999999999:root","arn:aws:iam::555555555555:root"]},"Action":"ecr:BatchGetImage"},
  {"Sid":"Public","Effect":"Allow","Principal":"*","Action":"ecr:BatchGetImage"},
  {"Sid":"LambdaECRImageRetrievalPolicy","Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"ecr:BatchGetImage"},
  {"Sid":"NoDeletes","Effect":"Deny","Principal":"*","Action":"ecr:DeleteRepository"}]}"#;

const REPLICATION: &str = r#"{"Version":"2012-10-17","Statement":[{"Sid":"Replication","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::999999999999:root"},"Action":["ecr:CreateRepository","ecr:ReplicateImage"],"Resource":"arn:aws:ecr:us-east-1:111111111111:repository/*"}]}"#;

/// A rules file with `trust` in `mode`, in a directory of its own.
fn rules_file(moto: &Moto, mode: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "cli-trust-{}",
        moto.endpoint.rsplit(':').next().unwrap()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("{mode}.json"));
    let text =
        format!(r#"{{"rules":[{RULE}],"trust":{{"mode":"{mode}","accounts":["555555555555"]}}}}"#);
    std::fs::write(&path, text).unwrap();
    path
}

async fn registry(moto: &Moto) {
    let (client, _) = moto.client();
    create_repository(&client, "team-a/api").await;
    set_policy(&client, "team-a/api", POLICY).await;
    client
        .put_registry_policy()
        .policy_text(REPLICATION)
        .send()
        .await
        .unwrap();
}

fn stdout_of(moto: &Moto, args: &[&str]) -> String {
    let out = run(Some(moto), args, None);
    assert!(out.status.code().is_some(), "{}", stderr(&out));
    String::from_utf8(out.stdout).unwrap()
}

#[tokio::test]
async fn access_untrusted_lists_only_the_grants_outside_the_boundary() {
    let moto = Moto::start();
    registry(&moto).await;
    let rules = rules_file(&moto, "report");
    let config = rules.to_str().unwrap();
    let base = ["access", "--config", config, "--untrusted"];
    let text = stdout_of(&moto, &[&base[..], &["--output", "json"]].concat());
    let found: Value = serde_json::from_str(&text).expect("a JSON array");
    assert_eq!(
        found,
        json!([
            {"repository": "team-a/api", "source": "repository policy", "sid": "Contractor",
             "principal": "arn:aws:iam::999999999999:root", "kind": "untrusted"},
            {"repository": "team-a/api", "source": "repository policy", "sid": "Public",
             "principal": "*", "kind": "public"},
            {"repository": "team-a/api", "source": "repository policy",
             "sid": "LambdaECRImageRetrievalPolicy", "principal": "lambda.amazonaws.com",
             "kind": "service"},
            {"repository": "*", "source": "registry policy", "sid": "Replication",
             "principal": "arn:aws:iam::999999999999:root", "kind": "untrusted"},
        ])
    );
    let table = stdout_of(&moto, &base);
    assert!(table.starts_with("repository  source"), "{table}");
    assert!(
        table.ends_with("4 untrusted grant(s) in 2 document(s)\n"),
        "{table}"
    );
    let csv = stdout_of(
        &moto,
        &[&base[..], &["--output", "csv", "--principal", "*"]].concat(),
    );
    assert_eq!(
        csv,
        "repository,source,sid,principal,kind\nteam-a/api,repository policy,Public,*,public\n"
    );
}

#[tokio::test]
async fn plan_and_a_dry_run_mark_each_revocation_in_the_diff_and_write_nothing() {
    let moto = Moto::start();
    registry(&moto).await;
    let rules = rules_file(&moto, "revoke");
    let config = rules.to_str().unwrap();
    let planned = stdout_of(&moto, &["plan", "--config", config, "team-a/api"]);
    assert!(
        planned.contains(
            "~ statement Contractor (changed)\n     (trust: revoked arn:aws:iam::999999999999:root, untrusted)\n"
        ),
        "{planned}"
    );
    assert!(
        planned.contains("- statement Public (removed)\n     (trust: revoked *, public)\n"),
        "{planned}"
    );
    assert!(
        planned.contains(
            "untrusted grant (reported): lambda.amazonaws.com in LambdaECRImageRetrievalPolicy, service"
        ),
        "{planned}"
    );
    let swept = stdout_of(&moto, &["reconcile", "--config", config, "--dry-run"]);
    assert!(
        swept.contains("(trust: revoked arn:aws:iam::999999999999:root, untrusted)"),
        "{swept}"
    );
    assert!(swept.contains("(trust: revoked *, public)"), "{swept}");
    assert!(
        swept.contains("== registry policy") && swept.contains("- statement Replication"),
        "{swept}"
    );
    assert!(swept.contains("untrusted grants"), "{swept}");
    let summary = stdout_of(
        &moto,
        &["reconcile", "--config", config, "--dry-run", "--summary"],
    );
    assert!(
        summary.contains("team-a/api: +EcrPolicyRemediator-team-a-Principals (trust: revoked 2)"),
        "{summary}"
    );
    assert!(
        summary.contains("registry policy: -Replication (policy deleted) (trust: revoked 1)"),
        "{summary}"
    );
    let (client, _) = moto.client();
    assert_eq!(policy(&client, "team-a/api").await.as_deref(), Some(POLICY));
}

#[test]
fn check_config_prints_the_trusted_set_only_when_the_rules_have_one() {
    let dir = std::env::temp_dir().join(format!("cli-trust-check-{}", free_port()));
    std::fs::create_dir_all(&dir).unwrap();
    let with = dir.join("with.json");
    let text = format!(
        r#"{{"rules":[{RULE}],"trust":{{"mode":"revoke","accounts":["555555555555"],"services":["lambda.amazonaws.com"]}}}}"#
    );
    std::fs::write(&with, text).unwrap();
    let out = run(
        None,
        &["check-config", "--config", with.to_str().unwrap()],
        None,
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let printed = String::from_utf8(out.stdout).unwrap();
    assert!(
        printed.ends_with(
            "\ntrust: mode revoke\n  accounts: the registry's own, 222222222222, 555555555555\n  \
             roles and users: (none)\n  organizations: (none)\n  organization paths: (none)\n  \
             services: lambda.amazonaws.com\n"
        ),
        "{printed}"
    );
    let without = dir.join("without.json");
    std::fs::write(&without, format!(r#"{{"rules":[{RULE}]}}"#)).unwrap();
    let out = run(None, &["check-config", without.to_str().unwrap()], None);
    assert!(!String::from_utf8(out.stdout).unwrap().contains("trust"));
}
