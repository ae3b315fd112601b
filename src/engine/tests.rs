//! The engine's behaviour against the in-memory ECR: which calls each path makes, and what it
//! does when ECR throttles, forgets a repository, does not know a principal or answers slowly.
//! No server: the moto suites in `tests/` prove the SDK adapter itself.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use crate::config::Config;
use crate::ecr::fake::{FakeEcr, Fault, REGISTRY};
use crate::engine::converge::{Cause, Remediator};
use crate::engine::outcome::Status;
use crate::engine::sweep::{NoObserver, SweepOptions};
use crate::event::Trigger;

const ACCOUNTS: &str =
    r#"{"name":"k8s","repositories":["team-a/*"],"principals":{"accounts":["222222222222"]}}"#;
const ROLES: &str = r#"{"name":"ci","repositories":["team-a/*"],"principals":{"roles":["arn:aws:iam::333333333333:role/ci"]}}"#;

fn remediator(fake: &Arc<FakeEcr>, rules: &[&str], dry_run: bool) -> Remediator {
    let text = format!(r#"{{"rules":[{}],"dryRun":{dry_run}}}"#, rules.join(","));
    let config = Config::from_json(&text).unwrap();
    Remediator::new(config, fake.clone(), REGISTRY.into(), "us-east-1".into())
}

fn cause() -> Cause<'static> {
    Cause::of(Trigger::RepositoryCreated)
}

#[tokio::test]
async fn a_repository_without_a_policy_costs_one_read_and_one_write_then_one_read() {
    let fake = Arc::new(FakeEcr::with(&[("team-a/api", None)]));
    let r = remediator(&fake, &[ACCOUNTS], false);
    let first = r.converge("team-a/api", cause()).await.unwrap();
    assert_eq!(first.status, Status::Applied);
    assert!(fake.policy("team-a/api").unwrap().contains("222222222222"));
    let second = r.converge("team-a/api", cause()).await.unwrap();
    assert_eq!(second.status, Status::Unchanged);
    assert_eq!(
        fake.calls(),
        [
            "GetRepositoryPolicy team-a/api",
            "SetRepositoryPolicy team-a/api",
            "GetRepositoryPolicy team-a/api"
        ]
    );
}

#[tokio::test]
async fn a_dry_run_reads_and_never_writes() {
    let fake = Arc::new(FakeEcr::with(&[("team-a/api", None)]));
    let r = remediator(&fake, &[ACCOUNTS], true);
    let out = r.converge("team-a/api", cause()).await.unwrap();
    assert_eq!(out.status, Status::Planned, "{out:?}");
    assert_eq!(fake.calls(), ["GetRepositoryPolicy team-a/api"]);
    assert_eq!(fake.policy("team-a/api"), None);
}

#[tokio::test]
async fn a_throttled_write_is_a_retryable_error_and_changes_nothing() {
    let fake = Arc::new(FakeEcr::with(&[("team-a/api", None)]));
    fake.inject("SetRepositoryPolicy", Fault::Throttled);
    let r = remediator(&fake, &[ACCOUNTS], false);
    let err = r.converge("team-a/api", cause()).await.unwrap_err();
    assert!(err.is_retryable(), "{err}");
    assert_eq!(fake.policy("team-a/api"), None);
}

#[tokio::test]
async fn a_repository_deleted_meanwhile_ends_not_found_without_a_write() {
    let fake = Arc::new(FakeEcr::with(&[("team-a/api", None)]));
    fake.inject("GetRepositoryPolicy", Fault::RepositoryNotFound);
    let r = remediator(&fake, &[ACCOUNTS], false);
    let out = r.converge("team-a/api", cause()).await.unwrap();
    assert!(out.missing && out.status == Status::Skipped, "{out:?}");
    assert_eq!(fake.calls(), ["GetRepositoryPolicy team-a/api"]);
}

#[tokio::test]
async fn an_unknown_role_keeps_its_rule_out_and_lets_the_other_rules_land() {
    let fake = Arc::new(FakeEcr::with(&[("team-a/api", None)]));
    // The write of both rules, then the trial with the role's rule added, are refused.
    fake.inject("SetRepositoryPolicy", Fault::PrincipalNotFound);
    fake.inject("SetRepositoryPolicy", Fault::PrincipalNotFound);
    let r = remediator(&fake, &[ACCOUNTS, ROLES], false);
    let out = r.converge("team-a/api", cause()).await.unwrap();
    assert_eq!(out.status, Status::Failed, "{out:?}");
    let reason = out.reason.as_deref().unwrap_or_default();
    assert!(reason.contains("rule ci"), "{reason}");
    let policy = fake.policy("team-a/api").unwrap();
    assert!(
        policy.contains("222222222222") && !policy.contains("role/ci"),
        "{policy}"
    );
    let writes = fake.calls().iter().filter(|c| c.starts_with("Set")).count();
    assert_eq!(writes, 3, "{:?}", fake.calls());
}

#[tokio::test]
async fn the_paced_client_makes_the_same_calls() {
    let fake = Arc::new(FakeEcr::with(&[("team-a/api", None)]));
    let r = remediator(&fake, &[ACCOUNTS], false).paced(1000.0);
    r.converge("team-a/api", cause()).await.unwrap();
    assert_eq!(
        fake.calls(),
        [
            "GetRepositoryPolicy team-a/api",
            "SetRepositoryPolicy team-a/api"
        ]
    );
}

#[tokio::test]
async fn a_sweep_answers_by_its_deadline_when_ecr_is_slow() {
    let names: Vec<String> = (0..6).map(|i| format!("team-a/svc-{i}")).collect();
    let repositories: Vec<(&str, Option<&str>)> =
        names.iter().map(|n| (n.as_str(), None)).collect();
    let fake = Arc::new(FakeEcr::with(&repositories));
    for _ in 0..6 {
        fake.inject(
            "GetRepositoryPolicy",
            Fault::Slow(Duration::from_millis(400)),
        );
    }
    let r = remediator(&fake, &[ACCOUNTS], false);
    let options = SweepOptions {
        concurrency: 1,
        requests_per_second: 1000.0,
        deadline: Some(SystemTime::now() + Duration::from_millis(1500)),
        safety_margin: Duration::from_millis(1000),
        budget: None,
        sweep_number: 0,
    };
    let report = r.sweep(&options, &NoObserver).await.unwrap();
    assert!(!report.complete, "{report:?}");
    assert!(report.checked < 6, "{report:?}");
    assert_eq!(
        report.checked + report.not_reached + report.skipped,
        6,
        "{report:?}"
    );
}
