//! The ECR calls on the registry's own documents: its policy, its policy scope, its
//! pull-through-cache rules and its repository creation templates.

use aws_sdk_ecr::operation::delete_registry_policy::DeleteRegistryPolicyError;
use aws_sdk_ecr::operation::delete_repository_creation_template::DeleteRepositoryCreationTemplateError;
use aws_sdk_ecr::operation::get_registry_policy::GetRegistryPolicyError;
use aws_sdk_ecr::types::RctAppliedFor;

use crate::desired::templates::CurrentTemplate;
use crate::ecr::{EcrError, SdkEcr};

/// The account setting that says what a registry policy may hold.
pub(crate) const SCOPE_SETTING: &str = "REGISTRY_POLICY_SCOPE";

fn applied_for(kinds: &[String]) -> Vec<RctAppliedFor> {
    kinds
        .iter()
        .map(|k| RctAppliedFor::from(k.as_str()))
        .collect()
}

impl SdkEcr {
    /// The registry policy's text; `None` when there is none.
    pub(super) async fn get_registry_policy(&self) -> Result<Option<String>, EcrError> {
        match self.client.get_registry_policy().send().await {
            Ok(out) => Ok(out.policy_text().map(str::to_string)),
            Err(e)
                if matches!(
                    e.as_service_error(),
                    Some(GetRegistryPolicyError::RegistryPolicyNotFoundException(_))
                ) =>
            {
                Ok(None)
            }
            Err(e) => Err(EcrError::from_sdk("GetRegistryPolicy", e)),
        }
    }

    pub(super) async fn put_registry_policy(&self, text: &str) -> Result<(), EcrError> {
        self.client
            .put_registry_policy()
            .policy_text(text)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| EcrError::from_sdk("PutRegistryPolicy", e))
    }

    pub(super) async fn delete_registry_policy(&self) -> Result<(), EcrError> {
        match self.client.delete_registry_policy().send().await {
            Ok(_) => Ok(()),
            Err(e)
                if matches!(
                    e.as_service_error(),
                    Some(DeleteRegistryPolicyError::RegistryPolicyNotFoundException(
                        _
                    ))
                ) =>
            {
                Ok(())
            }
            Err(e) => Err(EcrError::from_sdk("DeleteRegistryPolicy", e)),
        }
    }

    /// `V1` or `V2` (`GetAccountSetting REGISTRY_POLICY_SCOPE`).
    pub(super) async fn registry_policy_scope(&self) -> Result<String, EcrError> {
        let out = self
            .client
            .get_account_setting()
            .name(SCOPE_SETTING)
            .send()
            .await
            .map_err(|e| EcrError::from_sdk("GetAccountSetting", e))?;
        Ok(out.value().unwrap_or_default().to_string())
    }

    /// The `ecrRepositoryPrefix` of every pull-through-cache rule.
    pub(super) async fn pull_through_cache_prefixes(
        &self,
        registry_id: &str,
    ) -> Result<Vec<String>, EcrError> {
        let mut prefixes = Vec::new();
        let mut token = None;
        loop {
            let out = self
                .client
                .describe_pull_through_cache_rules()
                .registry_id(registry_id)
                .set_next_token(token)
                .send()
                .await
                .map_err(|e| EcrError::from_sdk("DescribePullThroughCacheRules", e))?;
            prefixes.extend(
                out.pull_through_cache_rules()
                    .iter()
                    .filter_map(|r| r.ecr_repository_prefix().map(str::to_string)),
            );
            match out.next_token() {
                Some(t) => token = Some(t.to_string()),
                None => return Ok(prefixes),
            }
        }
    }

    /// Every repository creation template.
    pub(super) async fn list_templates(&self) -> Result<Vec<CurrentTemplate>, EcrError> {
        let mut templates = Vec::new();
        let mut token = None;
        loop {
            let out = self
                .client
                .describe_repository_creation_templates()
                .set_next_token(token)
                .send()
                .await
                .map_err(|e| EcrError::from_sdk("DescribeRepositoryCreationTemplates", e))?;
            templates.extend(out.repository_creation_templates().iter().map(|t| {
                CurrentTemplate {
                    prefix: t.prefix().unwrap_or_default().to_string(),
                    description: t.description().map(str::to_string),
                    repository_policy: t.repository_policy().map(str::to_string),
                    applied_for: t
                        .applied_for()
                        .iter()
                        .map(|a| a.as_str().to_string())
                        .collect(),
                }
            }));
            match out.next_token() {
                Some(t) => token = Some(t.to_string()),
                None => return Ok(templates),
            }
        }
    }

    pub(super) async fn create_template(
        &self,
        prefix: &str,
        description: &str,
        policy: &str,
        kinds: &[String],
    ) -> Result<(), EcrError> {
        self.client
            .create_repository_creation_template()
            .prefix(prefix)
            .description(description)
            .repository_policy(policy)
            .set_applied_for(Some(applied_for(kinds)))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| EcrError::from_sdk("CreateRepositoryCreationTemplate", e))
    }

    /// Changes only what is given: the policy, `appliedFor`, or both.
    pub(super) async fn update_template(
        &self,
        prefix: &str,
        policy: Option<&str>,
        kinds: Option<&[String]>,
    ) -> Result<(), EcrError> {
        self.client
            .update_repository_creation_template()
            .prefix(prefix)
            .set_repository_policy(policy.map(str::to_string))
            .set_applied_for(kinds.map(applied_for))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| EcrError::from_sdk("UpdateRepositoryCreationTemplate", e))
    }

    /// Deletes a template; one that is already gone is no error.
    pub(super) async fn delete_template(&self, prefix: &str) -> Result<(), EcrError> {
        match self
            .client
            .delete_repository_creation_template()
            .prefix(prefix)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e)
                if matches!(
                    e.as_service_error(),
                    Some(DeleteRepositoryCreationTemplateError::TemplateNotFoundException(_))
                ) =>
            {
                Ok(())
            }
            Err(e) => Err(EcrError::from_sdk("DeleteRepositoryCreationTemplate", e)),
        }
    }
}
