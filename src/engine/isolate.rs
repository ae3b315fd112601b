//! When IAM refuses a policy because it does not know a principal, and does not say which: the
//! rules that name roles or users are tried one at a time, so that every other rule's statements
//! land and only the rule at fault keeps what it had.

use crate::config::{desired_statements, Rule};
use crate::ecr::EcrError;
use crate::engine::converge::{log_change, Cause, Converged, Remediator};
use crate::engine::outcome::Status;
use crate::policy::{self, Plan};

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
        let owner = &self.config.ownership;
        let (suspects, mut accepted): (Vec<&Rule>, Vec<&Rule>) = self
            .config
            .matching(repository)
            .partition(|r| !r.named_arns().is_empty());
        if suspects.is_empty() {
            return Ok(out.ended(Status::Failed, NO_SUSPECT));
        }
        let sids = |rules: &[&Rule]| -> Vec<String> {
            let statements = rules.iter().flat_map(|r| r.statements(owner));
            statements.map(|s| s.sid).collect()
        };
        let mut current = out.before.clone();
        let mut failed: Vec<&Rule> = Vec::new();
        let mut wrote = false;
        for (i, suspect) in suspects.iter().enumerate() {
            let mut trial = accepted.clone();
            trial.push(suspect);
            let keep = sids(&[&failed[..], &suspects[i + 1..]].concat());
            let tried = self.trial(repository, &current, (&trial, &keep), cause);
            match tried.await? {
                Trial::Written(text) => {
                    (current, wrote) = (text, true);
                    accepted.push(suspect);
                }
                Trial::UnknownPrincipal => failed.push(suspect),
                Trial::Refused(reason) => {
                    return Ok(out.ended(Status::Failed, reason));
                }
            }
        }
        if !wrote {
            let rest = (&accepted[..], &sids(&failed)[..]);
            match self.trial(repository, &current, rest, cause).await? {
                Trial::Written(text) => current = text,
                Trial::UnknownPrincipal => {}
                Trial::Refused(reason) => {
                    return Ok(out.ended(Status::Failed, reason));
                }
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

    /// Writes what `rules` want, keeping the owned statements named in `keep` as they are.
    async fn trial(
        &self,
        repository: &str,
        current: &Option<String>,
        (rules, keep): (&[&Rule], &[String]),
        cause: Cause<'_>,
    ) -> Result<Trial, EcrError> {
        let owner = &self.config.ownership;
        let desired = desired_statements(rules.iter().copied(), owner);
        let decision = match policy::plan(current.as_deref(), &desired, keep, owner) {
            Ok(d) => d,
            Err(e) => return Ok(Trial::Refused(e.to_string())),
        };
        let (result, after, change) = match decision.plan {
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
                log_change(repository, &change, after.is_none(), cause);
                Ok(Trial::Written(after))
            }
            Err(e) if e.is_principal_not_found() => Ok(Trial::UnknownPrincipal),
            Err(e) => Err(e),
        }
    }
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
