//! The scheduled sweep against moto: a registry of 521 repositories in mixed states.

mod common;

use std::collections::BTreeSet;
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use common::*;
use ecr_policy_remediator::Config;
use ecr_policy_remediator::SweepReport;
use ecr_policy_remediator::{NoObserver, RepositoryResult, SweepObserver, SweepOptions};
use ecr_policy_remediator::{Remediator, Status};
use futures_util::stream::{self, StreamExt};

const CONFIG: &str = r#"{"rules":[
  {"name":"pull","repositories":["svc/*"],"principals":{"accounts":["222222222222"],"organizations":["o-a1b2c3d4e5"]}},
  {"name":"push","repositories":["svc/ci-*"],"principals":{"roles":["arn:aws:iam::444444444444:role/ci"]},"access":"push"}
]}"#;
const FOREIGN: &str = r#"{"Sid":"Theirs","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::555555555555:root"},"Action":"ecr:ListImages"}"#;

fn config() -> Config {
    Config::from_json(CONFIG).unwrap()
}

fn right(config: &Config, name: &str) -> String {
    right_policy(config, name).expect("a rule matches")
}

/// A statement of rule `pull` (pattern `svc/*`), as if that pattern had once been `*`.
fn granted_once(config: &Config) -> String {
    right(config, "svc/x")
}

struct Registry {
    matching: BTreeSet<String>,
    foreign: Vec<String>,
    unmatched: Vec<(String, Option<String>)>,
    changed: BTreeSet<String>,
    /// Repositories no rule matches that carry the function's statements: half with a foreign
    /// statement too, half with nothing else.
    revoked: Vec<String>,
}

/// 100 without policy, 100 right, 80 with a wrong owned statement, 80 with a stale owned one,
/// 80 with only a foreign statement, 80 matching no rule (half with a policy of their own), 20
/// matching no rule but carrying the function's statements (half beside a foreign one), and one
/// whose merged policy would exceed ECR's limit.
async fn seed(client: &aws_sdk_ecr::Client) -> Registry {
    let config = config();
    let mut plan: Vec<(String, Option<String>)> = Vec::new();
    for i in 0..100 {
        plan.push((format!("svc/no-policy-{i:03}"), None));
    }
    for i in 0..100 {
        let name = format!("svc/ci-right-{i:03}");
        let text = right(&config, &name);
        plan.push((name, Some(text)));
    }
    for i in 0..80 {
        let name = format!("svc/wrong-{i:03}");
        let text = right(&config, &name).replace("222222222222", "999999999999");
        plan.push((name, Some(text)));
    }
    for i in 0..80 {
        let name = format!("svc/stale-{i:03}");
        let right = right(&config, &name);
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
    let mut revoked = Vec::new();
    for i in 0..20 {
        let name = format!("other/granted-{i:03}");
        let ours = granted_once(&config);
        let text = if i % 2 == 0 {
            ours.replacen("\"Statement\":[", &format!("\"Statement\":[{FOREIGN},"), 1)
        } else {
            ours
        };
        revoked.push(name.clone());
        plan.push((name, Some(text)));
    }

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
        revoked,
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
async fn one_sweep_makes_every_repository_right_and_takes_back_what_no_rule_gives() {
    let moto = Moto::start();
    let (client, recorder) = moto.client();
    let registry = seed(&client).await;
    recorder.clear();

    let r = remediator(&client, config());
    let seen = Seen::default();
    let report = r.sweep(&options(r.config()), &seen).await.unwrap();
    assert_eq!(
        report,
        SweepReport {
            listed: 541,
            matching: 441,
            checked: 541,
            applied: 360,
            unchanged: 180,
            planned: 0,
            skipped: 0,
            failed: 1,
            revoked: 100,
            failed_repositories: report.failed_repositories.clone(),
            start: 0,
            not_reached: 0,
            complete: true,
            coverage_sweeps: Some(1),
            documents: report.documents.clone(),
            // Every repository was created a moment ago: its creation event may still be on
            // the way, so none of the repairs counts as a missed event.
            missed_events: 0,
            // No `trust` in these rules: no foreign grant is judged.
            untrusted_grants: 0,
            untrusted_revoked: 0,
        }
    );
    let documents: Vec<_> = report
        .documents
        .iter()
        .map(|d| (d.document.as_str(), d.status))
        .collect();
    assert_eq!(
        documents,
        [("registry policy", Status::Unchanged)],
        "these rules ask nothing of the registry"
    );
    assert!(
        report.failed_repositories[0].starts_with("svc/huge: "),
        "{report:?}"
    );
    assert!(
        report.failed_repositories[0].contains("10240"),
        "{report:?}"
    );
    let mut changed = registry.changed.clone();
    changed.extend(registry.revoked.iter().cloned());
    assert_eq!(seen.with(Status::Applied), changed);

    // One page per 1,000 repositories, one read per repository, a write per change; a policy
    // left with nothing is deleted.
    assert_eq!(recorder.count("DescribeRepositories"), 1);
    assert_eq!(recorder.count("GetRepositoryPolicy"), 541);
    assert_eq!(recorder.count("SetRepositoryPolicy"), 350);
    assert_eq!(recorder.count("DeleteRepositoryPolicy"), 10);
    // The registry's own documents: one read each per sweep, nothing to write for these rules.
    assert_eq!(recorder.count("GetRegistryPolicy"), 1);
    assert_eq!(recorder.count("DescribeRepositoryCreationTemplates"), 1);
    assert_eq!(
        recorder.total(),
        1 + 541 + 350 + 10 + 2,
        "{:?}",
        recorder.by_operation()
    );

    let config = config();
    for name in registry.matching.iter().filter(|n| *n != "svc/huge") {
        let text = policy(&client, name).await;
        assert!(is_right(&config, name, text.as_deref()), "{name}");
        assert!(!text.unwrap().contains("retired"), "{name}");
    }
    for name in &registry.foreign {
        assert!(
            policy(&client, name).await.unwrap().contains(FOREIGN),
            "{name}"
        );
    }
    for (i, name) in registry.revoked.iter().enumerate() {
        let after = policy(&client, name).await;
        if i % 2 == 0 {
            assert_eq!(
                after.as_deref(),
                Some(format!(r#"{{"Version":"2012-10-17","Statement":[{FOREIGN}]}}"#).as_str()),
                "{name}: only the foreign statement is left, byte for byte"
            );
        } else {
            assert_eq!(
                after, None,
                "{name}: nothing was left, the policy is deleted"
            );
        }
    }
    for (name, before) in &registry.unmatched {
        assert_eq!(policy(&client, name).await, *before, "{name} untouched");
    }

    // The second sweep finds everything right: no write at all.
    recorder.clear();
    let again = r.sweep(&options(r.config()), &NoObserver).await.unwrap();
    assert_eq!((again.applied, again.unchanged, again.failed), (0, 540, 1));
    assert_eq!(
        recorder.count("SetRepositoryPolicy") + recorder.count("DeleteRepositoryPolicy"),
        0
    );
    assert_eq!(recorder.count("GetRepositoryPolicy"), 541);
}

#[tokio::test]
async fn a_removed_rule_loses_its_statements_everywhere_and_foreign_ones_stay() {
    let moto = Moto::start();
    let (client, _) = moto.client();
    let registry = seed(&client).await;
    let r = remediator(&client, config());
    r.sweep(&options(r.config()), &NoObserver).await.unwrap();

    // Rule `push` is removed; rule `pull` narrowed by an exclusion.
    let narrowed = Config::from_json(
        r#"{"rules":[{"name":"pull","repositories":["svc/*"],"exclude":["svc/wrong-*"],
            "principals":{"accounts":["222222222222"],"organizations":["o-a1b2c3d4e5"]}}]}"#,
    )
    .unwrap();
    let r = remediator(&client, narrowed.clone());
    let report = r.sweep(&options(&narrowed), &NoObserver).await.unwrap();
    assert_eq!(report.failed, 1, "only the oversized one: {report:?}");
    assert_eq!(report.revoked, 100 + 80, "{report:?}");
    for name in registry.matching.iter().filter(|n| *n != "svc/huge") {
        let text = policy(&client, name).await;
        assert!(
            is_right(&narrowed, name, text.as_deref()),
            "{name}: {text:?}"
        );
        let text = text.unwrap_or_default();
        assert!(!text.contains("EcrPolicyRemediator-push-"), "{name}");
        if name.starts_with("svc/wrong-") {
            assert!(
                !text.contains("EcrPolicyRemediator-"),
                "{name}: excluded, nothing left"
            );
        }
    }
    for name in &registry.foreign {
        assert!(
            policy(&client, name).await.unwrap().contains(FOREIGN),
            "{name}"
        );
    }
    let again = r.sweep(&options(&narrowed), &NoObserver).await.unwrap();
    assert_eq!((again.applied, again.revoked), (0, 0), "{again:?}");
}

#[tokio::test]
async fn a_dry_run_writes_nothing_and_reports_exactly_what_the_real_run_then_does() {
    let moto = Moto::start();
    let (client, recorder) = moto.client();
    seed(&client).await;
    recorder.clear();

    let mut dry = config();
    dry.dry_run = true;
    let planned = Seen::default();
    let report = remediator(&client, dry.clone())
        .sweep(&options(&dry), &planned)
        .await
        .unwrap();
    assert_eq!(
        recorder.count("SetRepositoryPolicy") + recorder.count("DeleteRepositoryPolicy"),
        0
    );
    assert_eq!(
        (
            report.planned,
            report.applied,
            report.unchanged,
            report.revoked
        ),
        (360, 0, 180, 100)
    );

    let applied = Seen::default();
    let real = config();
    let report = remediator(&client, real.clone())
        .sweep(&options(&real), &applied)
        .await
        .unwrap();
    assert_eq!(report.applied, 360);
    assert_eq!(planned.with(Status::Planned), applied.with(Status::Applied));
    assert_eq!(
        planned.with(Status::Unchanged),
        applied.with(Status::Unchanged)
    );
}

#[tokio::test]
async fn a_repository_deleted_during_the_sweep_is_counted_not_fatal() {
    let moto = Moto::start();
    let (client, _) = moto.client();
    seed(&client).await;
    let r = remediator(&client, config());
    let opts = options(r.config());
    let r = r.paced(opts.requests_per_second);
    let listing = r.list().await.unwrap();
    for name in ["svc/no-policy-000", "svc/foreign-007", "svc/ci-right-042"] {
        client
            .delete_repository()
            .repository_name(name)
            .force(true)
            .send()
            .await
            .unwrap();
    }
    let report = r.sweep_listing(&listing, &opts, &NoObserver).await;
    assert_eq!(report.checked, 541);
    assert_eq!(report.skipped, 3, "{report:?}");
    assert_eq!(report.failed, 1, "only the oversized one: {report:?}");
    assert_eq!(report.applied, 358);
    assert!(report.complete);
}

#[tokio::test]
async fn a_sweep_stops_cleanly_before_the_deadline_and_says_how_far_it_got() {
    let moto = Moto::start();
    let (client, _) = moto.client();
    seed(&client).await;
    let r = remediator(&client, config());
    let deadline = SystemTime::now() + Duration::from_secs(6);
    let opts = SweepOptions {
        requests_per_second: 40.0,
        concurrency: 2,
        deadline: Some(deadline),
        safety_margin: Duration::from_secs(1),
        ..SweepOptions::from(&r.config().sweep)
    };
    let report = r.sweep(&opts, &NoObserver).await.unwrap();
    assert!(SystemTime::now() < deadline, "answered after the deadline");
    assert!(!report.complete, "{report:?}");
    assert!(report.not_reached > 0 && report.checked > 0, "{report:?}");
    assert_eq!(
        report.checked + report.not_reached,
        report.listed,
        "{report:?}"
    );
    let bound = report.coverage_sweeps.unwrap();
    assert!(
        bound > 1 && bound < 4 * 541 / report.checked as u64 + 1,
        "{report:?}"
    );
}

/// Sweeps with the given sweep numbers; returns every repository they checked and the largest
/// coverage bound any of them reported.
async fn sweeps(
    r: &Remediator,
    opts: &SweepOptions,
    numbers: std::ops::Range<u64>,
) -> (BTreeSet<String>, u64) {
    let covered = Seen::default();
    let mut bound = 0;
    for sweep_number in numbers {
        let o = SweepOptions {
            sweep_number,
            ..opts.clone()
        };
        let report = r.sweep(&o, &covered).await.unwrap();
        bound = bound.max(report.coverage_sweeps.unwrap());
    }
    (covered.all(), bound)
}

#[tokio::test]
async fn any_run_of_as_many_sweeps_as_a_report_states_covers_every_repository() {
    let moto = Moto::start();
    let (client, _) = moto.client();
    let registry = seed(&client).await;
    let r = remediator(&client, config());
    let budget = SweepOptions {
        budget: Some(150),
        ..options(r.config())
    };
    let first = r.sweep(&budget, &NoObserver).await.unwrap();
    assert_eq!(
        (first.checked, first.coverage_sweeps),
        (150, Some(8)),
        "{first:?}"
    );
    let mut all = registry.matching.clone();
    all.extend(registry.unmatched.iter().map(|u| u.0.clone()));
    all.extend(registry.revoked.iter().cloned());
    for start in [0, 5, 1_000_003] {
        let (covered, _) = sweeps(&r, &budget, start..start + 8).await;
        assert_eq!(covered, all, "sweeps {start}..{}", start + 8);
    }
}

/// ECR answering slowly and throttling every third read: each sweep gets through fewer
/// repositories than its pace allows, none answers after its deadline, and as many sweeps as
/// they report still cover every repository.
#[tokio::test]
async fn under_throttling_no_sweep_overruns_its_deadline_and_coverage_holds() {
    let moto =
        Moto::with_faults(r#"{"GetRepositoryPolicy":{"delaySeconds":0.25,"throttleEvery":3}}"#);
    let (client, _) = moto.client();
    let names: Vec<String> = (0..24).map(|i| format!("svc/slow-{i:02}")).collect();
    for name in &names {
        create_repository(&client, name).await;
    }
    // No SDK retries: throttling reaches the sweep's own retry at once, and each sweep's pace
    // does not depend on how much of the SDK's retry quota earlier sweeps spent.
    let (client, _) = moto.client_with(aws_sdk_ecr::config::retry::RetryConfig::disabled());
    let r = remediator(&client, config());
    let mut covered = BTreeSet::new();
    // The guarantee: if no sweep of a run reports more than B, any B consecutive sweeps (here
    // the first B, aligned at 0) check everything. Sweep until the run is as long as the
    // largest bound any of its sweeps reported.
    let mut bound = 1;
    let mut n = 0;
    while n < bound {
        let deadline = SystemTime::now() + Duration::from_secs(4);
        let seen = Seen::default();
        let opts = SweepOptions {
            concurrency: 2,
            deadline: Some(deadline),
            sweep_number: n,
            ..options(r.config())
        };
        let report = r.sweep(&opts, &seen).await.unwrap();
        assert!(
            SystemTime::now() < deadline,
            "sweep {n} answered after its deadline: {report:?}"
        );
        assert!(!report.complete && report.checked > 0, "{report:?}");
        bound = bound.max(report.coverage_sweeps.expect("each sweep checks a run"));
        covered.extend(seen.all());
        n += 1;
        assert!(n <= 64, "no bound reached");
    }
    assert_eq!(covered, names.into_iter().collect(), "after {n} sweeps");
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
    assert_eq!(out.status, Status::Swept);
    let json = serde_json::to_value(&out).unwrap();
    assert_eq!(json["trigger"], "scheduled");
    assert_eq!(json["outcome"], "swept");
    assert_eq!(json["sweep"]["applied"], 360);
    assert_eq!(json["sweep"]["revoked"], 100);
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
