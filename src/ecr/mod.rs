//! The adapter: every call the remediator makes to ECR, behind [`EcrClient`]. [`SdkEcr`] is the
//! AWS SDK's client; [`Paced`] wraps any client to keep a request rate (the sweep's); the engine's
//! unit tests use an in-memory fake. Nothing here decides what a policy should hold.

mod error;
#[cfg(test)]
pub(crate) mod fake;
mod paced;
mod registry;
mod sdk;

use async_trait::async_trait;

use crate::desired::templates::CurrentTemplate;
pub use error::EcrError;
pub(crate) use paced::Paced;
pub(crate) use registry::SCOPE_SETTING;
pub use sdk::SdkEcr;

/// One repository of a listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    pub name: String,
    /// Seconds since the epoch.
    pub created_at: Option<i64>,
}

/// What `create_repository` found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Creation {
    Created,
    /// Someone (pull-through cache, another invocation) created it first.
    AlreadyExists,
}

/// The ECR calls the remediator makes, on repositories and on the registry's own documents.
#[async_trait]
pub trait EcrClient: std::fmt::Debug + Send + Sync {
    /// The caller's own registry ID, i.e. the function's account (`DescribeRegistry`).
    async fn registry_id(&self) -> Result<String, EcrError>;
    /// One page of the registry's repositories (up to 1,000), and the next page's token.
    async fn list_repositories(
        &self,
        registry_id: &str,
        next_token: Option<String>,
    ) -> Result<(Vec<Listed>, Option<String>), EcrError>;
    /// The repository's policy text; `None` when it has none.
    async fn get_policy(
        &self,
        registry_id: &str,
        repository: &str,
    ) -> Result<Option<String>, EcrError>;
    /// Replaces the repository's policy (never `force`).
    async fn set_policy(
        &self,
        registry_id: &str,
        repository: &str,
        policy_text: &str,
    ) -> Result<(), EcrError>;
    /// Deletes the repository's policy; one already gone is no error.
    async fn delete_policy(&self, registry_id: &str, repository: &str) -> Result<(), EcrError>;
    /// Creates a repository with ECR's defaults.
    async fn create_repository(
        &self,
        registry_id: &str,
        repository: &str,
    ) -> Result<Creation, EcrError>;
    /// The registry policy's text; `None` when there is none.
    async fn get_registry_policy(&self) -> Result<Option<String>, EcrError>;
    /// Replaces the registry policy.
    async fn put_registry_policy(&self, text: &str) -> Result<(), EcrError>;
    /// Deletes the registry policy; one already gone is no error.
    async fn delete_registry_policy(&self) -> Result<(), EcrError>;
    /// `V1` or `V2` (`GetAccountSetting REGISTRY_POLICY_SCOPE`).
    async fn registry_policy_scope(&self) -> Result<String, EcrError>;
    /// The `ecrRepositoryPrefix` of every pull-through-cache rule.
    async fn pull_through_cache_prefixes(&self, registry_id: &str)
        -> Result<Vec<String>, EcrError>;
    /// Every repository creation template.
    async fn list_templates(&self) -> Result<Vec<CurrentTemplate>, EcrError>;
    /// Creates a repository creation template marked with `description`.
    async fn create_template(
        &self,
        prefix: &str,
        description: &str,
        policy: &str,
        kinds: &[String],
    ) -> Result<(), EcrError>;
    /// Changes only what is given: the policy, `appliedFor`, or both.
    async fn update_template(
        &self,
        prefix: &str,
        policy: Option<&str>,
        kinds: Option<&[String]>,
    ) -> Result<(), EcrError>;
    /// Deletes a template; one already gone is no error.
    async fn delete_template(&self, prefix: &str) -> Result<(), EcrError>;
}
