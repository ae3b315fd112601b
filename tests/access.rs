//! `access` against a registry of mixed policies: the rules' statements, a hand-written grant, a
//! repository without a policy, the registry policy and the creation templates.

mod common;

use common::*;
use serde_json::Value;

const HAND_WRITTEN: &str = r#"{"Version":"2012-10-17","Statement":[{"Sid":"LegacyReader",
  "Effect":"Allow","Principal":{"AWS":"arn:aws:iam::999999999999:root"},
  "Action":["ecr:BatchGetImage","ecr:GetDownloadUrlForLayer","ecr:BatchCheckLayerAvailability"]}]}"#;

async fn mixed_registry(moto: &Moto) {
    let (client, _) = moto.client();
    for name in ["team-a/api", "team-b/tool", "scratch/empty"] {
        create_repository(&client, name).await;
    }
    set_policy(&client, "team-b/tool", HAND_WRITTEN).await;
    let out = run(
        Some(moto),
        &["reconcile", "--config", "events/config.json"],
        None,
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

fn grants(moto: &Moto, extra: &[&str]) -> Vec<Value> {
    let args = [&["access", "--config", "events/config.json"][..], extra].concat();
    let out = run(
        Some(moto),
        &[&args[..], &["--output", "json"]].concat(),
        None,
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    serde_json::from_slice::<Vec<Value>>(&out.stdout).expect("a JSON array")
}

fn find<'a>(grants: &'a [Value], source: &str, repository: &str, principal: &str) -> &'a Value {
    grants
        .iter()
        .find(|g| {
            g["source"] == source && g["repository"] == repository && g["principal"] == principal
        })
        .unwrap_or_else(|| panic!("no grant {source} {repository} {principal} in {grants:#?}"))
}

#[tokio::test]
async fn access_names_every_grant_and_the_rule_that_explains_it() {
    let moto = Moto::start();
    mixed_registry(&moto).await;
    let all = grants(&moto, &[]);

    let team_a = find(
        &all,
        "repository policy",
        "team-a/api",
        "arn:aws:iam::333333333333:root",
    );
    assert_eq!(
        (&team_a["access"], &team_a["rule"]),
        (&"pull".into(), &"team-a".into())
    );
    let ci = find(
        &all,
        "repository policy",
        "team-a/api",
        "arn:aws:iam::444444444444:role/ci-deployer",
    );
    assert_eq!(
        (&ci["access"], &ci["rule"]),
        (&"push".into(), &"team-a-ci".into())
    );
    let legacy = find(
        &all,
        "repository policy",
        "team-b/tool",
        "arn:aws:iam::999999999999:root",
    );
    assert_eq!(
        (&legacy["access"], &legacy["rule"]),
        (&"pull".into(), &Value::Null)
    );
    assert_eq!(legacy["sid"], "LegacyReader");
    assert!(
        !all.iter().any(|g| g["repository"] == "scratch/empty"),
        "no policy, no grant"
    );

    let ptc = find(
        &all,
        "registry policy",
        "registry.k8s.io/*",
        "arn:aws:iam::222222222222:root",
    );
    assert_eq!(ptc["rule"], "k8s-mirror");
    let template = find(
        &all,
        "template registry.k8s.io",
        "registry.k8s.io/*",
        "org:o-a1b2c3d4e5",
    );
    assert_eq!(
        (&template["access"], &template["rule"]),
        (&"pull".into(), &"k8s-mirror".into())
    );
    let unexplained: Vec<_> = all.iter().filter(|g| g["rule"].is_null()).collect();
    assert_eq!(
        unexplained.len(),
        1,
        "only the hand-written grant: {unexplained:#?}"
    );
}

#[tokio::test]
async fn access_filters_by_repository_and_principal_and_prints_csv_and_a_table() {
    let moto = Moto::start();
    mixed_registry(&moto).await;
    let one = grants(&moto, &["--principal", "999999999999"]);
    assert_eq!(one.len(), 1, "{one:#?}");
    assert_eq!(one[0]["repository"], "team-b/tool");
    // A repository's question includes the registry statements and templates that cover it.
    let pause = grants(&moto, &["registry.k8s.io/pause"]);
    assert!(
        pause.iter().all(|g| g["repository"] == "registry.k8s.io/*"),
        "{pause:#?}"
    );
    assert!(
        pause.iter().any(|g| g["source"] == "registry policy"),
        "{pause:#?}"
    );

    let args = [
        "access",
        "--config",
        "events/config.json",
        "--output",
        "csv",
        "team-b/tool",
    ];
    let out = run(Some(&moto), &args, None);
    let text = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "repository,source,principal,access,rule,sid");
    assert_eq!(
        lines[1],
        "team-b/tool,repository policy,arn:aws:iam::999999999999:root,pull,(no rule),LegacyReader"
    );
    assert_eq!(lines.len(), 2, "{text}");

    let out = run(
        Some(&moto),
        &["access", "--config", "events/config.json"],
        None,
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.starts_with("repository"), "{text}");
    assert!(
        text.trim_end().ends_with("1 explained by no rule"),
        "{text}"
    );
}

#[tokio::test]
async fn access_refuses_what_is_no_principal_in_one_sentence_and_reads_a_bare_organization_id() {
    for bogus in ["bogus", "12345", "o-short", "arn:aws"] {
        let out = run(
            None,
            &[
                "access",
                "--config",
                "events/config.json",
                "--principal",
                bogus,
            ],
            None,
        );
        assert_eq!(out.status.code(), Some(2), "{bogus}: {}", stderr(&out));
        assert_eq!(
            stderr(&out),
            format!(
                "ecr-policy-remediator: {bogus:?} is not a principal: give an account ID \
                 (222222222222), an ARN (arn:aws:iam::222222222222:role/NAME), an organization ID \
                 (o-a1b2c3d4e5) or an organization path (o-a1b2c3d4e5/r-ab12/ou-ab12-11111111/*)\n"
            )
        );
        assert!(out.stdout.is_empty(), "no empty table");
    }
    let moto = Moto::start();
    mixed_registry(&moto).await;
    // The organization as the rules name it, with or without the `org:` the table shows.
    let bare = grants(&moto, &["--principal", "o-a1b2c3d4e5"]);
    assert!(!bare.is_empty());
    assert!(
        bare.iter().all(|g| g["principal"] == "org:o-a1b2c3d4e5"),
        "{bare:#?}"
    );
    assert_eq!(bare, grants(&moto, &["--principal", "org:o-a1b2c3d4e5"]));
}
