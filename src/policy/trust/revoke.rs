//! Taking untrusted and public principals out of the statements the function does not own.
//!
//! Removing a principal from an `Allow` can only narrow access, so that is all this does: no
//! condition, action, resource or `Deny` is ever edited, a statement left without a principal is
//! removed whole, and a statement that cannot be read or uses `NotPrincipal` stays as it is. Every
//! statement it does not change keeps its text byte for byte, as in the merge; a changed one keeps
//! every other member's text and the order of its members.

use serde::Serialize;
use serde_json::value::RawValue;

use super::read::{read, Context, Outcome, Read, Written};
use super::{Finding, FindingKind, Trusted};
use crate::policy::ownership::{Kind, Ownership};
use crate::policy::{document, json_string, split, Plan, PolicyError};

/// A statement as it was before the revocation changed it: what an audit line needs to restore it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Before {
    /// The statement's `Sid`, or `#N` by position.
    pub sid: String,
    /// The statement's text, exactly as it was in the document.
    pub text: String,
    /// Removed whole (no principal was left), rather than rewritten.
    pub removed: bool,
}

/// What [`revoke`] did to a document.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Revocation {
    /// Every finding, as [`super::check`] reports them, revoked or not.
    pub findings: Vec<Finding>,
    /// The findings whose principal was taken out (`untrusted` and `public` ones of readable
    /// `Principal` statements).
    pub revoked: Vec<Finding>,
    /// Each statement rewritten or removed, as it was.
    pub before: Vec<Before>,
    /// The document after the revocation: the input itself when nothing was revoked.
    pub text: String,
    /// Something was revoked and no statement is left: the document should be deleted.
    pub empty: bool,
}

impl Revocation {
    /// Whether the revocation changed the document.
    pub fn changed(&self) -> bool {
        !self.revoked.is_empty()
    }

    /// The one write that carries both the revocation and the merge: `merge` is the plan that
    /// [`crate::policy::plan`] made from [`Revocation::text`]. The merge already writes the revoked
    /// text when it changes anything of ours; when it changes nothing, the revocation alone is
    /// still worth a write (or a delete, when no statement is left).
    pub fn with_merge(&self, merge: Plan) -> Plan {
        match merge {
            Plan::Unchanged if self.empty => Plan::Delete {
                change: Default::default(),
            },
            Plan::Unchanged if self.changed() => Plan::Write {
                text: self.text.clone(),
                change: Default::default(),
            },
            other => other,
        }
    }
}

/// Takes every `untrusted` and `public` principal out of the `Allow` statements of `text` that
/// `owner` does not own. A document the merge cannot read is refused the same way.
pub fn revoke(
    text: &str,
    owner: &Ownership,
    kind: Kind,
    trusted: &Trusted,
) -> Result<Revocation, PolicyError> {
    let (doc, raws) = split(text)?;
    let context = Context {
        owner,
        kind,
        trusted,
    };
    let mut out = Revocation::default();
    let mut kept: Vec<String> = Vec::with_capacity(raws.len());
    for (i, raw) in raws.into_iter().enumerate() {
        let statement = read(raw, i, &context);
        let findings = statement.findings();
        let gone: Vec<Finding> = match statement.outcome {
            Outcome::Grant(..) => findings.iter().filter(|f| revocable(f)).cloned().collect(),
            _ => Vec::new(),
        };
        out.findings.extend(findings);
        if gone.is_empty() {
            kept.push(raw.get().to_string());
            continue;
        }
        let rewritten = without_revoked(&statement);
        out.before.push(Before {
            sid: statement.sid.clone(),
            text: raw.get().to_string(),
            removed: rewritten.is_none(),
        });
        kept.extend(rewritten);
        out.revoked.extend(gone);
    }
    if out.changed() {
        let statements: Vec<&str> = kept.iter().map(String::as_str).collect();
        out.text = document(doc.version.as_deref(), doc.id.as_deref(), &statements);
        out.empty = kept.is_empty();
    } else {
        out.text = text.to_string();
    }
    Ok(out)
}

fn revocable(f: &Finding) -> bool {
    matches!(f.kind, FindingKind::Untrusted | FindingKind::Public)
}

/// The statement with its revocable principals taken out, its other members as written and in
/// their order; `None` when no principal is left.
fn without_revoked(statement: &Read) -> Option<String> {
    let Outcome::Grant(members, written) = &statement.outcome else {
        return None;
    };
    let principal = principal_without_revoked(written)?;
    let members: Vec<String> = members
        .iter()
        .map(|(key, raw)| {
            let value = if key == "Principal" {
                principal.as_str()
            } else {
                raw.get()
            };
            format!("{}:{value}", json_string(key))
        })
        .collect();
    Some(format!("{{{}}}", members.join(",")))
}

/// The `Principal` element's text without its revocable values: a type keeps its own text when
/// nothing in it goes, keeps the list shape (and each kept value's text) when some do, and is
/// dropped when all do.
fn principal_without_revoked(written: &Written) -> Option<String> {
    let Written::Typed(types) = written else {
        // `"*"` is one principal: it either stays whole or goes whole.
        return None;
    };
    let keeps = |class: Option<FindingKind>| {
        !matches!(class, Some(FindingKind::Untrusted | FindingKind::Public))
    };
    let mut out = Vec::new();
    for t in types {
        let kept: Vec<&RawValue> = t
            .values
            .iter()
            .filter(|v| keeps(v.class))
            .map(|v| v.raw)
            .collect();
        let text = if kept.len() == t.values.len() {
            t.raw.get().to_string()
        } else if kept.is_empty() {
            continue;
        } else if t.list {
            let items: Vec<&str> = kept.iter().map(|r| r.get()).collect();
            format!("[{}]", items.join(","))
        } else {
            kept[0].get().to_string()
        };
        out.push(format!("{}:{text}", json_string(&t.name)));
    }
    (!out.is_empty()).then(|| format!("{{{}}}", out.join(",")))
}
