use super::*;

const FUNCTION: &str = "arn:aws:lambda:us-east-1:111111111111:function:ecr-policy-remediator";
const DLQ: &str = "arn:aws:sqs:us-east-1:111111111111:dlq";

fn config() -> Config {
    Config::from_json(
        r#"{"rules":[
        {"name":"k8s","repositories":["registry.k8s.io/*"],"principals":{"accounts":["222222222222"]},
         "pullThroughCache":true},
        {"name":"team-a","repositories":["team-a/*"],"registryGrant":true,
         "principals":{"roles":["arn:aws:iam::333333333333:role/node"]}}]}"#,
    )
    .unwrap()
}

fn bus_rule(name: &str, state: &str, pattern: Option<&str>, schedule: Option<&str>) -> BusRule {
    BusRule {
        name: name.into(),
        state: state.into(),
        pattern: pattern.map(String::from),
        schedule: schedule.map(String::from),
        targets: vec![(FUNCTION.into(), Some(DLQ.into()))],
    }
}

/// A deployment as the remediator module leaves it.
fn complete() -> Facts {
    let pattern = |marker: &str| {
        format!(
            r#"{{"source":["aws.ecr"],"detail-type":["AWS API Call via CloudTrail","AWS Service Event via CloudTrail"],"detail":{{"eventName":["{marker}"]}}}}"#
        )
    };
    let mut rules: Vec<BusRule> = TRIGGERS
        .iter()
        .map(|(t, marker, state)| bus_rule(t, state, Some(&pattern(marker)), None))
        .collect();
    rules.push(bus_rule("sweep", "ENABLED", None, Some("rate(60 minutes)")));
    Facts {
        region: "us-east-1".into(),
        registry_id: "111111111111".into(),
        trails: vec![Trail {
            name: "org".into(),
            home_region: "eu-west-1".into(),
            multi_region: true,
            logging: true,
            management_reads_and_writes: true,
        }],
        function: Some((FUNCTION.into(), FunctionConfig::Inline(Ok(())))),
        function_name: "ecr-policy-remediator".into(),
        rules,
        bus_policy: Some(r#"{"Statement":[{"Principal":{"AWS":"arn:aws:iam::222222222222:root"}},{"Principal":{"AWS":"arn:aws:iam::333333333333:root"}}]}"#.into()),
        scope: Ok("V2".into()),
        pull_through_cache_prefixes: Ok(vec!["registry.k8s.io".into()]),
        documents: vec![DocumentReport::new("registry policy", Status::Unchanged)],
    }
}

fn misses(facts: &Facts) -> Vec<Check> {
    checks(facts, Some(&config()))
        .into_iter()
        .filter(|c| !c.ok)
        .collect()
}

#[test]
fn a_complete_deployment_passes_every_check() {
    assert_eq!(misses(&complete()), Vec::<Check>::new());
    assert_eq!(checks(&complete(), Some(&config())).len(), 13);
}

#[test]
fn each_miss_is_named_with_its_fix() {
    let mut f = complete();
    f.trails[0].logging = false;
    f.rules[1].state = "ENABLED".into(); // pull-denied
    f.rules[2].targets[0].1 = None; // policy-changed without a dead-letter queue
    f.rules.retain(|r| r.schedule.is_none()); // no sweep
    f.bus_policy = None;
    f.scope = Ok("V1".into());
    f.pull_through_cache_prefixes = Ok(vec!["registry.k8s.io".into(), "quay".into()]);
    f.documents = vec![DocumentReport::new(
        "template registry.k8s.io",
        Status::Planned,
    )];
    let found = misses(&f);
    let named: Vec<&str> = found.iter().map(|c| c.check.as_str()).collect();
    assert_eq!(
        named,
        [
            "trail",
            "rule pull-denied",
            "rule policy-changed",
            "rule sweep",
            "bus",
            "registry policy scope",
            "pull-through cache quay",
            "template registry.k8s.io"
        ]
    );
    assert!(found.iter().all(|c| c.fix.is_some()));
    let denied = &found[1];
    assert!(
        denied.detail.contains("drops read-only calls"),
        "{denied:?}"
    );
    assert!(denied
        .fix
        .as_deref()
        .unwrap()
        .contains("ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS"));
    assert!(
        found[4].detail.contains("222222222222, 333333333333"),
        "{:?}",
        found[4]
    );
}

#[test]
fn a_creation_rule_on_api_calls_alone_misses_pull_through_cache() {
    let mut f = complete();
    f.rules[0].pattern = Some(r#"{"detail":{"eventName":["CreateRepository"]}}"#.into());
    let found = misses(&f);
    assert_eq!(found.len(), 1);
    assert!(found[0].detail.contains("only API calls"), "{found:?}");
}

#[test]
fn a_rule_for_a_longer_event_name_is_not_the_creation_rule() {
    let mut f = complete();
    // The registry-changed rule, listed first, names CreateRepositoryCreationTemplate.
    let templates = bus_rule(
        "templates",
        "ENABLED",
        Some(r#"{"detail":{"eventName":["CreateRepositoryCreationTemplate"]}}"#),
        None,
    );
    f.rules.insert(0, templates);
    assert_eq!(misses(&f), vec![]);
    f.rules.remove(1);
    let found = misses(&f);
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(found[0].check, "rule repository-created");
}

#[test]
fn no_function_and_bad_rules_are_misses() {
    let mut f = complete();
    f.function = None;
    let found = misses(&f);
    assert_eq!(found[0].check, "function");
    // Without the function, no rule targets it.
    assert_eq!(found.len(), 8, "{found:#?}");
    let mut f = complete();
    f.function = Some((
        FUNCTION.into(),
        FunctionConfig::Inline(Err("rules[0].name: bad".into())),
    ));
    assert!(misses(&f)[0].detail.contains("rules[0].name: bad"));
}

fn asking_for_replication_templates() -> Config {
    Config::from_json(
        r#"{"rules":[{"name":"replicas","repositories":["team-a/*"],
        "principals":{"accounts":["222222222222"]},"creationTemplates":["REPLICATION"]}]}"#,
    )
    .unwrap()
}

fn named(found: &[Check], name: &str) -> Option<Check> {
    found.iter().find(|c| c.check == name).cloned()
}

#[test]
fn rules_asking_for_replication_templates_need_the_replication_event_delivered() {
    let replicas = asking_for_replication_templates();
    let mut f = complete();
    let missing = named(&checks(&f, Some(&replicas)), "rule image-replicated").expect("checked");
    assert!(!missing.ok);
    assert!(
        missing.detail.contains("replicas") && missing.detail.contains("ECR Replication Action"),
        "{missing:?}"
    );
    assert!(missing.fix.unwrap().contains("image-replicated"));
    let pattern = r#"{"source":["aws.ecr"],"detail-type":["ECR Replication Action"],
        "detail":{"action-type":["REPLICATE"],"result":["SUCCESS"]}}"#;
    f.rules
        .push(bus_rule("image-replicated", "ENABLED", Some(pattern), None));
    let found = named(&checks(&f, Some(&replicas)), "rule image-replicated").expect("checked");
    assert!(found.ok, "{found:?}");
    // Without a rule that asks for REPLICATION templates, no such check at all.
    assert_eq!(
        named(&checks(&f, Some(&config())), "rule image-replicated"),
        None
    );
}

#[test]
fn a_push_rule_given_the_replication_detail_type_never_delivers_a_replica() {
    let config = asking_for_replication_templates();
    let mut f = complete();
    let pattern = r#"{"source":["aws.ecr"],"detail-type":["ECR Image Action","ECR Replication Action"],
        "detail":{"action-type":["PUSH"],"result":["SUCCESS"]}}"#;
    f.rules
        .push(bus_rule("native", "ENABLED", Some(pattern), None));
    let found = named(&checks(&f, Some(&config)), "rule image-replicated").expect("checked");
    assert!(!found.ok);
    assert!(found.detail.contains("action-type"), "{found:?}");
}

#[test]
fn the_untrusted_grants_the_registry_documents_hold_are_counted_only_with_a_trust_object() {
    use ecr_policy_remediator::{Finding, FindingKind};
    let finding = |sid: &str| Finding {
        sid: sid.into(),
        principal: "arn:aws:iam::999999999999:root".into(),
        kind: FindingKind::Untrusted,
    };
    let mut f = complete();
    let mut policy = DocumentReport::new("registry policy", Status::Unchanged);
    policy.untrusted = vec![finding("Replication")];
    let mut template = DocumentReport::new("template platform", Status::Unchanged);
    template.untrusted = vec![finding("A"), finding("B")];
    f.documents = vec![policy, template];
    let line = |f: &Facts, config: &Config| {
        checks(f, Some(config))
            .into_iter()
            .find(|c| c.check == "untrusted grants")
    };
    assert_eq!(
        line(&f, &config()),
        None,
        "no trust object: the checklist as it was"
    );
    let mut trusting = config();
    trusting.trust = Some(Default::default());
    let counted = line(&f, &trusting).expect("a line with a trust object");
    assert!(!counted.ok);
    assert!(
        counted
            .detail
            .starts_with("3 grant(s) outside the trust boundary")
            && counted
                .detail
                .contains("registry policy: 1, template platform: 2"),
        "{counted:?}"
    );
    assert!(counted
        .fix
        .as_deref()
        .unwrap()
        .contains("access --untrusted"));
    f.documents = vec![DocumentReport::new("registry policy", Status::Unchanged)];
    let clean = line(&f, &trusting).unwrap();
    assert!(
        clean.ok && clean.detail.contains("access --untrusted"),
        "{clean:?}"
    );
}
