//! The trust check: each class of principal, each way a condition pins `"*"`, and what is never a
//! finding.

use super::*;
use crate::policy::trust::{check, Finding, FindingKind, Trusted};

const REGISTRY: &str = "111111111111";
const TRUSTED_ORG: &str = "o-a1b2c3d4e5";

pub(super) fn trusted() -> Trusted {
    let set = |items: &[&str]| items.iter().map(|s| s.to_string()).collect();
    Trusted {
        accounts: set(&[REGISTRY, "222222222222"]),
        arns: set(&["arn:aws:iam::444444444444:role/ci"]),
        organizations: set(&[TRUSTED_ORG]),
        organization_paths: set(&["o-f6g7h8i9j0/r-ab12/ou-ab12-11111111/*"]),
        services: set(&["lambda.amazonaws.com"]),
    }
}

/// A document of one statement with these members after `Sid` and `Effect: Allow`.
pub(super) fn allow(sid: &str, rest: &str) -> String {
    format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Sid":"{sid}","Effect":"Allow",{rest},"Action":"ecr:BatchGetImage"}}]}}"#
    )
}

fn findings(text: &str) -> Vec<Finding> {
    check(text, &owner(), Kind::Repository, &trusted()).unwrap()
}

fn kinds(text: &str) -> Vec<(String, FindingKind)> {
    findings(text)
        .into_iter()
        .map(|f| (f.principal, f.kind))
        .collect()
}

fn one(principal: &str, kind: FindingKind) -> Vec<(String, FindingKind)> {
    vec![(principal.to_string(), kind)]
}

/// `"Principal":"*"` under one condition block `{OP:{KEY:VALUES}}`.
fn star_under(op: &str, key: &str, values: &str) -> String {
    allow(
        "S",
        &format!(r#""Principal":"*","Condition":{{"{op}":{{"{key}":{values}}}}}"#),
    )
}

#[test]
fn trusted_accounts_roots_roles_and_listed_arns_are_no_finding() {
    let text = allow(
        "S",
        r#""Principal":{"AWS":["222222222222","arn:aws:iam::111111111111:root",
        "arn:aws:iam::222222222222:role/any","arn:aws:iam::222222222222:user/x",
        "arn:aws:sts::222222222222:assumed-role/r/s","arn:aws:iam::444444444444:role/ci"]}"#,
    );
    assert_eq!(findings(&text), []);
}

#[test]
fn an_outside_account_or_role_is_untrusted_with_its_sid() {
    let text = allow(
        "Theirs",
        r#""Principal":{"AWS":["999999999999","arn:aws:iam::999999999999:root","arn:aws:iam::444444444444:role/other"]}"#,
    );
    let f = findings(&text);
    assert_eq!(f.len(), 3);
    assert!(f
        .iter()
        .all(|f| f.sid == "Theirs" && f.kind == FindingKind::Untrusted));
    assert_eq!(f[2].principal, "arn:aws:iam::444444444444:role/other");
}

#[test]
fn a_unique_id_left_by_a_deleted_role_is_untrusted() {
    let text = allow("S", r#""Principal":{"AWS":"AROAEXAMPLEID1234567"}"#);
    assert_eq!(
        kinds(&text),
        one("AROAEXAMPLEID1234567", FindingKind::Untrusted)
    );
}

#[test]
fn a_statement_without_sid_is_named_by_its_position() {
    let text = r#"{"Statement":[{"Effect":"Allow","Principal":{"AWS":"222222222222"},"Action":"ecr:*"},
        {"Effect":"Allow","Principal":{"AWS":"999999999999"},"Action":"ecr:*"}]}"#;
    assert_eq!(findings(text)[0].sid, "#2");
}

#[test]
fn star_without_a_condition_is_public_in_both_spellings() {
    assert_eq!(
        kinds(&allow("S", r#""Principal":"*""#)),
        one("*", FindingKind::Public)
    );
    let text = allow("S", r#""Principal":{"AWS":"*"}"#);
    assert_eq!(kinds(&text), one("*", FindingKind::Public));
}

#[test]
fn star_pinned_by_principal_org_id_to_a_trusted_org_is_trusted() {
    let text = star_under(
        "StringEquals",
        "aws:PrincipalOrgID",
        &format!("\"{TRUSTED_ORG}\""),
    );
    assert_eq!(findings(&text), []);
}

#[test]
fn star_pinned_to_an_untrusted_org_is_public() {
    let text = star_under("StringEquals", "aws:PrincipalOrgID", r#"["o-zzzzzzzzzz"]"#);
    assert_eq!(kinds(&text), one("*", FindingKind::Public));
}

#[test]
fn every_value_of_the_pinning_condition_must_be_trusted() {
    let text = star_under(
        "StringEquals",
        "aws:PrincipalOrgID",
        &format!(r#"["{TRUSTED_ORG}","o-zzzzzzzzzz"]"#),
    );
    assert_eq!(kinds(&text), one("*", FindingKind::Public));
    let empty = star_under("StringEquals", "aws:PrincipalOrgID", "[]");
    assert_eq!(kinds(&empty), one("*", FindingKind::Public));
}

#[test]
fn each_caller_key_pins_with_trusted_values() {
    for (key, value) in [
        ("aws:PrincipalAccount", r#""222222222222""#),
        ("aws:SourceAccount", r#"["111111111111","222222222222"]"#),
        ("aws:PrincipalArn", r#""arn:aws:iam::444444444444:role/ci""#),
        ("aws:PrincipalArn", r#""arn:aws:iam::222222222222:role/*""#),
        ("aws:PrincipalOrgPaths", r#""o-a1b2c3d4e5/r-ab12/*""#),
        (
            "aws:PrincipalOrgPaths",
            r#""o-f6g7h8i9j0/r-ab12/ou-ab12-11111111/ou-ab12-2/*""#,
        ),
        ("aws:SourceOrgID", r#""o-a1b2c3d4e5""#),
    ] {
        assert_eq!(
            findings(&star_under("StringLike", key, value)),
            [],
            "{key} {value}"
        );
    }
}

#[test]
fn caller_keys_with_untrusted_or_too_wide_values_do_not_pin() {
    for (key, value) in [
        ("aws:PrincipalAccount", r#""999999999999""#),
        ("aws:SourceAccount", r#""2222222222*""#),
        ("aws:PrincipalArn", r#""arn:aws:iam::999999999999:role/ci""#),
        ("aws:PrincipalArn", r#""arn:aws:iam::*:role/ci""#),
        ("aws:PrincipalArn", r#""arn:*:iam::222222222222:role/x""#),
        ("aws:PrincipalOrgPaths", r#""o-f6g7h8i9j0/*""#),
        ("aws:PrincipalOrgPaths", r#""o-*/*""#),
        ("aws:PrincipalOrgID", r#""o-*""#),
        ("aws:PrincipalOrgID", "1"),
    ] {
        let text = star_under("StringLike", key, value);
        assert_eq!(kinds(&text), one("*", FindingKind::Public), "{key} {value}");
    }
}

#[test]
fn pinning_operators_include_arn_forms_and_for_any_value() {
    for op in [
        "StringEquals",
        "StringLike",
        "ArnEquals",
        "ArnLike",
        "ForAnyValue:StringEquals",
        "ForAnyValue:StringLike",
        "ForAnyValue:ArnLike",
    ] {
        let text = star_under(
            op,
            "aws:PrincipalArn",
            r#"["arn:aws:iam::222222222222:root"]"#,
        );
        assert_eq!(findings(&text), [], "{op}");
    }
}

#[test]
fn condition_keys_and_operators_are_read_without_regard_to_case() {
    for (op, key) in [
        ("stringequals", "AWS:PRINCIPALORGID"),
        ("forAnyValue:stringEquals", "aws:principalorgid"),
    ] {
        let text = star_under(op, key, &format!("\"{TRUSTED_ORG}\""));
        assert_eq!(findings(&text), [], "{op} {key}");
    }
}

#[test]
fn operators_that_hold_without_the_key_or_negate_it_do_not_pin() {
    for op in [
        "StringEqualsIfExists",
        "ForAllValues:StringEquals",
        "StringNotEquals",
        "StringEqualsIgnoreCase",
    ] {
        let text = star_under(op, "aws:PrincipalOrgID", &format!("\"{TRUSTED_ORG}\""));
        assert_eq!(kinds(&text), one("*", FindingKind::Public), "{op}");
    }
}

#[test]
fn a_condition_that_does_not_say_who_calls_does_not_pin() {
    for (key, value) in [
        ("aws:SourceIp", r#""10.0.0.0/8""#),
        ("aws:SourceVpce", r#""vpce-1""#),
    ] {
        let text = star_under("IpAddress", key, value);
        assert_eq!(kinds(&text), one("*", FindingKind::Public), "{key}");
        let text = star_under("StringEquals", key, value);
        assert_eq!(kinds(&text), one("*", FindingKind::Public), "{key}");
    }
}

#[test]
fn one_pinning_block_among_others_is_enough() {
    let text = allow(
        "S",
        &format!(
            r#""Principal":"*","Condition":{{"IpAddress":{{"aws:SourceIp":"10.0.0.0/8"}},
            "StringEquals":{{"aws:PrincipalOrgID":"{TRUSTED_ORG}","aws:SourceVpce":"vpce-1"}}}}"#
        ),
    );
    assert_eq!(findings(&text), []);
}

#[test]
fn a_condition_never_changes_a_named_principals_class() {
    let pin = format!(r#""Condition":{{"StringEquals":{{"aws:PrincipalOrgID":"{TRUSTED_ORG}"}}}}"#);
    let text = allow(
        "S",
        &format!(r#""Principal":{{"AWS":"999999999999"}},{pin}"#),
    );
    assert_eq!(kinds(&text), one("999999999999", FindingKind::Untrusted));
    let wrong = r#""Condition":{"StringEquals":{"aws:PrincipalOrgID":"o-zzzzzzzzzz"}}"#;
    let text = allow(
        "S",
        &format!(r#""Principal":{{"AWS":"222222222222"}},{wrong}"#),
    );
    assert_eq!(findings(&text), []);
}

#[test]
fn a_service_outside_the_trusted_services_is_reported_as_service() {
    let text = allow(
        "LambdaECRImageRetrievalPolicy",
        r#""Principal":{"Service":["lambda.amazonaws.com","codebuild.amazonaws.com"]}"#,
    );
    assert_eq!(
        kinds(&text),
        one("codebuild.amazonaws.com", FindingKind::Service)
    );
}

#[test]
fn federated_providers_follow_their_account_and_bare_idps_are_untrusted() {
    let text = allow(
        "S",
        r#""Principal":{"Federated":["arn:aws:iam::222222222222:saml-provider/corp","cognito-identity.amazonaws.com"]}"#,
    );
    assert_eq!(
        kinds(&text),
        one("cognito-identity.amazonaws.com", FindingKind::Untrusted)
    );
}

#[test]
fn a_deny_is_never_a_grant() {
    let text = r#"{"Statement":[{"Sid":"D","Effect":"Deny","Principal":"*","Action":"ecr:*"},
        {"Sid":"E","Effect":"Deny","NotPrincipal":{"AWS":"999999999999"},"Action":"ecr:*"}]}"#;
    assert_eq!(findings(text), []);
}

#[test]
fn not_principal_is_public_unless_pinned() {
    let text = r#"{"Statement":[{"Sid":"N","Effect":"Allow","NotPrincipal":{"AWS":"999999999999"},"Action":"ecr:*"}]}"#;
    assert_eq!(
        kinds(text),
        one(
            r#"NotPrincipal {"AWS":"999999999999"}"#,
            FindingKind::Public
        )
    );
    let pinned = format!(
        r#"{{"Statement":[{{"Sid":"N","Effect":"Allow","NotPrincipal":{{"AWS":"999999999999"}},"Action":"ecr:*","Condition":{{"StringEquals":{{"aws:PrincipalOrgID":"{TRUSTED_ORG}"}}}}}}]}}"#
    );
    assert_eq!(findings(&pinned), []);
}

#[test]
fn statements_that_cannot_be_read_are_unreadable() {
    for statement in [
        r#"1"#,
        r#"{"Sid":"U","Effect":"allow","Principal":"*","Action":"ecr:*"}"#,
        r#"{"Sid":"U","Action":"ecr:*","Principal":"*"}"#,
        r#"{"Sid":"U","Effect":"Allow","Action":"ecr:*"}"#,
        r#"{"Sid":"U","Effect":"Allow","Principal":"999999999999","Action":"ecr:*"}"#,
        r#"{"Sid":"U","Effect":"Allow","Principal":{"CanonicalUser":"x"},"Action":"ecr:*"}"#,
        r#"{"Sid":"U","Effect":"Allow","Principal":{"AWS":[1]},"Action":"ecr:*"}"#,
        r#"{"Sid":"U","Effect":"Allow","Principal":{"AWS":"999999999999"},"NotPrincipal":"*"}"#,
        r#"{"Sid":"U","Effect":"Allow","Principal":"*","Condition":"aws:PrincipalOrgID"}"#,
        r#"{"Sid":"U","Effect":"Allow","Principal":"*","Principal":{"AWS":"222222222222"}}"#,
    ] {
        let text = format!(r#"{{"Statement":[{statement}]}}"#);
        let f = findings(&text);
        assert_eq!(f.len(), 1, "{statement}");
        assert_eq!(f[0].kind, FindingKind::Unreadable, "{statement}");
        assert!(f[0].sid == "U" || f[0].sid == "#1", "{statement}");
    }
}

#[test]
fn our_own_statements_are_never_findings() {
    let ours = ours("k8s", &["arn:aws:iam::999999999999:root"]).to_json();
    let text = format!(r#"{{"Version":"2012-10-17","Statement":[{ours}]}}"#);
    assert_eq!(findings(&text), []);
}

#[test]
fn a_lookalike_of_ours_is_judged_like_any_foreign_statement() {
    let text = allow(
        "EcrPolicyRemediator-k8s-Principals",
        r#""Principal":{"AWS":"999999999999"},"Resource":"*""#,
    );
    assert_eq!(kinds(&text), one("999999999999", FindingKind::Untrusted));
}

#[test]
fn a_registry_document_is_judged_with_the_registry_sid_grammar() {
    let sid = owner().registry_sid("k8s", "Grant", "Principals");
    let text = allow(
        &sid,
        r#""Principal":{"AWS":"arn:aws:iam::999999999999:root"},"Resource":"arn:aws:ecr:eu-west-1:111111111111:repository/*""#,
    );
    assert_eq!(
        check(&text, &owner(), Kind::Registry, &trusted()).unwrap(),
        []
    );
    let repository_reading = check(&text, &owner(), Kind::Repository, &trusted()).unwrap();
    assert_eq!(repository_reading.len(), 1);
}

#[test]
fn a_document_the_merge_cannot_read_is_refused_the_same_way() {
    for bad in [
        "not json",
        "{\"Version\":\"2012-10-17\"}",
        "{\"Statement\":[],\"X\":1}",
    ] {
        assert!(
            matches!(
                check(bad, &owner(), Kind::Repository, &trusted()),
                Err(PolicyError::Unparseable(_))
            ),
            "{bad}"
        );
    }
}

#[test]
fn findings_serialize_as_sid_principal_and_a_lowercase_kind() {
    let f = findings(&allow("S", r#""Principal":"*""#));
    assert_eq!(
        serde_json::to_string(&f).unwrap(),
        r#"[{"sid":"S","principal":"*","kind":"public"}]"#
    );
}
