//! When IAM refuses a policy because it does not know a principal, and does not say which: the
//! rules that name roles or users are tried one at a time, so that every other rule's statements
//! land and only the rule at fault keeps what it had.

use crate::config::{desired_statements, Rule};
use crate::ecr::EcrError;
use crate::engine::converge::{Cause, Converged, Remediator};
use crate::engine::outcome::Status;
use crate::engine::trust::{log_changed, Place};
use crate::policy::trust::Revocation;
use crate::policy::{self, Ownership, Plan};

/// How one trial write of the isolation went.
enum Trial {
    Written(Option<String>),
    UnknownPrincipal,
    /// The merge itself refused (the reason).
    Refused(String),
}

const NO_SUSPECT: &str = "IAM does not know a principal in the policy, and no rule names a role \
     or user: a statement already in it names a principal that no longer exists";

impl Remediator {
    /// IAM refused the policy because it does not know a principal, and does not say which. The
    /// principals that can be unknown are the role and user ARNs the rules name (account roots
    /// and organization conditions never are): add the rules that name any, one at a time, so
    /// that every other rule's statements land and only the rule at fault keeps what it had.
    pub(crate) async fn isolate(
        &self,
        repository: &str,
        mut out: Converged,
        cause: Cause<'_>,
    ) -> Result<Converged, EcrError> {
        out.unknown_principal = true;
        let sids = |rules: &[&Rule]| sids(rules, &self.config.ownership);
        let (suspects, mut accepted): (Vec<&Rule>, Vec<&Rule>) = self
            .config
            .matching(repository)
            .partition(|r| !r.named_arns().is_empty());
        if suspects.is_empty() {
            return Ok(out.ended(Status::Failed, NO_SUSPECT));
        }
        // A trust revocation rides on the first write that lands, as it would have on the one
        // IAM refused: the trials start from the revoked text.
        let mut pending = out.revocation.clone();
        let revoked = pending.as_ref().map(|r| r.text.clone());
        let mut current = revoked.or_else(|| out.before.clone());
        let mut failed: Vec<&Rule> = Vec::new();
        let mut wrote = false;
        for (i, suspect) in suspects.iter().enumerate() {
            let mut trial = accepted.clone();
            trial.push(suspect);
            let keep = sids(&[&failed[..], &suspects[i + 1..]].concat());
            let why = (pending.as_ref(), cause);
            match self
                .trial(repository, &current, (&trial, &keep), why)
                .await?
            {
                Trial::Written(text) => {
                    (current, wrote, pending) = (text, true, None);
                    accepted.push(suspect);
                }
                Trial::UnknownPrincipal => failed.push(suspect),
                Trial::Refused(reason) => return Ok(out.ended(Status::Failed, reason)),
            }
        }
        if !wrote {
            let rest = (&accepted[..], &sids(&failed)[..]);
            let why = (pending.as_ref(), cause);
            match self.trial(repository, &current, rest, why).await? {
                Trial::Written(text) => current = text,
                Trial::UnknownPrincipal => {}
                Trial::Refused(reason) => return Ok(out.ended(Status::Failed, reason)),
            }
        }
        out.after = current;
        out.unknown_principal = !failed.is_empty();
        if failed.is_empty() {
            out.status = Status::Applied;
            return Ok(out);
        }
        let reason = unknown_principal_reason(&failed, !accepted.is_empty());
        Ok(out.ended(Status::Failed, reason))
    }

    /// Writes what `rules` want, keeping the owned statements named in `keep` as they are, and
    /// the trust revocation not written yet (`pending`: `current` is its text).
    async fn trial(
        &self,
        repository: &str,
        current: &Option<String>,
        (rules, keep): (&[&Rule], &[String]),
        (pending, cause): (Option<&Revocation>, Cause<'_>),
    ) -> Result<Trial, EcrError> {
        let owner = &self.config.ownership;
        let desired = desired_statements(rules.iter().copied(), owner);
        let decision = match policy::plan(current.as_deref(), &desired, keep, owner) {
            Ok(d) => d,
            Err(e) => return Ok(Trial::Refused(e.to_string())),
        };
        let plan = match pending {
            Some(r) => r.with_merge(decision.plan),
            None => decision.plan,
        };
        let (result, after, change) = match plan {
            Plan::Unchanged => return Ok(Trial::Written(current.clone())),
            Plan::Write { text, change } => (
                self.ecr
                    .set_policy(&self.registry_id, repository, &text)
                    .await,
                Some(text),
                change,
            ),
            Plan::Delete { change } => (
                self.ecr.delete_policy(&self.registry_id, repository).await,
                None,
                change,
            ),
        };
        match result {
            Ok(()) => {
                let place = Place::Repository(repository);
                log_changed(place, &change, after.is_none(), pending, cause);
                Ok(Trial::Written(after))
            }
            Err(e) if e.is_principal_not_found() => Ok(Trial::UnknownPrincipal),
            Err(e) => Err(e),
        }
    }
}

/// The `Sid`s of the statements `rules` write.
fn sids(rules: &[&Rule], owner: &Ownership) -> Vec<String> {
    let statements = rules.iter().flat_map(|r| r.statements(owner));
    statements.map(|s| s.sid).collect()
}

fn unknown_principal_reason(failed: &[&Rule], others_written: bool) -> String {
    let rules: Vec<String> = failed
        .iter()
        .map(|r| format!("rule {} (one of {})", r.name, r.named_arns().join(", ")))
        .collect();
    let others = if others_written {
        "; the other rules' statements were written"
    } else {
        ""
    };
    format!(
        "IAM does not know a principal of {}: a role created moments ago, or one that was \
         deleted; the statements of that rule were left as they were{others}",
        rules.join(" and ")
    )
}
