use super::*;

fn config(rule: &str) -> Result<Config, ConfigError> {
    Config::from_json(&format!(r#"{{"rules":[{rule}]}}"#))
}

fn error_of(rule: &str) -> (String, String) {
    match config(rule) {
        Err(ConfigError::Invalid { path, message }) => (path, message),
        other => panic!("expected a validation error, got {other:?}"),
    }
}

const GOOD: &str = r#"{"name":"k8s","repositories":["registry.k8s.io/*"],"principals":{"accounts":["222222222222"]}}"#;

mod refusals;
mod trust;

#[test]
fn the_documented_example_is_valid() {
    let c = Config::from_json(
        r#"{"rules":[{"name":"k8s-mirror","repositories":["registry.k8s.io/*","quay.io/*"],
        "exclude":["quay.io/internal/*"],
        "principals":{"accounts":["987654321098"],"roles":["arn:aws:iam::987654321098:role/prod-eks-node-role"],
        "organizations":["o-a1b2c3d4e5"],"organizationPaths":["o-a1b2c3d4e5/r-ab12/ou-ab12-11111111/*"]},
        "access":"pull","actions":["ecr:BatchImportUpstreamImage"],"createOnDeniedPull":true}],"dryRun":false}"#,
    )
    .unwrap();
    let rule = &c.rules[0];
    assert!(rule.matches("registry.k8s.io/pause"));
    assert!(rule.matches("quay.io/jetstack/cert-manager-controller"));
    assert!(!rule.matches("quay.io/internal/secret"));
    assert!(!rule.matches("docker.io/library/nginx"));
    assert_eq!(rule.statements(&c.ownership).len(), 3);
    assert!(rule
        .actions
        .contains(&"ecr:BatchImportUpstreamImage".to_string()));
}

#[test]
fn star_crosses_slashes_and_question_mark_is_one_character() {
    let c = config(
        r#"{"name":"r","repositories":["team-?/*","exact"],"principals":{"accounts":["222222222222"]}}"#,
    )
    .unwrap();
    let r = &c.rules[0];
    assert!(r.matches("team-a/api"));
    assert!(r.matches("team-b/deep/nested/name"));
    assert!(!r.matches("team-ab/api"));
    assert!(r.matches("exact"));
    assert!(!r.matches("exact/child"));
    assert!(!r.matches("prefix-exact"));
}

#[test]
fn matching_returns_rules_in_configuration_order() {
    let c = Config::from_json(
        r#"{"rules":[
          {"name":"b","repositories":["*"],"principals":{"accounts":["222222222222"]}},
          {"name":"a","repositories":["team-a/*"],"principals":{"accounts":["333333333333"]}},
          {"name":"c","repositories":["team-c/*"],"principals":{"accounts":["333333333333"]}}]}"#,
    )
    .unwrap();
    let names: Vec<_> = c.matching("team-a/api").map(|r| r.name.as_str()).collect();
    assert_eq!(names, ["b", "a"]);
}

#[test]
fn statements_are_sorted_and_deterministic() {
    let c = config(
        r#"{"name":"r","repositories":["*"],"principals":{"accounts":["333333333333","222222222222","222222222222"],
        "roles":["arn:aws:iam::222222222222:role/b"]},"access":"push","actions":["ecr:DescribeImageScanFindings"]}"#,
    )
    .unwrap();
    let s = c.rules[0].statements(&c.ownership);
    assert_eq!(s.len(), 1);
    assert_eq!(s[0].sid, "EcrPolicyRemediator-r-Principals");
    assert_eq!(
        s[0].principal,
        Principal::Aws(vec![
            "arn:aws:iam::222222222222:role/b".into(),
            "arn:aws:iam::222222222222:root".into(),
            "arn:aws:iam::333333333333:root".into(),
        ])
    );
    let mut sorted = s[0].actions.clone();
    sorted.sort();
    assert_eq!(s[0].actions, sorted);
    assert_eq!(s[0].actions.len(), 11);
}

#[test]
fn pull_access_is_the_default_and_grants_no_push() {
    let c = config(GOOD).unwrap();
    assert_eq!(c.rules[0].access, Access::Pull);
    assert_eq!(c.rules[0].actions, PULL_ACTIONS);
}

#[test]
fn names_caller_by_account_or_role_but_not_by_organization() {
    let c = config(
        r#"{"name":"r","repositories":["*"],"principals":{"accounts":["222222222222"],
        "roles":["arn:aws:iam::333333333333:role/node"],"organizations":["o-a1b2c3d4e5"]}}"#,
    )
    .unwrap();
    let r = &c.rules[0];
    let caller = |account: &str, arn: Option<&str>| Caller {
        account: Some(account.into()),
        principal_arn: arn.map(Into::into),
    };
    assert!(r.names_caller(&caller("222222222222", None)));
    assert!(r.names_caller(&caller(
        "333333333333",
        Some("arn:aws:iam::333333333333:role/node")
    )));
    assert!(!r.names_caller(&caller(
        "333333333333",
        Some("arn:aws:iam::333333333333:role/other")
    )));
    assert!(!r.names_caller(&Caller::default()));
}

#[test]
fn accepts_image_actions_in_any_case_and_writes_their_documented_spelling() {
    let c = config(
        r#"{"name":"r","repositories":["*"],"principals":{"accounts":["222222222222"]},"actions":["ECR:batchimportupstreamimage","ecr:BatchDeleteImage"]}"#,
    )
    .unwrap();
    assert!(c.rules[0]
        .actions
        .contains(&"ecr:BatchImportUpstreamImage".to_string()));
    assert!(c.rules[0]
        .actions
        .contains(&"ecr:BatchDeleteImage".to_string()));
}

#[test]
fn a_deployment_name_namespaces_the_sids() {
    let c = Config::from_json(&format!(r#"{{"deployment":"blue","rules":[{GOOD}]}}"#)).unwrap();
    assert_eq!(
        c.rules[0].statements(&c.ownership)[0].sid,
        "EcrPolicyRemediator_blue-k8s-Principals"
    );
    let c = config(GOOD).unwrap();
    assert_eq!(
        c.rules[0].statements(&c.ownership)[0].sid,
        "EcrPolicyRemediator-k8s-Principals",
        "without a deployment the Sids stay as they were"
    );
    for bad in ["", "blue-green", "a b", "x".repeat(21).as_str()] {
        let err = Config::from_json(&format!(r#"{{"deployment":"{bad}","rules":[{GOOD}]}}"#))
            .unwrap_err();
        assert!(
            matches!(&err, ConfigError::Invalid { path, .. } if path == "deployment"),
            "{bad}: {err}"
        );
    }
}

#[test]
fn without_rules_keeps_the_deployment_and_so_which_statements_are_its_own() {
    let c = Config::from_json(&format!(
        r#"{{"deployment":"blue","dryRun":true,"trust":{{"mode":"revoke"}},"rules":[{GOOD}]}}"#
    ))
    .unwrap();
    assert!(c.trust.is_some());
    let none = c.without_rules();
    assert!(none.rules.is_empty());
    assert!(none.trust.is_none(), "uninstalling judges no foreign grant");
    assert_eq!(none.deployment.as_deref(), Some("blue"));
    assert_eq!(none.ownership.prefix(), c.ownership.prefix());
    assert!(none.dry_run);
    assert!(none.desired("registry.k8s.io/pause").is_empty());
    assert_eq!(
        c.rules.len(),
        1,
        "the configuration it came from keeps its rules"
    );
    assert!(
        Config::from_json(r#"{"rules":[]}"#).is_err(),
        "a rules file still needs a rule"
    );
}

#[test]
fn accepts_patterns_that_can_match() {
    for good in [
        "*",
        "?*",
        "a?",
        "ab",
        "registry.k8s.io/*",
        "*/nginx",
        "team-?/*",
        "a*b",
        "a.*",
        "a/*/b",
    ] {
        config(&format!(
            r#"{{"name":"r","repositories":["{good}"],"principals":{{"accounts":["222222222222"]}}}}"#
        ))
        .unwrap_or_else(|e| panic!("{good}: {e}"));
    }
}

#[test]
fn sweep_settings_have_conservative_defaults_and_are_checked() {
    let c = config(GOOD).unwrap();
    assert_eq!(c.sweep, SweepSettings::default());
    let c = Config::from_json(&format!(
        r#"{{"rules":[{GOOD}],"sweep":{{"concurrency":8,"requestsPerSecond":2.5}}}}"#
    ))
    .unwrap();
    assert_eq!(c.sweep.concurrency, 8);
    assert_eq!(c.sweep.requests_per_second, 2.5);
    assert_eq!(c.sweep.interval_minutes, 60);
    for (bad, path) in [
        (r#"{"concurrency":0}"#, "sweep.concurrency"),
        (r#"{"requestsPerSecond":0}"#, "sweep.requestsPerSecond"),
        (r#"{"intervalMinutes":0}"#, "sweep.intervalMinutes"),
        (
            r#"{"safetyMarginSeconds":3600}"#,
            "sweep.safetyMarginSeconds",
        ),
        (r#"{"rate":5}"#, "sweep.rate"),
    ] {
        let err = Config::from_json(&format!(r#"{{"rules":[{GOOD}],"sweep":{bad}}}"#)).unwrap_err();
        assert!(
            matches!(&err, ConfigError::Invalid { path: p, .. } if p == path),
            "{bad}: {err}"
        );
    }
}
