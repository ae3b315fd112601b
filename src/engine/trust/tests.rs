//! The trust boundary through the engine, against the in-memory ECR: which calls each mode
//! makes, what it writes, and what the outcome reports.

use std::sync::Arc;

use serde_json::Value;

use crate::config::Config;
use crate::desired::templates::CurrentTemplate;
use crate::ecr::fake::{FakeEcr, Fault, REGISTRY};
use crate::engine::converge::{Cause, Remediator};
use crate::engine::outcome::{Outcome, Status};
use crate::engine::sweep::{NoObserver, SweepOptions};
use crate::event::Trigger;
use crate::policy::trust::FindingKind;

const ACCOUNTS: &str =
    r#"{"name":"k8s","repositories":["team-a/*"],"principals":{"accounts":["222222222222"]}}"#;
const ROLES: &str = r#"{"name":"ci","repositories":["team-a/*"],"principals":{"roles":["arn:aws:iam::333333333333:role/ci"]}}"#;

/// An outside account beside a trusted one, an unconditioned `*`, a Lambda service grant and a
/// `Deny`: what a hand-edited policy looks like.
const CONTRACTOR: &str = r#"{"Sid":"Contractor","Effect":"Allow","Principal":{"AWS":["arn:aws:iam::999999999999:root","arn:aws:iam::555555555555:root"]},"Action":["ecr:BatchGetImage","ecr:GetDownloadUrlForLayer"]}"#;
const PUBLIC: &str =
    r#"{"Sid":"Public","Effect":"Allow","Principal":"*","Action":"ecr:BatchGetImage"}"#;
const LAMBDA: &str = r#"{"Sid":"LambdaECRImageRetrievalPolicy","Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":["ecr:BatchGetImage","ecr:GetDownloadUrlForLayer"]}"#;
const DENY: &str =
    r#"{"Sid":"NoDeletes","Effect":"Deny","Principal":"*","Action":"ecr:DeleteRepository"}"#;

fn foreign() -> String {
    format!(
        r#"{{"Version":"2012-10-17","Id":"hand-made","Statement":[{CONTRACTOR},{PUBLIC},{LAMBDA},{DENY}]}}"#
    )
}

fn remediator(fake: &Arc<FakeEcr>, rules: &[&str], trust: Option<&str>, dry: bool) -> Remediator {
    let trust = trust.map_or(String::new(), |t| format!(r#","trust":{t}"#));
    let text = format!(r#"{{"rules":[{}],"dryRun":{dry}{trust}}}"#, rules.join(","));
    let config = Config::from_json(&text).unwrap();
    Remediator::new(config, fake.clone(), REGISTRY.into(), "us-east-1".into())
}

const REPORT: &str = r#"{"accounts":["555555555555"]}"#;
const REVOKE: &str = r#"{"mode":"revoke","accounts":["555555555555"]}"#;

fn cause() -> Cause<'static> {
    Cause::of(Trigger::PolicyChanged)
}

fn statements(text: &str) -> Vec<String> {
    let v: Value = serde_json::from_str(text).unwrap();
    let list = v["Statement"].as_array().cloned().unwrap_or_default();
    list.iter().map(|s| s.to_string()).collect()
}

#[tokio::test]
async fn without_trust_a_foreign_grant_is_neither_judged_nor_touched() {
    let fake = Arc::new(FakeEcr::with(&[("team-a/api", Some(&foreign()))]));
    let r = remediator(&fake, &[ACCOUNTS], None, false);
    let out = r.converge("team-a/api", cause()).await.unwrap();
    assert_eq!(out.status, Status::Applied);
    assert!(
        out.untrusted.is_empty() && out.revocation.is_none(),
        "{out:?}"
    );
    let written = fake.policy("team-a/api").unwrap();
    for statement in [CONTRACTOR, PUBLIC, LAMBDA, DENY] {
        assert!(written.contains(statement), "{written}");
    }
    let (_, reason) = out.explained();
    assert!(!reason.unwrap_or_default().contains("trust"));
}

#[tokio::test]
async fn report_mode_lists_every_finding_and_changes_nothing_the_rules_do_not_ask() {
    let fake = Arc::new(FakeEcr::with(&[("team-b/api", Some(&foreign()))]));
    let r = remediator(&fake, &[ACCOUNTS], Some(REPORT), false);
    let out = r.converge("team-b/api", cause()).await.unwrap();
    assert_eq!(out.status, Status::Unchanged, "{out:?}");
    let found: Vec<(&str, &str, FindingKind)> = out
        .untrusted
        .iter()
        .map(|f| (f.sid.as_str(), f.principal.as_str(), f.kind))
        .collect();
    assert_eq!(
        found,
        [
            (
                "Contractor",
                "arn:aws:iam::999999999999:root",
                FindingKind::Untrusted
            ),
            ("Public", "*", FindingKind::Public),
            (
                "LambdaECRImageRetrievalPolicy",
                "lambda.amazonaws.com",
                FindingKind::Service
            ),
        ]
    );
    assert_eq!(fake.calls(), ["GetRepositoryPolicy team-b/api"]);
    assert_eq!(fake.policy("team-b/api"), Some(foreign()));
}

#[tokio::test]
async fn revoke_mode_takes_untrusted_and_public_principals_out_in_the_merges_one_write() {
    let fake = Arc::new(FakeEcr::with(&[("team-a/api", Some(&foreign()))]));
    let r = remediator(&fake, &[ACCOUNTS], Some(REVOKE), false);
    let out = r.converge("team-a/api", cause()).await.unwrap();
    assert_eq!(out.status, Status::Applied, "{out:?}");
    assert_eq!(
        fake.calls(),
        [
            "GetRepositoryPolicy team-a/api",
            "SetRepositoryPolicy team-a/api"
        ]
    );
    let written = fake.policy("team-a/api").unwrap();
    let kept = statements(&written);
    assert!(written.starts_with(r#"{"Version":"2012-10-17","Id":"hand-made","#));
    assert!(!written.contains("999999999999") && !written.contains(r#""Sid":"Public""#));
    assert!(
        written.contains(LAMBDA) && written.contains(DENY),
        "{written}"
    );
    assert!(written.contains(r#"{"Sid":"Contractor","Effect":"Allow","Principal":{"AWS":["arn:aws:iam::555555555555:root"]},"Action":["ecr:BatchGetImage","ecr:GetDownloadUrlForLayer"]}"#));
    assert!(kept.iter().any(|s| s.contains("EcrPolicyRemediator-k8s")));
    let revocation = out.revocation.as_ref().unwrap();
    assert_eq!(revocation.revoked.len(), 2);
    assert_eq!(
        out.untrusted.len(),
        3,
        "the service grant is reported, not revoked"
    );
    let (_, reason) = out.explained();
    let reason = reason.unwrap();
    assert!(
        reason.contains("took back grants outside the trust boundary: arn:aws:iam::999999999999:root in Contractor (untrusted), * in Public (public)"),
        "{reason}"
    );
}

#[tokio::test]
async fn a_dry_run_plans_the_revocation_and_writes_nothing() {
    let fake = Arc::new(FakeEcr::with(&[("team-a/api", Some(&foreign()))]));
    let r = remediator(&fake, &[ACCOUNTS], Some(REVOKE), true);
    let out = r.converge("team-a/api", cause()).await.unwrap();
    assert_eq!(out.status, Status::Planned);
    assert!(!out.after.as_deref().unwrap().contains("999999999999"));
    let (_, reason) = out.explained();
    assert!(reason.unwrap().contains("would take back"));
    assert_eq!(fake.calls(), ["GetRepositoryPolicy team-a/api"]);
}

#[tokio::test]
async fn a_policy_the_revocation_leaves_empty_is_deleted() {
    let text = format!(r#"{{"Version":"2012-10-17","Statement":[{PUBLIC}]}}"#);
    let fake = Arc::new(FakeEcr::with(&[("team-b/api", Some(&text))]));
    let r = remediator(&fake, &[ACCOUNTS], Some(REVOKE), false);
    let out = r.converge("team-b/api", cause()).await.unwrap();
    assert_eq!(out.status, Status::Applied);
    assert_eq!(out.after, None);
    assert_eq!(
        fake.calls(),
        [
            "GetRepositoryPolicy team-b/api",
            "DeleteRepositoryPolicy team-b/api"
        ]
    );
}

#[tokio::test]
async fn a_foreign_grant_to_a_principal_our_rule_names_goes_and_our_statement_stays() {
    // The rule trusts the role, not its account: the account's foreign grant is outside the set.
    let theirs = r#"{"Sid":"Theirs","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::333333333333:root"},"Action":"ecr:*"}"#;
    let text = format!(r#"{{"Version":"2012-10-17","Statement":[{theirs}]}}"#);
    let fake = Arc::new(FakeEcr::with(&[("team-a/api", Some(&text))]));
    let r = remediator(&fake, &[ROLES], Some(REVOKE), false);
    r.converge("team-a/api", cause()).await.unwrap();
    let written = fake.policy("team-a/api").unwrap();
    assert!(!written.contains("Theirs"), "{written}");
    assert!(
        written.contains("arn:aws:iam::333333333333:role/ci"),
        "{written}"
    );
    let again = r.converge("team-a/api", cause()).await.unwrap();
    assert_eq!(again.status, Status::Unchanged);
    assert!(again.untrusted.is_empty(), "{again:?}");
}

#[tokio::test]
async fn a_revocation_rides_on_the_first_write_the_isolation_lands() {
    let fake = Arc::new(FakeEcr::with(&[("team-a/api", Some(&foreign()))]));
    fake.inject("SetRepositoryPolicy", Fault::PrincipalNotFound);
    fake.inject("SetRepositoryPolicy", Fault::PrincipalNotFound);
    let r = remediator(&fake, &[ACCOUNTS, ROLES], Some(REVOKE), false);
    let out = r.converge("team-a/api", cause()).await.unwrap();
    assert_eq!(
        out.status,
        Status::Failed,
        "the role's rule is still out: {out:?}"
    );
    let written = fake.policy("team-a/api").unwrap();
    assert!(!written.contains("999999999999") && !written.contains(r#""Sid":"Public""#));
    assert!(written.contains("222222222222"), "{written}");
}

#[tokio::test]
async fn an_event_answers_with_its_findings_and_without_the_key_when_there_are_none() {
    let fake = Arc::new(FakeEcr::with(&[("team-b/api", Some(&foreign()))]));
    let r = remediator(&fake, &[ACCOUNTS], Some(REPORT), false);
    let event = serde_json::json!({
        "version": "0", "id": "e1", "detail-type": "AWS API Call via CloudTrail",
        "source": "aws.ecr", "account": REGISTRY, "region": "us-east-1",
        "detail": {"eventSource": "ecr.amazonaws.com", "eventName": "SetRepositoryPolicy",
            "awsRegion": "us-east-1",
            "userIdentity": {"arn": "arn:aws:iam::111111111111:role/someone"},
            "requestParameters": {"registryId": REGISTRY, "repositoryName": "team-b/api"}}
    });
    let out: Outcome = r.handle(&event, None).await.unwrap();
    assert_eq!(
        out.status,
        Status::Unchanged,
        "reported, not skipped: {out:?}"
    );
    let json = serde_json::to_value(&out).unwrap();
    assert_eq!(
        json["untrusted"][0],
        serde_json::json!({"sid": "Contractor", "principal": "arn:aws:iam::999999999999:root", "kind": "untrusted"})
    );
    assert_eq!(crate::engine::metrics::untrusted_grants(&out), 3);
    let quiet = remediator(&fake, &[ACCOUNTS], None, false);
    let out = quiet.handle(&event, None).await.unwrap();
    let json = serde_json::to_value(&out).unwrap();
    assert!(json.get("untrusted").is_none(), "{json}");
    assert_eq!(out.status, Status::Skipped);
}

#[tokio::test]
async fn the_registry_policy_is_revoked_and_a_foreign_template_only_reported() {
    let registry = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Sid":"Replication","Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::999999999999:root"}},"Action":["ecr:ReplicateImage"],"Resource":"arn:aws:ecr:us-east-1:111111111111:repository/*"}},{}]}}"#,
        r#"{"Sid":"Mirror","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::555555555555:root"},"Action":["ecr:ReplicateImage"],"Resource":"arn:aws:ecr:us-east-1:111111111111:repository/*"}"#
    );
    let fake = Arc::new(FakeEcr::with(&[]));
    fake.put_registry(&registry);
    let template = CurrentTemplate {
        prefix: "platform".into(),
        description: Some("the platform team's".into()),
        repository_policy: Some(foreign()),
        applied_for: vec!["REPLICATION".into()],
    };
    fake.put_template(template.clone());
    let r = remediator(&fake, &[ACCOUNTS], Some(REVOKE), false);
    let reports = r.converge_registry().await;
    let policy = &reports[0];
    assert_eq!(policy.status, Status::Applied, "{reports:?}");
    assert_eq!(policy.untrusted.len(), 1);
    let written = fake.registry_policy().unwrap();
    assert!(
        !written.contains("999999999999") && written.contains("Mirror"),
        "{written}"
    );
    let platform = reports
        .iter()
        .find(|d| d.document == "template platform")
        .unwrap();
    assert_eq!(platform.status, Status::Unchanged);
    assert_eq!(platform.untrusted.len(), 3);
    assert_eq!(fake.templates(), [template]);
    let writes: Vec<String> = fake
        .calls()
        .into_iter()
        .filter(|c| !c.starts_with("Get") && !c.starts_with("Describe"))
        .collect();
    assert_eq!(writes, ["PutRegistryPolicy"]);
}

#[tokio::test]
async fn a_sweep_counts_the_grants_it_found_and_took_back() {
    let fake = Arc::new(FakeEcr::with(&[
        ("team-a/api", Some(&foreign())),
        ("team-b/web", Some(&foreign())),
        ("team-b/quiet", None),
    ]));
    let r = remediator(&fake, &[ACCOUNTS], Some(REVOKE), false);
    let options = SweepOptions {
        concurrency: 2,
        requests_per_second: 1000.0,
        deadline: None,
        safety_margin: std::time::Duration::from_secs(1),
        budget: None,
        sweep_number: 0,
    };
    let report = r.sweep(&options, &NoObserver).await.unwrap();
    assert_eq!((report.untrusted_grants, report.untrusted_revoked), (6, 4));
    assert_eq!(report.applied, 2, "{report:?}");
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["untrustedGrants"], 6);
}
