//! What the command line says when it is used: `check-config --config` like every subcommand,
//! a `plan` of nothing refused as its help says, `--summary` in one line per document, a summary
//! table whose columns never run together, a profile that does not exist named as such.

mod common;

use std::process::Command;

use common::*;

#[test]
fn check_config_takes_config_like_every_other_subcommand_and_still_a_file() {
    for args in [
        &["check-config", "--config", "events/config.json"][..],
        &["check-config", "events/config.json"],
    ] {
        let out = run(None, args, None);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}", stderr(&out));
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            text.starts_with("configuration is valid: 3 rule(s)"),
            "{text}"
        );
    }
    let both = [
        "check-config",
        "--config",
        "events/config.json",
        "events/config.json",
    ];
    let out = run(None, &both, None);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(!stderr(&out).contains("tip:"), "{}", stderr(&out));
    // Without rules, the tip names --config first.
    let out = run(None, &["check-config"], None);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        stderr(&out),
        "ecr-policy-remediator: no configuration: pass --config FILE, or set REMEDIATOR_CONFIG \
         (the JSON itself) or REMEDIATOR_CONFIG_FILE (a path)\n"
    );
    let help = run(None, &["check-config", "--help"], None);
    let help = String::from_utf8_lossy(&help.stdout);
    assert!(help.contains("--config <FILE>"), "{help}");
    assert!(help.contains("check-config --config rules.json"), "{help}");
}

#[test]
fn plan_of_nothing_is_one_sentence_that_points_at_reconcile_dry_run() {
    let out = run(None, &["plan", "--config", "events/config.json"], None);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert_eq!(
        stderr(&out),
        "ecr-policy-remediator: plan needs at least one repository name, or --registry: \
         `reconcile --dry-run` plans every repository\n"
    );
    let help = run(None, &["plan", "--help"], None);
    let help = String::from_utf8_lossy(&help.stdout);
    assert!(help.contains("[REPOSITORY]..."), "{help}");
    assert!(help.contains("at least one, unless --registry"), "{help}");
}

#[tokio::test]
async fn summary_shows_each_registry_document_in_one_line_without_its_json() {
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
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    let line = |start: &str| {
        text.lines()
            .find(|l| l.starts_with(start))
            .unwrap_or_else(|| panic!("no {start} in:\n{text}"))
            .to_string()
    };
    assert!(
        line("registry policy: ")
            .contains("+EcrPolicyRemediatorD00Rk8smirrorPullThroughCachePrincipals"),
        "{text}"
    );
    assert_eq!(
        line("template registry.k8s.io: "),
        "template registry.k8s.io: +EcrPolicyRemediator-k8s-mirror-Org \
         +EcrPolicyRemediator-k8s-mirror-Principals"
    );
    assert!(
        !text.contains('{') && !text.contains("\"Effect\""),
        "{text}"
    );
    assert!(!text.lines().any(|l| l.starts_with("== ")), "{text}");
}

#[tokio::test]
async fn the_summary_table_keeps_a_long_template_name_apart_from_its_outcome() {
    let moto = Moto::start();
    let config = ["reconcile", "--config", "events/config.json"];
    let out = run(Some(&moto), &config, None);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let out = run(Some(&moto), &[&config[..], &["--dry-run"]].concat(), None);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!text.contains("registry.k8s.iounchanged"), "{text}");
    let row = text
        .lines()
        .find(|l| l.starts_with("template registry.k8s.io"))
        .unwrap_or_else(|| panic!("{text}"));
    assert_eq!(row, "template registry.k8s.io  unchanged", "{text}");
    let widths: Vec<usize> = text
        .lines()
        .filter(|l| !l.starts_with(' '))
        .map(str::len)
        .collect();
    assert!(
        widths.windows(2).all(|w| w[0] == w[1]),
        "one column of values: {text}"
    );
}

#[tokio::test]
async fn a_profile_in_the_shared_config_file_is_used_and_a_missing_one_is_named() {
    let moto = Moto::start();
    let (client, _) = moto.client();
    create_repository(&client, "team-a/api").await;
    let dir = std::env::temp_dir().join(format!("remediator-profile-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("config");
    std::fs::write(&file, "[profile ci]\nregion = us-east-1\n").unwrap();
    std::fs::write(dir.join("credentials"), "").unwrap();
    let plan = |profile: &str| {
        Command::new(bin())
            .args(["plan", "--config", "events/config.json", "team-a/api"])
            .args(["--profile", profile])
            .current_dir(manifest_dir())
            .envs(
                moto.env()
                    .into_iter()
                    .filter(|(k, _)| !k.contains("REGION")),
            )
            .env_remove("AWS_REGION")
            .env_remove("AWS_DEFAULT_REGION")
            .env("AWS_CONFIG_FILE", &file)
            .env("AWS_SHARED_CREDENTIALS_FILE", dir.join("credentials"))
            .output()
            .unwrap()
    };
    let out = plan("ci");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("(added)"));
    let out = plan("cj");
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert_eq!(
        stderr(&out),
        format!(
            "ecr-policy-remediator: the AWS profile \"cj\" (--profile) does not exist in {} or {}: \
             check its spelling, or create it with `aws configure --profile cj`\n",
            file.display(),
            dir.join("credentials").display()
        )
    );
}
