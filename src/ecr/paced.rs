//! A client that keeps a request rate: the sweep's `sweep.requestsPerSecond`, shared by every call
//! it makes, so that a sweep of thousands of repositories never hammers a registry others share.
//! ECR publishes no rate quota for these calls and throttles them all the same.

use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};

use crate::desired::templates::CurrentTemplate;
use crate::ecr::{Creation, EcrClient, EcrError, Listed};

/// Another client, each call of which waits for its turn: one request at a time, no bursts.
#[derive(Debug)]
pub(crate) struct Paced {
    inner: Arc<dyn EcrClient>,
    limiter: DefaultDirectRateLimiter,
}

impl Paced {
    pub(crate) fn new(inner: Arc<dyn EcrClient>, requests_per_second: f64) -> Self {
        let period = Duration::from_secs_f64(1.0 / requests_per_second.clamp(0.001, 1_000_000.0));
        let quota = Quota::with_period(period)
            .unwrap_or_else(|| Quota::per_second(NonZeroU32::MAX))
            .allow_burst(NonZeroU32::MIN);
        Paced {
            inner,
            limiter: RateLimiter::direct(quota),
        }
    }

    async fn turn(&self) -> &dyn EcrClient {
        self.limiter.until_ready().await;
        self.inner.as_ref()
    }
}

#[async_trait]
impl EcrClient for Paced {
    async fn registry_id(&self) -> Result<String, EcrError> {
        self.turn().await.registry_id().await
    }

    async fn list_repositories(
        &self,
        registry_id: &str,
        next_token: Option<String>,
    ) -> Result<(Vec<Listed>, Option<String>), EcrError> {
        let inner = self.turn().await;
        inner.list_repositories(registry_id, next_token).await
    }

    async fn get_policy(
        &self,
        registry_id: &str,
        repository: &str,
    ) -> Result<Option<String>, EcrError> {
        self.turn().await.get_policy(registry_id, repository).await
    }

    async fn set_policy(
        &self,
        registry_id: &str,
        repository: &str,
        policy_text: &str,
    ) -> Result<(), EcrError> {
        let inner = self.turn().await;
        inner.set_policy(registry_id, repository, policy_text).await
    }

    async fn delete_policy(&self, registry_id: &str, repository: &str) -> Result<(), EcrError> {
        self.turn()
            .await
            .delete_policy(registry_id, repository)
            .await
    }

    async fn create_repository(
        &self,
        registry_id: &str,
        repository: &str,
    ) -> Result<Creation, EcrError> {
        let inner = self.turn().await;
        inner.create_repository(registry_id, repository).await
    }

    async fn get_registry_policy(&self) -> Result<Option<String>, EcrError> {
        self.turn().await.get_registry_policy().await
    }

    async fn put_registry_policy(&self, text: &str) -> Result<(), EcrError> {
        self.turn().await.put_registry_policy(text).await
    }

    async fn delete_registry_policy(&self) -> Result<(), EcrError> {
        self.turn().await.delete_registry_policy().await
    }

    async fn registry_policy_scope(&self) -> Result<String, EcrError> {
        self.turn().await.registry_policy_scope().await
    }

    async fn pull_through_cache_prefixes(
        &self,
        registry_id: &str,
    ) -> Result<Vec<String>, EcrError> {
        self.turn()
            .await
            .pull_through_cache_prefixes(registry_id)
            .await
    }

    async fn list_templates(&self) -> Result<Vec<CurrentTemplate>, EcrError> {
        self.turn().await.list_templates().await
    }

    async fn create_template(
        &self,
        prefix: &str,
        description: &str,
        policy: &str,
        kinds: &[String],
    ) -> Result<(), EcrError> {
        let inner = self.turn().await;
        inner
            .create_template(prefix, description, policy, kinds)
            .await
    }

    async fn update_template(
        &self,
        prefix: &str,
        policy: Option<&str>,
        kinds: Option<&[String]>,
    ) -> Result<(), EcrError> {
        let inner = self.turn().await;
        inner.update_template(prefix, policy, kinds).await
    }

    async fn delete_template(&self, prefix: &str) -> Result<(), EcrError> {
        self.turn().await.delete_template(prefix).await
    }
}
