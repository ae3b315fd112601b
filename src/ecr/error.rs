//! A failed ECR call, and the one decision that matters about it: whether a retry could fix it.

use aws_sdk_ecr::config::http::HttpResponse;
use aws_sdk_ecr::error::{ProvideErrorMetadata, SdkError};

/// A failed ECR call.
#[derive(Debug, thiserror::Error)]
pub enum EcrError {
    /// The repository does not exist (or was deleted meanwhile).
    #[error("repository {0} does not exist")]
    RepositoryNotFound(String),
    /// The work did not finish in the time it had.
    #[error("{0}")]
    Timeout(String),
    /// ECR (or the way to it) answered with an error.
    #[error("ECR {operation} failed: {message}")]
    Api {
        /// The ECR operation, as `SetRepositoryPolicy`.
        operation: &'static str,
        /// ECR's error code, when it sent one.
        code: Option<String>,
        /// ECR's message, or one sentence for a transport failure.
        message: String,
        /// Whether a retry could fix it: throttling, 5xx, a network failure.
        retryable: bool,
        /// The SDK's error, when there is one.
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
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
            source: Some(Box::new(aws_sdk_ecr::Error::from(err))),
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
