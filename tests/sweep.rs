//! The scheduled sweep against moto: a registry of 521 repositories in mixed states.

mod common;

use std::collections::BTreeSet;
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use common::*;
use ecr_policy_remediator::handler::{Remediator, Status};
use ecr_policy_remediator::policy::{self, Plan};
use ecr_policy_remediator::rules::{desired_statements, Config};
use ecr_policy_remediator::sweep::{
    pacer, NoObserver, RepositoryResult, SweepObserver, SweepOptions, SweepReport,
};
use futures_util::stream::{self, StreamExt};

const CONFIG: &str = r#"{"rules":[
  {"name":"pull","repositories":["svc/*"],"principals":{"accounts":["222222222222"],"organizations":["o-a1b2c3d4e5"]}},
  {"name":"push","repositories":["svc/ci-*"],"principals":{"roles":["arn:aws:iam::444444444444:role/ci"]},"access":"push"}
]}"#;
const FOREIGN: &str = r#"{"Sid":"Theirs","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::555555555555:root"},"Action":"ecr:ListImages"}"#;

fn config() -> Config {
    Config::from_json(CONFIG).unwrap()
}

/// The policy the rules want for `name`, as the function would write it.
fn right_policy(config: &Config, name: &str) -> String {
    match policy::plan(None, &desired_statements(config.matching(name))).unwrap() {
        Plan::Write(text) => text,
        Plan::Unchanged => unreachable!(),
    }
}

struct Registry {
    matching: BTreeSet<String>,
    foreign: Vec<String>,
    unmatched: Vec<(String, Option<String>)>,
    changed: BTreeSet<String>,
}

/// 100 without policy, 100 right, 80 with a wrong owned statement, 80 with a stale owned one,
/// 80 with only a foreign statement, 80 matching no rule (half with a policy of their own), and
/// one whose merged policy would exceed ECR's limit.
async fn seed(client: &aws_sdk_ecr::Client) -> Registry {
    let config = config();
    let mut plan: Vec<(String, Option<String>)> = Vec::new();
    for i in 0..100 {
        plan.push((format!("svc/no-policy-{i:03}"), None));
    }
    for i in 0..100 {
        let name = format!("svc/ci-right-{i:03}");
        let text = right_policy(&config, &name);
        plan.push((name, Some(text)));
    }
    for i in 0..80 {
        let name = format!("svc/wrong-{i:03}");
        let text = right_policy(&config, &name).replace("222222222222", "999999999999");
        plan.push((name, Some(text)));
    }
    for i in 0..80 {
        let name = format!("svc/stale-{i:03}");
        let right = right_policy(&config, &name);
        let stale = r#"{"Sid":"EcrPolicyRemediator-retired-Principals","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::999999999999:root"},"Action":"ecr:BatchGetImage"}"#;
        let text = right.replacen("\"Statement\":[", &format!("\"Statement\":[{stale},"), 1);
        plan.push((name, Some(text)));
    }
    for i in 0..80 {
        plan.push((
            format!("svc/foreign-{i:03}"),
            Some(format!(
                r#"{{"Version":"2012-10-17","Statement":[{FOREIGN}]}}"#
            )),
        ));
    }
    let mut unmatched = Vec::new();
    for i in 0..80 {
        let text =
            (i % 2 == 0).then(|| format!(r#"{{"Version":"2012-10-17","Statement":[{FOREIGN}]}}"#));
        unmatched.push((format!("other/unmatched-{i:03}"), text.clone()));
        plan.push((format!("other/unmatched-{i:03}"), text));
    }
    plan.push(("svc/huge".into(), Some(near_limit_policy())));

    stream::iter(plan.iter())
        .for_each_concurrent(8, |(name, text)| async move {
            create_repository(client, name).await;
            if let Some(text) = text {
                set_policy(client, name, text).await;
            }
        })
        .await;
    let matching: BTreeSet<String> = plan
        .iter()
        .map(|p| p.0.clone())
        .filter(|n| n.starts_with("svc/"))
        .collect();
    let changed = matching
        .iter()
        .filter(|n| !n.starts_with("svc/ci-right-") && *n != "svc/huge")
        .cloned()
        .collect();
    Registry {
        foreign: matching
            .iter()
            .filter(|n| n.starts_with("svc/foreign-"))
            .cloned()
            .collect(),
        matching,
        unmatched,
        changed,
    }
}

/// Collects what a sweep did, by repository.
#[derive(Default)]
struct Seen(Mutex<Vec<(String, Status)>>);

impl SweepObserver for Seen {
    fn repository(&self, r: &RepositoryResult) {
        self.0
            .lock()
            .unwrap()
            .push((r.repository.clone(), r.status));
    }
}

impl Seen {
    fn with(&self, status: Status) -> BTreeSet<String> {
        self.0
            .lock()
            .unwrap()
            .iter()
            .filter(|(_, s)| *s == status)
            .map(|(n, _)| n.clone())
            .collect()
    }
    fn all(&self) -> BTreeSet<String> {
        self.0
            .lock()
            .unwrap()
            .iter()
            .map(|(n, _)| n.clone())
            .collect()
    }
}

fn options(config: &Config) -> SweepOptions {
    SweepOptions {
        requests_per_second: 1000.0,
        concurrency: 8,
        ..SweepOptions::from(&config.sweep)
    }
}

#[tokio::test]
async fn one_sweep_makes_every_matching_repository_right_at_the_stated_cost() {
    let moto = Moto::start();
    let (client, recorder) = moto.client();
    let registry = seed(&client).await;
    let unmatched_before = registry.unmatched.clone();
    recorder.clear();

    let r = remediator(&client, config());
    let seen = Seen::default();
    let report = r.sweep(&options(r.config()), &seen).await.unwrap();
    assert_eq!(
        report,
        SweepReport {
            listed: 521,
            matching: 441,
            checked: 441,
            applied: 340,
            unchanged: 100,
            planned: 0,
            skipped: 0,
            failed: 1,
            failed_repositories: report.failed_repositories.clone(),
            shard: 0,
            shards: 1,
            not_reached: 0,
            complete: true,
        }
    );
    assert_eq!(report.failed_repositories.len(), 1);
    assert!(
        report.failed_repositories[0].starts_with("svc/huge: "),
        "{report:?}"
    );
    assert!(
        report.failed_repositories[0].contains("10240"),
        "{report:?}"
    );
    assert_eq!(seen.with(Status::Applied), registry.changed);

    // One page per 1,000 repositories, one read per matching repository, a write per change.
    assert_eq!(recorder.count("DescribeRepositories"), 1);
    assert_eq!(recorder.count("GetRepositoryPolicy"), 441);
    assert_eq!(recorder.count("SetRepositoryPolicy"), 340);
    assert_eq!(
        recorder.total(),
        1 + 441 + 340,
        "{:?}",
        recorder.by_operation()
    );

    let config = config();
    for name in &registry.matching {
        if name == "svc/huge" {
            continue;
        }
        let text = policy(&client, name).await;
        let desired = desired_statements(config.matching(name));
        assert_eq!(
            policy::plan(text.as_deref(), &desired),
            Ok(Plan::Unchanged),
            "{name}"
        );
        assert!(!text.unwrap().contains("retired"), "{name}");
    }
    for name in &registry.foreign {
        assert!(
            policy(&client, name).await.unwrap().contains(FOREIGN),
            "{name}"
        );
    }
    for (name, before) in &unmatched_before {
        assert_eq!(policy(&client, name).await, *before, "{name} untouched");
    }

    // The second sweep finds everything right: no write at all.
    recorder.clear();
    let again = r.sweep(&options(r.config()), &NoObserver).await.unwrap();
    assert_eq!((again.applied, again.unchanged, again.failed), (0, 440, 1));
    assert_eq!(recorder.count("SetRepositoryPolicy"), 0);
    assert_eq!(recorder.count("GetRepositoryPolicy"), 441);
}

#[tokio::test]
async fn a_dry_run_writes_nothing_and_reports_exactly_what_the_real_run_then_does() {
    let moto = Moto::start();
    let (client, recorder) = moto.client();
    let registry = seed(&client).await;
    recorder.clear();

    let mut dry = config();
    dry.dry_run = true;
    let planned = Seen::default();
    let report = remediator(&client, dry.clone())
        .sweep(&options(&dry), &planned)
        .await
        .unwrap();
    assert_eq!(recorder.count("SetRepositoryPolicy"), 0);
    assert_eq!(
        (report.planned, report.applied, report.unchanged),
        (340, 0, 100)
    );

    let applied = Seen::default();
    let real = config();
    let report = remediator(&client, real.clone())
        .sweep(&options(&real), &applied)
        .await
        .unwrap();
    assert_eq!(report.applied, 340);
    assert_eq!(planned.with(Status::Planned), applied.with(Status::Applied));
    assert_eq!(
        planned.with(Status::Unchanged),
        applied.with(Status::Unchanged)
    );
    assert_eq!(applied.with(Status::Applied), registry.changed);
}

#[tokio::test]
async fn a_repository_deleted_during_the_sweep_is_counted_not_fatal() {
    let moto = Moto::start();
    let (client, _) = moto.client();
    seed(&client).await;
    let r = remediator(&client, config());
    let opts = options(r.config());
    let pace = pacer(opts.requests_per_second);
    let listing = r.list_matching(&pace).await.unwrap();
    for name in ["svc/no-policy-000", "svc/foreign-007", "svc/ci-right-042"] {
        client
            .delete_repository()
            .repository_name(name)
            .force(true)
            .send()
            .await
            .unwrap();
    }
    let report = r.sweep_listing(&listing, &opts, &pace, &NoObserver).await;
    assert_eq!(report.checked, 441);
    assert_eq!(report.skipped, 3, "{report:?}");
    assert_eq!(report.failed, 1, "only the oversized one: {report:?}");
    assert_eq!(report.applied, 338);
    assert!(report.complete);
}

#[tokio::test]
async fn a_sweep_stops_cleanly_before_the_deadline_and_says_how_far_it_got() {
    let moto = Moto::start();
    let (client, recorder) = moto.client();
    seed(&client).await;
    let r = remediator(&client, config());
    recorder.clear();
    let opts = SweepOptions {
        requests_per_second: 40.0,
        concurrency: 2,
        deadline: Some(SystemTime::now() + Duration::from_secs(6)),
        safety_margin: Duration::from_secs(1),
        ..SweepOptions::from(&r.config().sweep)
    };
    let report = r.sweep(&opts, &NoObserver).await.unwrap();
    assert!(!report.complete, "{report:?}");
    assert!(report.not_reached > 0, "{report:?}");
    assert!(report.checked > 0, "{report:?}");
    assert_eq!(
        report.checked + report.not_reached,
        report.matching,
        "{report:?}"
    );
    assert!(
        report.shards > 1,
        "the deadline leaves room for a shard only: {report:?}"
    );
    assert_eq!(
        report.failed,
        usize::from(report.failed_repositories.len() == 1)
    );
}

#[tokio::test]
async fn successive_sweeps_together_cover_every_matching_repository() {
    let moto = Moto::start();
    let (client, _) = moto.client();
    let registry = seed(&client).await;
    let r = remediator(&client, config());
    let covered = Seen::default();
    let mut shards = 0;
    for sweep_number in 0.. {
        let opts = SweepOptions {
            budget: Some(150),
            sweep_number,
            ..options(r.config())
        };
        let report = r.sweep(&opts, &covered).await.unwrap();
        assert_eq!(report.checked, 150.min(report.matching), "{report:?}");
        assert_eq!(report.shard as u64, sweep_number % report.shards as u64);
        shards = report.shards;
        if sweep_number + 1 == report.shards as u64 {
            break;
        }
    }
    assert_eq!(shards, 3);
    assert_eq!(covered.all(), registry.matching);
}

/// The scheduled event through the handler: one outcome with the counts.
#[tokio::test]
async fn the_scheduled_event_sweeps_and_reports_counts() {
    let moto = Moto::start();
    let (client, _) = moto.client();
    seed(&client).await;
    let mut config = config();
    config.sweep.requests_per_second = 1000.0;
    let r: Remediator = remediator(&client, config);
    let out = r
        .handle(
            &load_event("scheduled-sweep.json"),
            Some(SystemTime::now() + Duration::from_secs(900)),
        )
        .await
        .unwrap();
    assert_eq!(out.outcome, Status::Swept);
    let json = serde_json::to_value(&out).unwrap();
    assert_eq!(json["trigger"], "scheduled");
    assert_eq!(json["outcome"], "swept");
    assert_eq!(json["sweep"]["applied"], 340);
    assert_eq!(json["sweep"]["failed"], 1);
    assert_eq!(json["sweep"]["complete"], true);
}

#[tokio::test]
async fn a_safety_margin_longer_than_the_time_left_still_lets_the_sweep_work() {
    let moto = Moto::start();
    let (client, _) = moto.client();
    for name in ["svc/a", "svc/b", "svc/c"] {
        create_repository(&client, name).await;
    }
    let r = remediator(&client, config());
    let opts = SweepOptions {
        requests_per_second: 1000.0,
        deadline: Some(SystemTime::now() + Duration::from_secs(10)),
        safety_margin: Duration::from_secs(60),
        ..SweepOptions::from(&r.config().sweep)
    };
    let report = r.sweep(&opts, &NoObserver).await.unwrap();
    assert_eq!((report.applied, report.not_reached), (3, 0), "{report:?}");
}
