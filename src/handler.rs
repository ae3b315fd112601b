//! One event in, one outcome out: the path shared by the Lambda and `ecr-policy-remediator handle`.

use std::time::SystemTime;

use aws_config::SdkConfig;
use serde::Serialize;
use serde_json::Value;
use tracing::{debug, info, warn};

use crate::ecr::{Creation, Ecr, EcrError};
use crate::event::{Classified, Event, Schedule, Target, Trigger};
use crate::policy::{self, Plan};
use crate::rules::{desired_statements, Caller, Config, Rule};
use crate::sweep::{NoObserver, Pacer, SweepOptions, SweepReport};

/// What happened to one event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// The policy was written.
    Applied,
    /// The policy was already right; nothing was written.
    Unchanged,
    /// The repository was created on a denied pull, and its policy attached.
    Created,
    /// Dry run: the policy (or repository) would have been written.
    Planned,
    /// Nothing to do, or not ours; the reason says which.
    Skipped,
    /// Cannot succeed as it stands; the reason says why.
    Failed,
    /// A scheduled sweep ran; `sweep` has its counts.
    Swept,
}

/// The handler's answer, and the one log line each invocation leaves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Outcome {
    pub event_id: Option<String>,
    pub trigger: Trigger,
    pub repository: Option<String>,
    pub outcome: Status,
    pub rules: Vec<String>,
    pub reason: Option<String>,
    /// The counts of a scheduled sweep.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sweep: Option<SweepReport>,
}

impl Outcome {
    fn new(event: &Event, trigger: Trigger, outcome: Status) -> Self {
        Outcome {
            event_id: event.id.clone(),
            trigger,
            repository: None,
            outcome,
            rules: Vec::new(),
            reason: None,
            sweep: None,
        }
    }

    /// The outcome of input that is not even JSON (only the command line can receive such).
    pub fn unreadable(reason: impl Into<String>) -> Self {
        Outcome {
            event_id: None,
            trigger: Trigger::Unrecognized,
            repository: None,
            outcome: Status::Failed,
            rules: Vec::new(),
            reason: Some(reason.into()),
            sweep: None,
        }
    }

    fn because(mut self, reason: impl Into<String>) -> Self {
        self.reason = Some(reason.into());
        self
    }

    /// Emits the invocation's structured log line.
    pub fn log(&self) {
        let trigger = serde_json::to_value(self.trigger).unwrap_or_default();
        let outcome = serde_json::to_value(self.outcome).unwrap_or_default();
        let (trigger, outcome) = (
            trigger.as_str().unwrap_or_default(),
            outcome.as_str().unwrap_or_default(),
        );
        let event_id = self.event_id.as_deref().unwrap_or_default();
        let repository = self.repository.as_deref().unwrap_or_default();
        let rules = self.rules.join(",");
        let reason = self.reason.as_deref().unwrap_or_default();
        if self.outcome == Status::Failed {
            warn!(
                event_id,
                trigger, repository, outcome, rules, reason, "event handled"
            );
        } else {
            info!(
                event_id,
                trigger, repository, outcome, rules, reason, "event handled"
            );
        }
    }
}

/// An event that a retry may fix (throttling, 5xx, a principal IAM does not know yet). The Lambda
/// returns it as an error so that Lambda's retries and the dead-letter queue do their job.
#[derive(Debug, thiserror::Error)]
#[error("{}", .outcome.reason.as_deref().unwrap_or("retryable failure"))]
pub struct RetryableError {
    /// What the outcome was when it gave up (`failed`, with the reason).
    pub outcome: Box<Outcome>,
    #[source]
    pub source: EcrError,
}

/// The configuration, the ECR client and the registry the function acts on: built once per cold
/// start, then shared by every invocation.
#[derive(Debug, Clone)]
pub struct Remediator {
    pub(crate) config: Config,
    pub(crate) ecr: Ecr,
    pub(crate) registry_id: String,
    pub(crate) region: String,
    /// The function's own IAM role: policy changes it made itself need no look.
    self_role: Option<String>,
}

/// What the policy of one repository needs, as `plan` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepositoryPlan {
    pub rules: Vec<String>,
    /// `None` when the repository has no policy.
    pub current: Option<String>,
    pub plan: Result<Plan, String>,
}

pub(crate) enum Step {
    Unchanged,
    Applied,
    Created,
    Planned(&'static str),
    NotFound,
    Skipped(String),
    Failed(String),
}

/// What `converge` did, with the policy before and after for those who show it.
pub(crate) struct Converged {
    pub step: Step,
    pub before: Option<String>,
    pub after: Option<String>,
}

impl From<Step> for Converged {
    fn from(step: Step) -> Self {
        Converged {
            step,
            before: None,
            after: None,
        }
    }
}

impl Remediator {
    /// Learns the registry ID (`DescribeRegistry`) and the region from the SDK configuration.
    pub async fn connect(config: Config, sdk: &SdkConfig) -> Result<Self, EcrError> {
        let ecr = Ecr::new(aws_sdk_ecr::Client::new(sdk));
        let registry_id = ecr.registry_id().await?;
        let region = sdk.region().map(|r| r.to_string()).unwrap_or_default();
        Ok(Self::new(config, ecr, registry_id, region))
    }

    pub fn new(config: Config, ecr: Ecr, registry_id: String, region: String) -> Self {
        Remediator {
            config,
            ecr,
            registry_id,
            region,
            self_role: None,
        }
    }

    /// Tells the remediator its own role ARN (`REMEDIATOR_SELF_ROLE_ARN`), so that the events of
    /// its own writes end without any call. Without it they cost one read and no write.
    pub fn with_self_role(mut self, role_arn: Option<String>) -> Self {
        self.self_role = role_arn.filter(|r| !r.is_empty());
        self
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    pub fn registry_id(&self) -> &str {
        &self.registry_id
    }

    pub fn region(&self) -> &str {
        &self.region
    }

    /// Handles one event and logs its outcome. `Err` only for what a retry may fix. `deadline` is
    /// the Lambda's: a sweep stops before it.
    pub async fn handle(
        &self,
        raw: &Value,
        deadline: Option<SystemTime>,
    ) -> Result<Outcome, RetryableError> {
        let event = Event::classify(raw);
        let result = self.handle_classified(&event, deadline).await;
        match &result {
            Ok(outcome) => outcome.log(),
            Err(e) => e.outcome.log(),
        }
        result
    }

    async fn handle_classified(
        &self,
        event: &Event,
        deadline: Option<SystemTime>,
    ) -> Result<Outcome, RetryableError> {
        let (trigger, target, caller) = match &event.classified {
            Classified::Skip { trigger, reason } => {
                return Ok(Outcome::new(event, *trigger, Status::Skipped).because(reason))
            }
            Classified::Invalid { trigger, reason } => {
                return Ok(Outcome::new(event, *trigger, Status::Failed).because(reason))
            }
            Classified::Scheduled(schedule) => {
                return self.scheduled(event, schedule, deadline).await
            }
            Classified::RepositoryCreated(t) => (Trigger::RepositoryCreated, t, None),
            Classified::PullDenied { target, caller } => {
                (Trigger::PullDenied, target, Some(caller))
            }
            Classified::PolicyChanged { target, changed_by } => {
                if self.self_role.is_some() && *changed_by == self.self_role {
                    let mut out = Outcome::new(event, Trigger::PolicyChanged, Status::Skipped);
                    out.repository = Some(target.repository.clone());
                    return Ok(out.because("the function's own write: nothing to check"));
                }
                (Trigger::PolicyChanged, target, None)
            }
        };
        let mut out = Outcome::new(event, trigger, Status::Skipped);
        out.repository = Some(target.repository.clone());
        if let Some(reason) = self.foreign(target) {
            return Ok(out.because(reason));
        }
        let rules: Vec<&Rule> = self.config.matching(&target.repository).collect();
        out.rules = rules.iter().map(|r| r.name.clone()).collect();
        if let Some(caller) = caller {
            if !rules.iter().any(|r| r.names_caller(caller)) {
                warn!(
                    repository = %target.repository,
                    caller_account = caller.account.as_deref().unwrap_or_default(),
                    caller_principal = caller.principal_arn.as_deref().unwrap_or_default(),
                    matching_rules = %out.rules.join(","),
                    "denied pull from a caller that no matching rule names"
                );
            }
        }
        if rules.is_empty() {
            return Ok(out.because("no rule matches this repository"));
        }

        let step = self
            .converge(&target.repository, &rules, None)
            .await
            .map(|c| c.step);
        let step = match (step, caller) {
            (Ok(Step::NotFound), Some(caller)) => {
                self.create_on_denied_pull(&target.repository, &rules, caller)
                    .await
            }
            (step, _) => step,
        };
        finish(out, step)
    }

    async fn scheduled(
        &self,
        event: &Event,
        schedule: &Schedule,
        deadline: Option<SystemTime>,
    ) -> Result<Outcome, RetryableError> {
        let out = Outcome::new(event, Trigger::Scheduled, Status::Skipped);
        let account = schedule.account.as_deref().unwrap_or(&self.registry_id);
        let region = schedule.region.as_deref().unwrap_or(&self.region);
        if account != self.registry_id || region != self.region {
            return Ok(out.because(format!(
                "the schedule belongs to account {account} in {region}; this function manages \
                 registry {} in {}",
                self.registry_id, self.region
            )));
        }
        let settings = &self.config.sweep;
        let now = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or_default();
        let at = schedule.time.unwrap_or(now).max(0) as u64;
        let options = SweepOptions {
            deadline,
            sweep_number: at / (settings.interval_minutes * 60),
            ..SweepOptions::from(settings)
        };
        match self.sweep(&options, &NoObserver).await {
            Ok(report) => Ok(Outcome {
                outcome: Status::Swept,
                rules: self.config.rules.iter().map(|r| r.name.clone()).collect(),
                sweep: Some(report),
                ..out
            }),
            Err(e) => finish(out, Err(e)),
        }
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

    /// Makes one existing repository's policy what `rules` say: one read, and a write only if
    /// something changes. A sweep passes its pacer so that every request waits for its turn.
    pub(crate) async fn converge(
        &self,
        repository: &str,
        rules: &[&Rule],
        pacer: Option<&Pacer>,
    ) -> Result<Converged, EcrError> {
        let desired = desired_statements(rules.iter().copied());
        if let Some(p) = pacer {
            p.until_ready().await;
        }
        let current = match self.ecr.get_policy(&self.registry_id, repository).await {
            Ok(current) => current,
            Err(EcrError::RepositoryNotFound(_)) => return Ok(Step::NotFound.into()),
            Err(e) => return Err(e),
        };
        let text = match policy::plan(current.as_deref(), &desired) {
            Ok(Plan::Unchanged) => return Ok(Step::Unchanged.into()),
            Ok(Plan::Write(text)) => text,
            Err(e) => return Ok(Step::Failed(e.to_string()).into()),
        };
        debug!(
            repository,
            before = current.as_deref().unwrap_or_default(),
            after = %text,
            "repository policy change"
        );
        let step = if self.config.dry_run {
            Step::Planned("dry run: the policy would be written")
        } else {
            if let Some(p) = pacer {
                p.until_ready().await;
            }
            match self
                .ecr
                .set_policy(&self.registry_id, repository, &text)
                .await
            {
                Ok(()) => Step::Applied,
                Err(EcrError::RepositoryNotFound(_)) => Step::NotFound,
                Err(e) => return Err(e),
            }
        };
        Ok(Converged {
            step,
            before: current,
            after: Some(text),
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
    ) -> Result<Step, EcrError> {
        let allowed = rules
            .iter()
            .any(|r| r.create_on_denied_pull && r.names_caller(caller));
        if !allowed {
            return Ok(Step::Skipped(
                "the repository does not exist, and no matching rule with createOnDeniedPull \
                 names the caller"
                    .into(),
            ));
        }
        if self.config.dry_run {
            return Ok(Step::Planned(
                "dry run: the repository would be created and its policy attached",
            ));
        }
        let creation = self
            .ecr
            .create_repository(&self.registry_id, repository)
            .await?;
        if creation == Creation::AlreadyExists {
            return self.converge(repository, rules, None).await.map(|c| c.step);
        }
        let text = match policy::plan(None, &desired_statements(rules.iter().copied())) {
            Ok(Plan::Write(text)) => text,
            Ok(Plan::Unchanged) => return Ok(Step::Created),
            Err(e) => return Ok(Step::Failed(format!("repository created, but {e}"))),
        };
        debug!(repository, after = %text, "repository created on a denied pull");
        self.ecr
            .set_policy(&self.registry_id, repository, &text)
            .await?;
        Ok(Step::Created)
    }

    /// What `plan` shows for one repository: the matching rules, the current policy and the
    /// change. Writes nothing.
    pub async fn plan_repository(&self, repository: &str) -> Result<RepositoryPlan, EcrError> {
        let rules: Vec<&Rule> = self.config.matching(repository).collect();
        let names = rules.iter().map(|r| r.name.clone()).collect();
        let current = self.ecr.get_policy(&self.registry_id, repository).await?;
        let plan = if rules.is_empty() {
            Ok(Plan::Unchanged)
        } else {
            policy::plan(
                current.as_deref(),
                &desired_statements(rules.iter().copied()),
            )
            .map_err(|e| e.to_string())
        };
        Ok(RepositoryPlan {
            rules: names,
            current,
            plan,
        })
    }
}

/// The outcome and reason a finished step stands for.
pub(crate) fn status_of(step: Step) -> (Status, Option<String>) {
    match step {
        Step::Unchanged => (Status::Unchanged, None),
        Step::Applied => (Status::Applied, None),
        Step::Created => (Status::Created, None),
        Step::Planned(reason) => (Status::Planned, Some(reason.into())),
        Step::Skipped(reason) => (Status::Skipped, Some(reason)),
        Step::NotFound => (
            Status::Skipped,
            Some("the repository no longer exists".into()),
        ),
        Step::Failed(reason) => (Status::Failed, Some(reason)),
    }
}

fn finish(out: Outcome, step: Result<Step, EcrError>) -> Result<Outcome, RetryableError> {
    let (outcome, reason) = match step {
        Ok(step) => status_of(step),
        Err(e) if e.is_retryable() => {
            return Err(RetryableError {
                outcome: Box::new(Outcome {
                    outcome: Status::Failed,
                    reason: Some(format!("{e} (retryable)")),
                    ..out
                }),
                source: e,
            })
        }
        Err(e) => (Status::Failed, Some(e.to_string())),
    };
    Ok(Outcome {
        outcome,
        reason,
        ..out
    })
}

impl From<RetryableError> for lambda_runtime::Diagnostic {
    fn from(e: RetryableError) -> Self {
        lambda_runtime::Diagnostic {
            error_type: "Retryable".to_string(),
            error_message: e.to_string(),
        }
    }
}
