//! The registry's own documents, made what the rules say: the registry policy (merged like any
//! policy, `Resource` and all) and the repository creation templates. One read of each per
//! sweep, and a write only where something changes.

use tracing::{info, warn};

use crate::desired::registry::{grant_sids, may_match_under, registry_statements};
use crate::desired::templates::{self, TemplateAction};
use crate::ecr::EcrError;
use crate::ecr::SCOPE_SETTING;
use crate::engine::converge::{Cause, Remediator};
use crate::engine::outcome::{DocumentReport, Status};
use crate::policy::{self, Kind, Plan};

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

fn failed(document: &str, e: EcrError) -> DocumentReport {
    DocumentReport {
        retryable: e.is_retryable(),
        ..DocumentReport::new(document, Status::Failed).because(e.to_string())
    }
}

/// The audit line of every registry document a convergence changed: which statements came, went
/// and changed, by `Sid`, and what set it off.
pub(crate) fn log_document_changes(documents: &[DocumentReport], cause: Cause<'_>) {
    for d in documents.iter().filter(|d| d.status == Status::Applied) {
        let change = crate::policy::diff::sid_changes(d.before.as_deref(), d.after.as_deref());
        info!(
            document = %d.document,
            added = %change.added.join(","),
            removed = %change.removed.join(","),
            changed = %change.changed.join(","),
            deleted = d.after.is_none(),
            trigger = cause.trigger.as_str(),
            caller = cause.caller.unwrap_or_default(),
            "registry document changed"
        );
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
        let keep = grant_sids(&self.config, &want.unwritable_grants);
        let owner = &self.config.ownership;
        let decision = match policy::plan_document(
            current.as_deref(),
            &want.statements,
            &keep,
            owner,
            Kind::Registry,
        ) {
            Ok(d) => d,
            Err(e) => {
                return Ok(
                    DocumentReport::new(REGISTRY_POLICY, Status::Failed).because(e.to_string())
                )
            }
        };
        if !decision.lookalikes.is_empty() {
            warn!(statements = %decision.lookalikes.join(","),
                "registry policy statements use this deployment's Sids but are not statements it writes: kept as they are");
        }
        let mut report = DocumentReport::new(REGISTRY_POLICY, Status::Unchanged);
        report.before = current;
        let after = match decision.plan {
            Plan::Unchanged => None,
            Plan::Write { text, .. } => Some(Some(text)),
            Plan::Delete { .. } => Some(None),
        };
        if let Some(after) = after {
            report.after = after;
            report.status = self.write_registry_policy(report.after.as_deref()).await?;
        }
        let mut notes = self.pull_through_cache_notes().await?;
        if !want.unwritable_grants.is_empty() {
            report.status = Status::Failed;
            notes.insert(
                0,
                format!(
                "the registry grant of {} is not written: the registry's policy scope (account \
                 setting {SCOPE_SETTING}) is V1, which accepts only ecr:ReplicateImage, \
                 ecr:BatchImportUpstreamImage and ecr:CreateRepository; set it to V2 with \
                 PutAccountSetting, and the next sweep writes it (the rules' repository policies \
                 are written as usual)",
                want.unwritable_grants.join(", ")
            ),
            );
        }
        if !notes.is_empty() {
            report.reason = Some(notes.join("; "));
        }
        Ok(report)
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
        Ok(out)
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
