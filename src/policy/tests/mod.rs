use super::*;

/// Pretty-prints a policy, as a person might rewrite it.
fn pretty(text: &str) -> String {
    serde_json::from_str::<Value>(text)
        .and_then(|v| serde_json::to_string_pretty(&v))
        .unwrap_or_else(|_| text.to_string())
}

fn owner() -> Ownership {
    Ownership::default()
}

fn ours(name: &str, arns: &[&str]) -> Statement {
    Statement {
        sid: owner().sid(name, "Principals"),
        principal: Principal::Aws(arns.iter().map(|s| s.to_string()).collect()),
        actions: vec![
            "ecr:BatchGetImage".into(),
            "ecr:GetDownloadUrlForLayer".into(),
        ],
        condition: None,
        resources: Vec::new(),
    }
}

fn org(name: &str) -> Statement {
    Statement {
        sid: owner().sid(name, "Org"),
        principal: Principal::Any,
        actions: vec!["ecr:BatchGetImage".into()],
        condition: Some(Condition {
            operator: "StringEquals",
            key: "aws:PrincipalOrgID",
            values: vec!["o-a1b2c3d4e5".into()],
        }),
        resources: Vec::new(),
    }
}

fn decide(current: Option<&str>, desired: &[Statement]) -> Result<Plan, PolicyError> {
    plan(current, desired, &[], &owner()).map(|d| d.plan)
}

fn write(plan: Result<Plan, PolicyError>) -> String {
    match plan {
        Ok(Plan::Write { text, .. }) => text,
        other => panic!("expected a write, got {other:?}"),
    }
}

fn statements(text: &str) -> Vec<Value> {
    let v: Value = serde_json::from_str(text).unwrap();
    v["Statement"].as_array().unwrap().clone()
}

const ROOT: &str = "arn:aws:iam::222222222222:root";
const THEIRS: &str =
    r#"{"Sid":"Theirs","Effect":"Allow","Principal":"*","Action":"ecr:ListImages"}"#;

mod registry;
mod trust;
mod trust_revoke;

#[test]
fn no_policy_yields_a_fresh_document_with_the_default_version() {
    let text = write(decide(None, &[ours("k8s", &[ROOT])]));
    assert_eq!(
        text,
        r#"{"Version":"2012-10-17","Statement":[{"Sid":"EcrPolicyRemediator-k8s-Principals","Effect":"Allow","Principal":{"AWS":["arn:aws:iam::222222222222:root"]},"Action":["ecr:BatchGetImage","ecr:GetDownloadUrlForLayer"]}]}"#
    );
}

#[test]
fn no_policy_and_nothing_wanted_is_unchanged() {
    assert_eq!(decide(None, &[]), Ok(Plan::Unchanged));
}

#[test]
fn organization_statement_uses_star_and_a_condition() {
    let text = write(decide(None, &[org("k8s")]));
    let s = &statements(&text)[0];
    assert_eq!(s["Principal"], "*");
    assert_eq!(
        s["Condition"]["StringEquals"]["aws:PrincipalOrgID"],
        serde_json::json!(["o-a1b2c3d4e5"])
    );
}

#[test]
fn foreign_statements_are_kept_byte_for_byte_and_in_order() {
    let foreign_a = "{\n    \"Sid\" : \"allow public pull\",\n    \"Effect\" : \"Allow\",\n    \"Principal\" : \"*\",\n    \"Action\" : [ \"ecr:BatchGetImage\" ],\n    \"Condition\" : { \"NumericLessThan\" : { \"aws:MultiFactorAuthAge\" : 3600.50 } }\n  }";
    let foreign_b = r#"{"Effect":"Deny","Principal":{"AWS":"arn:aws:iam::999999999999:root"},"Action":"ecr:*","Sid":"b\u00e9"}"#;
    let current = format!(
        "{{\n  \"Version\" : \"2008-10-17\",\n  \"Statement\" : [ {foreign_a}, {{\"Sid\":\"EcrPolicyRemediator-old-Principals\",\"Effect\":\"Allow\",\"Principal\":\"*\",\"Action\":\"ecr:*\"}}, {foreign_b} ]\n}}"
    );
    let text = write(decide(Some(&current), &[ours("k8s", &[ROOT])]));
    assert!(text.starts_with(r#"{"Version":"2008-10-17","Statement":["#));
    let a = text
        .find(foreign_a)
        .expect("first foreign statement verbatim");
    let b = text
        .find(foreign_b)
        .expect("second foreign statement verbatim");
    assert!(a < b);
    assert!(
        !text.contains("old-Principals"),
        "stale owned statement removed"
    );
    let list = statements(&text);
    assert_eq!(list.len(), 3);
    assert_eq!(list[2]["Sid"], "EcrPolicyRemediator-k8s-Principals");
}

#[test]
fn a_missing_version_stays_missing() {
    let current = format!(r#"{{"Statement":[{THEIRS}]}}"#);
    let text = write(decide(Some(&current), &[ours("k8s", &[ROOT])]));
    assert!(text.starts_with(r#"{"Statement":["#), "{text}");
    assert_eq!(
        decide(Some(&text), &[ours("k8s", &[ROOT])]),
        Ok(Plan::Unchanged)
    );
}

#[test]
fn owned_statements_are_replaced_and_the_change_names_them() {
    let current = write(decide(None, &[ours("k8s", &[ROOT]), org("gone")]));
    let desired = [
        ours("k8s", &[ROOT, "arn:aws:iam::333333333333:root"]),
        org("new"),
    ];
    match decide(Some(&current), &desired) {
        Ok(Plan::Write { text, change }) => {
            assert_eq!(statements(&text).len(), 2);
            assert_eq!(change.added, ["EcrPolicyRemediator-new-Org"]);
            assert_eq!(change.removed, ["EcrPolicyRemediator-gone-Org"]);
            assert_eq!(change.changed, ["EcrPolicyRemediator-k8s-Principals"]);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_policy_left_with_nothing_is_deleted() {
    let current = write(decide(None, &[org("a"), ours("b", &[ROOT])]));
    match decide(Some(&current), &[]) {
        Ok(Plan::Delete { change }) => assert_eq!(
            change.removed,
            [
                "EcrPolicyRemediator-a-Org",
                "EcrPolicyRemediator-b-Principals"
            ]
        ),
        other => panic!("{other:?}"),
    }
}

#[test]
fn revoking_keeps_every_foreign_statement() {
    let current = format!(
        r#"{{"Version":"2012-10-17","Statement":[{THEIRS},{}]}}"#,
        ours("gone", &[ROOT]).to_json()
    );
    let text = write(decide(Some(&current), &[]));
    assert_eq!(
        text,
        format!(r#"{{"Version":"2012-10-17","Statement":[{THEIRS}]}}"#)
    );
}

#[test]
fn a_deny_under_the_prefix_is_foreign_kept_and_reported() {
    let deny = r#"{"Sid":"EcrPolicyRemediator-k8s-Principals","Effect":"Deny","Principal":{"AWS":"arn:aws:iam::999999999999:root"},"Action":"ecr:*"}"#;
    let other = r#"{"Sid":"EcrPolicyRemediator-x-Org","Effect":"Allow","Principal":"*","Action":"ecr:ListImages","Resource":"*"}"#;
    let current = format!(r#"{{"Version":"2012-10-17","Statement":[{deny}]}}"#);
    let d = plan(Some(&current), &[], &[], &owner()).unwrap();
    assert_eq!(d.plan, Plan::Unchanged, "a Deny is never revoked");
    assert_eq!(d.lookalikes, ["EcrPolicyRemediator-k8s-Principals"]);
    let current = format!(r#"{{"Version":"2012-10-17","Statement":[{other}]}}"#);
    let d = plan(Some(&current), &[], &[], &owner()).unwrap();
    assert_eq!(
        d.plan,
        Plan::Unchanged,
        "a statement with Resource is not ours"
    );
    assert_eq!(
        decide(
            Some(&format!(r#"{{"Statement":[{deny}]}}"#)),
            &[ours("k8s", &[ROOT])]
        ),
        Err(PolicyError::SidTaken {
            sid: "EcrPolicyRemediator-k8s-Principals".into()
        })
    );
}

#[test]
fn a_deployment_owns_only_its_own_statements() {
    let blue = Ownership::new(Some("blue"));
    let green = Ownership::new(Some("green"));
    let blue_stmt = Statement {
        sid: blue.sid("k8s", "Principals"),
        ..ours("k8s", &[ROOT])
    };
    let green_stmt = Statement {
        sid: green.sid("k8s", "Principals"),
        ..ours("k8s", &[ROOT])
    };
    let text = match plan(None, std::slice::from_ref(&blue_stmt), &[], &blue)
        .unwrap()
        .plan
    {
        Plan::Write { text, .. } => text,
        other => panic!("{other:?}"),
    };
    let text = match plan(Some(&text), std::slice::from_ref(&green_stmt), &[], &green)
        .unwrap()
        .plan
    {
        Plan::Write { text, .. } => text,
        other => panic!("{other:?}"),
    };
    assert_eq!(statements(&text).len(), 2, "green keeps blue's statement");
    assert_eq!(
        plan(Some(&text), &[blue_stmt], &[], &blue).unwrap().plan,
        Plan::Unchanged
    );
    assert_eq!(
        plan(Some(&text), &[green_stmt], &[], &green).unwrap().plan,
        Plan::Unchanged
    );
    assert_eq!(
        plan(Some(&text), &[], &[], &owner()).unwrap().plan,
        Plan::Unchanged,
        "the unnamed deployment owns neither"
    );
    assert_eq!(blue.prefix(), "EcrPolicyRemediator_blue-");
}

#[test]
fn kept_statements_stay_verbatim() {
    let old = ours("team", &["arn:aws:iam::222222222222:role/old"]);
    let current = format!(
        r#"{{"Version":"2012-10-17","Statement":[{}]}}"#,
        old.to_json()
    );
    let d = plan(
        Some(&current),
        &[org("k8s")],
        std::slice::from_ref(&old.sid),
        &owner(),
    )
    .unwrap();
    match d.plan {
        Plan::Write { text, change } => {
            assert!(text.contains(&old.to_json()));
            assert_eq!(change.added, ["EcrPolicyRemediator-k8s-Org"]);
            assert!(change.removed.is_empty());
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn id_is_kept() {
    let current = r#"{"Version":"2012-10-17","Id":"my-policy","Statement":[]}"#;
    let text = write(decide(Some(current), &[ours("k8s", &[ROOT])]));
    assert!(text.starts_with(r#"{"Version":"2012-10-17","Id":"my-policy","#));
}

#[test]
fn a_single_statement_object_is_a_valid_policy() {
    let current = format!(r#"{{"Version":"2012-10-17","Statement":{THEIRS}}}"#);
    let text = write(decide(Some(&current), &[ours("k8s", &[ROOT])]));
    let list = statements(&text);
    assert_eq!(list.len(), 2);
    assert_eq!(list[0]["Sid"], "Theirs");
    let owned_single = format!(
        r#"{{"Version":"2012-10-17","Statement":{}}}"#,
        ours("k8s", &[ROOT]).to_json()
    );
    assert_eq!(
        decide(Some(&owned_single), &[ours("k8s", &[ROOT])]),
        Ok(Plan::Unchanged)
    );
}

#[test]
fn semantic_equality_ignores_order_case_and_list_shape() {
    let current = format!(
        r#"{{"Version":"2012-10-17","Statement":[
          {{"Action":["ecr:getdownloadurlforlayer","ecr:BatchGetImage"],"Principal":{{"AWS":"{ROOT}"}},"Effect":"Allow","Sid":"EcrPolicyRemediator-k8s-Principals"}},
          {{"Sid":"EcrPolicyRemediator-k8s-Org","Effect":"Allow","Principal":{{"AWS":"*"}},"Action":"ecr:BatchGetImage",
            "Condition":{{"StringEquals":{{"aws:PrincipalOrgID":"o-a1b2c3d4e5"}}}}}}]}}"#
    );
    assert_eq!(
        decide(Some(&current), &[org("k8s"), ours("k8s", &[ROOT])]),
        Ok(Plan::Unchanged)
    );
}

#[test]
fn an_extra_action_is_not_equal() {
    let mut s = serde_json::to_value(ours("k8s", &[ROOT])).unwrap();
    s["Action"]
        .as_array_mut()
        .unwrap()
        .push("ecr:PutImage".into());
    let current = format!(r#"{{"Version":"2012-10-17","Statement":[{s}]}}"#);
    assert!(matches!(
        decide(Some(&current), &[ours("k8s", &[ROOT])]),
        Ok(Plan::Write { .. })
    ));
}

#[test]
fn our_own_output_is_unchanged_on_the_next_pass() {
    let desired = [ours("a", &[ROOT]), org("b")];
    let first = write(decide(
        Some(&format!(
            r#"{{"Version":"2012-10-17","Statement":[{THEIRS}]}}"#
        )),
        &desired,
    ));
    assert_eq!(decide(Some(&first), &desired), Ok(Plan::Unchanged));
    assert_eq!(decide(Some(&pretty(&first)), &desired), Ok(Plan::Unchanged));
}
