//! The one step every path shares: read a repository's policy, decide, write only what changes.
//! The event path, the sweep, `plan` and `reconcile` all come through here.

use std::sync::Arc;

use aws_config::SdkConfig;
use tracing::{debug, warn};

use crate::config::{desired_statements, Config, Rule};
use crate::ecr::{EcrClient, EcrError, Paced, SdkEcr};
use crate::engine::outcome::Status;
use crate::engine::trust::{log_changed, revoked_reason, Place, Screened};
use crate::event::Trigger;
use crate::policy::trust::{Finding, Revocation, Trusted};
use crate::policy::{self, Change, Decision, Kind, Plan};

/// The configuration, the ECR client and the registry the function acts on: built once per cold
/// start, then shared by every invocation.
#[derive(Debug, Clone)]
pub struct Remediator {
    pub(crate) config: Config,
    pub(crate) ecr: Arc<dyn EcrClient>,
    pub(crate) registry_id: String,
    pub(crate) region: String,
    /// The function's own IAM role: policy changes it made itself need no look.
    pub(crate) self_role: Option<String>,
    /// The principals the rules and `trust` vouch for, computed once the registry is known;
    /// `None` without `trust`, which leaves every foreign grant unjudged.
    pub(crate) trusted: Option<Trusted>,
}

/// What `converge` did, with the policy before and after for those who show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Converged {
    pub status: Status,
    /// Why, when the status alone does not say it.
    pub reason: Option<String>,
    /// The repository does not exist (any more).
    pub missing: bool,
    /// The rules that match the repository.
    pub rules: Vec<String>,
    pub before: Option<String>,
    /// The policy written or planned; `None` when it was (or would be) deleted.
    pub after: Option<String>,
    pub change: Option<Change>,
    /// IAM did not know a principal that a rule names: worth retrying while the event is young.
    pub unknown_principal: bool,
    /// The principals outside the trust boundary in the policy read.
    pub untrusted: Vec<Finding>,
    /// What `revoke` mode took out of it (or, in a dry run, would), carried by the same write.
    pub revocation: Option<Revocation>,
}

impl Converged {
    /// The status and reason to report: its own, and for a write, what it took back (the
    /// statements no rule wants, and the grants outside the trust boundary).
    pub fn explained(&self) -> (Status, Option<String>) {
        let (status, reason) = (self.status, self.reason.clone());
        let removed = self.change.as_ref().map(|c| c.removed.join(", "));
        let revoked = removed.filter(|r| !r.is_empty() && status == Status::Applied);
        let reason = match (reason, revoked, &self.after) {
            (None, Some(sids), None) => Some(format!(
                "took back {sids}; nothing was left, so the policy was deleted"
            )),
            (None, Some(sids), Some(_)) => Some(format!("took back {sids}, which no rule wants")),
            (reason, _, _) => reason,
        };
        let trust = match (&self.revocation, status) {
            (Some(r), Status::Applied) => Some(revoked_reason(r, false)),
            (Some(r), Status::Planned) => Some(revoked_reason(r, true)),
            _ => None,
        };
        let reason = match (reason, trust) {
            (Some(r), Some(t)) => Some(format!("{r}; {t}")),
            (r, t) => r.or(t),
        };
        (status, reason)
    }

    fn new(status: Status, rules: Vec<String>) -> Self {
        Converged {
            status,
            reason: None,
            missing: false,
            rules,
            before: None,
            after: None,
            change: None,
            unknown_principal: false,
            untrusted: Vec::new(),
            revocation: None,
        }
    }

    /// The same, ended with `status` for `reason`.
    pub fn ended(self, status: Status, reason: impl Into<String>) -> Self {
        Converged {
            status,
            reason: Some(reason.into()),
            ..self
        }
    }

    /// The same, for a repository that does not exist.
    pub(crate) fn gone(self) -> Self {
        Converged {
            missing: true,
            ..self.ended(Status::Skipped, "the repository does not exist")
        }
    }
}

/// A repository's policy and what the rules make of it, before anything is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inspection {
    pub rules: Vec<String>,
    /// `None` when the repository has no policy.
    pub current: Option<String>,
    /// The merge's decision, with the trust revocation (if any) carried in its plan.
    pub decision: Result<Decision, policy::PolicyError>,
    /// The principals outside the trust boundary in `current`.
    pub untrusted: Vec<Finding>,
    /// What `revoke` mode takes out of `current` before the merge.
    pub revocation: Option<Revocation>,
}

impl Remediator {
    /// The ECR client, for the command line's reads.
    pub fn ecr(&self) -> &dyn EcrClient {
        self.ecr.as_ref()
    }

    /// The same remediator, every ECR call of which waits its turn at `requests_per_second`.
    pub fn paced(&self, requests_per_second: f64) -> Remediator {
        let ecr = Paced::new(self.ecr.clone(), requests_per_second);
        Remediator {
            ecr: Arc::new(ecr),
            ..self.clone()
        }
    }

    /// Learns the registry ID (`DescribeRegistry`) and the region from the SDK configuration.
    pub async fn connect(config: Config, sdk: &SdkConfig) -> Result<Self, EcrError> {
        let ecr = Arc::new(SdkEcr::new(aws_sdk_ecr::Client::new(sdk)));
        let registry_id = ecr.registry_id().await?;
        let region = sdk.region().map(|r| r.to_string()).unwrap_or_default();
        Ok(Self::new(config, ecr, registry_id, region))
    }

    /// A remediator over any ECR client (the SDK's, a paced one, or a test's).
    pub fn new(
        config: Config,
        ecr: Arc<dyn EcrClient>,
        registry_id: String,
        region: String,
    ) -> Self {
        // The registry's own account is trusted, and only known here: the set is made once.
        let trusted = config.trust.as_ref().map(|_| config.trusted(&registry_id));
        Remediator {
            config,
            ecr,
            registry_id,
            region,
            self_role: None,
            trusted,
        }
    }

    /// Tells the remediator its own role ARN (`REMEDIATOR_SELF_ROLE_ARN`), so that the events of
    /// its own writes end without any call. Without it they cost one read and no write.
    pub fn with_self_role(mut self, role_arn: Option<String>) -> Self {
        self.self_role = role_arn.filter(|r| !r.is_empty());
        self
    }

    /// The validated rules.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The registry the function acts on: its own account.
    pub fn registry_id(&self) -> &str {
        &self.registry_id
    }

    /// The region of the registry.
    pub fn region(&self) -> &str {
        &self.region
    }

    /// Reads a repository's policy and decides what the rules make of it, and what the trust
    /// boundary takes out of it first. Writes nothing.
    pub async fn inspect(&self, repository: &str) -> Result<Inspection, EcrError> {
        let rules: Vec<&Rule> = self.config.matching(repository).collect();
        let current = self.ecr.get_policy(&self.registry_id, repository).await?;
        let desired = desired_statements(rules.iter().copied(), &self.config.ownership);
        let (screened, decision) = self.decide(repository, current.as_deref(), &desired);
        Ok(Inspection {
            rules: rules.iter().map(|r| r.name.clone()).collect(),
            current,
            decision,
            untrusted: screened.untrusted,
            revocation: screened.revocation,
        })
    }

    /// The trust check of `current`, then the merge from what it leaves: one plan for both.
    fn decide(
        &self,
        repository: &str,
        current: Option<&str>,
        desired: &[policy::Statement],
    ) -> (Screened, Result<Decision, policy::PolicyError>) {
        let place = Place::Repository(repository);
        let screened = match self.screen(place, current, Kind::Repository, true) {
            Ok(s) => s,
            Err(e) => return (Screened::default(), Err(e)),
        };
        let owner = &self.config.ownership;
        let decision = policy::plan(screened.text(current), desired, &[], owner);
        let decision = decision.map(|d| Decision {
            plan: screened.plan(d.plan),
            ..d
        });
        (screened, decision)
    }

    /// Makes one existing repository's policy what the rules say: one read, and a write (or a
    /// deletion, when nothing is left) only if something changes. A repository no rule matches
    /// is converged too: that is how a grant the rules no longer give is taken back.
    pub async fn converge(
        &self,
        repository: &str,
        cause: Cause<'_>,
    ) -> Result<Converged, EcrError> {
        let inspection = match self.inspect(repository).await {
            Ok(i) => i,
            Err(EcrError::RepositoryNotFound(_)) => {
                let rules = self.config.matching(repository).map(|r| r.name.clone());
                return Ok(Converged::new(Status::Skipped, rules.collect()).gone());
            }
            Err(e) => return Err(e),
        };
        let mut out = Converged::new(Status::Unchanged, inspection.rules);
        out.before = inspection.current;
        out.untrusted = inspection.untrusted;
        out.revocation = inspection.revocation;
        let decision = match inspection.decision {
            Ok(d) => d,
            Err(e) => {
                return Ok(out.ended(Status::Failed, e.to_string()));
            }
        };
        if !decision.lookalikes.is_empty() {
            warn!(
                repository,
                statements = %decision.lookalikes.join(","),
                "statements use this deployment's Sids but are not statements it writes: kept as they are"
            );
        }
        let (after, change) = match decision.plan {
            Plan::Unchanged => return Ok(out),
            Plan::Write { text, change } => (Some(text), change),
            Plan::Delete { change } => (None, change),
        };
        debug!(
            repository,
            before = out.before.as_deref().unwrap_or_default(),
            after = after.as_deref().unwrap_or_default(),
            "repository policy change"
        );
        out.after = after;
        out.change = Some(change);
        if self.config.dry_run {
            let reason = match out.after {
                Some(_) => "dry run: the policy would be written",
                None => "dry run: the policy would be deleted, nothing is left in it",
            };
            return Ok(out.ended(Status::Planned, reason));
        }
        self.write(repository, out, cause).await
    }

    async fn write(
        &self,
        repository: &str,
        mut out: Converged,
        cause: Cause<'_>,
    ) -> Result<Converged, EcrError> {
        let written = match &out.after {
            Some(text) => {
                self.ecr
                    .set_policy(&self.registry_id, repository, text)
                    .await
            }
            None => self.ecr.delete_policy(&self.registry_id, repository).await,
        };
        match written {
            Ok(()) => {
                let change = out.change.clone().unwrap_or_default();
                let place = Place::Repository(repository);
                let deleted = out.after.is_none();
                log_changed(place, &change, deleted, out.revocation.as_ref(), cause);
                out.status = Status::Applied;
                Ok(out)
            }
            Err(EcrError::RepositoryNotFound(_)) => Ok(out.gone()),
            Err(e) if e.is_principal_not_found() => self.isolate(repository, out, cause).await,
            Err(e) => Err(e),
        }
    }
}

/// What set a convergence off: named in the audit line of every change it makes.
#[derive(Debug, Clone, Copy)]
pub struct Cause<'a> {
    /// What kind of event it was.
    pub trigger: Trigger,
    /// The principal whose call the event records (the puller, the policy's editor), if any.
    pub caller: Option<&'a str>,
}

impl Cause<'_> {
    /// A cause with no caller: the sweep, the command line.
    pub fn of(trigger: Trigger) -> Self {
        Cause {
            trigger,
            caller: None,
        }
    }
}
