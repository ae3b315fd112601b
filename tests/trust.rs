//! The trust boundary against moto, through the real aws-sdk-ecr client: report mode finds and
//! writes nothing, revoke mode takes untrusted and public principals out in the merge's one
//! write, keeping everything else byte for byte, in repository policies and the registry policy;
//! a foreign creation template is only reported; a policy-changed event undoes a grant someone
//! adds; the sweep counts what it found. Each invocation's log lines and metrics are captured.

mod common;

use common::observe::{block_on, capture, observe};
use common::*;
use ecr_policy_remediator::{Cause, Config, Remediator, Status, Trigger, REGISTRY_POLICY};
use serde_json::{json, Value};

const RULE: &str =
    r#"{"name":"team-a","repositories":["team-a/*"],"principals":{"accounts":["222222222222"]}}"#;
const REPORT: &str = r#"{"accounts":["555555555555"]}"#;
const REVOKE: &str = r#"{"mode":"revoke","accounts":["555555555555"]}"#;

/// A rule's own principal granted by hand: trusted, kept.
const PARTNER: &str = r#"{"Sid": "Partner", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::222222222222:root"}, "Action": ["ecr:BatchGetImage"]}"#;
/// An outside account beside one `trust.accounts` lists.
const CONTRACTOR: &str = r#"{"Sid": "Contractor", "Effect": "Allow", "Principal": {"AWS": ["arn:aws:iam::999999999999:root", "arn:aws:iam::555555555555:root"]}, "Action": ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]}"#;
/// The same statement after the revocation: only the principal list changed.
const CONTRACTOR_AFTER: &str = r#"{"Sid":"Contractor","Effect":"Allow","Principal":{"AWS":["arn:aws:iam::555555555555:root"]},"Action":["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]}"#;
const PUBLIC: &str =
    r#"{"Sid": "Public", "Effect": "Allow", "Principal": "*", "Action": "ecr:BatchGetImage"}"#;
const LAMBDA: &str = r#"{"Sid": "LambdaECRImageRetrievalPolicy", "Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]}"#;
const DENY: &str =
    r#"{"Sid": "NoDeletes", "Effect": "Deny", "Principal": "*", "Action": "ecr:DeleteRepository"}"#;

fn hand_made() -> String {
    format!(
        r#"{{"Version": "2012-10-17", "Id": "hand-made", "Statement": [{PARTNER}, {CONTRACTOR}, {PUBLIC}, {LAMBDA}, {DENY}]}}"#
    )
}

fn config(trust: Option<&str>) -> Config {
    let trust = trust.map_or(String::new(), |t| format!(r#","trust":{t}"#));
    Config::from_json(&format!(r#"{{"rules":[{RULE}]{trust}}}"#)).unwrap()
}

/// A policy-changed event: someone set `policy` on `repository`.
fn policy_changed(repository: &str, policy: &str) -> Value {
    let mut event = load_event("policy-changed-statement-removed.json");
    for part in ["requestParameters", "responseElements"] {
        event["detail"][part]["repositoryName"] = json!(repository);
        event["detail"][part]["policyText"] = json!(policy);
    }
    let arn = format!("arn:aws:ecr:us-east-1:111111111111:repository/{repository}");
    event["detail"]["resources"][0]["ARN"] = json!(arn);
    event
}

fn cause() -> Cause<'static> {
    Cause::of(Trigger::PolicyChanged)
}

/// The JSON list a log line carries as text.
fn field(line: &Value, name: &str) -> Value {
    serde_json::from_str(line["fields"][name].as_str().unwrap_or("null")).unwrap()
}

#[test]
fn without_trust_no_foreign_grant_is_judged_logged_or_counted() {
    let moto = Moto::start();
    let (client, _) = moto.client();
    block_on(create_repository(&client, "team-a/api"));
    block_on(set_policy(&client, "team-a/api", &hand_made()));
    let r = remediator(&client, config(None));
    let seen = observe(&r, &policy_changed("team-a/api", &hand_made()));
    assert_eq!(seen.outcome.status, Status::Applied);
    let answer = serde_json::to_value(&seen.outcome).unwrap();
    assert!(answer.get("untrusted").is_none(), "{answer}");
    assert!(seen.with_message("untrusted grant").is_empty());
    assert_eq!(seen.counts.get("UntrustedGrants"), 0);
    let changed = seen.with_message("repository policy changed");
    assert!(changed[0]["fields"].get("revoked").is_none(), "{changed:?}");
    let stored = block_on(policy(&client, "team-a/api")).unwrap();
    for statement in [PARTNER, CONTRACTOR, PUBLIC, LAMBDA, DENY] {
        assert!(stored.contains(statement), "{stored}");
    }
}

#[test]
fn report_mode_lists_a_repository_policys_untrusted_grants_and_writes_nothing_for_them() {
    let moto = Moto::start();
    let (client, recorder) = moto.client();
    // No rule matches team-b: nothing of ours to write, so only the report is left.
    block_on(create_repository(&client, "team-b/api"));
    block_on(set_policy(&client, "team-b/api", &hand_made()));
    recorder.clear();
    let r = remediator(&client, config(Some(REPORT)));
    let seen = observe(&r, &policy_changed("team-b/api", &hand_made()));
    assert_eq!(seen.outcome.status, Status::Unchanged, "{:?}", seen.outcome);
    let answer = serde_json::to_value(&seen.outcome).unwrap();
    assert_eq!(
        answer["untrusted"],
        json!([
            {"sid": "Contractor", "principal": "arn:aws:iam::999999999999:root", "kind": "untrusted"},
            {"sid": "Public", "principal": "*", "kind": "public"},
            {"sid": "LambdaECRImageRetrievalPolicy", "principal": "lambda.amazonaws.com", "kind": "service"},
        ])
    );
    let warned = seen.with_message("untrusted grant");
    assert_eq!(warned.len(), 1, "one line per document: {warned:?}");
    assert_eq!(warned[0]["level"], "WARN");
    assert_eq!(warned[0]["fields"]["repository"], "team-b/api");
    assert_eq!(warned[0]["fields"]["mode"], "report");
    assert_eq!(field(warned[0], "untrusted"), answer["untrusted"]);
    assert_eq!(seen.counts.get("UntrustedGrants"), 3);
    assert_eq!(
        recorder.by_operation().keys().collect::<Vec<_>>(),
        ["GetRepositoryPolicy"]
    );
    assert_eq!(block_on(policy(&client, "team-b/api")), Some(hand_made()));
}

#[test]
fn revoke_mode_takes_out_the_outsider_and_the_public_statement_in_one_write_and_keeps_the_rest() {
    let moto = Moto::start();
    let (client, recorder) = moto.client();
    block_on(create_repository(&client, "team-a/api"));
    block_on(set_policy(&client, "team-a/api", &hand_made()));
    recorder.clear();
    let r = remediator(&client, config(Some(REVOKE)));
    let seen = capture(r.converge("team-a/api", cause()));
    let out = seen.outcome.as_ref().unwrap();
    assert_eq!(out.status, Status::Applied, "{out:?}");
    assert_eq!(recorder.count("SetRepositoryPolicy"), 1);
    assert_eq!(recorder.total(), 2, "{:?}", recorder.by_operation());
    let stored = block_on(policy(&client, "team-a/api")).unwrap();
    // Version and Id as found; the trusted grant, the service grant and the Deny byte for byte;
    // the outsider's statement with only its principal list changed; ours after them.
    let kept = format!(
        r#"{{"Version":"2012-10-17","Id":"hand-made","Statement":[{PARTNER},{CONTRACTOR_AFTER},{LAMBDA},{DENY},"#
    );
    assert!(stored.starts_with(&kept), "{stored}");
    assert!(!stored.contains("999999999999") && !stored.contains(r#""Sid": "Public""#));
    assert!(sids(&stored).contains(&"EcrPolicyRemediator-team-a-Principals".to_string()));
    // The audit line names each principal taken out and the statement as it was.
    let changed = seen.with_message("repository policy changed");
    assert_eq!(changed.len(), 1, "{:?}", seen.lines);
    assert_eq!(
        field(changed[0], "revoked"),
        json!([
            {"sid": "Contractor", "principal": "arn:aws:iam::999999999999:root", "kind": "untrusted"},
            {"sid": "Public", "principal": "*", "kind": "public"},
        ])
    );
    assert_eq!(
        field(changed[0], "statements_before"),
        json!([
            {"sid": "Contractor", "text": CONTRACTOR, "removed": false},
            {"sid": "Public", "text": PUBLIC, "removed": true},
        ])
    );
    let (_, reason) = out.explained();
    assert!(
        reason
            .unwrap()
            .contains("took back grants outside the trust boundary"),
        "{out:?}"
    );
    // Nothing left to take: the next look reads, reports the service grant, and writes nothing.
    let again = block_on(r.converge("team-a/api", cause())).unwrap();
    assert_eq!(again.status, Status::Unchanged);
    assert_eq!(again.untrusted.len(), 1, "{again:?}");
}

#[test]
fn a_policy_the_revocation_leaves_empty_is_deleted() {
    let moto = Moto::start();
    let (client, recorder) = moto.client();
    block_on(create_repository(&client, "team-b/web"));
    let text = format!(r#"{{"Version":"2012-10-17","Statement":[{PUBLIC}]}}"#);
    block_on(set_policy(&client, "team-b/web", &text));
    recorder.clear();
    let r = remediator(&client, config(Some(REVOKE)));
    let out = block_on(r.converge("team-b/web", cause())).unwrap();
    assert_eq!((out.status, out.after.as_deref()), (Status::Applied, None));
    assert_eq!(block_on(policy(&client, "team-b/web")), None);
    assert_eq!(recorder.count("DeleteRepositoryPolicy"), 1);
    assert_eq!(recorder.count("SetRepositoryPolicy"), 0);
}

/// Replication into this registry, granted to an outsider and to a trusted account.
const REPLICATION: &str = r#"{"Sid": "Replication", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::999999999999:root"}, "Action": ["ecr:CreateRepository", "ecr:ReplicateImage"], "Resource": "arn:aws:ecr:us-east-1:111111111111:repository/*"}"#;
const MIRROR: &str = r#"{"Sid": "Mirror", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::555555555555:root"}, "Action": ["ecr:CreateRepository", "ecr:ReplicateImage"], "Resource": "arn:aws:ecr:us-east-1:111111111111:repository/*"}"#;

#[test]
fn the_registry_policy_is_reported_then_revoked_with_its_audit_line() {
    let moto = Moto::start();
    let (client, recorder) = moto.client();
    let before = format!(r#"{{"Version":"2012-10-17","Statement":[{REPLICATION},{MIRROR}]}}"#);
    let put = client.put_registry_policy().policy_text(&before).send();
    block_on(put).unwrap();
    let event = load_event("registry-policy-changed.json");
    let registry = || block_on(client.get_registry_policy().send()).unwrap();

    let reported = observe(&remediator(&client, config(Some(REPORT))), &event);
    let document = &reported.outcome.documents[0];
    assert_eq!(document.document, REGISTRY_POLICY);
    assert_eq!(document.status, Status::Unchanged);
    assert_eq!(document.untrusted.len(), 1, "{document:?}");
    let warned = reported.with_message("untrusted grant");
    assert_eq!(warned[0]["fields"]["document"], REGISTRY_POLICY);
    assert_eq!(reported.counts.get("UntrustedGrants"), 1);
    assert_eq!(registry().policy_text(), Some(before.as_str()));

    recorder.clear();
    let revoked = observe(&remediator(&client, config(Some(REVOKE))), &event);
    assert_eq!(revoked.outcome.documents[0].status, Status::Applied);
    let answer = serde_json::to_value(&revoked.outcome).unwrap();
    assert_eq!(
        answer["documents"][0]["untrusted"],
        json!([{"sid": "Replication", "principal": "arn:aws:iam::999999999999:root", "kind": "untrusted"}])
    );
    assert_eq!(recorder.count("PutRegistryPolicy"), 1);
    let stored = registry().policy_text().unwrap().to_string();
    assert_eq!(
        stored,
        format!(r#"{{"Version":"2012-10-17","Statement":[{MIRROR}]}}"#)
    );
    let changed = revoked.with_message("registry document changed");
    assert_eq!(changed[0]["fields"]["document"], REGISTRY_POLICY);
    assert_eq!(
        field(changed[0], "statements_before"),
        json!([{"sid": "Replication", "text": REPLICATION, "removed": true}])
    );
}

#[test]
fn a_foreign_template_with_an_untrusted_grant_is_reported_and_never_written() {
    let moto = Moto::start();
    let (client, recorder) = moto.client();
    let theirs = format!(r#"{{"Version":"2012-10-17","Statement":[{CONTRACTOR},{PUBLIC}]}}"#);
    let create = client
        .create_repository_creation_template()
        .prefix("platform")
        .description("the platform team's")
        .repository_policy(&theirs)
        .applied_for(aws_sdk_ecr::types::RctAppliedFor::Replication)
        .send();
    block_on(create).unwrap();
    recorder.clear();
    let r = remediator(&client, config(Some(REVOKE)));
    let seen = capture(r.converge_registry());
    let template = seen
        .outcome
        .iter()
        .find(|d| d.document == "template platform")
        .expect("a report of the foreign template");
    assert_eq!(template.status, Status::Unchanged);
    let kinds: Vec<&str> = template.untrusted.iter().map(|f| f.kind.as_str()).collect();
    assert_eq!(kinds, ["untrusted", "public"]);
    assert!(template
        .reason
        .as_deref()
        .unwrap()
        .contains("never revoked"));
    assert_eq!(seen.with_message("untrusted grant").len(), 1);
    let writes: Vec<String> = recorder
        .by_operation()
        .into_keys()
        .filter(|op| op.contains("Template") && !op.starts_with("Describe"))
        .collect();
    assert!(writes.is_empty(), "{writes:?}");
    let stored = block_on(client.describe_repository_creation_templates().send()).unwrap();
    let policy = stored.repository_creation_templates()[0].repository_policy();
    assert_eq!(policy, Some(theirs.as_str()));
}

#[test]
fn a_policy_changed_event_undoes_the_untrusted_grant_someone_adds() {
    let moto = Moto::start();
    let (client, _) = moto.client();
    block_on(create_repository(&client, "team-a/payments-api"));
    let r = remediator(&client, config(Some(REVOKE)));
    block_on(r.converge("team-a/payments-api", cause())).unwrap();
    let right = block_on(policy(&client, "team-a/payments-api")).unwrap();
    // Someone adds a grant to an outside account by hand.
    let outsider = r#"{"Sid":"Contractor","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::999999999999:root"},"Action":"ecr:BatchGetImage"}"#;
    let edited = right.replacen(
        r#""Statement":["#,
        &format!(r#""Statement":[{outsider},"#),
        1,
    );
    block_on(set_policy(&client, "team-a/payments-api", &edited));
    let seen = observe(&r, &policy_changed("team-a/payments-api", &edited));
    assert_eq!(seen.outcome.status, Status::Applied, "{:?}", seen.outcome);
    assert_eq!(seen.outcome.untrusted.len(), 1);
    assert_eq!(
        block_on(policy(&client, "team-a/payments-api")),
        Some(right)
    );
    assert_eq!(seen.counts.get("UntrustedGrants"), 1);
    let changed = seen.with_message("repository policy changed");
    assert_eq!(changed[0]["fields"]["trigger"], "policy-changed");
    assert!(changed[0]["fields"]["caller"]
        .as_str()
        .unwrap()
        .contains("PlatformAdmin"));
}

#[test]
fn not_principal_and_unreadable_statements_are_reported_and_never_rewritten() {
    let moto = Moto::start();
    let (client, _) = moto.client();
    block_on(create_repository(&client, "team-b/odd"));
    let everyone_but = r#"{"Sid":"AllButOne","Effect":"Allow","NotPrincipal":{"AWS":"arn:aws:iam::999999999999:root"},"Action":"ecr:BatchGetImage"}"#;
    let odd = r#"{"Sid":"Odd","Effect":"Allow","Principal":{"CanonicalUser":"79a59df900b949e55d96a1e698fbaced"},"Action":"ecr:BatchGetImage"}"#;
    let text = format!(r#"{{"Version":"2012-10-17","Statement":[{everyone_but},{odd}]}}"#);
    block_on(set_policy(&client, "team-b/odd", &text));
    let r = remediator(&client, config(Some(REVOKE)));
    let out = block_on(r.converge("team-b/odd", cause())).unwrap();
    let kinds: Vec<(&str, &str)> = out
        .untrusted
        .iter()
        .map(|f| (f.sid.as_str(), f.kind.as_str()))
        .collect();
    assert_eq!(kinds, [("AllButOne", "public"), ("Odd", "unreadable")]);
    assert_eq!(out.status, Status::Unchanged);
    assert_eq!(block_on(policy(&client, "team-b/odd")), Some(text));
}

#[test]
fn a_sweep_counts_the_grants_it_found_and_took_back() {
    let moto = Moto::start();
    let (client, _) = moto.client();
    for name in ["team-a/api", "team-b/web", "team-a/clean"] {
        block_on(create_repository(&client, name));
    }
    block_on(set_policy(&client, "team-a/api", &hand_made()));
    let public = format!(r#"{{"Version":"2012-10-17","Statement":[{PUBLIC}]}}"#);
    block_on(set_policy(&client, "team-b/web", &public));
    let r: Remediator = remediator(&client, config(Some(REVOKE)));
    let seen = observe(&r, &load_event("scheduled-sweep.json"));
    let sweep = seen.outcome.sweep.clone().expect("a sweep");
    // team-a/api: the outsider, the public statement and the Lambda grant (kept); team-b/web: its
    // public statement (the policy is deleted).
    assert_eq!((sweep.untrusted_grants, sweep.untrusted_revoked), (4, 3));
    assert_eq!(sweep.applied, 3, "{sweep:?}");
    let answer = serde_json::to_value(&seen.outcome).unwrap();
    assert_eq!(answer["sweep"]["untrustedGrants"], 4);
    assert_eq!(answer["sweep"]["untrustedRevoked"], 3);
    assert_eq!(seen.counts.get("UntrustedGrants"), 4);
    assert_eq!(seen.with_message("untrusted grant").len(), 2);
    assert_eq!(block_on(policy(&client, "team-b/web")), None);
}
