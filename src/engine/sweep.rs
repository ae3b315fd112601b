//! The scheduled sweep: every repository in the registry made right, whatever happened to the
//! events.
//!
//! CloudTrail delivery is best effort, repositories older than the function never produce a
//! creation event, people rewrite policies, and rules are removed or narrowed. The sweep lists the
//! registry and converges every repository at a bounded pace: the ones a rule matches get what
//! the rules give, the others lose whatever this deployment once gave them. That costs one
//! `GetRepositoryPolicy` per repository, and a write only where something changes.
//!
//! It is stateless and deadline-bound: where each sweep starts comes from [`crate::engine::coverage`], and
//! no repository is started within the safety margin of the Lambda deadline, nor kept past half
//! of it, whatever ECR does.

use std::collections::HashMap;
use std::time::{Duration, SystemTime};

use futures_util::stream::{self, StreamExt};
use tokio::time::Instant;
use tracing::{info, warn};

use crate::config::sweep::SweepSettings;
use crate::ecr::EcrError;
use crate::engine::converge::{Cause, Remediator};
use crate::engine::coverage;
use crate::engine::metrics;
use crate::engine::outcome::{DocumentReport, Status, SweepReport};
use crate::event::Trigger;
use crate::policy::trust::{Finding, Revocation};
use crate::policy::Change;

/// Most failed repositories named in a report; the count has them all.
const MAX_FAILED_NAMES: usize = 20;

/// How one sweep runs.
#[derive(Debug, Clone)]
pub struct SweepOptions {
    /// Repositories converged at once.
    pub concurrency: usize,
    /// ECR requests per second for the whole sweep.
    pub requests_per_second: f64,
    /// No repository is started after `deadline - safety_margin`, and none is waited for after
    /// `deadline - safety_margin / 2`.
    pub deadline: Option<SystemTime>,
    /// How long before the deadline the sweep stops starting and waiting.
    pub safety_margin: Duration,
    /// Most repositories this sweep takes on. `None`: as many as the deadline allows.
    pub budget: Option<usize>,
    /// Where this sweep starts: the bit-reversed fraction of the sorted listing (`engine/coverage.rs`).
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

/// One repository's result in a sweep.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepositoryResult {
    /// The repository.
    pub repository: String,
    /// The rules that match it.
    pub rules: Vec<String>,
    /// How it ended.
    pub status: Status,
    /// Why, when the status alone does not say it.
    pub reason: Option<String>,
    /// The policy before and after, when a change was written or planned (`after` is `None` when
    /// the policy is deleted).
    pub before: Option<String>,
    /// Its policy written or planned; `None` when deleted (or never there).
    pub after: Option<String>,
    /// What changed, by `Sid`.
    pub change: Option<Change>,
    /// The principals outside the trust boundary in its policy.
    pub untrusted: Vec<Finding>,
    /// What `revoke` mode took out of its policy (or, in a dry run, would).
    pub revocation: Option<Revocation>,
}

/// Watches a sweep as it goes (the command line's progress bar and diffs).
pub trait SweepObserver: Sync {
    /// The number of repositories this sweep will take on, once known.
    fn started(&self, _total: usize) {}
    /// Called once per repository, as it finishes.
    fn repository(&self, _result: &RepositoryResult) {}
    /// The registry policy or a creation template, converged.
    fn document(&self, _result: &DocumentReport) {}
}

/// Watches nothing.
pub struct NoObserver;
impl SweepObserver for NoObserver {}

/// The registry's repositories, sorted, from one listing.
#[derive(Debug, Clone, Default)]
pub struct Listing {
    pub names: Vec<String>,
    /// When each repository was created (seconds since the epoch), where ECR said.
    pub created_at: HashMap<String, i64>,
    /// How many of them some rule matches.
    pub matching: usize,
}

/// When a sweep stops starting repositories, and when it stops waiting for them.
#[derive(Debug, Clone, Copy)]
struct Stops {
    start_by: Option<Instant>,
    done_by: Option<Instant>,
}

impl Stops {
    fn new(options: &SweepOptions) -> Self {
        let Some(deadline) = options.deadline else {
            return Stops {
                start_by: None,
                done_by: None,
            };
        };
        let left = deadline
            .duration_since(SystemTime::now())
            .unwrap_or_default();
        // A margin longer than the time itself (a function with a short timeout, or a local
        // emulator) would leave nothing to sweep: keep at most a quarter of the time left.
        let margin = options.safety_margin.min(left / 4);
        let now = Instant::now();
        Stops {
            start_by: Some(now + left.saturating_sub(margin)),
            done_by: Some(now + left.saturating_sub(margin / 2)),
        }
    }

    fn may_start(&self) -> bool {
        self.start_by.is_none_or(|t| Instant::now() < t)
    }

    /// Runs `work` until it ends or the sweep must answer; `None` when it was cut short.
    async fn bounded<T>(&self, work: impl std::future::Future<Output = T>) -> Option<T> {
        match self.done_by {
            Some(t) => tokio::time::timeout_at(t, work).await.ok(),
            None => Some(work.await),
        }
    }
}

impl Remediator {
    /// Lists the registry, one `DescribeRepositories` page per 1,000 repositories.
    pub async fn list(&self) -> Result<Listing, EcrError> {
        let mut names = Vec::new();
        let mut created_at = HashMap::new();
        let mut token = None;
        loop {
            let (page, next) = self.ecr.list_repositories(&self.registry_id, token).await?;
            for listed in page {
                if let Some(t) = listed.created_at {
                    created_at.insert(listed.name.clone(), t);
                }
                names.push(listed.name);
            }
            match next {
                Some(next) => token = Some(next),
                None => break,
            }
        }
        names.sort();
        let matching = names
            .iter()
            .filter(|n| self.config.matching(n).next().is_some())
            .count();
        Ok(Listing {
            names,
            created_at,
            matching,
        })
    }

    /// Lists the registry and sweeps it. `Err` only if the listing fails or outlasts the
    /// deadline: one repository's failure is counted, never fatal.
    pub async fn sweep(
        &self,
        options: &SweepOptions,
        observer: &dyn SweepObserver,
    ) -> Result<SweepReport, EcrError> {
        // Every call of the sweep waits its turn at the configured rate.
        let paced = self.paced(options.requests_per_second);
        let stops = Stops::new(options);
        let listing = stops.bounded(paced.list()).await.ok_or_else(|| {
            EcrError::Timeout("the registry's listing did not finish before the deadline".into())
        })??;
        let documents = stops
            .bounded(paced.converge_registry())
            .await
            .unwrap_or_else(|| {
                vec![DocumentReport::new("registry documents", Status::Skipped)
                    .because("not reached before the deadline; the next sweep does them")]
            });
        crate::engine::documents::log_document_changes(&documents, Cause::of(Trigger::Scheduled));
        for d in &documents {
            if d.status == Status::Failed {
                let reason = d.reason.as_deref().unwrap_or_default();
                warn!(document = %d.document, reason, "registry document swept");
            }
            observer.document(d);
        }
        let mut report = paced.sweep_listing(&listing, options, observer).await;
        for d in &documents {
            report.untrusted_grants += d.untrusted.len();
            report.untrusted_revoked += d.revocation.as_ref().map_or(0, |r| r.revoked.len());
        }
        Ok(SweepReport {
            documents,
            ..report
        })
    }

    /// Sweeps the repositories of an earlier listing.
    pub async fn sweep_listing(
        &self,
        listing: &Listing,
        options: &SweepOptions,
        observer: &dyn SweepObserver,
    ) -> SweepReport {
        let stops = Stops::new(options);
        let names = &listing.names;
        let n = names.len();
        let start = coverage::start(options.sweep_number, n);
        let budget = options.budget.unwrap_or(n).min(n);
        let order: Vec<&str> = names[start..]
            .iter()
            .chain(&names[..start])
            .take(budget)
            .map(String::as_str)
            .collect();
        observer.started(order.len());
        let mut report = SweepReport {
            listed: n,
            matching: listing.matching,
            start,
            ..SweepReport::default()
        };
        // Which positions of `order` got a result: the coverage bound rests on the unbroken run
        // from the start.
        let mut done = vec![false; order.len()];
        let work = order
            .iter()
            .enumerate()
            .map(|(i, name)| async move { (i, self.sweep_one(name, stops).await) });
        let mut results = stream::iter(work).buffer_unordered(options.concurrency.max(1));
        let now = crate::engine::clock::epoch_now();
        while let Some((i, result)) = results.next().await {
            match result {
                Some(r) => {
                    done[i] = true;
                    let created_at = listing.created_at.get(&r.repository).copied();
                    if r.status == Status::Applied
                        && metrics::is_missed_event(created_at, now, r.change.as_ref())
                    {
                        report.missed_events += 1;
                    }
                    record(&mut report, &r, observer)
                }
                None => report.not_reached += 1,
            }
        }
        drop(results);
        report.not_reached += n - order.len();
        report.complete = report.not_reached == 0;
        let unbroken = done.iter().take_while(|d| **d).count();
        report.coverage_sweeps = coverage::bound(n, unbroken);
        report
    }

    /// One repository; `None` when the deadline came first. Throttling that outlasted the SDK's
    /// own retries is tried once more after a pause, in place: a repository near the start of
    /// the sweep must not leave a hole in the run the coverage bound rests on.
    async fn sweep_one(&self, repository: &str, stops: Stops) -> Option<RepositoryResult> {
        if !stops.may_start() {
            return None;
        }
        let mut converged = stops
            .bounded(self.converge(repository, Cause::of(Trigger::Scheduled)))
            .await?;
        if converged.as_ref().is_err_and(EcrError::is_retryable) {
            stops
                .bounded(tokio::time::sleep(Duration::from_secs(1)))
                .await?;
            converged = stops
                .bounded(self.converge(repository, Cause::of(Trigger::Scheduled)))
                .await?;
        }
        let mut result = RepositoryResult {
            repository: repository.to_string(),
            rules: self
                .config
                .matching(repository)
                .map(|r| r.name.clone())
                .collect(),
            status: Status::Failed,
            reason: None,
            before: None,
            after: None,
            change: None,
            untrusted: Vec::new(),
            revocation: None,
        };
        match converged {
            Ok(c) => {
                (result.status, result.reason) = c.explained();
                (result.before, result.after, result.change) = (c.before, c.after, c.change);
                (result.untrusted, result.revocation) = (c.untrusted, c.revocation);
            }
            Err(e) => result.reason = Some(e.to_string()),
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

fn record(report: &mut SweepReport, r: &RepositoryResult, observer: &dyn SweepObserver) {
    report.checked += 1;
    let reason = r.reason.as_deref().unwrap_or_default();
    let rules = r.rules.join(",");
    let revoked = r.change.as_ref().is_some_and(|c| !c.removed.is_empty());
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
    let written = matches!(r.status, Status::Applied | Status::Planned);
    if revoked && written {
        report.revoked += 1;
    }
    report.untrusted_grants += r.untrusted.len();
    if let (true, Some(revocation)) = (written, &r.revocation) {
        report.untrusted_revoked += revocation.revoked.len();
    }
    let outcome = r.status.as_str();
    match r.status {
        Status::Applied | Status::Planned => {
            info!(repository = %r.repository, outcome, rules, reason, "repository swept")
        }
        Status::Failed | Status::Skipped => {
            warn!(repository = %r.repository, outcome, rules, reason, "repository swept")
        }
        _ => {}
    }
    observer.repository(r);
}

#[cfg(test)]
mod tests;
