//! The registry's own documents, made what the rules say: the registry policy (merged like any
//! policy, `Resource` and all) and the repository creation templates. One read of each per
//! sweep, and a write only where something changes.

use tracing::warn;

use crate::desired::registry::{grant_sids, may_match_under, registry_statements, DesiredRegistry};
use crate::desired::templates::{self, CurrentTemplate, TemplateAction};
use crate::ecr::EcrError;
use crate::ecr::SCOPE_SETTING;
use crate::engine::converge::{Cause, Remediator};
use crate::engine::outcome::{DocumentReport, Status};
use crate::engine::trust::{log_changed, revoked_reason, Place, Screened};
use crate::policy::{self, Decision, Kind, Plan, PolicyError};

/// The name the registry policy goes by in reports.
pub const REGISTRY_POLICY: &str = "registry policy";

/// `arn:PARTITION:ecr:REGION:ACCOUNT:repository`, the base of the registry statements'
/// resources.
pub fn repository_arn(region: &str, registry_id: &str) -> String {
    let partition = if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else {
        "aws"
    };
    format!("arn:{partition}:ecr:{region}:{registry_id}:repository")
}

/// Why a rule's registry grant waits for scope V2.
fn scope_v1_note(grants: &[String]) -> String {
    format!(
        "the registry grant of {} is not written: the registry's policy scope (account setting \
         {SCOPE_SETTING}) is V1, which accepts only ecr:ReplicateImage, \
         ecr:BatchImportUpstreamImage and ecr:CreateRepository; set it to V2 with \
         PutAccountSetting, and the next sweep writes it (the rules' repository policies are \
         written as usual)",
        grants.join(", ")
    )
}

fn failed(document: &str, e: EcrError) -> DocumentReport {
    DocumentReport {
        retryable: e.is_retryable(),
        ..DocumentReport::new(document, Status::Failed).because(e.to_string())
    }
}

/// The audit line of every registry document a convergence changed: which statements came, went
/// and changed, by `Sid`, what the trust boundary took out, and what set it off.
pub(crate) fn log_document_changes(documents: &[DocumentReport], cause: Cause<'_>) {
    for d in documents.iter().filter(|d| d.status == Status::Applied) {
        let change = crate::policy::diff::sid_changes(d.before.as_deref(), d.after.as_deref());
        let place = Place::Document(&d.document);
        let revocation = d.revocation.as_ref();
        log_changed(place, &change, d.after.is_none(), revocation, cause);
    }
}

impl Remediator {
    /// The registry policy, then every creation template the rules want or the function owns.
    pub async fn converge_registry(&self) -> Vec<DocumentReport> {
        let mut out = vec![self
            .converge_registry_policy()
            .await
            .unwrap_or_else(|e| failed(REGISTRY_POLICY, e))];
        match self.converge_templates().await {
            Ok(reports) => out.extend(reports),
            Err(e) => out.push(failed("templates", e)),
        }
        out
    }

    async fn converge_registry_policy(&self) -> Result<DocumentReport, EcrError> {
        let current = self.ecr.get_registry_policy().await?;
        let scope_v2 = if self.config.rules.iter().any(|r| r.registry_grant) {
            self.ecr.registry_policy_scope().await? == "V2"
        } else {
            true
        };
        let base = repository_arn(&self.region, &self.registry_id);
        let want = registry_statements(&self.config, &base, scope_v2);
        let (screened, decision) = match self.decide_registry_policy(current.as_deref(), &want) {
            Ok(d) => d,
            Err(e) => {
                return Ok(
                    DocumentReport::new(REGISTRY_POLICY, Status::Failed).because(e.to_string())
                )
            }
        };
        let mut report = DocumentReport::new(REGISTRY_POLICY, Status::Unchanged);
        report.before = current;
        let after = match screened.plan(decision.plan) {
            Plan::Unchanged => None,
            Plan::Write { text, .. } => Some(Some(text)),
            Plan::Delete { .. } => Some(None),
        };
        (report.untrusted, report.revocation) = (screened.untrusted, screened.revocation);
        if let Some(after) = after {
            report.after = after;
            report.status = self.write_registry_policy(report.after.as_deref()).await?;
        }
        let mut notes = self.pull_through_cache_notes().await?;
        if let Some(r) = &report.revocation {
            notes.insert(0, revoked_reason(r, report.status == Status::Planned));
        }
        if !want.unwritable_grants.is_empty() {
            report.status = Status::Failed;
            notes.insert(0, scope_v1_note(&want.unwritable_grants));
        }
        if !notes.is_empty() {
            report.reason = Some(notes.join("; "));
        }
        Ok(report)
    }

    /// The registry policy as the rules want it, after the trust boundary took out what it
    /// takes: one plan for both.
    fn decide_registry_policy(
        &self,
        current: Option<&str>,
        want: &DesiredRegistry,
    ) -> Result<(Screened, Decision), PolicyError> {
        let keep = grant_sids(&self.config, &want.unwritable_grants);
        let owner = &self.config.ownership;
        let place = Place::Document(REGISTRY_POLICY);
        let screened = self.screen(place, current, Kind::Registry, true)?;
        let text = screened.text(current);
        let decision = policy::plan_document(text, &want.statements, &keep, owner, Kind::Registry)?;
        if !decision.lookalikes.is_empty() {
            warn!(statements = %decision.lookalikes.join(","),
                "registry policy statements use this deployment's Sids but are not statements it writes: kept as they are");
        }
        Ok((screened, decision))
    }

    async fn write_registry_policy(&self, after: Option<&str>) -> Result<Status, EcrError> {
        if self.config.dry_run {
            return Ok(Status::Planned);
        }
        match after {
            Some(text) => self.ecr.put_registry_policy(text).await?,
            None => self.ecr.delete_registry_policy().await?,
        }
        Ok(Status::Applied)
    }

    /// Rules with `pullThroughCache` that cover no pull-through-cache rule's prefix: their
    /// registry statements grant nothing pull-through cache will use.
    async fn pull_through_cache_notes(&self) -> Result<Vec<String>, EcrError> {
        let rules: Vec<_> = self
            .config
            .rules
            .iter()
            .filter(|r| r.pull_through_cache)
            .collect();
        if rules.is_empty() {
            return Ok(Vec::new());
        }
        let prefixes = self
            .ecr
            .pull_through_cache_prefixes(&self.registry_id)
            .await?;
        let mut notes = Vec::new();
        for rule in rules {
            let covered = prefixes.iter().any(|prefix| {
                rule.repository_patterns()
                    .any(|p| may_match_under(p, prefix))
            });
            if !covered {
                let note = format!(
                    "rule {} has pullThroughCache, but no pull-through-cache rule of this registry \
                     has a prefix it covers (prefixes: {})",
                    rule.name,
                    if prefixes.is_empty() { "none".to_string() } else { prefixes.join(", ") }
                );
                warn!(rule = %rule.name, "{note}");
                notes.push(note);
            }
        }
        Ok(notes)
    }

    async fn converge_templates(&self) -> Result<Vec<DocumentReport>, EcrError> {
        let current = self.ecr.list_templates().await?;
        let desired = templates::desired_templates(&self.config);
        let owner = &self.config.ownership;
        let mut out = Vec::new();
        for (prefix, action) in templates::plan_templates(&desired, &current, owner) {
            let before = current
                .iter()
                .find(|t| t.prefix == prefix)
                .and_then(|t| t.repository_policy.clone());
            // An update of appliedFor alone keeps the policy: it is not a deletion.
            let keeps_policy = matches!(action, TemplateAction::Update { policy: None, .. });
            let mut report = self.apply_template(&prefix, action).await;
            if keeps_policy {
                report.after = before.clone();
            }
            report.before = before;
            if let Some(want) = desired
                .iter()
                .find(|d| d.prefix == prefix && !d.partial.is_empty())
            {
                let note = format!(
                    "rules {} match only part of {prefix}: repositories ECR creates under it get their \
                     statements from the event path, moments later",
                    want.partial.join(", ")
                );
                report.reason = Some(match report.reason {
                    Some(r) => format!("{r}; {note}"),
                    None => note,
                });
            }
            out.push(report);
        }
        self.report_templates(&current, &mut out);
        Ok(out)
    }

    /// Grants outside the trust boundary in every template's policy, the function's or not:
    /// reported only. A template's policy is never rewritten for trust: a foreign template is
    /// never written at all, and an owned one holds the rules' statements (the merge keeps
    /// anything else as found).
    fn report_templates(&self, current: &[CurrentTemplate], out: &mut Vec<DocumentReport>) {
        for t in current {
            let document = format!("template {}", t.prefix);
            let policy = t
                .repository_policy
                .as_deref()
                .filter(|p| !p.trim().is_empty());
            let place = Place::Document(&document);
            // A policy that cannot be read at all is the template owner's to fix; ECR would not
            // have stored it, and nothing here writes it.
            let Ok(screened) = self.screen(place, policy, Kind::Repository, false) else {
                continue;
            };
            if screened.untrusted.is_empty() {
                continue;
            }
            match out.iter_mut().find(|d| d.document == document) {
                Some(d) => d.untrusted = screened.untrusted,
                None => out.push(DocumentReport {
                    untrusted: screened.untrusted,
                    ..DocumentReport::new(document, Status::Unchanged).because(
                        "not the function's template: its grants outside the trust boundary are \
                         reported, never revoked",
                    )
                }),
            }
        }
    }

    async fn apply_template(&self, prefix: &str, action: TemplateAction) -> DocumentReport {
        let document = format!("template {prefix}");
        let report = |status| DocumentReport::new(document.clone(), status);
        let changing = !matches!(
            action,
            TemplateAction::Unchanged | TemplateAction::Conflict(_) | TemplateAction::Failed(_)
        );
        if changing && self.config.dry_run {
            let mut r = report(Status::Planned);
            r.after = match action {
                TemplateAction::Create { policy, .. } => Some(policy),
                TemplateAction::Update { policy, .. } => policy,
                _ => None,
            };
            return r;
        }
        let description = templates::marker(&self.config.ownership);
        let result = match &action {
            TemplateAction::Unchanged => return report(Status::Unchanged),
            TemplateAction::Conflict(reason) | TemplateAction::Failed(reason) => {
                warn!(template = prefix, "{reason}");
                return report(Status::Failed).because(reason.clone());
            }
            TemplateAction::Create {
                policy,
                applied_for,
            } => {
                self.ecr
                    .create_template(prefix, &description, policy, applied_for)
                    .await
            }
            TemplateAction::Update {
                policy,
                applied_for,
            } => {
                self.ecr
                    .update_template(prefix, policy.as_deref(), applied_for.as_deref())
                    .await
            }
            TemplateAction::Delete => self.ecr.delete_template(prefix).await,
        };
        match result {
            Ok(()) => {
                let mut r = report(Status::Applied);
                if matches!(action, TemplateAction::Delete) {
                    r.reason = Some("no rule asks for this template any more: deleted".into());
                }
                r.after = match action {
                    TemplateAction::Create { policy, .. } => Some(policy),
                    TemplateAction::Update { policy, .. } => policy,
                    _ => None,
                };
                r
            }
            Err(e) => failed(&document, e),
        }
    }
}
