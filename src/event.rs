//! Reading EventBridge events that carry CloudTrail records, and deciding which repository they
//! concern.
//!
//! The types are our own and every field is optional and lenient: a field of the wrong type reads
//! as absent instead of rejecting the whole event, because an event we cannot read must still end
//! with a reason, not a deserialization error that Lambda would retry for a day.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

use crate::rules::{is_account_id, Caller};

/// Longest event ID echoed back; a hostile event must not blow up the logs.
const MAX_ID_CHARS: usize = 128;

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
        pub struct $name {
            $(
                $(#[$fm])*
                #[serde(default, deserialize_with = "lenient")]
                pub $field: Option<$ty>,
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
        detail: Detail,
    }
}

tolerant! {
    /// The CloudTrail record in `detail`.
    struct Detail {
        event_source: String,
        event_name: String,
        event_type: String,
        aws_region: String,
        error_code: String,
        error_message: String,
        recipient_account_id: String,
        user_identity: UserIdentity,
        request_parameters: RequestParameters,
        response_elements: ResponseElements,
        service_event_details: ServiceEventDetails,
        resources: Vec<TrailResource>,
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
        #[serde(rename = "type")]
        kind: String,
        arn: String,
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

/// What kind of event this was.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Trigger {
    RepositoryCreated,
    PullDenied,
    PolicyChanged,
    Scheduled,
    Unrecognized,
}

/// The repository an event concerns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub registry_id: String,
    pub region: String,
    pub repository: String,
}

/// What an event asks of the remediator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Classified {
    RepositoryCreated(Target),
    PullDenied {
        target: Target,
        caller: Caller,
    },
    /// Someone set or deleted a repository policy. `changed_by` is the IAM role (session issuer)
    /// or user that did it.
    PolicyChanged {
        target: Target,
        changed_by: Option<String>,
    },
    /// An EventBridge schedule: sweep the registry.
    Scheduled(Schedule),
    /// Not an event to act on (another event name, a failed call, another source...).
    Skip {
        trigger: Trigger,
        reason: String,
    },
    /// An event we should act on but cannot read: the reason says what is missing or wrong.
    Invalid {
        trigger: Trigger,
        reason: String,
    },
}

/// What a scheduled event says about itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    pub account: Option<String>,
    pub region: Option<String>,
    /// Seconds since the epoch of the scheduled time, when the event carries a readable one.
    pub time: Option<i64>,
}

/// An event, classified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// The EventBridge event ID, shortened if absurdly long.
    pub id: Option<String>,
    pub classified: Classified,
}

pub const API_CALL: &str = "AWS API Call via CloudTrail";
pub const SERVICE_EVENT: &str = "AWS Service Event via CloudTrail";
pub const CREATE_SOURCES: &[&str] = &["ecr.amazonaws.com", "replication.ecr.amazonaws.com"];
pub const PULL_EVENTS: &[&str] = &[
    "BatchGetImage",
    "GetDownloadUrlForLayer",
    "BatchCheckLayerAvailability",
];
pub const POLICY_EVENTS: &[&str] = &["SetRepositoryPolicy", "DeleteRepositoryPolicy"];
pub const DENIED_ERRORS: &[&str] = &[
    "AccessDenied",
    "AccessDeniedException",
    "RepositoryNotFoundException",
];

impl Event {
    /// Reads and classifies an event. Never fails: anything unusable becomes `Skip` or `Invalid`.
    pub fn classify(raw: &Value) -> Event {
        let envelope = Envelope::deserialize(raw).unwrap_or_default();
        let id = envelope
            .id
            .as_deref()
            .map(|id| id.chars().take(MAX_ID_CHARS).collect());
        Event {
            id,
            classified: classify(&envelope),
        }
    }
}

fn skip(reason: impl Into<String>) -> Classified {
    Classified::Skip {
        trigger: Trigger::Unrecognized,
        reason: reason.into(),
    }
}

fn classify(e: &Envelope) -> Classified {
    let source = e.source.as_deref().unwrap_or_default();
    let detail_type = e.detail_type.as_deref().unwrap_or_default();
    if source.is_empty() && detail_type.is_empty() {
        return skip("not an EventBridge event: it has no source and no detail-type");
    }
    if source == "aws.events" && detail_type == "Scheduled Event" {
        let time = e.time.as_deref().and_then(|t| {
            aws_sdk_ecr::primitives::DateTime::from_str(
                t,
                aws_sdk_ecr::primitives::DateTimeFormat::DateTime,
            )
            .ok()
        });
        return Classified::Scheduled(Schedule {
            account: e.account.clone(),
            region: e.region.clone(),
            time: time.map(|t| t.secs()),
        });
    }
    if source != "aws.ecr" {
        return skip(format!("event source {} is not aws.ecr", shown(source)));
    }
    if detail_type != API_CALL && detail_type != SERVICE_EVENT {
        return skip(format!(
            "detail-type {} is not a CloudTrail record",
            shown(detail_type)
        ));
    }
    let Some(d) = &e.detail else {
        return Classified::Invalid {
            trigger: Trigger::Unrecognized,
            reason: "the event has no CloudTrail record in detail".into(),
        };
    };
    let event_source = d.event_source.as_deref().unwrap_or_default();
    let event_name = d.event_name.as_deref().unwrap_or_default();

    if event_name == "CreateRepository" && CREATE_SOURCES.contains(&event_source) {
        if let Some(code) = &d.error_code {
            return skip(format!(
                "CreateRepository failed with {}: no repository was created",
                shown(code)
            ));
        }
        return match target(e, d, false) {
            Ok(t) => Classified::RepositoryCreated(t),
            Err(reason) => Classified::Invalid {
                trigger: Trigger::RepositoryCreated,
                reason,
            },
        };
    }

    if PULL_EVENTS.contains(&event_name) && event_source == "ecr.amazonaws.com" {
        let code = d.error_code.as_deref().unwrap_or_default();
        if !DENIED_ERRORS.contains(&code) {
            let what = if code.is_empty() {
                "succeeded".to_string()
            } else {
                format!("failed with {}", shown(code))
            };
            return skip(format!("{event_name} {what}: not a denied pull"));
        }
        return match target(e, d, true) {
            Ok(target) => Classified::PullDenied {
                target,
                caller: caller(e, d),
            },
            Err(reason) => Classified::Invalid {
                trigger: Trigger::PullDenied,
                reason,
            },
        };
    }

    if POLICY_EVENTS.contains(&event_name) && event_source == "ecr.amazonaws.com" {
        if detail_type != API_CALL {
            return skip(format!(
                "{event_name} as {detail_type:?} is not an API call"
            ));
        }
        if let Some(code) = &d.error_code {
            return skip(format!(
                "{event_name} failed with {}: the policy did not change",
                shown(code)
            ));
        }
        return match target(e, d, false) {
            Ok(target) => Classified::PolicyChanged {
                target,
                changed_by: caller(e, d).principal_arn,
            },
            Err(reason) => Classified::Invalid {
                trigger: Trigger::PolicyChanged,
                reason,
            },
        };
    }

    skip(format!(
        "{} from {} is not a repository creation, a denied pull or a policy change",
        shown(event_name),
        shown(event_source)
    ))
}

/// Quotes a value from the event for a reason, cut short if it is long.
fn shown(s: &str) -> String {
    if s.is_empty() {
        return "(none)".into();
    }
    let cut: String = s.chars().take(64).collect();
    if cut.len() < s.len() {
        format!("{cut:?}...")
    } else {
        format!("{cut:?}")
    }
}

/// `arn:PARTITION:ecr:REGION:ACCOUNT:repository/NAME` -> (region, account, name).
fn parse_repository_arn(arn: &str) -> Option<(&str, &str, &str)> {
    let mut parts = arn.splitn(6, ':');
    let (arn_, _partition, service, region, account, resource) = (
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
    );
    if arn_ != "arn" || service != "ecr" {
        return None;
    }
    Some((region, account, resource.strip_prefix("repository/")?))
}

/// The repository ARN inside an access-denied message (`... on resource: ARN because ...`); the
/// caller's ARN comes first in that sentence, so take the first ARN that is a repository's.
fn repository_arn_in_message(message: &str) -> Option<(&str, &str, &str)> {
    message.match_indices("arn:").find_map(|(start, _)| {
        let rest = &message[start..];
        let end = rest
            .find(|c: char| c.is_whitespace() || c == ',' || c == '"')
            .unwrap_or(rest.len());
        parse_repository_arn(&rest[..end])
    })
}

/// A deciding field: absent or null is `None`, a string is itself, anything else is refused.
fn text<'a>(what: &str, v: Option<&'a Value>) -> Result<Option<&'a str>, String> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(format!("{what} is present but is not a string")),
    }
}

/// Distinct non-empty values; two different ones mean the event contradicts itself.
fn one_of<'a>(
    what: &str,
    values: impl IntoIterator<Item = Option<&'a str>>,
) -> Result<Option<&'a str>, String> {
    let mut found: Option<&str> = None;
    for v in values.into_iter().flatten().filter(|v| !v.is_empty()) {
        match found {
            Some(f) if f != v => {
                return Err(format!(
                    "the event names two different {what}s, {} and {}",
                    shown(f),
                    shown(v)
                ))
            }
            _ => found = Some(v),
        }
    }
    Ok(found)
}

fn target(e: &Envelope, d: &Detail, pull: bool) -> Result<Target, String> {
    let req = d.request_parameters.as_ref();
    let resp = d
        .response_elements
        .as_ref()
        .and_then(|r| r.repository.as_ref());
    let req_name = text(
        "requestParameters.repositoryName",
        req.and_then(|r| r.repository_name.as_ref()),
    )?;
    let req_registry = text(
        "requestParameters.registryId",
        req.and_then(|r| r.registry_id.as_ref()),
    )?;
    let resp_name = text(
        "responseElements.repository.repositoryName",
        resp.and_then(|r| r.repository_name.as_ref()),
    )?;
    let resp_registry = text(
        "responseElements.repository.registryId",
        resp.and_then(|r| r.registry_id.as_ref()),
    )?;
    let resp_arn = text(
        "responseElements.repository.repositoryArn",
        resp.and_then(|r| r.repository_arn.as_ref()),
    )?;
    let service_name = text(
        "serviceEventDetails.repositoryName",
        d.service_event_details
            .as_ref()
            .and_then(|s| s.repository_name.as_ref()),
    )?;
    let mut arns: Vec<(&str, &str, &str)> = d
        .resources
        .iter()
        .flatten()
        .filter_map(|r| r.arn.as_deref().and_then(parse_repository_arn))
        .chain(resp_arn.and_then(parse_repository_arn))
        .collect();
    if arns.is_empty() {
        if let Some(arn) = d
            .error_message
            .as_deref()
            .and_then(repository_arn_in_message)
        {
            arns.push(arn);
        }
    }

    // Every place that names the repository must agree: an event that contradicts itself is
    // refused rather than resolved by picking one of its answers.
    let repository = one_of(
        "repository name",
        [req_name, resp_name, service_name]
            .into_iter()
            .chain(arns.iter().map(|a| Some(a.2))),
    )?
    .ok_or_else(|| {
        "no repository name in requestParameters, responseElements, serviceEventDetails or resources"
            .to_string()
    })?;
    check_repository_name(repository)?;

    let explicit = one_of(
        "registry",
        [req_registry, resp_registry]
            .into_iter()
            .chain(arns.iter().map(|a| Some(a.1))),
    )?;
    // Without an explicit registry the call went to the caller's own registry (the API default);
    // a forwarded event's envelope names the pulling account, so for pulls look at the caller.
    let fallback = if pull {
        d.user_identity
            .as_ref()
            .and_then(|u| u.account_id.as_deref())
            .or(e.account.as_deref())
    } else {
        d.recipient_account_id.as_deref().or(e.account.as_deref())
    };
    let registry_id = explicit.or(fallback).ok_or("no registry ID in the event")?;
    if !is_account_id(registry_id) {
        return Err(format!(
            "registry ID {} is not a 12-digit account ID",
            shown(registry_id)
        ));
    }

    let region = d
        .aws_region
        .as_deref()
        .or(arns.first().map(|a| a.0))
        .or(e.region.as_deref())
        .filter(|r| !r.is_empty())
        .ok_or("no region in the event")?;
    if region.len() > 32
        || !region
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        return Err(format!("region {} is not an AWS region", shown(region)));
    }

    Ok(Target {
        registry_id: registry_id.to_string(),
        region: region.to_string(),
        repository: repository.to_string(),
    })
}

fn caller(e: &Envelope, d: &Detail) -> Caller {
    let identity = d.user_identity.as_ref();
    let arn = identity.and_then(|u| u.arn.as_deref());
    let account = identity
        .and_then(|u| u.account_id.clone())
        .or_else(|| arn.and_then(|a| a.split(':').nth(4)).map(str::to_string))
        .or_else(|| e.account.clone())
        .filter(|a| is_account_id(a));
    let issuer = identity
        .and_then(|u| u.session_context.as_ref())
        .and_then(|s| s.session_issuer.as_ref())
        .and_then(|i| i.arn.clone());
    let user = identity
        .filter(|u| u.kind.as_deref() == Some("IAMUser"))
        .and_then(|u| u.arn.clone());
    Caller {
        account,
        principal_arn: issuer.or(user),
    }
}

/// ECR's rule for repository names: 2-256 characters of lowercase components separated by `/`,
/// each made of letters and digits joined by single `.`, `_` or `-`.
pub fn check_repository_name(name: &str) -> Result<(), String> {
    let valid = (2..=256).contains(&name.len())
        && name.split('/').all(|component| {
            !component.is_empty()
                && component.split(['.', '_', '-']).all(|run| {
                    !run.is_empty()
                        && run
                            .bytes()
                            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
                })
        });
    if valid {
        Ok(())
    } else {
        Err(format!(
            "repository name {} does not follow ECR's naming rules",
            shown(name)
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repository_names_follow_ecrs_pattern() {
        for good in [
            "ab",
            "team-a/api",
            "registry.k8s.io/pause",
            "a_b/c-d.e",
            "a/b/c/d",
        ] {
            assert!(check_repository_name(good).is_ok(), "{good}");
        }
        let long = "a".repeat(257);
        for bad in [
            "",
            "a",
            "A/b",
            "a//b",
            "/a",
            "a/",
            "a..b",
            "a-",
            "-a",
            "../etc",
            "a/../b",
            "a b",
            "a\u{0}b",
            "é/x",
            long.as_str(),
        ] {
            assert!(check_repository_name(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn repository_arns_parse() {
        assert_eq!(
            parse_repository_arn(
                "arn:aws:ecr:us-east-1:111111111111:repository/ecr-public/nginx/nginx"
            ),
            Some(("us-east-1", "111111111111", "ecr-public/nginx/nginx"))
        );
        assert_eq!(parse_repository_arn("arn:aws:s3:::bucket"), None);
        assert_eq!(parse_repository_arn("arn:aws:ecr:us-east-1:1"), None);
    }

    #[test]
    fn the_repository_arn_is_found_in_an_access_denied_message() {
        let m = "User: arn:aws:sts::222222222222:assumed-role/r/s is not authorized to perform: ecr:BatchGetImage on resource: arn:aws:ecr:us-east-1:111111111111:repository/a/b because no resource-based policy allows the ecr:BatchGetImage action";
        assert_eq!(
            repository_arn_in_message(m),
            Some(("us-east-1", "111111111111", "a/b"))
        );
        assert_eq!(
            repository_arn_in_message("User: arn:aws:sts::2:x is not"),
            None
        );
    }

    #[test]
    fn long_values_are_cut_in_reasons() {
        let s = shown(&"x".repeat(10_000));
        assert!(s.len() < 80 && s.ends_with("..."));
        assert_eq!(shown(""), "(none)");
    }
}
