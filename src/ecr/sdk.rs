//! The SDK adapter: each [`EcrClient`] call as one ECR API call, and ECR's errors mapped to what
//! the engine decides on (not found, retryable or not).

use async_trait::async_trait;
use aws_sdk_ecr::operation::create_repository::CreateRepositoryError;
use aws_sdk_ecr::operation::delete_repository_policy::DeleteRepositoryPolicyError;
use aws_sdk_ecr::operation::get_repository_policy::GetRepositoryPolicyError;
use aws_sdk_ecr::operation::set_repository_policy::SetRepositoryPolicyError;
use aws_sdk_ecr::Client;

use crate::desired::templates::CurrentTemplate;
use crate::ecr::{Creation, EcrClient, EcrError, Listed};

/// The ECR client of the AWS SDK, as the remediator calls it.
#[derive(Debug, Clone)]
pub struct SdkEcr {
    pub(crate) client: Client,
}

impl SdkEcr {
    /// Wraps an SDK client built from the standard AWS configuration.
    pub fn new(client: Client) -> Self {
        SdkEcr { client }
    }
}

#[async_trait]
impl EcrClient for SdkEcr {
    /// The caller's own registry ID, i.e. the function's account.
    async fn registry_id(&self) -> Result<String, EcrError> {
        let out = self
            .client
            .describe_registry()
            .send()
            .await
            .map_err(|e| EcrError::from_sdk("DescribeRegistry", e))?;
        Ok(out.registry_id().unwrap_or_default().to_string())
    }

    /// One page of the registry's repository names (up to 1,000, the most ECR returns at once),
    /// and the token of the next page.
    async fn list_repositories(
        &self,
        registry_id: &str,
        next_token: Option<String>,
    ) -> Result<(Vec<Listed>, Option<String>), EcrError> {
        let out = self
            .client
            .describe_repositories()
            .registry_id(registry_id)
            .max_results(1000)
            .set_next_token(next_token)
            .send()
            .await
            .map_err(|e| EcrError::from_sdk("DescribeRepositories", e))?;
        let names = out
            .repositories()
            .iter()
            .filter_map(|r| {
                Some(Listed {
                    name: r.repository_name()?.to_string(),
                    created_at: r.created_at().map(|t| t.secs()),
                })
            })
            .collect();
        Ok((names, out.next_token().map(str::to_string)))
    }

    /// The repository's policy text; `None` when it has none.
    async fn get_policy(
        &self,
        registry_id: &str,
        repository: &str,
    ) -> Result<Option<String>, EcrError> {
        let result = self
            .client
            .get_repository_policy()
            .registry_id(registry_id)
            .repository_name(repository)
            .send()
            .await;
        match result {
            Ok(out) => Ok(out.policy_text().map(str::to_string)),
            Err(e) => match e.as_service_error() {
                Some(GetRepositoryPolicyError::RepositoryPolicyNotFoundException(_)) => Ok(None),
                Some(GetRepositoryPolicyError::RepositoryNotFoundException(_)) => {
                    Err(EcrError::RepositoryNotFound(repository.to_string()))
                }
                _ => Err(EcrError::from_sdk("GetRepositoryPolicy", e)),
            },
        }
    }

    /// Replaces the repository's policy. Never `force`: an Allow-only grant cannot lock anyone out.
    async fn set_policy(
        &self,
        registry_id: &str,
        repository: &str,
        policy_text: &str,
    ) -> Result<(), EcrError> {
        let result = self
            .client
            .set_repository_policy()
            .registry_id(registry_id)
            .repository_name(repository)
            .policy_text(policy_text)
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e)
                if matches!(
                    e.as_service_error(),
                    Some(SetRepositoryPolicyError::RepositoryNotFoundException(_))
                ) =>
            {
                Err(EcrError::RepositoryNotFound(repository.to_string()))
            }
            Err(e) => Err(EcrError::from_sdk("SetRepositoryPolicy", e)),
        }
    }

    /// Deletes the repository's policy; a policy that is already gone is no error.
    async fn delete_policy(&self, registry_id: &str, repository: &str) -> Result<(), EcrError> {
        let result = self
            .client
            .delete_repository_policy()
            .registry_id(registry_id)
            .repository_name(repository)
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e) => match e.as_service_error() {
                Some(DeleteRepositoryPolicyError::RepositoryPolicyNotFoundException(_)) => Ok(()),
                Some(DeleteRepositoryPolicyError::RepositoryNotFoundException(_)) => {
                    Err(EcrError::RepositoryNotFound(repository.to_string()))
                }
                _ => Err(EcrError::from_sdk("DeleteRepositoryPolicy", e)),
            },
        }
    }

    /// Creates a repository with ECR's defaults.
    async fn create_repository(
        &self,
        registry_id: &str,
        repository: &str,
    ) -> Result<Creation, EcrError> {
        let result = self
            .client
            .create_repository()
            .registry_id(registry_id)
            .repository_name(repository)
            .send()
            .await;
        match result {
            Ok(_) => Ok(Creation::Created),
            Err(e) => match e.as_service_error() {
                Some(CreateRepositoryError::RepositoryAlreadyExistsException(_)) => {
                    Ok(Creation::AlreadyExists)
                }
                _ => Err(EcrError::from_sdk("CreateRepository", e)),
            },
        }
    }

    async fn get_registry_policy(&self) -> Result<Option<String>, EcrError> {
        SdkEcr::get_registry_policy(self).await
    }

    async fn put_registry_policy(&self, text: &str) -> Result<(), EcrError> {
        SdkEcr::put_registry_policy(self, text).await
    }

    async fn delete_registry_policy(&self) -> Result<(), EcrError> {
        SdkEcr::delete_registry_policy(self).await
    }

    async fn registry_policy_scope(&self) -> Result<String, EcrError> {
        SdkEcr::registry_policy_scope(self).await
    }

    async fn pull_through_cache_prefixes(
        &self,
        registry_id: &str,
    ) -> Result<Vec<String>, EcrError> {
        SdkEcr::pull_through_cache_prefixes(self, registry_id).await
    }

    async fn list_templates(&self) -> Result<Vec<CurrentTemplate>, EcrError> {
        SdkEcr::list_templates(self).await
    }

    async fn create_template(
        &self,
        prefix: &str,
        description: &str,
        policy: &str,
        kinds: &[String],
    ) -> Result<(), EcrError> {
        SdkEcr::create_template(self, prefix, description, policy, kinds).await
    }

    async fn update_template(
        &self,
        prefix: &str,
        policy: Option<&str>,
        kinds: Option<&[String]>,
    ) -> Result<(), EcrError> {
        SdkEcr::update_template(self, prefix, policy, kinds).await
    }

    async fn delete_template(&self, prefix: &str) -> Result<(), EcrError> {
        SdkEcr::delete_template(self, prefix).await
    }
}
