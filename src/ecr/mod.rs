//! The only module that talks to ECR: a few calls, and the one decision that matters about their
//! errors, whether a retry could fix them.

pub mod registry;

use aws_sdk_ecr::config::http::HttpResponse;
use aws_sdk_ecr::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_ecr::operation::create_repository::CreateRepositoryError;
use aws_sdk_ecr::operation::delete_repository_policy::DeleteRepositoryPolicyError;
use aws_sdk_ecr::operation::get_repository_policy::GetRepositoryPolicyError;
use aws_sdk_ecr::operation::set_repository_policy::SetRepositoryPolicyError;
use aws_sdk_ecr::Client;

/// One repository of a listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    pub name: String,
    /// Seconds since the epoch.
    pub created_at: Option<i64>,
}

/// A failed ECR call.
#[derive(Debug, thiserror::Error)]
pub enum EcrError {
    /// The repository does not exist (or was deleted meanwhile).
    #[error("repository {0} does not exist")]
    RepositoryNotFound(String),
    /// The work did not finish in the time it had.
    #[error("{0}")]
    Timeout(String),
    #[error("ECR {operation} failed: {message}")]
    Api {
        operation: &'static str,
        /// ECR's error code, when it sent one.
        code: Option<String>,
        message: String,
        retryable: bool,
        #[source]
        source: Box<aws_sdk_ecr::Error>,
    },
}

impl EcrError {
    /// IAM does not know a principal of the policy: a role created seconds ago (IAM is
    /// eventually consistent), or one that was deleted or never existed.
    pub fn is_principal_not_found(&self) -> bool {
        matches!(self, EcrError::Api { message, .. }
            if message.to_ascii_lowercase().contains("principal not found"))
    }

    /// Whether Lambda's retries could fix it: throttling, 5xx, a network failure.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            EcrError::Api {
                retryable: true,
                ..
            }
        )
    }

    pub(crate) fn from_sdk<E>(operation: &'static str, err: SdkError<E, HttpResponse>) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
        aws_sdk_ecr::Error: From<SdkError<E, HttpResponse>>,
    {
        // The service error's own Display ("Code: message") reads well in a reason; the SDK
        // error's own Display and context chain would add the raw HTTP response or Debug dumps.
        let (code, message) = match err.as_service_error() {
            Some(service) => (service.code().map(str::to_string), service.to_string()),
            None => (None, transport_sentence(&err)),
        };
        let retryable = match &err {
            SdkError::ServiceError(_) => {
                let code = code.as_deref().unwrap_or_default();
                code.contains("Throttl")
                    || code == "TooManyRequestsException"
                    || code == "ServerException"
                    || code == "ServiceUnavailableException"
                    || err
                        .raw_response()
                        .is_some_and(|r| r.status().as_u16() == 429 || r.status().is_server_error())
            }
            SdkError::TimeoutError(_)
            | SdkError::DispatchFailure(_)
            | SdkError::ResponseError(_) => true,
            _ => false,
        };
        EcrError::Api {
            operation,
            code,
            message,
            retryable,
            source: Box::new(aws_sdk_ecr::Error::from(err)),
        }
    }
}

/// One sentence for an error that is not ECR's answer: what happened, and the innermost cause.
fn transport_sentence<E, R>(err: &SdkError<E, R>) -> String
where
    E: std::error::Error + 'static,
    R: std::fmt::Debug,
{
    let what = match err {
        SdkError::TimeoutError(_) => "ECR did not answer in time",
        SdkError::DispatchFailure(_) => "the request did not reach ECR",
        SdkError::ResponseError(_) => "ECR's response could not be read",
        SdkError::ConstructionFailure(_) => "the request could not be built",
        _ => "the call failed",
    };
    let mut cause: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(err);
    let mut innermost = None;
    while let Some(c) = cause {
        innermost = Some(c);
        cause = c.source();
    }
    match innermost.map(|c| c.to_string()).filter(|c| !c.is_empty()) {
        Some(c) => format!("{what}: {c}"),
        None => what.to_string(),
    }
}

/// What `create_repository` found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Creation {
    Created,
    /// Someone (pull-through cache, another invocation) created it first.
    AlreadyExists,
}

/// The ECR calls the remediator makes.
#[derive(Debug, Clone)]
pub struct Ecr {
    pub(crate) client: Client,
}

impl Ecr {
    pub fn new(client: Client) -> Self {
        Ecr { client }
    }

    /// The caller's own registry ID, i.e. the function's account.
    pub async fn registry_id(&self) -> Result<String, EcrError> {
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
    pub async fn list_repositories(
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
    pub async fn get_policy(
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
    pub async fn set_policy(
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
    pub async fn delete_policy(&self, registry_id: &str, repository: &str) -> Result<(), EcrError> {
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
    pub async fn create_repository(
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
}
