//! Where an event names its repository, its registry and its caller, and whether those places
//! agree. An event that contradicts itself is refused rather than resolved by picking one of its
//! answers.

use serde_json::Value;

use crate::event::envelope::{Detail, Envelope};
use crate::names::caller::Caller;
use crate::names::{check_repository_name, parse_repository_arn, repository_arn_in_message, shown};
use crate::names::{is_account_id, Arn};

/// The repository an event concerns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub registry_id: String,
    pub region: String,
    pub repository: String,
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

/// Every place a CloudTrail record names the repository and its registry.
struct Places<'a> {
    names: Vec<Option<&'a str>>,
    registries: Vec<Option<&'a str>>,
    /// `(region, account, name)` of each repository ARN.
    arns: Vec<(&'a str, &'a str, &'a str)>,
}

fn places(d: &Detail) -> Result<Places<'_>, String> {
    let req = d.request_parameters.as_ref();
    let resp = d
        .response_elements
        .as_ref()
        .and_then(|r| r.repository.as_ref());
    let service = d.service_event_details.as_ref();
    let resp_arn = text(
        "responseElements.repository.repositoryArn",
        resp.and_then(|r| r.repository_arn.as_ref()),
    )?;
    let mut arns: Vec<_> = d
        .resources
        .iter()
        .flatten()
        .filter_map(|r| r.arn.as_deref().and_then(parse_repository_arn))
        .chain(resp_arn.and_then(parse_repository_arn))
        .collect();
    if arns.is_empty() {
        arns.extend(
            d.error_message
                .as_deref()
                .and_then(repository_arn_in_message),
        );
    }
    Ok(Places {
        names: vec![
            text(
                "requestParameters.repositoryName",
                req.and_then(|r| r.repository_name.as_ref()),
            )?,
            text(
                "responseElements.repository.repositoryName",
                resp.and_then(|r| r.repository_name.as_ref()),
            )?,
            text(
                "serviceEventDetails.repositoryName",
                service.and_then(|s| s.repository_name.as_ref()),
            )?,
        ],
        registries: vec![
            text(
                "requestParameters.registryId",
                req.and_then(|r| r.registry_id.as_ref()),
            )?,
            text(
                "responseElements.repository.registryId",
                resp.and_then(|r| r.registry_id.as_ref()),
            )?,
        ],
        arns,
    })
}

/// The repository a CloudTrail record concerns. `pull`: the record is of a pull, whose envelope
/// may have been forwarded from the pulling account.
pub(crate) fn target(e: &Envelope, d: &Detail, pull: bool) -> Result<Target, String> {
    let p = places(d)?;
    let arn_names = p.arns.iter().map(|a| Some(a.2));
    let repository = one_of("repository name", p.names.iter().copied().chain(arn_names))?
        .ok_or_else(|| {
            "no repository name in requestParameters, responseElements, serviceEventDetails or \
             resources"
                .to_string()
        })?;
    check_repository_name(repository)?;

    let arn_accounts = p.arns.iter().map(|a| Some(a.1));
    let explicit = one_of("registry", p.registries.iter().copied().chain(arn_accounts))?;
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
    let registry_id = registry(explicit.or(fallback))?;
    let region = region(
        d.aws_region
            .as_deref()
            .or(p.arns.first().map(|a| a.0))
            .or(e.region.as_deref()),
    )?;
    Ok(Target {
        registry_id: registry_id.to_string(),
        region: region.to_string(),
        repository: repository.to_string(),
    })
}

/// The repository a native ECR event concerns: `detail.repository-name` and the repository ARN
/// in `resources` must agree; the registry and region are the envelope's (or the ARN's).
pub(crate) fn native_target(e: &Envelope) -> Result<Target, String> {
    let d = e.detail.as_ref();
    let name = text(
        "detail.repository-name",
        d.and_then(|d| d.native_repository_name.as_ref()),
    )?;
    let arns: Vec<_> = e
        .resources
        .iter()
        .flatten()
        .filter_map(|a| parse_repository_arn(a))
        .collect();
    let repository = one_of(
        "repository name",
        std::iter::once(name).chain(arns.iter().map(|a| Some(a.2))),
    )?
    .ok_or("no repository name in detail.repository-name or resources")?;
    check_repository_name(repository)?;
    let registry_id = one_of(
        "registry",
        std::iter::once(e.account.as_deref()).chain(arns.iter().map(|a| Some(a.1))),
    )?
    .ok_or("no account in the event")?;
    if !is_account_id(registry_id) {
        return Err(format!(
            "registry ID {} is not a 12-digit account ID",
            shown(registry_id)
        ));
    }
    let region = one_of(
        "region",
        std::iter::once(e.region.as_deref()).chain(arns.iter().map(|a| Some(a.0))),
    )?
    .ok_or("no region in the event")?;
    check_region(region)?;
    Ok(Target {
        registry_id: registry_id.to_string(),
        region: region.to_string(),
        repository: repository.to_string(),
    })
}

/// The registry (account, region) a call on the registry's own documents concerns.
pub(crate) fn registry_of(e: &Envelope, d: &Detail) -> Result<(String, String), String> {
    let registry_id = registry(d.recipient_account_id.as_deref().or(e.account.as_deref()))?;
    let region = region(d.aws_region.as_deref().or(e.region.as_deref()))?;
    Ok((registry_id.to_string(), region.to_string()))
}

/// The registry an event names, once it is a 12-digit account ID.
fn registry(id: Option<&str>) -> Result<&str, String> {
    let id = id
        .filter(|a| !a.is_empty())
        .ok_or("no registry ID in the event")?;
    if is_account_id(id) {
        Ok(id)
    } else {
        Err(format!(
            "registry ID {} is not a 12-digit account ID",
            shown(id)
        ))
    }
}

/// The region an event names, once it looks like one.
fn region(region: Option<&str>) -> Result<&str, String> {
    let region = region
        .filter(|r| !r.is_empty())
        .ok_or("no region in the event")?;
    check_region(region)?;
    Ok(region)
}

pub(crate) fn check_region(region: &str) -> Result<(), String> {
    let ok = region.len() <= 32
        && region
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(format!("region {} is not an AWS region", shown(region)))
    }
}

/// The account field of an IAM or STS ARN.
fn arn_account(arn: &str) -> Option<&str> {
    Arn::parse(arn).map(|a| a.account).filter(|a| !a.is_empty())
}

/// The IAM role (the session's issuer) or user that made a call.
pub(crate) fn principal_arn(d: &Detail) -> Option<String> {
    let identity = d.user_identity.as_ref()?;
    let issuer = identity
        .session_context
        .as_ref()
        .and_then(|s| s.session_issuer.as_ref())
        .and_then(|i| i.arn.clone());
    let user = (identity.kind.as_deref() == Some("IAMUser"))
        .then(|| identity.arn.clone())
        .flatten();
    issuer.or(user)
}

/// The caller of a pull, from `userIdentity` alone, once every field that names the caller's
/// account agrees, and agrees with the envelope of a forwarded event. A record without
/// `userIdentity` names no caller, and so proves nothing.
pub(crate) fn caller(e: &Envelope, d: &Detail, registry_id: &str) -> Result<Caller, String> {
    let Some(identity) = d.user_identity.as_ref() else {
        return Ok(Caller::default());
    };
    let issuer = identity
        .session_context
        .as_ref()
        .and_then(|s| s.session_issuer.as_ref());
    let account = one_of(
        "caller account",
        [
            identity.account_id.as_deref(),
            identity.arn.as_deref().and_then(arn_account),
            issuer.and_then(|i| i.arn.as_deref()).and_then(arn_account),
            issuer.and_then(|i| i.account_id.as_deref()),
        ],
    )
    .map_err(|m| format!("{m} in userIdentity: the caller is not proven, nothing is done"))?;
    if let Some(a) = account.filter(|a| !is_account_id(a)) {
        return Err(format!(
            "the caller's account {} is not an account ID",
            shown(a)
        ));
    }
    check_envelope(e, d, registry_id, account)?;
    Ok(Caller {
        account: account.map(str::to_string),
        principal_arn: principal_arn(d),
    })
}

/// A record in the registry's own trail, or one forwarded from the caller's: the envelope and
/// `recipientAccountId` must say which, consistently with the caller.
fn check_envelope(
    e: &Envelope,
    d: &Detail,
    registry_id: &str,
    caller: Option<&str>,
) -> Result<(), String> {
    let envelope = e.account.as_deref().filter(|a| !a.is_empty());
    let recipient = d.recipient_account_id.as_deref().filter(|a| !a.is_empty());
    let disagree = |what: &str, value: &str| {
        Err(format!(
            "{what} {} is neither the registry {registry_id} nor the caller's account {}: \
             the caller is not proven, nothing is done",
            shown(value),
            caller.map(shown).unwrap_or_else(|| "(unknown)".into())
        ))
    };
    match envelope {
        Some(env) if env != registry_id && Some(env) != caller => {
            return disagree("the envelope account", env)
        }
        _ => {}
    }
    match recipient {
        Some(r) if r != registry_id && Some(r) != caller => disagree("recipientAccountId", r),
        Some(r) if envelope.is_some_and(|env| env != registry_id && env != r) => Err(format!(
            "the event was forwarded by account {} but recorded for {}: the caller is not \
             proven, nothing is done",
            shown(envelope.unwrap_or_default()),
            shown(r)
        )),
        _ => Ok(()),
    }
}
