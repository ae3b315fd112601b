//! One statement as the trust check sees it: its keys in the order written (so a rewrite can keep
//! every other key's text), and each principal with its class.

use std::fmt;

use serde::de::{MapAccess, Visitor};
use serde::{Deserialize, Deserializer};
use serde_json::value::RawValue;
use serde_json::Value;

use super::pin::pinned;
use super::{Finding, FindingKind, Trusted};
use crate::policy::ownership::{Claim, Kind, Ownership};

/// What a statement is judged against.
pub(super) struct Context<'a> {
    pub owner: &'a Ownership,
    pub kind: Kind,
    pub trusted: &'a Trusted,
}

/// An object's members in the order written, each value as its raw text.
struct Entries<'a>(Vec<(String, &'a RawValue)>);

impl<'de> Deserialize<'de> for Entries<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Members;
        impl<'de> Visitor<'de> for Members {
            type Value = Entries<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut out = Vec::new();
                while let Some(entry) = map.next_entry::<String, &'de RawValue>()? {
                    out.push(entry);
                }
                Ok(Entries(out))
            }
        }
        d.deserialize_map(Members)
    }
}

/// An object's members, or `None` when it is not an object or names a key twice (which JSON
/// parsers resolve differently: IAM's reading of it cannot be known).
fn members(raw: &RawValue) -> Option<Vec<(String, &RawValue)>> {
    let Entries(list) = serde_json::from_str(raw.get()).ok()?;
    let mut keys: Vec<&str> = list.iter().map(|(k, _)| k.as_str()).collect();
    keys.sort_unstable();
    let unique = keys.windows(2).all(|w| w[0] != w[1]);
    unique.then_some(list)
}

/// One value of a principal type, with its class (`None`: trusted).
pub(super) struct Named<'a> {
    pub text: String,
    pub raw: &'a RawValue,
    pub class: Option<FindingKind>,
}

/// One type of a `Principal` object (`AWS`, `Service`, `Federated`), as written.
pub(super) struct Type<'a> {
    pub name: String,
    pub raw: &'a RawValue,
    /// Written as a list rather than a single string.
    pub list: bool,
    pub values: Vec<Named<'a>>,
}

/// A statement's `Principal` element.
pub(super) enum Written<'a> {
    /// `"Principal": "*"`, with its class.
    Star(Option<FindingKind>),
    Typed(Vec<Type<'a>>),
}

/// What the check makes of a statement.
pub(super) enum Outcome<'a> {
    /// Ours, or a `Deny`: not a grant to judge.
    Skip,
    /// Reported, never rewritten: `(kind, principal)`.
    Reported(FindingKind, String),
    /// A foreign `Allow`: its members in order and its principal, classified.
    Grant(Vec<(String, &'a RawValue)>, Written<'a>),
}

pub(super) struct Read<'a> {
    pub sid: String,
    pub outcome: Outcome<'a>,
}

impl Read<'_> {
    pub(crate) fn findings(&self) -> Vec<Finding> {
        let finding = |principal: &str, kind: FindingKind| Finding {
            sid: self.sid.clone(),
            principal: principal.to_string(),
            kind,
        };
        match &self.outcome {
            Outcome::Skip => Vec::new(),
            Outcome::Reported(kind, principal) => vec![finding(principal, *kind)],
            Outcome::Grant(_, Written::Star(class)) => {
                class.iter().map(|k| finding("*", *k)).collect()
            }
            Outcome::Grant(_, Written::Typed(types)) => types
                .iter()
                .flat_map(|t| &t.values)
                .filter_map(|v| v.class.map(|k| finding(&v.text, k)))
                .collect(),
        }
    }
}

/// Reads statement number `index` (0-based) of a document.
pub(super) fn read<'a>(raw: &'a RawValue, index: usize, cx: &Context) -> Read<'a> {
    let value: Option<Value> = serde_json::from_str(raw.get()).ok();
    let sid = value
        .as_ref()
        .and_then(|v| v.get("Sid"))
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map_or_else(|| format!("#{}", index + 1), str::to_string);
    // Ownership first, as the merge decides it: a statement the merge replaces is never judged.
    let outcome = match value {
        Some(v) if cx.owner.claim(&v, cx.kind) == Claim::Owned => Some(Outcome::Skip),
        Some(v) => members(raw).and_then(|m| judge(&v, m, cx)),
        None => None,
    };
    Read {
        sid,
        outcome: outcome.unwrap_or(Outcome::Reported(FindingKind::Unreadable, String::new())),
    }
}

/// The outcome for a foreign statement whose members could be read; `None`: unreadable.
fn judge<'a>(
    value: &Value,
    members: Vec<(String, &'a RawValue)>,
    cx: &Context,
) -> Option<Outcome<'a>> {
    match value.get("Effect").and_then(Value::as_str)? {
        "Deny" => return Some(Outcome::Skip),
        "Allow" => {}
        _ => return None,
    }
    let pinned = match value.get("Condition") {
        None => false,
        Some(condition) => pinned(condition, cx.trusted)?,
    };
    let find = |key: &str| members.iter().find(|(k, _)| k == key).map(|(_, raw)| *raw);
    match (find("Principal"), find("NotPrincipal")) {
        (Some(principal), None) => {
            let written = written(principal, pinned, cx.trusted)?;
            Some(Outcome::Grant(members, written))
        }
        (None, Some(_)) if pinned => Some(Outcome::Skip),
        (None, Some(not)) => {
            let text: Value = serde_json::from_str(not.get()).ok()?;
            let shown = format!("NotPrincipal {text}");
            Some(Outcome::Reported(FindingKind::Public, shown))
        }
        _ => None,
    }
}

/// A `Principal` element, each value classified; `None` when its shape is not one IAM accepts.
fn written<'a>(raw: &'a RawValue, pinned: bool, trusted: &Trusted) -> Option<Written<'a>> {
    let anyone = (!pinned).then_some(FindingKind::Public);
    if let Ok(s) = serde_json::from_str::<String>(raw.get()) {
        return (s == "*").then_some(Written::Star(anyone));
    }
    let mut types = Vec::new();
    for (name, raw) in members(raw)? {
        let classify = |p: &str| match name.as_str() {
            "AWS" if p == "*" => Some(anyone),
            "AWS" | "Federated" => Some((!trusted.principal(p)).then_some(FindingKind::Untrusted)),
            "Service" => Some((!trusted.service(p)).then_some(FindingKind::Service)),
            _ => None,
        };
        let list = raw.get().trim_start().starts_with('[');
        let raws: Vec<&RawValue> = if list {
            serde_json::from_str(raw.get()).ok()?
        } else {
            vec![raw]
        };
        let mut values = Vec::with_capacity(raws.len());
        for raw in raws {
            let text: String = serde_json::from_str(raw.get()).ok()?;
            let class = classify(&text)?;
            values.push(Named { text, raw, class });
        }
        types.push(Type {
            name,
            raw,
            list,
            values,
        });
    }
    Some(Written::Typed(types))
}
