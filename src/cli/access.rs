//! `ecr-policy-remediator access`: who can pull and push what, from the repository policies, the
//! registry policy and (for repositories not created yet) the creation templates, and which rule
//! explains each grant; with `--untrusted`, only the grants outside the trust boundary.

mod untrusted;

use std::io::Write;
use std::path::PathBuf;

use clap::ValueEnum;
use futures_util::stream::{self, StreamExt};
use wildmatch::WildMatch;

use crate::cli::common::{connect, load_config, stdout, AwsOptions, CliError, Ran};
use ecr_policy_remediator::EcrError;
use ecr_policy_remediator::Remediator;
use ecr_policy_remediator::{check_org_path, is_account_id, is_org_id};
use ecr_policy_remediator::{desired_by_rule, grants, Document, Grant};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum AccessFormat {
    /// Aligned columns, and a count of the grants no rule explains.
    Table,
    /// An array of grants.
    Json,
    /// One line per grant, with a header.
    Csv,
}

/// What `access` was asked about.
#[derive(Debug, Clone)]
pub(crate) struct AccessOptions {
    /// Only these repositories (default: every repository, the registry policy, the templates).
    pub repositories: Vec<String>,
    /// Only grants to this principal: an ARN, an account ID, or an `org:`/`org-path:` entry.
    pub principal: Option<String>,
    pub output: AccessFormat,
    /// Only the grants outside the trust boundary (`untrusted.rs`).
    pub untrusted: bool,
}

pub(crate) async fn access(
    config: Option<PathBuf>,
    o: AccessOptions,
    aws: &AwsOptions,
) -> Result<Ran, CliError> {
    let mut o = o;
    o.principal = o.principal.as_deref().map(principal).transpose()?;
    let config = load_config(config)?;
    for name in &o.repositories {
        ecr_policy_remediator::check_repository_name(name).map_err(CliError::Usage)?;
    }
    let remediator = connect(config, aws).await?;
    if o.untrusted {
        return untrusted::access_untrusted(&remediator, &o).await;
    }
    let aws_error = |what: &str, e: EcrError| CliError::Aws(format!("cannot read {what}: {e}"));
    let mut found = repository_grants(&remediator, &o.repositories).await?;
    found.extend(
        registry_grants(&remediator)
            .await
            .map_err(|e| aws_error("the registry policy", e))?,
    );
    found.extend(
        template_grants(&remediator)
            .await
            .map_err(|e| aws_error("the creation templates", e))?,
    );
    found.retain(|g| concerns(g, &o));
    let mut out = stdout();
    print(&mut out, &found, o.output)?;
    out.flush()?;
    Ok(Ran::default())
}

/// `--principal` as the grants name it (`org:o-...`, `org-path:o-.../`), or the sentence that
/// says what a principal is.
fn principal(p: &str) -> Result<String, CliError> {
    let arn = p.starts_with("arn:") && p.split(':').count() >= 6;
    let path = |path: &str| check_org_path(path).is_ok();
    let named = match p.split_once(':') {
        Some(("org", id)) if is_org_id(id) => Some(p.to_string()),
        Some(("org-path", rest)) if path(rest) => Some(p.to_string()),
        Some(("service", name)) if !name.is_empty() => Some(p.to_string()),
        _ if p == "*" || arn || is_account_id(p) => Some(p.into()),
        _ if is_org_id(p) => Some(format!("org:{p}")),
        _ if path(p) => Some(format!("org-path:{p}")),
        _ => None,
    };
    named.ok_or_else(|| {
        CliError::Usage(format!(
            "{p:?} is not a principal: give an account ID (222222222222), an ARN \
             (arn:aws:iam::222222222222:role/NAME), an organization ID (o-a1b2c3d4e5) or an \
             organization path (o-a1b2c3d4e5/r-ab12/ou-ab12-11111111/*)"
        ))
    })
}

/// Whether a grant is one the question is about: the repositories asked for (a registry
/// statement or template whose pattern covers one of them counts), the principal asked for.
fn concerns(g: &Grant, o: &AccessOptions) -> bool {
    asked(&g.repository, &g.principal, o)
}

/// Whether a grant of `principal` on `repository` (a name or a pattern) is one the question is
/// about.
fn asked(repository: &str, principal: &str, o: &AccessOptions) -> bool {
    let place = o.repositories.is_empty()
        || o.repositories
            .iter()
            .any(|r| repository == r || WildMatch::new(repository).matches(r));
    let principal = o
        .principal
        .as_deref()
        .is_none_or(|p| principal == p || principal.contains(&format!("::{p}:")));
    place && principal
}

async fn repository_grants(r: &Remediator, names: &[String]) -> Result<Vec<Grant>, CliError> {
    let mut out = Vec::new();
    for (name, text) in repository_policies(r, names).await? {
        let wanted = desired_by_rule(r.config().matching(&name), r.config());
        let at = Document {
            source: "repository policy",
            repository: &name,
        };
        out.extend(grants(&text, at, &wanted));
    }
    Ok(out)
}

/// The policies of the repositories named (default: every repository), by name; those without
/// a policy, or gone meanwhile, are left out.
async fn repository_policies(
    r: &Remediator,
    names: &[String],
) -> Result<Vec<(String, String)>, CliError> {
    // Reads of a whole registry keep the sweep's pace.
    let paced = r.paced(r.config().sweep.requests_per_second);
    let r = &paced;
    let names = if names.is_empty() {
        r.list()
            .await
            .map_err(|e| CliError::Aws(format!("cannot list the registry: {e}")))?
            .names
    } else {
        names.to_vec()
    };
    let reads = names.iter().map(|name| async move {
        let policy = r.ecr().get_policy(r.registry_id(), name).await;
        (name, policy)
    });
    let mut results: Vec<_> = stream::iter(reads)
        .buffered(r.config().sweep.concurrency.max(1))
        .collect()
        .await;
    let mut out = Vec::new();
    for (name, policy) in results.drain(..) {
        match policy {
            Ok(Some(text)) => out.push((name.clone(), text)),
            Ok(None) | Err(EcrError::RepositoryNotFound(_)) => continue,
            Err(e) => {
                return Err(CliError::Aws(format!(
                    "cannot read the policy of {name}: {e}"
                )))
            }
        }
    }
    Ok(out)
}

/// The namespace a template's policy applies to, as a repository pattern.
fn template_pattern(prefix: &str) -> String {
    if prefix == "ROOT" {
        "*".to_string()
    } else {
        format!("{prefix}/*")
    }
}

async fn registry_grants(r: &Remediator) -> Result<Vec<Grant>, EcrError> {
    let Some(text) = r.ecr().get_registry_policy().await? else {
        return Ok(Vec::new());
    };
    let arn = ecr_policy_remediator::repository_arn(r.region(), r.registry_id());
    let wanted = ecr_policy_remediator::registry_statements_by_rule(r.config(), &arn);
    let at = Document {
        source: "registry policy",
        repository: "*",
    };
    Ok(grants(&text, at, &wanted))
}

/// A template's grants concern the repositories ECR will create under its prefix; they are
/// explained by the rules that ask for templates on that namespace.
async fn template_grants(r: &Remediator) -> Result<Vec<Grant>, EcrError> {
    let mut out = Vec::new();
    for t in r.ecr().list_templates().await? {
        let Some(text) = &t.repository_policy else {
            continue;
        };
        let pattern = template_pattern(&t.prefix);
        let rules = r.config().rules.iter().filter(|rule| {
            !rule.creation_templates.is_empty() && rule.repository_patterns().any(|p| p == pattern)
        });
        let source = format!("template {}", t.prefix);
        let at = Document {
            source: &source,
            repository: &pattern,
        };
        out.extend(grants(text, at, &desired_by_rule(rules, r.config())));
    }
    Ok(out)
}

const HEADER: [&str; 6] = ["repository", "source", "principal", "access", "rule", "sid"];

fn row(g: &Grant) -> [String; 6] {
    [
        g.repository.clone(),
        g.source.clone(),
        g.principal.clone(),
        g.access.clone(),
        g.rule.clone().unwrap_or_else(|| "(no rule)".into()),
        g.sid.clone().unwrap_or_default(),
    ]
}

fn print(out: &mut impl Write, found: &[Grant], format: AccessFormat) -> std::io::Result<()> {
    let rows: Vec<Vec<String>> = found.iter().map(|g| row(g).to_vec()).collect();
    let summary = || {
        let unexplained = found.iter().filter(|g| g.rule.is_none()).count();
        format!(
            "{} grant(s); {unexplained} explained by no rule",
            found.len()
        )
    };
    emit(out, format, found, (&HEADER, &rows), summary)
}

/// `found` as JSON, or its `rows` under a header as CSV, or as a table and its one-line summary.
pub(super) fn emit<T: serde::Serialize + ?Sized>(
    out: &mut impl Write,
    format: AccessFormat,
    found: &T,
    (header, rows): (&[&str], &[Vec<String>]),
    summary: impl FnOnce() -> String,
) -> std::io::Result<()> {
    match format {
        AccessFormat::Json => {
            let text = serde_json::to_string_pretty(found).unwrap_or_default();
            writeln!(out, "{text}")
        }
        AccessFormat::Csv => write_csv(out, header, rows),
        AccessFormat::Table => {
            write_table(out, header, rows)?;
            writeln!(out, "{}", summary())
        }
    }
}

/// A header line, then one line per row, each field quoted where CSV needs it.
fn write_csv(out: &mut impl Write, header: &[&str], rows: &[Vec<String>]) -> std::io::Result<()> {
    writeln!(out, "{}", header.join(","))?;
    for r in rows {
        let fields: Vec<String> = r.iter().map(|f| csv_field(f)).collect();
        writeln!(out, "{}", fields.join(","))?;
    }
    Ok(())
}

/// Aligned columns, two spaces apart, as wide as their widest entry.
fn write_table(out: &mut impl Write, header: &[&str], rows: &[Vec<String>]) -> std::io::Result<()> {
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for r in rows {
        for (w, f) in widths.iter_mut().zip(r) {
            *w = (*w).max(f.len());
        }
    }
    let mut line = |fields: &[&str]| {
        let cells: Vec<String> = fields
            .iter()
            .zip(&widths)
            .map(|(f, w)| format!("{f:<w$}"))
            .collect();
        writeln!(out, "{}", cells.join("  ").trim_end())
    };
    line(header)?;
    for r in rows {
        line(&r.iter().map(String::as_str).collect::<Vec<_>>())?;
    }
    Ok(())
}

fn csv_field(f: &str) -> String {
    if f.contains([',', '"', '\n']) {
        format!("\"{}\"", f.replace('"', "\"\""))
    } else {
        f.to_string()
    }
}
