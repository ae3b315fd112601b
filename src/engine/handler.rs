//! One event in, one outcome out: the path shared by the Lambda and `ecr-policy-remediator handle`.

use std::time::{Duration, SystemTime};

use serde_json::Value;
use tracing::{debug, warn};

use crate::config::Rule;
use crate::ecr::{Creation, EcrError};
use crate::engine::clock::epoch_now;
use crate::engine::converge::{Cause, Converged, Remediator};
use crate::engine::outcome::{Outcome, RetryableError, Status};
use crate::engine::sweep::{NoObserver, SweepOptions};
use crate::event::{Classified, Event, Schedule, Target, Trigger};
use crate::names::caller::Caller;

/// Why the event of a change the function made itself needs nothing.
const OWN_WRITE: &str = "the function's own write: nothing to check";

/// How long after an event IAM's "Principal not found" may still be its propagation delay, and
/// so worth Lambda's retries (one after about a minute, one after about two more). Past it, the
/// principal is taken to be gone, and the outcome is `failed`.
pub(crate) const PRINCIPAL_RETRY_WINDOW: Duration = Duration::from_secs(10 * 60);

impl Remediator {
    /// Handles one event and logs its outcome. `Err` only for what a retry may fix. `deadline` is
    /// the Lambda's: a sweep stops before it.
    pub async fn handle(
        &self,
        raw: &Value,
        deadline: Option<SystemTime>,
    ) -> Result<Outcome, RetryableError> {
        let event = Event::classify(raw);
        let mut result = self.handle_classified(&event, deadline).await;
        let outcome = match &mut result {
            Ok(outcome) => outcome,
            Err(e) => &mut e.outcome,
        };
        outcome.event_age_seconds = event_age(outcome, event.time, epoch_now());
        if let Some(failure) = &event.sync_failure {
            crate::engine::metrics::pull_through_cache_failure(failure);
            outcome.reason = Some(failure.reason(outcome.reason.as_deref()));
        }
        outcome.log();
        crate::engine::metrics::record(outcome);
        result
    }

    /// Whether a change was made by the function's own role (when it knows it).
    fn own_write(&self, by: Option<&str>) -> bool {
        self.self_role.is_some() && by == self.self_role.as_deref()
    }

    async fn handle_classified(
        &self,
        event: &Event,
        deadline: Option<SystemTime>,
    ) -> Result<Outcome, RetryableError> {
        let new = |trigger, status| Outcome::new(event.id.clone(), trigger, status);
        let (trigger, target, caller, by) = match &event.classified {
            Classified::Skip { trigger, reason } => {
                return Ok(new(*trigger, Status::Skipped).because(reason))
            }
            Classified::Invalid { trigger, reason } => {
                return Ok(new(*trigger, Status::Failed).because(reason))
            }
            Classified::Scheduled(schedule) => {
                return Ok(self
                    .scheduled(new(Trigger::Scheduled, Status::Skipped), schedule, deadline)
                    .await)
            }
            Classified::RegistryChanged {
                registry_id,
                region,
                changed_by,
            } => {
                let out = new(Trigger::RegistryChanged, Status::Skipped);
                let by = changed_by.as_deref();
                if self.own_write(by) {
                    return Ok(out.because(OWN_WRITE));
                }
                return self.registry_changed(out, registry_id, region, by).await;
            }
            Classified::Native { trigger, target } => (*trigger, target, None, None),
            Classified::RepositoryCreated { target, created_by } => (
                Trigger::RepositoryCreated,
                target,
                None,
                created_by.as_deref(),
            ),
            Classified::PullDenied { target, caller } => {
                let by = caller.principal_arn.as_deref();
                (Trigger::PullDenied, target, Some(caller), by)
            }
            Classified::PolicyChanged { target, changed_by } => {
                (Trigger::PolicyChanged, target, None, changed_by.as_deref())
            }
        };
        let mut out = new(trigger, Status::Skipped);
        out.repository = Some(target.repository.clone());
        if trigger == Trigger::PolicyChanged && self.own_write(by) {
            return Ok(out.because(OWN_WRITE));
        }
        if let Some(reason) = self.foreign(target) {
            return Ok(out.because(reason));
        }
        let cause = Cause {
            trigger,
            caller: by,
        };
        let converged = self.repository(target, caller, cause).await;
        finish(out, converged, event.time)
    }

    /// Converges the repository an event names; a denied pull of one that does not exist may
    /// create it.
    async fn repository(
        &self,
        target: &Target,
        caller: Option<&Caller>,
        cause: Cause<'_>,
    ) -> Result<Converged, EcrError> {
        let rules: Vec<&Rule> = self.config.matching(&target.repository).collect();
        if let Some(caller) = caller.filter(|c| c.is_named()) {
            if !rules.iter().any(|r| r.names_caller(caller)) {
                crate::engine::metrics::unnamed_caller_pull();
                warn!(
                    repository = %target.repository,
                    caller_account = caller.account.as_deref().unwrap_or_default(),
                    caller_principal = caller.principal_arn.as_deref().unwrap_or_default(),
                    matching_rules = %rules.iter().map(|r| r.name.as_str()).collect::<Vec<_>>().join(","),
                    "denied pull from a caller that no matching rule names"
                );
            }
        }
        let converged = self.converge(&target.repository, cause).await?;
        if let (true, Some(caller)) = (converged.missing, caller) {
            return self
                .create_on_denied_pull(&target.repository, &rules, caller, converged, cause)
                .await;
        }
        // A policy with grants outside the trust boundary is reported, not skipped, even where
        // no rule matches.
        let quiet = converged.status == Status::Unchanged && converged.untrusted.is_empty();
        if quiet && rules.is_empty() {
            return Ok(converged.ended(
                Status::Skipped,
                "no rule matches this repository, and its policy holds no statement of this \
                 deployment",
            ));
        }
        Ok(converged)
    }

    async fn scheduled(
        &self,
        out: Outcome,
        schedule: &Schedule,
        deadline: Option<SystemTime>,
    ) -> Outcome {
        let account = schedule.account.as_deref().unwrap_or(&self.registry_id);
        let region = schedule.region.as_deref().unwrap_or(&self.region);
        if account != self.registry_id || region != self.region {
            return out.because(format!(
                "the schedule belongs to account {account} in {region}; this function manages \
                 registry {} in {}",
                self.registry_id, self.region
            ));
        }
        let settings = &self.config.sweep;
        let at = schedule.time.unwrap_or_else(epoch_now).max(0) as u64;
        let options = SweepOptions {
            deadline,
            sweep_number: at / (settings.interval_minutes * 60),
            ..SweepOptions::from(settings)
        };
        let rules = self.config.rules.iter().map(|r| r.name.clone()).collect();
        match self.sweep(&options, &NoObserver).await {
            // An asynchronous invocation's answer is thrown away: the summary must be in the log.
            Ok(report) => Outcome {
                reason: Some(sweep_summary(&report)),
                status: Status::Swept,
                rules,
                sweep: Some(report),
                ..out
            },
            Err(e) => Outcome {
                status: Status::Failed,
                rules,
                ..out
            }
            .because(format!("the sweep could not list the registry: {e}")),
        }
    }

    /// Someone changed the registry policy or a creation template: converge them all (one read
    /// each, a write only where something changes).
    async fn registry_changed(
        &self,
        out: Outcome,
        registry_id: &str,
        region: &str,
        changed_by: Option<&str>,
    ) -> Result<Outcome, RetryableError> {
        let cause = Cause {
            trigger: Trigger::RegistryChanged,
            caller: changed_by,
        };
        if registry_id != self.registry_id || region != self.region {
            return Ok(out.because(format!(
                "the event concerns registry {registry_id} in {region}; this function manages \
                 registry {} in {}",
                self.registry_id, self.region
            )));
        }
        let documents = self.converge_registry().await;
        crate::engine::documents::log_document_changes(&documents, cause);
        let out = Outcome {
            status: crate::engine::outcome::overall(&documents),
            ..out
        };
        if let Some(d) = documents.iter().find(|d| d.retryable) {
            let reason = format!(
                "{}: {} (retryable)",
                d.document,
                d.reason.clone().unwrap_or_default()
            );
            return Err(RetryableError {
                outcome: Box::new(Outcome {
                    documents,
                    ..out.because(reason)
                }),
                source: None,
            });
        }
        Ok(Outcome { documents, ..out })
    }

    /// Says why an event about another registry or region is not ours.
    fn foreign(&self, t: &Target) -> Option<String> {
        (t.registry_id != self.registry_id || t.region != self.region).then(|| {
            format!(
                "the event concerns registry {} in {}; this function manages registry {} in {}",
                t.registry_id, t.region, self.registry_id, self.region
            )
        })
    }

    /// A denied pull of a repository that does not exist: create it only for a caller that a
    /// matching rule with `createOnDeniedPull` names explicitly. Being denied must not be a way to
    /// create repositories in someone else's registry.
    async fn create_on_denied_pull(
        &self,
        repository: &str,
        rules: &[&Rule],
        caller: &Caller,
        not_found: Converged,
        cause: Cause<'_>,
    ) -> Result<Converged, EcrError> {
        let allowed = rules
            .iter()
            .any(|r| r.create_on_denied_pull && r.names_caller(caller));
        if !allowed {
            return Ok(not_found.ended(
                Status::Skipped,
                "the repository does not exist, and no matching rule with createOnDeniedPull \
                 names the caller",
            ));
        }
        if self.config.dry_run {
            let reason = "dry run: the repository would be created and its policy attached";
            return Ok(not_found.ended(Status::Planned, reason));
        }
        let creation = self
            .ecr
            .create_repository(&self.registry_id, repository)
            .await?;
        debug!(repository, ?creation, "repository created on a denied pull");
        let converged = self.converge(repository, cause).await?;
        let fresh = matches!(converged.status, Status::Applied | Status::Unchanged);
        Ok(match creation {
            Creation::Created if fresh => Converged {
                status: Status::Created,
                ..converged
            },
            _ => converged,
        })
    }
}

/// One sentence with a sweep's counts, for the outcome's reason and so its log line.
fn sweep_summary(r: &crate::engine::outcome::SweepReport) -> String {
    let documents_failed = r
        .documents
        .iter()
        .filter(|d| d.status == Status::Failed)
        .count();
    format!(
        "listed {}, checked {}, applied {}, revoked {}, failed {} (and {} of the registry's \
         documents), not reached {}; every repository within {} consecutive sweeps at this pace",
        r.listed,
        r.checked,
        r.applied,
        r.revoked,
        r.failed,
        documents_failed,
        r.not_reached,
        r.coverage_sweeps
            .map_or_else(|| "an unknown number of".to_string(), |b| b.to_string())
    )
}

/// The outcome of a converged repository; `Err` for what Lambda's retries may fix.
fn finish(
    out: Outcome,
    converged: Result<Converged, EcrError>,
    event_time: Option<i64>,
) -> Result<Outcome, RetryableError> {
    let converged = match converged {
        Ok(c) => c,
        Err(e) if e.is_retryable() => {
            return Err(RetryableError {
                outcome: Box::new(Outcome {
                    status: Status::Failed,
                    ..out.because(format!("{e} (retryable)"))
                }),
                source: Some(e),
            })
        }
        Err(e) => {
            return Ok(Outcome {
                status: Status::Failed,
                ..out.because(e.to_string())
            })
        }
    };
    let (status, reason) = converged.explained();
    let out = Outcome {
        status,
        rules: converged.rules,
        reason,
        untrusted: converged.untrusted,
        ..out
    };
    if converged.unknown_principal && is_young(event_time) {
        let reason = out.reason.clone().unwrap_or_default();
        return Err(RetryableError {
            outcome: Box::new(out.because(format!(
                "{reason} (retryable while IAM may still be propagating)"
            ))),
            source: None,
        });
    }
    Ok(out)
}

/// How long after the event its outcome came, for outcomes that looked at a document: how long
/// a pod may have waited for its grant. Sweeps and skipped events have no such age.
fn event_age(outcome: &Outcome, event_time: Option<i64>, now: i64) -> Option<u64> {
    let looked = !matches!(outcome.status, Status::Skipped | Status::Swept);
    let timed = !matches!(outcome.trigger, Trigger::Scheduled | Trigger::Unrecognized);
    let time = event_time.filter(|_| looked && timed)?;
    Some(now.saturating_sub(time).max(0) as u64)
}

/// Whether an event is recent enough that IAM may not have propagated a new principal yet.
fn is_young(event_time: Option<i64>) -> bool {
    let now = epoch_now();
    event_time.is_some_and(|t| now.saturating_sub(t) < PRINCIPAL_RETRY_WINDOW.as_secs() as i64)
}
