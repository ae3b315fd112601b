//! An in-memory ECR for the engine's unit tests: repositories and their policies, the registry
//! policy and templates, every call recorded, and failures or slow answers injected per
//! operation. It answers as the SDK adapter does (not found, already exists, retryable), so the
//! engine cannot tell the difference.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;

use crate::desired::templates::CurrentTemplate;
use crate::ecr::{Creation, EcrClient, EcrError, Listed};

/// What a call of one operation answers instead of doing its work.
#[derive(Debug, Clone)]
pub(crate) enum Fault {
    /// `ThrottlingException`: retryable.
    Throttled,
    /// IAM does not know a principal of the policy.
    PrincipalNotFound,
    /// The repository vanished between two calls.
    RepositoryNotFound,
    /// The answer comes after this long.
    Slow(Duration),
}

#[derive(Debug, Default)]
struct State {
    policies: BTreeMap<String, Option<String>>,
    registry_policy: Option<String>,
    scope: String,
    templates: Vec<CurrentTemplate>,
    calls: Vec<String>,
    faults: BTreeMap<&'static str, VecDeque<Fault>>,
}

#[derive(Debug, Default)]
pub(crate) struct FakeEcr {
    state: Mutex<State>,
}

pub(crate) const REGISTRY: &str = "111111111111";

impl FakeEcr {
    /// A registry with these repositories, each with its policy (`None`: no policy), scope V2.
    pub(crate) fn with(repositories: &[(&str, Option<&str>)]) -> Self {
        let fake = FakeEcr::default();
        {
            let mut s = fake.state.lock().unwrap();
            s.scope = "V2".into();
            for (name, policy) in repositories {
                s.policies
                    .insert(name.to_string(), policy.map(str::to_string));
            }
        }
        fake
    }

    /// The next call of `operation` (its ECR name) answers `fault` first.
    pub(crate) fn inject(&self, operation: &'static str, fault: Fault) {
        let mut s = self.state.lock().unwrap();
        s.faults.entry(operation).or_default().push_back(fault);
    }

    /// Every call so far, as `Operation argument`, in order.
    pub(crate) fn calls(&self) -> Vec<String> {
        self.state.lock().unwrap().calls.clone()
    }

    pub(crate) fn policy(&self, repository: &str) -> Option<String> {
        let s = self.state.lock().unwrap();
        s.policies.get(repository).cloned().flatten()
    }

    pub(crate) fn registry_policy(&self) -> Option<String> {
        self.state.lock().unwrap().registry_policy.clone()
    }

    /// Stores a registry policy as someone else wrote it.
    pub(crate) fn put_registry(&self, text: &str) {
        self.state.lock().unwrap().registry_policy = Some(text.into());
    }

    /// Stores a creation template as someone else made it.
    pub(crate) fn put_template(&self, template: CurrentTemplate) {
        self.state.lock().unwrap().templates.push(template);
    }

    /// The stored creation templates.
    pub(crate) fn templates(&self) -> Vec<CurrentTemplate> {
        self.state.lock().unwrap().templates.clone()
    }

    /// Records the call and answers its injected fault, if any.
    async fn call(&self, operation: &'static str, argument: &str) -> Result<(), EcrError> {
        let fault = {
            let mut s = self.state.lock().unwrap();
            s.calls
                .push(format!("{operation} {argument}").trim_end().to_string());
            s.faults.get_mut(operation).and_then(VecDeque::pop_front)
        };
        let api = |code: &str, message: &str, retryable| EcrError::Api {
            operation,
            code: Some(code.into()),
            message: message.into(),
            retryable,
            source: None,
        };
        match fault {
            None => Ok(()),
            Some(Fault::Slow(pause)) => {
                tokio::time::sleep(pause).await;
                Ok(())
            }
            Some(Fault::Throttled) => Err(api("ThrottlingException", "Rate exceeded", true)),
            Some(Fault::PrincipalNotFound) => Err(api(
                "InvalidParameterException",
                "Invalid parameter at 'PolicyText' failed to satisfy constraint: 'Principal not found'",
                false,
            )),
            Some(Fault::RepositoryNotFound) => {
                Err(EcrError::RepositoryNotFound(argument.to_string()))
            }
        }
    }

    fn exists(&self, repository: &str) -> Result<(), EcrError> {
        match self.state.lock().unwrap().policies.contains_key(repository) {
            true => Ok(()),
            false => Err(EcrError::RepositoryNotFound(repository.to_string())),
        }
    }
}

#[async_trait]
impl EcrClient for FakeEcr {
    async fn registry_id(&self) -> Result<String, EcrError> {
        self.call("DescribeRegistry", "").await?;
        Ok(REGISTRY.into())
    }

    async fn list_repositories(
        &self,
        _registry_id: &str,
        _next_token: Option<String>,
    ) -> Result<(Vec<Listed>, Option<String>), EcrError> {
        self.call("DescribeRepositories", "").await?;
        let s = self.state.lock().unwrap();
        let listed = s.policies.keys().map(|name| Listed {
            name: name.clone(),
            created_at: Some(0),
        });
        Ok((listed.collect(), None))
    }

    async fn get_policy(&self, _: &str, repository: &str) -> Result<Option<String>, EcrError> {
        self.call("GetRepositoryPolicy", repository).await?;
        self.exists(repository)?;
        Ok(self.policy(repository))
    }

    async fn set_policy(&self, _: &str, repository: &str, text: &str) -> Result<(), EcrError> {
        self.call("SetRepositoryPolicy", repository).await?;
        self.exists(repository)?;
        let mut s = self.state.lock().unwrap();
        s.policies.insert(repository.into(), Some(text.into()));
        Ok(())
    }

    async fn delete_policy(&self, _: &str, repository: &str) -> Result<(), EcrError> {
        self.call("DeleteRepositoryPolicy", repository).await?;
        self.exists(repository)?;
        self.state
            .lock()
            .unwrap()
            .policies
            .insert(repository.into(), None);
        Ok(())
    }

    async fn create_repository(&self, _: &str, repository: &str) -> Result<Creation, EcrError> {
        self.call("CreateRepository", repository).await?;
        let mut s = self.state.lock().unwrap();
        if s.policies.contains_key(repository) {
            return Ok(Creation::AlreadyExists);
        }
        s.policies.insert(repository.into(), None);
        Ok(Creation::Created)
    }

    async fn get_registry_policy(&self) -> Result<Option<String>, EcrError> {
        self.call("GetRegistryPolicy", "").await?;
        Ok(self.registry_policy())
    }

    async fn put_registry_policy(&self, text: &str) -> Result<(), EcrError> {
        self.call("PutRegistryPolicy", "").await?;
        self.state.lock().unwrap().registry_policy = Some(text.into());
        Ok(())
    }

    async fn delete_registry_policy(&self) -> Result<(), EcrError> {
        self.call("DeleteRegistryPolicy", "").await?;
        self.state.lock().unwrap().registry_policy = None;
        Ok(())
    }

    async fn registry_policy_scope(&self) -> Result<String, EcrError> {
        self.call("GetAccountSetting", "REGISTRY_POLICY_SCOPE")
            .await?;
        Ok(self.state.lock().unwrap().scope.clone())
    }

    async fn pull_through_cache_prefixes(&self, _: &str) -> Result<Vec<String>, EcrError> {
        self.call("DescribePullThroughCacheRules", "").await?;
        Ok(Vec::new())
    }

    async fn list_templates(&self) -> Result<Vec<CurrentTemplate>, EcrError> {
        self.call("DescribeRepositoryCreationTemplates", "").await?;
        Ok(self.state.lock().unwrap().templates.clone())
    }

    async fn create_template(
        &self,
        prefix: &str,
        description: &str,
        policy: &str,
        kinds: &[String],
    ) -> Result<(), EcrError> {
        self.call("CreateRepositoryCreationTemplate", prefix)
            .await?;
        self.state.lock().unwrap().templates.push(CurrentTemplate {
            prefix: prefix.into(),
            description: Some(description.into()),
            repository_policy: Some(policy.into()),
            applied_for: kinds.to_vec(),
        });
        Ok(())
    }

    async fn update_template(
        &self,
        prefix: &str,
        policy: Option<&str>,
        kinds: Option<&[String]>,
    ) -> Result<(), EcrError> {
        self.call("UpdateRepositoryCreationTemplate", prefix)
            .await?;
        let mut s = self.state.lock().unwrap();
        if let Some(t) = s.templates.iter_mut().find(|t| t.prefix == prefix) {
            if let Some(p) = policy {
                t.repository_policy = Some(p.into());
            }
            if let Some(k) = kinds {
                t.applied_for = k.to_vec();
            }
        }
        Ok(())
    }

    async fn delete_template(&self, prefix: &str) -> Result<(), EcrError> {
        self.call("DeleteRepositoryCreationTemplate", prefix)
            .await?;
        self.state
            .lock()
            .unwrap()
            .templates
            .retain(|t| t.prefix != prefix);
        Ok(())
    }
}
