use super::*;
use crate::config::{Trust, TrustMode};

fn with_trust(trust: &str) -> Result<Config, ConfigError> {
    Config::from_json(&format!(r#"{{"rules":[{GOOD}],"trust":{trust}}}"#))
}

fn refusal(trust: &str) -> (String, String) {
    match with_trust(trust) {
        Err(ConfigError::Invalid { path, message }) => (path, message),
        other => panic!("expected {trust} to be refused, got {other:?}"),
    }
}

#[test]
fn without_trust_there_is_no_trust_boundary() {
    assert_eq!(config(GOOD).unwrap().trust, None);
}

#[test]
fn the_documented_trust_object_is_accepted() {
    let c = with_trust(
        r#"{"mode":"revoke","accounts":["555555555555","555555555555"],
        "organizations":["o-a1b2c3d4e5"],
        "organizationPaths":["o-a1b2c3d4e5/r-ab12/ou-ab12-11111111/*"],
        "services":["lambda.amazonaws.com","codebuild.amazonaws.com"]}"#,
    )
    .unwrap();
    assert_eq!(
        c.trust,
        Some(Trust {
            mode: TrustMode::Revoke,
            accounts: vec!["555555555555".into()],
            organizations: vec!["o-a1b2c3d4e5".into()],
            organization_paths: vec!["o-a1b2c3d4e5/r-ab12/ou-ab12-11111111/*".into()],
            services: vec![
                "codebuild.amazonaws.com".into(),
                "lambda.amazonaws.com".into()
            ],
        })
    );
}

#[test]
fn mode_is_report_whenever_trust_is_present() {
    let c = with_trust("{}").unwrap();
    assert_eq!(c.trust.unwrap().mode, TrustMode::Report);
    let c = with_trust(r#"{"mode":"report"}"#).unwrap();
    assert_eq!(c.trust.unwrap().mode, TrustMode::Report);
}

#[test]
fn refuses_a_mode_other_than_report_or_revoke() {
    for bad in [r#""Revoke""#, r#""enforce""#, r#""""#] {
        let (path, msg) = refusal(&format!(r#"{{"mode":{bad}}}"#));
        assert_eq!(path, "trust.mode", "{bad}");
        assert!(
            msg.contains("\"report\"") && msg.contains("\"revoke\""),
            "{msg}"
        );
    }
    let (path, _) = refusal(r#"{"mode":1}"#);
    assert_eq!(path, "trust.mode");
}

#[test]
fn refuses_an_unknown_trust_key_with_its_path() {
    let (path, msg) = refusal(r#"{"acounts":["555555555555"]}"#);
    assert_eq!(path, "trust.acounts");
    assert!(msg.contains("accounts"), "{msg}");
    let (path, _) = refusal(r#"{"roles":["arn:aws:iam::555555555555:role/x"]}"#);
    assert_eq!(path, "trust.roles");
}

#[test]
fn refuses_a_malformed_trusted_account() {
    for bad in ["55555555555", "5555555555555", "55555555555a", ""] {
        let (path, msg) = refusal(&format!(r#"{{"accounts":["555555555555","{bad}"]}}"#));
        assert_eq!(path, "trust.accounts[1]", "{bad}");
        assert!(msg.contains("12 digits"), "{msg}");
    }
    let (path, _) = refusal(r#"{"accounts":[555555555555]}"#);
    assert_eq!(path, "trust.accounts[0]");
}

#[test]
fn refuses_an_arn_among_trusted_accounts() {
    for arn in [
        "arn:aws:iam::555555555555:root",
        "arn:aws:iam::555555555555:role/node",
    ] {
        let (path, msg) = refusal(&format!(r#"{{"accounts":["{arn}"]}}"#));
        assert_eq!(path, "trust.accounts[0]");
        assert!(msg.contains("is an ARN"), "{msg}");
    }
}

#[test]
fn refuses_a_wildcard_in_every_trusted_list() {
    for (trust, path) in [
        (r#"{"accounts":["*"]}"#, "trust.accounts[0]"),
        (r#"{"accounts":["55555555555*"]}"#, "trust.accounts[0]"),
        (r#"{"organizations":["*"]}"#, "trust.organizations[0]"),
        (
            r#"{"organizations":["o-a1b2c3d4e*"]}"#,
            "trust.organizations[0]",
        ),
        (
            r#"{"organizationPaths":["*"]}"#,
            "trust.organizationPaths[0]",
        ),
        (
            r#"{"organizationPaths":["o-a1b2c3d4e5/*/ou-ab12-11111111/"]}"#,
            "trust.organizationPaths[0]",
        ),
        (r#"{"services":["*"]}"#, "trust.services[0]"),
        (r#"{"services":["*.amazonaws.com"]}"#, "trust.services[0]"),
    ] {
        let (at, msg) = refusal(trust);
        assert_eq!(at, path, "{trust}");
        assert!(msg.contains("wildcard"), "{trust}: {msg}");
    }
}

#[test]
fn an_organization_path_may_end_in_slash_star_as_in_the_rules() {
    for good in ["o-a1b2c3d4e5/*", "o-a1b2c3d4e5/r-ab12/ou-ab12-11111111/"] {
        with_trust(&format!(r#"{{"organizationPaths":["{good}"]}}"#))
            .unwrap_or_else(|e| panic!("{good}: {e}"));
    }
}

#[test]
fn refuses_malformed_organizations_and_paths() {
    let (path, _) = refusal(r#"{"organizations":["o-short"]}"#);
    assert_eq!(path, "trust.organizations[0]");
    for bad in ["o-a1b2c3d4e5", "o-a1b2c3d4e5/r-ab12/team/*"] {
        let (path, _) = refusal(&format!(r#"{{"organizationPaths":["{bad}"]}}"#));
        assert_eq!(path, "trust.organizationPaths[0]", "{bad}");
    }
}

#[test]
fn accepts_service_principal_names() {
    for good in [
        "lambda.amazonaws.com",
        "build.apprunner.amazonaws.com",
        "emr-serverless.amazonaws.com",
        "logs.us-east-1.amazonaws.com",
        "lambda.amazonaws.com.cn",
    ] {
        with_trust(&format!(r#"{{"services":["{good}"]}}"#))
            .unwrap_or_else(|e| panic!("{good}: {e}"));
    }
}

#[test]
fn refuses_names_that_are_not_service_principals() {
    for bad in [
        "amazonaws.com",
        ".amazonaws.com",
        "Lambda.amazonaws.com",
        "lambda",
        "lambda.example.com",
        "lambda..amazonaws.com",
        "-lambda.amazonaws.com",
        "lambda_x.amazonaws.com",
        "arn:aws:iam::555555555555:role/x",
    ] {
        let (path, msg) = refusal(&format!(r#"{{"services":["{bad}"]}}"#));
        assert_eq!(path, "trust.services[0]", "{bad}");
        assert!(msg.contains("service principal"), "{bad}: {msg}");
    }
    let long = format!("{}.amazonaws.com", vec!["a".repeat(60); 3].join("."));
    let (path, _) = refusal(&format!(r#"{{"services":["{long}"]}}"#));
    assert_eq!(path, "trust.services[0]");
}

#[test]
fn the_trusted_set_is_the_rules_principals_the_registry_and_trust() {
    let c = Config::from_json(
        r#"{"rules":[
          {"name":"a","repositories":["*"],"principals":{"accounts":["222222222222"],
            "roles":["arn:aws:iam::333333333333:role/node"]}},
          {"name":"b","repositories":["b/*"],"principals":{"organizations":["o-a1b2c3d4e5"],
            "organizationPaths":["o-f6g7h8i9j0/r-ab12/*"]}}],
        "trust":{"accounts":["555555555555"],"organizations":["o-zzzzzzzzzz"],
          "organizationPaths":["o-yyyyyyyyyy/r-cd34/"],"services":["lambda.amazonaws.com"]}}"#,
    )
    .unwrap();
    let t = c.trusted("111111111111");
    let list = |s: &std::collections::BTreeSet<String>| s.iter().cloned().collect::<Vec<_>>();
    assert_eq!(
        list(&t.accounts),
        ["111111111111", "222222222222", "555555555555"]
    );
    assert_eq!(list(&t.arns), ["arn:aws:iam::333333333333:role/node"]);
    assert_eq!(list(&t.organizations), ["o-a1b2c3d4e5", "o-zzzzzzzzzz"]);
    assert_eq!(
        list(&t.organization_paths),
        ["o-f6g7h8i9j0/r-ab12/*", "o-yyyyyyyyyy/r-cd34/"]
    );
    assert_eq!(list(&t.services), ["lambda.amazonaws.com"]);
}

#[test]
fn without_trust_the_trusted_set_is_the_rules_and_the_registry() {
    let t = config(GOOD).unwrap().trusted("111111111111");
    assert_eq!(
        t.accounts.into_iter().collect::<Vec<_>>(),
        ["111111111111", "222222222222"]
    );
    assert!(t.services.is_empty() && t.organizations.is_empty());
}
