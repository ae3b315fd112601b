use super::*;

const CONFIG: &str = r#"{"rules":[
  {"name":"team-a","repositories":["team-a/*"],
   "principals":{"accounts":["222222222222"],"organizations":["o-a1b2c3d4e5"]}},
  {"name":"ci","repositories":["team-a/*"],"access":"push",
   "principals":{"roles":["arn:aws:iam::444444444444:role/ci"]}}]}"#;

fn config() -> Config {
    Config::from_json(CONFIG).unwrap()
}

fn repository_grants(text: &str) -> Vec<Grant> {
    let config = config();
    let wanted = desired_by_rule(config.matching("team-a/api"), &config);
    let at = Document {
        source: "repository policy",
        repository: "team-a/api",
    };
    grants(text, at, &wanted)
}

#[test]
fn each_principal_of_each_statement_is_a_grant_with_its_access_and_rule() {
    let config = config();
    let written: Vec<String> = config
        .desired("team-a/api")
        .iter()
        .map(|s| s.to_json())
        .collect();
    let text = format!(
        r#"{{"Version":"2012-10-17","Statement":[{},
          {{"Sid":"HandWritten","Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::999999999999:root"}},
            "Action":["ecr:BatchGetImage","ecr:GetDownloadUrlForLayer","ecr:BatchCheckLayerAvailability"]}},
          {{"Sid":"NoPush","Effect":"Deny","Principal":"*","Action":"ecr:PutImage"}}]}}"#,
        written.join(",")
    );
    let g = repository_grants(&text);
    let find = |p: &str| g.iter().find(|g| g.principal == p).unwrap();
    let account = find("arn:aws:iam::222222222222:root");
    assert_eq!(
        (account.access.as_str(), account.rule.as_deref()),
        ("pull", Some("team-a"))
    );
    let org = find("org:o-a1b2c3d4e5");
    assert_eq!(org.rule.as_deref(), Some("team-a"));
    let ci = find("arn:aws:iam::444444444444:role/ci");
    assert_eq!(
        (ci.access.as_str(), ci.rule.as_deref()),
        ("push", Some("ci"))
    );
    let stranger = find("arn:aws:iam::999999999999:root");
    assert_eq!(
        (stranger.access.as_str(), stranger.rule.as_deref()),
        ("pull", None)
    );
    assert_eq!(stranger.sid.as_deref(), Some("HandWritten"));
    let deny = find("*");
    assert_eq!((deny.access.as_str(), deny.rule.as_deref()), ("deny", None));
}

#[test]
fn a_grant_wider_than_the_rule_gives_is_not_explained_by_it() {
    // The team-a rule gives pull; a statement that also lets its account push is not its doing.
    let text = r#"{"Statement":[{"Sid":"Wide","Effect":"Allow",
        "Principal":{"AWS":["arn:aws:iam::222222222222:root"]},"Action":"ecr:*"}]}"#;
    let g = repository_grants(text);
    assert_eq!(g.len(), 1);
    assert_eq!((g[0].access.as_str(), g[0].rule.as_deref()), ("all", None));
}

#[test]
fn registry_statements_name_the_repositories_their_resource_covers() {
    let config = Config::from_json(
        r#"{"rules":[{"name":"k8s","repositories":["registry.k8s.io/*"],
            "principals":{"accounts":["222222222222"]},"pullThroughCache":true}]}"#,
    )
    .unwrap();
    let arn = "arn:aws:ecr:us-east-1:111111111111:repository";
    let wanted = crate::desired::registry::registry_statements_by_rule(&config, arn);
    let want = crate::desired::registry::registry_statements(&config, arn, true);
    let text = format!(
        r#"{{"Version":"2012-10-17","Statement":[{}]}}"#,
        want.statements[0].to_json()
    );
    let at = Document {
        source: "registry policy",
        repository: "",
    };
    let g = grants(&text, at, &wanted);
    assert_eq!(g.len(), 1, "{g:?}");
    assert_eq!(g[0].repository, "registry.k8s.io/*");
    assert_eq!(
        (g[0].access.as_str(), g[0].rule.as_deref()),
        ("other", Some("k8s"))
    );
}

#[test]
fn text_that_is_not_a_policy_has_no_grants() {
    assert!(repository_grants("not json").is_empty());
    assert!(repository_grants(r#"{"Statement":5}"#).is_empty());
}
