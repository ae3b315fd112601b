//! The EventBridge envelope and the CloudTrail record inside it, as tolerant types of our own.
//!
//! The types are our own and every field is optional and lenient: a field of the wrong type reads
//! as absent instead of rejecting the whole event, because an event we cannot read must still end
//! with a reason, not a deserialization error that Lambda would retry for a day.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};
use serde_json::Value;

fn lenient<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: DeserializeOwned,
{
    let v = Value::deserialize(d)?;
    Ok(serde_json::from_value(v).ok())
}

macro_rules! tolerant {
    ($(#[$m:meta])* struct $name:ident { $($(#[$fm:meta])* $field:ident : $ty:ty),* $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Default, Deserialize)]
        #[serde(rename_all = "camelCase")]
        pub(crate) struct $name {
            $(
                $(#[$fm])*
                #[serde(default, deserialize_with = "lenient")]
                pub(crate) $field: Option<$ty>,
            )*
        }
    };
}

tolerant! {
    /// The EventBridge envelope.
    struct Envelope {
        id: String,
        #[serde(rename = "detail-type")]
        detail_type: String,
        source: String,
        account: String,
        region: String,
        time: String,
        /// ARNs; native ECR events name their repository here.
        resources: Vec<String>,
        detail: Detail,
    }
}

tolerant! {
    /// The CloudTrail record in `detail`.
    struct Detail {
        event_source: String,
        event_name: String,
        aws_region: String,
        error_code: String,
        error_message: String,
        recipient_account_id: String,
        user_identity: UserIdentity,
        request_parameters: RequestParameters,
        response_elements: ResponseElements,
        service_event_details: ServiceEventDetails,
        resources: Vec<TrailResource>,
        // The fields of ECR's native events, which use hyphens where CloudTrail uses camelCase.
        #[serde(rename = "repository-name")]
        native_repository_name: Value,
        result: String,
        #[serde(rename = "action-type")]
        action_type: String,
        // "ECR Replication Action": where the image came from.
        #[serde(rename = "source-account")]
        source_account: String,
        #[serde(rename = "source-region")]
        source_region: String,
        // "ECR Pull Through Cache Action": how the sync with the upstream registry went.
        #[serde(rename = "sync-status")]
        sync_status: String,
        #[serde(rename = "upstream-registry-url")]
        upstream_registry_url: String,
        #[serde(rename = "failure-code")]
        failure_code: String,
        #[serde(rename = "failure-reason")]
        failure_reason: String,
    }
}

tolerant! {
    struct UserIdentity {
        #[serde(rename = "type")]
        kind: String,
        arn: String,
        account_id: String,
        session_context: SessionContext,
    }
}

tolerant! {
    struct SessionContext {
        session_issuer: SessionIssuer,
    }
}

tolerant! {
    struct SessionIssuer {
        arn: String,
        account_id: String,
    }
}

// The fields that decide which repository is touched stay raw: present but not a string makes
// the event invalid instead of silently falling back to another source.
tolerant! {
    struct RequestParameters {
        repository_name: Value,
        registry_id: Value,
    }
}

tolerant! {
    struct ResponseElements {
        repository: RepositoryElement,
    }
}

tolerant! {
    struct RepositoryElement {
        repository_name: Value,
        registry_id: Value,
        repository_arn: Value,
    }
}

tolerant! {
    struct ServiceEventDetails {
        repository_name: Value,
    }
}

tolerant! {
    struct TrailResource {
        #[serde(rename = "ARN")]
        arn: String,
    }
}
