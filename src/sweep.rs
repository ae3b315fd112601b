//! The scheduled sweep: every repository that matches a rule, made right, whatever happened to
//! the events.
//!
//! CloudTrail delivery is best effort, repositories older than the function never produce a
//! creation event, and people rewrite policies. The sweep lists the registry, skips what no rule
//! matches (it costs nothing beyond the listing), and converges the rest at a bounded pace.
//!
//! It is stateless and deadline-bound: the matching names, sorted, are cut into as many equal
//! shards as one sweep can take on before the Lambda deadline, and sweep number `n` (the
//! scheduled time divided by the schedule's period) starts at shard `n mod shards`, then carries
//! on into the next ones while time remains. Successive sweeps therefore start at successive
//! shards and together cover every matching repository, with nothing stored between them.

use std::num::NonZeroU32;
use std::time::{Duration, SystemTime};

use futures_util::stream::{self, StreamExt};
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use serde::Serialize;
use tracing::{info, warn};

use crate::ecr::EcrError;
use crate::handler::{status_of, Remediator, Status};
use crate::rules::{Rule, SweepSettings};

/// The request-rate cap every ECR request of a sweep waits on.
pub type Pacer = DefaultDirectRateLimiter;

/// Most failed repositories named in a report; the count has them all.
const MAX_FAILED_NAMES: usize = 20;

/// Makes a pacer of `requests_per_second` (one request at a time, no bursts).
pub fn pacer(requests_per_second: f64) -> Pacer {
    let period = Duration::from_secs_f64(1.0 / requests_per_second.clamp(0.001, 1_000_000.0));
    let quota = Quota::with_period(period)
        .unwrap_or_else(|| Quota::per_second(NonZeroU32::MAX))
        .allow_burst(NonZeroU32::MIN);
    RateLimiter::direct(quota)
}

/// How one sweep runs.
#[derive(Debug, Clone)]
pub struct SweepOptions {
    pub concurrency: usize,
    pub requests_per_second: f64,
    /// No repository is started after `deadline - safety_margin`.
    pub deadline: Option<SystemTime>,
    pub safety_margin: Duration,
    /// Most repositories this sweep takes on. `None`: as many as the deadline allows at the
    /// configured pace, or all of them without a deadline.
    pub budget: Option<usize>,
    /// Which shard this sweep starts at (modulo the number of shards).
    pub sweep_number: u64,
}

impl From<&SweepSettings> for SweepOptions {
    fn from(s: &SweepSettings) -> Self {
        SweepOptions {
            concurrency: s.concurrency,
            requests_per_second: s.requests_per_second,
            deadline: None,
            safety_margin: Duration::from_secs(s.safety_margin_seconds),
            budget: None,
            sweep_number: 0,
        }
    }
}

/// What one sweep did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SweepReport {
    /// Repositories in the registry.
    pub listed: usize,
    /// Repositories some rule matches.
    pub matching: usize,
    pub checked: usize,
    pub applied: usize,
    pub unchanged: usize,
    pub planned: usize,
    pub skipped: usize,
    pub failed: usize,
    /// The first failed repositories, with their reasons.
    pub failed_repositories: Vec<String>,
    /// The shard this sweep started at, of how many.
    pub shard: usize,
    pub shards: usize,
    /// Matching repositories this sweep did not reach (deadline or budget); later sweeps do.
    pub not_reached: usize,
    pub complete: bool,
}

/// One repository's result in a sweep.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepositoryResult {
    pub repository: String,
    pub rules: Vec<String>,
    pub status: Status,
    pub reason: Option<String>,
    /// The policy before and after, when a change was written or planned.
    pub before: Option<String>,
    pub after: Option<String>,
    retryable: bool,
}

/// Watches a sweep as it goes (the command line's progress bar and diffs).
pub trait SweepObserver: Sync {
    /// The number of repositories this sweep will take on, once known.
    fn started(&self, _total: usize) {}
    fn repository(&self, _result: &RepositoryResult) {}
}

/// Watches nothing.
pub struct NoObserver;
impl SweepObserver for NoObserver {}

/// The registry's matching repositories, sorted, from one listing.
#[derive(Debug, Clone, Default)]
pub struct Listing {
    pub listed: usize,
    pub matching: Vec<String>,
}

impl Remediator {
    /// Lists the registry (one `DescribeRepositories` page per 1,000 repositories) and keeps the
    /// names some rule matches.
    pub async fn list_matching(&self, pacer: &Pacer) -> Result<Listing, EcrError> {
        let mut listing = Listing::default();
        let mut token = None;
        loop {
            pacer.until_ready().await;
            let (names, next) = self.ecr.list_repositories(&self.registry_id, token).await?;
            listing.listed += names.len();
            listing.matching.extend(
                names
                    .into_iter()
                    .filter(|n| self.config.matching(n).next().is_some()),
            );
            match next {
                Some(next) => token = Some(next),
                None => break,
            }
        }
        listing.matching.sort();
        Ok(listing)
    }

    /// Lists the registry and sweeps it. `Err` only if the listing fails: one repository's
    /// failure is counted, never fatal.
    pub async fn sweep(
        &self,
        options: &SweepOptions,
        observer: &dyn SweepObserver,
    ) -> Result<SweepReport, EcrError> {
        let pacer = pacer(options.requests_per_second);
        let listing = self.list_matching(&pacer).await?;
        Ok(self
            .sweep_listing(&listing, options, &pacer, observer)
            .await)
    }

    /// Sweeps the repositories of an earlier listing.
    pub async fn sweep_listing(
        &self,
        listing: &Listing,
        options: &SweepOptions,
        pacer: &Pacer,
        observer: &dyn SweepObserver,
    ) -> SweepReport {
        // A margin longer than the time itself (a function with a short timeout, or a local
        // emulator) would leave nothing to sweep: keep at most a quarter of the time left.
        let options = &SweepOptions {
            safety_margin: options.deadline.map_or(options.safety_margin, |d| {
                let left = d.duration_since(SystemTime::now()).unwrap_or_default();
                options.safety_margin.min(left / 4)
            }),
            ..options.clone()
        };
        let names = &listing.matching;
        let n = names.len();
        let budget = options
            .budget
            .or_else(|| {
                // One request per compliant repository at the configured pace, with a tenth
                // kept in reserve for the writes and the throttling the pace cannot foresee.
                let available = time_left(options)?;
                Some((available.as_secs_f64() * options.requests_per_second * 0.9) as usize)
            })
            .unwrap_or(n)
            .max(1);
        let shards = n.div_ceil(budget).max(1);
        let shard = (options.sweep_number % shards as u64) as usize;
        let start = (shard * n.div_ceil(shards)).min(n);
        let order: Vec<usize> = (start..n).chain(0..start).take(budget).collect();
        observer.started(order.len());

        let mut report = SweepReport {
            listed: listing.listed,
            matching: n,
            shard,
            shards,
            ..SweepReport::default()
        };
        let mut retry = Vec::new();
        let mut results = stream::iter(
            order
                .iter()
                .map(|&i| self.sweep_one(&names[i], options, pacer)),
        )
        .buffer_unordered(options.concurrency.max(1));
        while let Some(result) = results.next().await {
            match result {
                // Throttling that outlasted the SDK's own retries: try once more at the end,
                // after the others, instead of failing the repository now.
                Some(r) if r.retryable => retry.push(r.repository),
                Some(r) => record(&mut report, &r, observer),
                None => report.not_reached += 1,
            }
        }
        drop(results);
        if !retry.is_empty() {
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        for name in retry {
            match self.sweep_one(&name, options, pacer).await {
                Some(r) => record(&mut report, &r, observer),
                None => report.not_reached += 1,
            }
        }
        report.not_reached += n - order.len();
        report.complete = report.not_reached == 0;
        report
    }

    async fn sweep_one(
        &self,
        repository: &str,
        options: &SweepOptions,
        pacer: &Pacer,
    ) -> Option<RepositoryResult> {
        if time_left(options).is_some_and(|t| t.is_zero()) {
            return None;
        }
        let rules: Vec<&Rule> = self.config.matching(repository).collect();
        let mut result = RepositoryResult {
            repository: repository.to_string(),
            rules: rules.iter().map(|r| r.name.clone()).collect(),
            status: Status::Failed,
            reason: None,
            before: None,
            after: None,
            retryable: false,
        };
        match self.converge(repository, &rules, Some(pacer)).await {
            Ok(converged) => {
                (result.status, result.reason) = status_of(converged.step);
                result.before = converged.before;
                result.after = converged.after;
            }
            Err(e) => {
                result.retryable = e.is_retryable();
                result.reason = Some(e.to_string());
            }
        }
        Some(result)
    }
}

/// The invocation deadline from the Lambda context's milliseconds. Lambda sends the epoch time;
/// `cargo lambda watch` sends the function timeout itself (600000), which taken as an epoch time
/// would be 1970 and leave a sweep no time at all. Values too small to be a date this century
/// are read as a duration from now.
pub fn deadline_from_context(deadline_ms: u64, now: SystemTime) -> SystemTime {
    const YEAR_2000_MS: u64 = 946_684_800_000;
    if deadline_ms >= YEAR_2000_MS {
        SystemTime::UNIX_EPOCH + Duration::from_millis(deadline_ms)
    } else {
        now + Duration::from_millis(deadline_ms)
    }
}

/// Time left before the deadline's safety margin; `None` without a deadline.
fn time_left(options: &SweepOptions) -> Option<Duration> {
    let deadline = options.deadline?;
    let stop = deadline
        .checked_sub(options.safety_margin)
        .unwrap_or(SystemTime::UNIX_EPOCH);
    Some(stop.duration_since(SystemTime::now()).unwrap_or_default())
}

fn record(report: &mut SweepReport, r: &RepositoryResult, observer: &dyn SweepObserver) {
    report.checked += 1;
    let reason = r.reason.as_deref().unwrap_or_default();
    let rules = r.rules.join(",");
    match r.status {
        Status::Applied => report.applied += 1,
        Status::Unchanged => report.unchanged += 1,
        Status::Planned => report.planned += 1,
        Status::Skipped => report.skipped += 1,
        Status::Failed | Status::Created | Status::Swept => {
            report.failed += 1;
            if report.failed_repositories.len() < MAX_FAILED_NAMES {
                report
                    .failed_repositories
                    .push(format!("{}: {reason}", r.repository));
            }
        }
    }
    match r.status {
        Status::Applied | Status::Planned => {
            info!(repository = %r.repository, outcome = ?r.status, rules, "repository swept")
        }
        Status::Failed | Status::Skipped => {
            warn!(repository = %r.repository, outcome = ?r.status, rules, reason, "repository swept")
        }
        _ => {}
    }
    observer.repository(r);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lambda_deadlines_are_epoch_milliseconds() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_795_000_000);
        let d = deadline_from_context(1_795_000_900_000, now);
        assert_eq!(d.duration_since(now).unwrap(), Duration::from_secs(900));
    }

    #[test]
    fn the_emulators_timeout_is_read_as_time_from_now() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_795_000_000);
        let d = deadline_from_context(600_000, now);
        assert_eq!(d.duration_since(now).unwrap(), Duration::from_secs(600));
    }

    #[test]
    fn the_margin_never_eats_the_whole_sweep_and_budget_follows_the_pace() {
        let options = SweepOptions {
            concurrency: 1,
            requests_per_second: 10.0,
            deadline: Some(SystemTime::now() + Duration::from_secs(100)),
            safety_margin: Duration::from_secs(20),
            budget: None,
            sweep_number: 0,
        };
        let left = time_left(&options).unwrap();
        assert!(
            left <= Duration::from_secs(80) && left > Duration::from_secs(78),
            "{left:?}"
        );
        let none = SweepOptions {
            deadline: None,
            ..options
        };
        assert_eq!(time_left(&none), None);
    }
}
