//! Revocation: what goes, what stays byte for byte, and how it joins the merge in one write.

use super::trust::{allow, trusted};
use super::*;
use crate::policy::trust::{check, revoke, Before, FindingKind, Revocation};

fn revoked(text: &str) -> Revocation {
    revoke(text, &owner(), Kind::Repository, &trusted()).unwrap()
}

fn pairs(r: &Revocation) -> Vec<(&str, &str)> {
    r.revoked
        .iter()
        .map(|f| (f.sid.as_str(), f.principal.as_str()))
        .collect()
}

const KEPT: &str = "{ \"Sid\" : \"Kept\", \"Effect\":\"Allow\", \"Principal\":{\"AWS\":\"arn:aws:iam::222222222222:root\"}, \"Action\":[\"ecr:BatchGetImage\"] }";
const DENY: &str = r#"{"Sid":"NoOutsiders","Effect":"Deny","Principal":"*","Action":"ecr:*","Condition":{"StringNotEquals":{"aws:PrincipalOrgID":"o-a1b2c3d4e5"}}}"#;

#[test]
fn an_untrusted_principal_leaves_its_statement_with_every_other_key_in_order() {
    let statement = r#"{"Sid":"Mixed","Effect":"Allow","Principal":{"AWS":["arn:aws:iam::999999999999:root","arn:aws:iam::222222222222:role/node"],"Service":"lambda.amazonaws.com"},"Action":["ecr:BatchGetImage","ecr:GetDownloadUrlForLayer"],"Condition":{"StringEquals":{"aws:SourceIp":"10.0.0.1"}}}"#;
    let text =
        format!(r#"{{"Version":"2008-10-17","Id":"p1","Statement":[{KEPT},{statement},{DENY}]}}"#);
    let r = revoked(&text);
    assert_eq!(pairs(&r), [("Mixed", "arn:aws:iam::999999999999:root")]);
    let expected = r#"{"Sid":"Mixed","Effect":"Allow","Principal":{"AWS":["arn:aws:iam::222222222222:role/node"],"Service":"lambda.amazonaws.com"},"Action":["ecr:BatchGetImage","ecr:GetDownloadUrlForLayer"],"Condition":{"StringEquals":{"aws:SourceIp":"10.0.0.1"}}}"#;
    assert_eq!(
        r.text,
        format!(r#"{{"Version":"2008-10-17","Id":"p1","Statement":[{KEPT},{expected},{DENY}]}}"#)
    );
    assert_eq!(
        r.before,
        [Before {
            sid: "Mixed".into(),
            text: statement.into(),
            removed: false
        }]
    );
    assert!(!r.empty);
}

#[test]
fn a_partly_revoked_list_stays_a_list_and_what_stays_keeps_its_text() {
    let text = allow(
        "S",
        r#""Principal":{"AWS" : "222222222222","Federated":[ "arn:aws:iam::222222222222:saml-provider/c\u006frp" , "accounts.google.com"]}"#,
    );
    let r = revoked(&text);
    assert!(
        r.text.contains(
            r#""Principal":{"AWS":"222222222222","Federated":["arn:aws:iam::222222222222:saml-provider/c\u006frp"]}"#
        ),
        "{}",
        r.text
    );
    assert_eq!(pairs(&r), [("S", "accounts.google.com")]);
}

#[test]
fn a_statement_left_without_a_principal_is_removed_and_kept_for_the_audit() {
    let public =
        r#"{"Sid":"Public","Effect":"Allow","Principal":"*","Action":"ecr:BatchGetImage"}"#;
    let outside = r#"{"Effect":"Allow","Principal":{"AWS":["999999999999","888888888888"]},"Action":"ecr:*"}"#;
    let text = format!(r#"{{"Version":"2012-10-17","Statement":[{public},{KEPT},{outside}]}}"#);
    let r = revoked(&text);
    assert_eq!(
        pairs(&r),
        [
            ("Public", "*"),
            ("#3", "999999999999"),
            ("#3", "888888888888")
        ]
    );
    assert_eq!(
        r.text,
        format!(r#"{{"Version":"2012-10-17","Statement":[{KEPT}]}}"#)
    );
    let removed: Vec<(&str, &str, bool)> = r
        .before
        .iter()
        .map(|b| (b.sid.as_str(), b.text.as_str(), b.removed))
        .collect();
    assert_eq!(removed, [("Public", public, true), ("#3", outside, true)]);
    assert!(!r.empty);
}

#[test]
fn a_policy_left_with_no_statement_is_empty() {
    let r = revoked(&allow("S", r#""Principal":{"AWS":"999999999999"}"#));
    assert!(r.empty && r.changed());
    assert_eq!(r.text, r#"{"Version":"2012-10-17","Statement":[]}"#);
    assert_eq!(
        r.with_merge(Plan::Unchanged),
        Plan::Delete {
            change: Change::default()
        }
    );
}

#[test]
fn nothing_to_revoke_leaves_the_text_itself() {
    let text = format!("{{ \"Version\" : \"2012-10-17\", \"Statement\" : [ {KEPT} ] }}");
    let r = revoked(&text);
    assert_eq!(r.text, text);
    assert!(!r.changed() && !r.empty && r.before.is_empty());
    assert_eq!(r.with_merge(Plan::Unchanged), Plan::Unchanged);
}

#[test]
fn services_unreadable_statements_not_principal_and_denies_are_never_rewritten() {
    let lambda = r#"{"Sid":"LambdaECRImageRetrievalPolicy","Effect":"Allow","Principal":{"Service":"codebuild.amazonaws.com"},"Action":"ecr:BatchGetImage"}"#;
    let unreadable =
        r#"{"Sid":"U","Effect":"Allow","Principal":{"AWS":"999999999999"},"Condition":"x"}"#;
    let not =
        r#"{"Sid":"N","Effect":"Allow","NotPrincipal":{"AWS":"999999999999"},"Action":"ecr:*"}"#;
    let text = format!(r#"{{"Statement":[{lambda},{unreadable},{not},{DENY}]}}"#);
    let r = revoked(&text);
    assert_eq!(r.text, text);
    assert!(r.revoked.is_empty());
    let kinds: Vec<FindingKind> = r.findings.iter().map(|f| f.kind).collect();
    assert_eq!(
        kinds,
        [
            FindingKind::Service,
            FindingKind::Unreadable,
            FindingKind::Public
        ]
    );
}

#[test]
fn the_findings_are_those_of_the_check() {
    let text = format!(
        r#"{{"Statement":[{KEPT},{{"Sid":"P","Effect":"Allow","Principal":"*","Action":"ecr:*"}}]}}"#
    );
    let r = revoked(&text);
    assert_eq!(
        r.findings,
        check(&text, &owner(), Kind::Repository, &trusted()).unwrap()
    );
}

#[test]
fn our_statement_stays_while_a_foreign_grant_to_the_same_principal_goes() {
    // The rules' principals are normally trusted; an empty trusted set shows that ownership, not
    // trust, keeps our statement.
    let outsider = "arn:aws:iam::999999999999:root";
    let ours = ours("k8s", &[outsider]).to_json();
    let foreign = format!(
        r#"{{"Sid":"Theirs","Effect":"Allow","Principal":{{"AWS":"{outsider}"}},"Action":"ecr:*"}}"#
    );
    let text = format!(r#"{{"Version":"2012-10-17","Statement":[{foreign},{ours}]}}"#);
    let r = revoke(&text, &owner(), Kind::Repository, &Default::default()).unwrap();
    assert_eq!(pairs(&r), [("Theirs", outsider)]);
    assert_eq!(
        r.text,
        format!(r#"{{"Version":"2012-10-17","Statement":[{ours}]}}"#)
    );
}

#[test]
fn one_write_carries_the_revocation_and_the_merge() {
    let stale = ours("old", &[ROOT]).to_json();
    let foreign =
        r#"{"Sid":"Theirs","Effect":"Allow","Principal":{"AWS":"999999999999"},"Action":"ecr:*"}"#;
    let text = format!(r#"{{"Version":"2012-10-17","Statement":[{KEPT},{foreign},{stale}]}}"#);
    let r = revoked(&text);
    let wanted = [ours("k8s", &[ROOT])];
    let merge = plan(Some(&r.text), &wanted, &[], &owner()).unwrap().plan;
    match r.with_merge(merge) {
        Plan::Write { text, change } => {
            let sids: Vec<Value> = statements(&text).iter().map(|s| s["Sid"].clone()).collect();
            assert_eq!(sids, ["Kept", "EcrPolicyRemediator-k8s-Principals"]);
            assert!(text.contains(KEPT));
            assert_eq!(change.added, ["EcrPolicyRemediator-k8s-Principals"]);
            assert_eq!(change.removed, ["EcrPolicyRemediator-old-Principals"]);
        }
        other => panic!("expected one write, got {other:?}"),
    }
}

#[test]
fn a_revocation_alone_is_still_written_when_the_merge_changes_nothing() {
    let mine = ours("k8s", &[ROOT]).to_json();
    let foreign = r#"{"Sid":"P","Effect":"Allow","Principal":{"AWS":"*"},"Action":"ecr:*"}"#;
    let text = format!(r#"{{"Version":"2012-10-17","Statement":[{foreign},{mine}]}}"#);
    let r = revoked(&text);
    let merge = plan(Some(&r.text), &[ours("k8s", &[ROOT])], &[], &owner())
        .unwrap()
        .plan;
    assert_eq!(merge, Plan::Unchanged);
    assert_eq!(
        r.with_merge(merge),
        Plan::Write {
            text: format!(r#"{{"Version":"2012-10-17","Statement":[{mine}]}}"#),
            change: Change::default()
        }
    );
}

#[test]
fn a_document_the_merge_cannot_read_is_never_rewritten() {
    assert!(matches!(
        revoke("{\"Statement\":", &owner(), Kind::Repository, &trusted()),
        Err(PolicyError::Unparseable(_))
    ));
}

#[test]
fn revocation_serializes_for_an_audit_line() {
    let r = revoked(&allow("S", r#""Principal":"*""#));
    let v = serde_json::to_value(&r).unwrap();
    assert_eq!(
        v["revoked"][0],
        serde_json::json!({"sid":"S","principal":"*","kind":"public"})
    );
    assert_eq!(v["before"][0]["removed"], true);
}
