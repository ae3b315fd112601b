//! Sweeps of 1,000 and 5,000 repositories on moto: requests per repository by operation and
//! repositories per second, for a first sweep (no repository has a policy), a second one (every
//! repository is already right), a third after the rule was removed (every grant is taken back,
//! every policy deleted) and a fourth (nothing left to take back). Prints numbers; asserts
//! nothing but the counts.
//!
//! `cargo bench --bench sweep` (needs `make venv` for moto). The pace is uncapped here, so the
//! figures measure the function and the emulator; in production the configured rate cap is the
//! limit.

#[path = "../tests/common/mod.rs"]
mod common;

use std::time::Instant;

use common::*;
use ecr_policy_remediator::Config;
use ecr_policy_remediator::{NoObserver, SweepOptions};
use futures_util::stream::{self, StreamExt};

const CONFIG: &str = r#"{"rules":[{"name":"fleet","repositories":["fleet/*"],
  "principals":{"accounts":["222222222222"],"organizations":["o-a1b2c3d4e5"]}}]}"#;
/// The same registry once rule `fleet` is gone.
const REMOVED: &str = r#"{"rules":[{"name":"elsewhere","repositories":["elsewhere/*"],
  "principals":{"accounts":["222222222222"]}}]}"#;

fn main() {
    // `cargo bench` passes --bench; `cargo test --benches` passes nothing we need.
    let sizes: Vec<usize> = match std::env::var("SWEEP_BENCH_SIZES") {
        Ok(s) => s.split(',').filter_map(|n| n.trim().parse().ok()).collect(),
        Err(_) => vec![1_000, 5_000],
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    println!(
        "{:>6} {:<7} {:>10} {:>12} {:>12} {:>12} {:>12} {:>10}",
        "repos",
        "sweep",
        "seconds",
        "Describe/rp",
        "GetPolicy/rp",
        "SetPolicy/rp",
        "DelPolicy/rp",
        "repos/s"
    );
    for n in sizes {
        rt.block_on(bench(n));
    }
}

async fn bench(n: usize) {
    let moto = Moto::start();
    let (client, recorder) = moto.client();
    let names: Vec<String> = (0..n).map(|i| format!("fleet/svc-{i:05}")).collect();
    stream::iter(names.iter())
        .for_each_concurrent(16, |name| create_repository(&client, name))
        .await;
    for (label, rules) in [
        ("first", CONFIG),
        ("second", CONFIG),
        ("revoke", REMOVED),
        ("after", REMOVED),
    ] {
        let config = Config::from_json(rules).unwrap();
        let options = SweepOptions {
            requests_per_second: 1_000_000.0,
            concurrency: 8,
            ..SweepOptions::from(&config.sweep)
        };
        let remediator = remediator(&client, config);
        recorder.clear();
        let started = Instant::now();
        let report = remediator.sweep(&options, &NoObserver).await.unwrap();
        let seconds = started.elapsed().as_secs_f64();
        assert_eq!(report.checked, n);
        let per = |op: &str| recorder.count(op) as f64 / n as f64;
        println!(
            "{n:>6} {label:<7} {seconds:>10.2} {:>12.4} {:>12.4} {:>12.4} {:>12.4} {:>10.0}",
            per("DescribeRepositories"),
            per("GetRepositoryPolicy"),
            per("SetRepositoryPolicy"),
            per("DeleteRepositoryPolicy"),
            n as f64 / seconds
        );
    }
}
