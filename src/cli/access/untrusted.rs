//! `access --untrusted`: only the grants outside the trust boundary, in every document `access`
//! reads. The boundary is the one the function holds the documents to: the rules' principals, the
//! registry's own account and the rules' `trust` object; without a `trust` object, the rules'
//! principals and the registry's account alone, which is what a first look before rolling one
//! out needs.

use std::io::Write;

use serde::Serialize;

use super::{asked, emit, repository_policies, template_pattern};
use super::{AccessFormat, AccessOptions};
use crate::cli::common::{stdout, CliError, Ran};
use ecr_policy_remediator::{check_trust, DocumentKind, Finding, FindingKind, Trusted};
use ecr_policy_remediator::{Remediator, REGISTRY_POLICY};

/// One principal outside the trust boundary, where it was found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
struct Untrusted {
    /// The repository, or the pattern a registry statement or template covers.
    repository: String,
    /// `repository policy`, `registry policy` or `template PREFIX`.
    source: String,
    sid: String,
    principal: String,
    kind: &'static str,
}

const HEADER: [&str; 5] = ["repository", "source", "sid", "principal", "kind"];

pub(super) async fn access_untrusted(r: &Remediator, o: &AccessOptions) -> Result<Ran, CliError> {
    let aws = |what: &str, e| CliError::Aws(format!("cannot read {what}: {e}"));
    let mut documents: Vec<(String, String, String, DocumentKind)> = Vec::new();
    for (name, text) in repository_policies(r, &o.repositories).await? {
        documents.push((
            name,
            "repository policy".into(),
            text,
            DocumentKind::Repository,
        ));
    }
    let registry = r.ecr().get_registry_policy().await;
    if let Some(text) = registry.map_err(|e| aws("the registry policy", e))? {
        documents.push((
            "*".into(),
            REGISTRY_POLICY.into(),
            text,
            DocumentKind::Registry,
        ));
    }
    let templates = r.ecr().list_templates().await;
    for t in templates.map_err(|e| aws("the creation templates", e))? {
        if let Some(text) = t.repository_policy.filter(|p| !p.trim().is_empty()) {
            let (pattern, source) = (
                template_pattern(&t.prefix),
                format!("template {}", t.prefix),
            );
            documents.push((pattern, source, text, DocumentKind::Repository));
        }
    }
    let trusted = r.config().trusted(r.registry_id());
    let mut found: Vec<Untrusted> = documents
        .into_iter()
        .flat_map(|(repository, source, text, kind)| {
            judge(r, &trusted, &text, kind)
                .into_iter()
                .map(move |f| Untrusted {
                    repository: repository.clone(),
                    source: source.clone(),
                    sid: f.sid,
                    principal: f.principal,
                    kind: f.kind.as_str(),
                })
        })
        .collect();
    found.retain(|u| asked(&u.repository, &u.principal, o));
    let mut out = stdout();
    print(&mut out, &found, o.output)?;
    out.flush()?;
    Ok(Ran::default())
}

/// The findings of one document; a document that cannot be read at all is one `unreadable`
/// finding, since nobody can say whom it lets in.
fn judge(r: &Remediator, trusted: &Trusted, text: &str, kind: DocumentKind) -> Vec<Finding> {
    check_trust(text, &r.config().ownership, kind, trusted).unwrap_or_else(|_| {
        vec![Finding {
            sid: "(document)".into(),
            principal: String::new(),
            kind: FindingKind::Unreadable,
        }]
    })
}

fn print(out: &mut impl Write, found: &[Untrusted], format: AccessFormat) -> std::io::Result<()> {
    let rows: Vec<Vec<String>> = found
        .iter()
        .map(|u| {
            let (sid, kind) = (u.sid.clone(), u.kind.to_string());
            vec![
                u.repository.clone(),
                u.source.clone(),
                sid,
                u.principal.clone(),
                kind,
            ]
        })
        .collect();
    let summary = || {
        let documents: std::collections::BTreeSet<(&str, &str)> = found
            .iter()
            .map(|u| (u.repository.as_str(), u.source.as_str()))
            .collect();
        let (n, d) = (found.len(), documents.len());
        format!("{n} untrusted grant(s) in {d} document(s)")
    };
    emit(out, format, found, (&HEADER, &rows), summary)
}
