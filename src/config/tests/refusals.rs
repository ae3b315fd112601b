use super::*;

#[test]
fn refuses_unknown_keys_with_their_path() {
    let (path, msg) =
        error_of(r#"{"name":"r","repositories":["*"],"principals":{"acounts":["222222222222"]}}"#);
    assert_eq!(path, "rules[0].principals.acounts");
    assert!(msg.contains("accounts"), "{msg}");
}

#[test]
fn refuses_an_eleven_digit_account() {
    let (path, msg) = error_of(
        r#"{"name":"r","repositories":["*"],"principals":{"accounts":["222222222222","22222222222"]}}"#,
    );
    assert_eq!(path, "rules[0].principals.accounts[1]");
    assert!(msg.contains("12 digits"), "{msg}");
}

#[test]
fn refuses_an_account_given_as_a_number() {
    let (path, _) =
        error_of(r#"{"name":"r","repositories":["*"],"principals":{"accounts":[222222222222]}}"#);
    assert_eq!(path, "rules[0].principals.accounts[0]");
}

#[test]
fn refuses_arns_that_are_not_iam_roles_or_users() {
    for arn in [
        "arn:aws:sts::222222222222:assumed-role/node/i-1",
        "arn:aws:iam::222222222222:assumed-role/node/i-1",
        "arn:aws:iam::22222222222:role/node",
        "arn:aws:iam::222222222222:role/*",
        "arn:aws:iam::222222222222:role/",
        "arn:aws:iam::222222222222:policy/p",
        "222222222222",
    ] {
        let (path, msg) = error_of(&format!(
            r#"{{"name":"r","repositories":["*"],"principals":{{"roles":["{arn}"]}}}}"#
        ));
        assert_eq!(path, "rules[0].principals.roles[0]", "{arn}");
        assert!(msg.contains("arn:aws:iam::123456789012:role/"), "{msg}");
    }
    for arn in [
        "arn:aws:iam::222222222222:role/path/to/node-role",
        "arn:aws:iam::222222222222:user/ci@example",
        "arn:aws-cn:iam::222222222222:role/node",
    ] {
        config(&format!(
            r#"{{"name":"r","repositories":["*"],"principals":{{"roles":["{arn}"]}}}}"#
        ))
        .unwrap_or_else(|e| panic!("{arn}: {e}"));
    }
}

#[test]
fn refuses_bad_organizations_and_paths() {
    let (path, _) =
        error_of(r#"{"name":"r","repositories":["*"],"principals":{"organizations":["o-short"]}}"#);
    assert_eq!(path, "rules[0].principals.organizations[0]");
    for bad in [
        "o-a1b2c3d4e5",
        "o-a1b2c3d4e5/r-ab12/ou-ab12-11111111",
        "x-a1b2c3d4e5/*",
        "o-a1b2c3d4e5/r-ab12/team/*",
    ] {
        let (path, _) = error_of(&format!(
            r#"{{"name":"r","repositories":["*"],"principals":{{"organizationPaths":["{bad}"]}}}}"#
        ));
        assert_eq!(path, "rules[0].principals.organizationPaths[0]", "{bad}");
    }
    for good in [
        "o-a1b2c3d4e5/*",
        "o-a1b2c3d4e5/r-ab12/",
        "o-a1b2c3d4e5/r-ab12/ou-ab12-11111111/ou-ab12-22222222/*",
    ] {
        config(&format!(
            r#"{{"name":"r","repositories":["*"],"principals":{{"organizationPaths":["{good}"]}}}}"#
        ))
        .unwrap_or_else(|e| panic!("{good}: {e}"));
    }
}

#[test]
fn refuses_extra_actions_that_are_not_image_access_and_names_why() {
    for (action, why) in [
        ("ecr:*", "wildcard"),
        ("ecr:Put*", "wildcard"),
        ("ecr:SetRepositoryPolicy", "administers the repository"),
        ("ecr:deleterepository", "ecr:DeleteRepository administers"),
        ("ecr:PutLifecyclePolicy", "administers"),
        ("ecr:GetAuthorizationToken", "not an ECR action on images"),
    ] {
        let (path, msg) = error_of(&format!(
            r#"{{"name":"r","repositories":["*"],"principals":{{"accounts":["222222222222"]}},"actions":["{action}"]}}"#
        ));
        assert_eq!(path, "rules[0].actions[0]", "{action}");
        assert!(msg.contains(why) && msg.contains(action), "{action}: {msg}");
    }
}

#[test]
fn the_wildcard_refusal_is_one_sentence_with_single_spaces() {
    let (_, msg) = error_of(
        r#"{"name":"r","repositories":["*"],"principals":{"accounts":["222222222222"]},"actions":["ecr:*"]}"#,
    );
    assert_eq!(
        msg,
        format!(
            "\"ecr:*\" cannot be granted: a wildcard also grants actions that administer the \
             repository, such as ecr:SetRepositoryPolicy and ecr:DeleteRepository; use access \
             \"pull\" or \"push\", and for more only image actions ({})",
            crate::config::validate::EXTRA_IMAGE_ACTIONS.join(", ")
        )
    );
    assert!(!msg.contains("  "), "{msg}");
}

#[test]
fn refuses_a_rule_whose_statements_alone_exceed_the_policy_limit() {
    let roles: Vec<String> = (0..200)
        .map(|i| format!(r#""arn:aws:iam::222222222222:role/eks-node-role-number-{i:04}""#))
        .collect();
    let (path, msg) = error_of(&format!(
        r#"{{"name":"r","repositories":["*"],"principals":{{"roles":[{}]}}}}"#,
        roles.join(",")
    ));
    assert_eq!(path, "rules[0]");
    assert!(msg.contains("10240"), "{msg}");
}

#[test]
fn refuses_an_action_without_the_ecr_prefix() {
    let (path, msg) = error_of(
        r#"{"name":"r","repositories":["*"],"principals":{"accounts":["222222222222"]},"actions":["ecr:ListImages","s3:GetObject"]}"#,
    );
    assert_eq!(path, "rules[0].actions[1]");
    assert!(msg.contains("ecr:"), "{msg}");
}

#[test]
fn refuses_patterns_that_can_never_match() {
    for bad in [
        "Team-A/*",
        "a//b",
        "/a",
        "a/",
        "a..b",
        "-a*",
        "*-",
        "",
        "a",
        "a b",
        "team_a/[x]",
    ] {
        let (path, msg) = error_of(&format!(
            r#"{{"name":"r","repositories":["ok/*","{bad}"],"principals":{{"accounts":["222222222222"]}}}}"#
        ));
        assert_eq!(path, "rules[0].repositories[1]", "{bad}");
        assert!(msg.contains("match"), "{bad}: {msg}");
    }
    let long = "a".repeat(257);
    let (path, _) = error_of(&format!(
        r#"{{"name":"r","repositories":["{long}"],"principals":{{"accounts":["222222222222"]}}}}"#
    ));
    assert_eq!(path, "rules[0].repositories[0]");
    let (path, _) = error_of(
        r#"{"name":"r","repositories":["*"],"exclude":["UPPER/*"],"principals":{"accounts":["222222222222"]}}"#,
    );
    assert_eq!(path, "rules[0].exclude[0]");
}

#[test]
fn refuses_two_rules_with_one_name() {
    let err = Config::from_json(&format!(r#"{{"rules":[{GOOD},{GOOD}]}}"#)).unwrap_err();
    assert!(
        matches!(&err, ConfigError::Invalid { path, .. } if path == "rules[1].name"),
        "{err}"
    );
}

#[test]
fn refuses_rule_names_that_cannot_be_sids() {
    let (path, _) = error_of(
        r#"{"name":"k8s mirror","repositories":["*"],"principals":{"accounts":["222222222222"]}}"#,
    );
    assert_eq!(path, "rules[0].name");
}

#[test]
fn refuses_a_rule_without_principals_or_repositories() {
    let (path, _) = error_of(r#"{"name":"r","repositories":["*"],"principals":{}}"#);
    assert_eq!(path, "rules[0].principals");
    let (path, _) =
        error_of(r#"{"name":"r","repositories":[],"principals":{"accounts":["222222222222"]}}"#);
    assert_eq!(path, "rules[0].repositories");
}

#[test]
fn refuses_create_on_denied_pull_without_named_callers() {
    let (path, _) = error_of(
        r#"{"name":"r","repositories":["*"],"principals":{"organizations":["o-a1b2c3d4e5"]},"createOnDeniedPull":true}"#,
    );
    assert_eq!(path, "rules[0].createOnDeniedPull");
}

#[test]
fn refuses_an_unknown_access_level_and_top_level_key() {
    let (path, msg) = error_of(
        r#"{"name":"r","repositories":["*"],"principals":{"accounts":["222222222222"]},"access":"admin"}"#,
    );
    assert_eq!(path, "rules[0].access");
    assert!(msg.contains("pull"), "{msg}");
    let err = Config::from_json(&format!(r#"{{"rules":[{GOOD}],"dryrun":true}}"#)).unwrap_err();
    assert!(err.to_string().contains("dryRun"), "{err}");
}

#[test]
fn refuses_empty_rules_and_non_json() {
    let err = Config::from_json(r#"{"rules":[]}"#).unwrap_err();
    assert!(err.to_string().starts_with("rules:"), "{err}");
    assert!(Config::from_json("rules: []").is_err());
}

#[test]
fn creation_templates_need_whole_namespaces_and_no_exclusions() {
    let ok = config(
        r#"{"name":"r","repositories":["registry.k8s.io/*","*"],"principals":{"accounts":["222222222222"]},"creationTemplates":["REPLICATION","PULL_THROUGH_CACHE","REPLICATION"]}"#,
    )
    .unwrap();
    assert_eq!(
        ok.rules[0].creation_templates,
        ["PULL_THROUGH_CACHE", "REPLICATION"]
    );
    for (rule, path, why) in [
        (
            r#""repositories":["team-a/api-*"]"#,
            "rules[0].repositories[0]",
            "namespace",
        ),
        (
            r#""repositories":["team-a/api"]"#,
            "rules[0].repositories[0]",
            "namespace",
        ),
        (
            r#""repositories":["team-a/*"],"exclude":["team-a/x"]"#,
            "rules[0].creationTemplates",
            "excluded",
        ),
    ] {
        let (p, msg) = error_of(&format!(
            r#"{{"name":"r",{rule},"principals":{{"accounts":["222222222222"]}},"creationTemplates":["PULL_THROUGH_CACHE"]}}"#
        ));
        assert_eq!(p, path, "{rule}");
        assert!(msg.contains(why), "{rule}: {msg}");
    }
    let (p, _) = error_of(
        r#"{"name":"r","repositories":["a/*"],"principals":{"accounts":["222222222222"]},"creationTemplates":["ON_PULL"]}"#,
    );
    assert_eq!(p, "rules[0].creationTemplates[0]");
}

#[test]
fn registry_statements_refuse_exclusions_and_sids_that_collide() {
    for key in ["registryGrant", "pullThroughCache"] {
        let (p, msg) = error_of(&format!(
            r#"{{"name":"r","repositories":["a/*"],"exclude":["a/b"],"principals":{{"accounts":["222222222222"]}},"{key}":true}}"#
        ));
        assert_eq!(p, format!("rules[0].{key}"));
        assert!(msg.contains("exclusions"), "{msg}");
    }
    let err = Config::from_json(
        r#"{"rules":[
          {"name":"team-a","repositories":["a/*"],"principals":{"accounts":["222222222222"]},"pullThroughCache":true},
          {"name":"team_a","repositories":["b/*"],"principals":{"accounts":["222222222222"]},"registryGrant":true}]}"#,
    )
    .unwrap_err();
    assert!(
        matches!(&err, ConfigError::Invalid { path, .. } if path == "rules[1].name"),
        "{err}"
    );
}
