use super::*;

#[test]
fn unparseable_policies_are_never_overwritten() {
    for bad in [
        "",
        "not json",
        "{\"Version\":\"2012-10-17\",\"Statement\":[",
        "[]",
        "{\"Version\":\"2012-10-17\"}",
        "{\"Version\":\"2012-10-17\",\"Statement\":[1]}",
        "{\"Version\":\"2012-10-17\",\"Statement\":\"x\"}",
        "{\"Version\":\"2012-10-17\",\"Statement\":[],\"Extra\":1}",
        "{\"Version\":\"2012-10-17\",\"Version\":\"2008-10-17\",\"Statement\":[]}",
    ] {
        assert!(
            matches!(
                decide(Some(bad), &[ours("k8s", &[ROOT])]),
                Err(PolicyError::Unparseable(_))
            ),
            "{bad:?}"
        );
    }
}

#[test]
fn the_size_guard_refuses_policies_over_the_limit() {
    let big_sid = "x".repeat(MAX_POLICY_CHARS);
    let current = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Sid":"{big_sid}","Effect":"Allow","Principal":"*","Action":"ecr:ListImages"}}]}}"#
    );
    match decide(Some(&current), &[ours("k8s", &[ROOT])]) {
        Err(PolicyError::TooLarge { chars }) => assert!(chars > MAX_POLICY_CHARS),
        other => panic!("{other:?}"),
    }
}

#[test]
fn the_size_guard_counts_characters_not_bytes() {
    // 3,500 three-byte characters: 10,500 bytes but well under the character limit.
    let sid = "\u{20AC}".repeat(3_500);
    let current = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Sid":"{sid}","Effect":"Allow","Principal":"*","Action":"ecr:ListImages"}}]}}"#
    );
    let text = write(decide(Some(&current), &[ours("k8s", &[ROOT])]));
    assert!(text.len() > MAX_POLICY_CHARS && text.chars().count() <= MAX_POLICY_CHARS);
}

#[test]
fn a_resource_element_is_never_written() {
    let current = r#"{"Version":"2012-10-17","Statement":[{"Sid":"Bad","Effect":"Allow","Principal":"*","Action":"ecr:ListImages","Resource":"*"}]}"#;
    assert_eq!(
        decide(Some(current), &[ours("k8s", &[ROOT])]),
        Err(PolicyError::ResourceElement {
            sid: "Bad".into(),
            element: "Resource"
        })
    );
}

fn registry_grant(owner: &Ownership) -> Statement {
    Statement {
        sid: owner.registry_sid("k8s-mirror", "PullThroughCache", "Principals"),
        resources: vec!["arn:aws:ecr:us-east-1:111111111111:repository/registry.k8s.io/*".into()],
        ..ours("k8s", &[ROOT])
    }
}

#[test]
fn registry_sids_are_letters_and_digits_and_never_start_another_deployments() {
    let plain = Ownership::default();
    let blue = Ownership::new(Some("blue"));
    let blue2 = Ownership::new(Some("blueR"));
    let sid = plain.registry_sid("k8s-mirror", "PullThroughCache", "Principals");
    assert_eq!(
        sid,
        "EcrPolicyRemediatorD00Rk8smirrorPullThroughCachePrincipals"
    );
    assert!(sid.bytes().all(|b| b.is_ascii_alphanumeric()));
    let b = blue.registry_sid("x", "Grant", "Org");
    let b2 = blue2.registry_sid("x", "Grant", "Org");
    assert!(!b2.starts_with(&blue.registry_sid("", "", "")), "{b2}");
    assert!(!b.starts_with(&plain.registry_sid("", "", "")), "{b}");
}

#[test]
fn a_registry_policy_keeps_foreign_statements_with_their_resources_and_owns_only_its_own() {
    let owner = Ownership::default();
    let replication = r#"{"Sid":"ReplicationAccessCrossAccount","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::999999999999:root"},"Action":["ecr:CreateRepository","ecr:ReplicateImage"],"Resource":"arn:aws:ecr:us-east-1:111111111111:repository/*"}"#;
    let current = format!(r#"{{"Version":"2012-10-17","Statement":[{replication}]}}"#);
    let want = [registry_grant(&owner)];
    let d = plan_document(Some(&current), &want, &[], &owner, Kind::Registry).unwrap();
    let text = match d.plan {
        Plan::Write { text, .. } => text,
        other => panic!("{other:?}"),
    };
    assert!(text.contains(replication), "byte for byte: {text}");
    assert!(text.contains(
        r#""Resource":["arn:aws:ecr:us-east-1:111111111111:repository/registry.k8s.io/*"]"#
    ));
    assert_eq!(
        plan_document(Some(&text), &want, &[], &owner, Kind::Registry)
            .unwrap()
            .plan,
        Plan::Unchanged
    );
    match plan_document(Some(&text), &[], &[], &owner, Kind::Registry)
        .unwrap()
        .plan
    {
        Plan::Write { text, change } => {
            assert_eq!(text, current, "only the foreign statement is left");
            assert_eq!(change.removed.len(), 1);
        }
        other => panic!("{other:?}"),
    }
    // A repository-policy Sid in a registry policy is not the function's there.
    let mixed = format!(r#"{{"Statement":[{}]}}"#, ours("k8s", &[ROOT]).to_json());
    assert_eq!(
        plan_document(Some(&mixed), &[], &[], &owner, Kind::Registry)
            .unwrap()
            .plan,
        Plan::Unchanged
    );
}
