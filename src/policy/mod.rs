//! Merging the desired statements into a policy document that someone else may share.
//!
//! `SetRepositoryPolicy` replaces the whole document, so the merge must carry every statement it
//! does not own across unchanged. Foreign statements are kept as the raw JSON text they arrived
//! in (never parsed and re-serialized), which is the only way to be sure that nothing in them
//! (key order, number formatting, escapes) changes.
//!
//! Ownership is exact: a statement is the function's only when its `Sid` is one this deployment
//! writes *and* it has the shape the function writes (an `Allow` of actions to principals, no
//! resource or negation elements). A `Deny`, or anything else that merely borrows the prefix, is
//! foreign: removing it could widen access.
//!
//! Beside the merge, [`trust`] judges the foreign statements against the principals the rules
//! vouch for, and can take untrusted ones out of the text before the merge runs, so that one
//! write carries both.

pub(crate) mod canonical;
pub(crate) mod diff;
pub(crate) mod ownership;
pub(crate) mod trust;

use std::collections::BTreeSet;

use serde::ser::{SerializeMap, SerializeStruct};
use serde::{Deserialize, Serialize, Serializer};
use serde_json::value::RawValue;
use serde_json::Value;

use crate::policy::canonical::canonical;
use crate::policy::ownership::Claim;
pub use crate::policy::ownership::Kind;
pub(crate) use crate::policy::ownership::Ownership;

/// ECR refuses larger policies.
pub(crate) const MAX_POLICY_CHARS: usize = 10_240;

/// The `Version` of a policy the function creates from nothing. An existing policy keeps its
/// own, or its absence: the version decides how `${...}` in someone else's statements is read.
pub(crate) const DEFAULT_VERSION: &str = "2012-10-17";

/// A statement the remediator owns. Always `Allow`; `Resource` only in a registry policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    pub sid: String,
    pub principal: Principal,
    pub actions: Vec<String>,
    /// Who among everyone: only with [`Principal::Any`].
    pub condition: Option<Condition>,
    /// Repository ARNs (patterns), for a registry policy; empty for a repository policy.
    pub resources: Vec<String>,
}

/// The one condition of a statement the function writes, such as
/// `{"StringEquals": {"aws:PrincipalOrgID": ["o-..."]}}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Condition {
    /// `StringEquals`, `ForAnyValue:StringLike`.
    pub operator: &'static str,
    /// `aws:PrincipalOrgID`, `aws:PrincipalOrgPaths`.
    pub key: &'static str,
    /// The organizations or paths.
    pub values: Vec<String>,
}

impl Serialize for Condition {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut inner = s.serialize_map(Some(1))?;
        let values: std::collections::BTreeMap<&str, &Vec<String>> =
            [(self.key, &self.values)].into_iter().collect();
        inner.serialize_entry(self.operator, &values)?;
        inner.end()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// `"*"`, only ever written together with an organization condition.
    Any,
    /// `{"AWS": [...]}`: account roots and IAM ARNs.
    Aws(Vec<String>),
}

impl Serialize for Principal {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Principal::Any => s.serialize_str("*"),
            Principal::Aws(arns) => {
                let mut m = s.serialize_map(Some(1))?;
                m.serialize_entry("AWS", arns)?;
                m.end()
            }
        }
    }
}

impl Serialize for Statement {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("Statement", 5)?;
        st.serialize_field("Sid", &self.sid)?;
        st.serialize_field("Effect", "Allow")?;
        st.serialize_field("Principal", &self.principal)?;
        st.serialize_field("Action", &self.actions)?;
        if !self.resources.is_empty() {
            st.serialize_field("Resource", &self.resources)?;
        }
        if let Some(c) = &self.condition {
            st.serialize_field("Condition", c)?;
        }
        st.end()
    }
}

impl Statement {
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// Why a policy cannot be written. The document keeps what it had in every case.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    #[error("the current policy cannot be parsed ({0}); refusing to overwrite it")]
    Unparseable(String),
    #[error("the merged policy would be {chars} characters, over ECR's limit of {MAX_POLICY_CHARS}; the policy was left as it is")]
    TooLarge { chars: usize },
    #[error("statement {sid:?} contains a {element} element, which ECR rejects in a repository policy; refusing to write")]
    ResourceElement { sid: String, element: &'static str },
    #[error("statement {sid:?} is not one the function writes, but the rules want a statement with that Sid; rename it so both can coexist")]
    SidTaken { sid: String },
}

/// The statements a change adds, removes and rewrites, by `Sid`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Change {
    /// `Sid`s of statements added.
    pub added: Vec<String>,
    /// `Sid`s of statements removed.
    pub removed: Vec<String>,
    /// `Sid`s of statements rewritten.
    pub changed: Vec<String>,
}

/// What to do with a policy document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Plan {
    /// The document already grants exactly what the rules say.
    Unchanged,
    /// Write this document.
    Write {
        /// The whole new document.
        text: String,
        /// What it changes, by `Sid`.
        change: Change,
    },
    /// Nothing is left in it: delete the document.
    Delete {
        /// What goes, by `Sid`.
        change: Change,
    },
}

/// A plan, and the statements that use one of this deployment's Sids without being its own
/// (kept as they are; worth a warning).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub plan: Plan,
    pub lookalikes: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Document<'a> {
    #[serde(rename = "Version")]
    version: Option<String>,
    #[serde(rename = "Id")]
    id: Option<String>,
    #[serde(rename = "Statement", borrow)]
    statement: Option<&'a RawValue>,
}

/// One statement of the current policy: its raw text, its parsed form, and whose it is.
struct Existing<'a> {
    raw: &'a RawValue,
    value: Value,
    claim: Claim,
}

impl Existing<'_> {
    fn sid(&self) -> &str {
        self.value
            .get("Sid")
            .and_then(Value::as_str)
            .unwrap_or("(no Sid)")
    }
}

/// Compares `current` (`None`: there is no document) with the statements the rules want, and
/// says whether to write, what, or to delete the document.
///
/// The statements this deployment owns are replaced by `desired`, except those whose `Sid` is in
/// `keep`, which stay as they are (a rule that cannot be written now keeps what it had). Every
/// other statement is kept verbatim and in place; ours follow them, sorted by `Sid`.
pub fn plan(
    current: Option<&str>,
    desired: &[Statement],
    keep: &[String],
    owner: &Ownership,
) -> Result<Decision, PolicyError> {
    plan_document(current, desired, keep, owner, Kind::Repository)
}

/// [`plan`] for a document of any kind.
pub(crate) fn plan_document(
    current: Option<&str>,
    desired: &[Statement],
    keep: &[String],
    owner: &Ownership,
    kind: Kind,
) -> Result<Decision, PolicyError> {
    let (version, id, existing) = match current {
        Some(text) => parse(text, owner, kind)?,
        None => (Some(DEFAULT_VERSION.to_string()), None, Vec::new()),
    };
    let lookalikes: Vec<String> = existing
        .iter()
        .filter(|s| s.claim == Claim::Lookalike)
        .map(|s| s.sid().to_string())
        .collect();
    let kept = |s: &Existing| s.claim == Claim::Owned && keep.iter().any(|k| k == s.sid());
    let (mine, others): (Vec<&Existing>, Vec<&Existing>) = existing
        .iter()
        .partition(|s| s.claim == Claim::Owned && !kept(s));
    let change = change(&mine, desired);
    if change == Change::default() {
        return Ok(Decision {
            plan: Plan::Unchanged,
            lookalikes,
        });
    }
    refuse_conflicts(&others, desired, kind)?;
    let mut ours: Vec<(String, String)> = desired
        .iter()
        .map(|s| (s.sid.clone(), s.to_json()))
        .chain(
            others
                .iter()
                .filter(|s| s.claim == Claim::Owned)
                .map(|s| (s.sid().to_string(), s.raw.get().to_string())),
        )
        .collect();
    ours.sort();
    let statements: Vec<&str> = others
        .iter()
        .filter(|s| s.claim != Claim::Owned)
        .map(|s| s.raw.get())
        .chain(ours.iter().map(|(_, text)| text.as_str()))
        .collect();
    let plan = if statements.is_empty() {
        Plan::Delete { change }
    } else {
        let text = document(version.as_deref(), id.as_deref(), &statements);
        let chars = text.chars().count();
        if chars > MAX_POLICY_CHARS {
            return Err(PolicyError::TooLarge { chars });
        }
        Plan::Write { text, change }
    };
    Ok(Decision { plan, lookalikes })
}

/// A foreign statement that holds a Sid the rules want, or (in a repository policy) a `Resource`
/// that ECR would refuse in the document written: the merge cannot go on without losing it.
fn refuse_conflicts(
    others: &[&Existing],
    desired: &[Statement],
    kind: Kind,
) -> Result<(), PolicyError> {
    for s in others.iter().filter(|s| s.claim != Claim::Owned) {
        if desired.iter().any(|d| d.sid == s.sid()) {
            return Err(PolicyError::SidTaken {
                sid: s.sid().to_string(),
            });
        }
        for element in ["Resource", "NotResource"] {
            if kind == Kind::Repository && s.value.get(element).is_some() {
                return Err(PolicyError::ResourceElement {
                    sid: s.sid().to_string(),
                    element,
                });
            }
        }
    }
    Ok(())
}

/// What replacing `mine` by `desired` adds, removes and rewrites, compared semantically.
fn change(mine: &[&Existing], desired: &[Statement]) -> Change {
    let have: Vec<(&str, Value)> = mine
        .iter()
        .map(|s| (s.sid(), canonical(&s.value)))
        .collect();
    let want: Vec<(&str, Value)> = desired
        .iter()
        .map(|s| {
            (
                s.sid.as_str(),
                canonical(&serde_json::to_value(s).unwrap_or_default()),
            )
        })
        .collect();
    let have_sids: BTreeSet<&str> = have.iter().map(|(sid, _)| *sid).collect();
    let desired_sids: BTreeSet<&str> = want.iter().map(|(sid, _)| *sid).collect();
    let same = |sid: &str| {
        let h: Vec<&Value> = have
            .iter()
            .filter(|(s, _)| *s == sid)
            .map(|(_, v)| v)
            .collect();
        let w: Vec<&Value> = want
            .iter()
            .filter(|(s, _)| *s == sid)
            .map(|(_, v)| v)
            .collect();
        h == w
    };
    let strings = |set: Vec<&str>| set.into_iter().map(str::to_string).collect();
    Change {
        added: strings(desired_sids.difference(&have_sids).copied().collect()),
        removed: strings(have_sids.difference(&desired_sids).copied().collect()),
        changed: strings(
            have_sids
                .intersection(&desired_sids)
                .copied()
                .filter(|sid| !same(sid))
                .collect(),
        ),
    }
}

fn document(version: Option<&str>, id: Option<&str>, statements: &[&str]) -> String {
    let mut text = String::from("{");
    if let Some(version) = version {
        text.push_str(&format!("\"Version\":{},", json_string(version)));
    }
    if let Some(id) = id {
        text.push_str(&format!("\"Id\":{},", json_string(id)));
    }
    text.push_str("\"Statement\":[");
    text.push_str(&statements.join(","));
    text.push_str("]}");
    text
}

fn json_string(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into())
}

type Parsed<'a> = (Option<String>, Option<String>, Vec<Existing<'a>>);

/// A document's `Version`, `Id` and statements, each statement as the raw text it arrived in.
/// The merge and the trust check read a document the same way, so they never disagree on
/// whether it can be read.
fn split(text: &str) -> Result<(Document<'_>, Vec<&RawValue>), PolicyError> {
    let unparseable = |m: String| PolicyError::Unparseable(m);
    let doc: Document = serde_json::from_str(text).map_err(|e| unparseable(e.to_string()))?;
    let raw = doc
        .statement
        .ok_or_else(|| unparseable("it has no Statement".into()))?;
    // A single statement object is as valid as an array of them.
    let raws: Vec<&RawValue> = if raw.get().trim_start().starts_with('[') {
        serde_json::from_str(raw.get()).map_err(|e| unparseable(e.to_string()))?
    } else {
        vec![raw]
    };
    Ok((doc, raws))
}

fn parse<'a>(text: &'a str, owner: &Ownership, kind: Kind) -> Result<Parsed<'a>, PolicyError> {
    let unparseable = |m: String| PolicyError::Unparseable(m);
    let (doc, raws) = split(text)?;
    let mut out = Vec::with_capacity(raws.len());
    for (i, raw) in raws.into_iter().enumerate() {
        let value: Value =
            serde_json::from_str(raw.get()).map_err(|e| unparseable(e.to_string()))?;
        if !value.is_object() {
            return Err(unparseable(format!("Statement[{i}] is not an object")));
        }
        let claim = owner.claim(&value, kind);
        out.push(Existing { raw, value, claim });
    }
    Ok((doc.version, doc.id, out))
}

#[cfg(test)]
mod tests;
