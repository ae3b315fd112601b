//! # ecr-policy-remediator
//!
//! An AWS Lambda that makes one set of rules the whole truth about who may pull what from an ECR
//! registry: it gives repositories the cross-account policy statements the rules ask for within
//! seconds of the repository being created (by a person, a pipeline, pull-through cache or
//! replication) or of a cross-account pull being denied, takes back the statements the rules no
//! longer give, and keeps every statement it does not own byte for byte.
//!
//! The tree is the design. Pure folders decide without talking to AWS: `config/` (the rules,
//! their validation, the sweep's settings), `event/` (tolerant event types, classification, where
//! an event names its repository), `names/` (repository names, ARNs, account IDs, the caller),
//! `policy/` (the one merge that serves every document kind, ownership, canonical form) and
//! `desired/` (what the rules want in the registry policy and the creation templates, and which
//! rule explains a grant). `ecr/` is the adapter: every ECR call behind [`EcrClient`], with the
//! SDK's client ([`SdkEcr`]), a pacing wrapper and, in tests, an in-memory fake. `engine/` is the
//! one converge step every path shares, the registry's documents, the event path
//! ([`Remediator::handle`]), the sweep, and what each ends in ([`Outcome`], [`metrics`]).
//!
//! Two binaries use this library: `ecr-policy-remediator-lambda` (`src/bin/lambda.rs`), the
//! Lambda, which carries the event path only, and `ecr-policy-remediator` (`src/main.rs` with
//! `src/cli/`), the command line, which alone links the argument parser, the progress bar, the
//! diff printer and the CloudTrail, EventBridge and Lambda clients that `doctor` reads with.
//! `tests/architecture.rs` holds the folders to these rules.
//!
//! ## Environment variables
//!
//! | Variable | Meaning |
//! |---|---|
//! | `REMEDIATOR_CONFIG` | The rules, as JSON. |
//! | `REMEDIATOR_CONFIG_FILE` | A path to the rules file (instead of `REMEDIATOR_CONFIG`; set only one). |
//! | `REMEDIATOR_DRY_RUN` | `true` or `1`: decide and report, write nothing. |
//! | `REMEDIATOR_SELF_ROLE_ARN` | The function's own role ARN (the Terraform module sets it): the events of its own writes end without an ECR call. |
//! | `AWS_LAMBDA_LOG_LEVEL` | Lambda's log level (advanced logging controls); wins over `RUST_LOG`, and `DEBUG` is this crate's detail only. |
//! | `RUST_LOG` | A full filter directive, when `AWS_LAMBDA_LOG_LEVEL` is not set: `info` (default), `ecr_policy_remediator=debug` (adds the before/after policy). |
//! | `AWS_LAMBDA_LOG_FORMAT` | `Text` for text lines; otherwise JSON, one object per line, with the invocation's `span.requestId`. |
//! | `AWS_LAMBDA_FUNCTION_NAME` | Set by Lambda: the `FunctionName` dimension of every metric. |
//! | `AWS_LAMBDA_RUNTIME_API` | Set by Lambda: where the Lambda binary fetches its invocations. |
//! | `AWS_REGION`, `AWS_ENDPOINT_URL`, credentials | The standard AWS SDK environment (the command line's `--region` and `--profile` override it). |

mod config;
mod desired;
mod ecr;
mod engine;
mod event;
mod names;
mod policy;

pub use config::validate::{check_org_path, is_org_id};
pub use config::{dry_run_from_env, Config, ConfigError, Trust, TrustMode};
pub use desired::grants::{desired_by_rule, grants, Document, Grant};
pub use desired::registry::{covers, registry_statements_by_rule};
pub use ecr::{EcrClient, EcrError, SdkEcr};
pub use engine::converge::{Cause, Remediator};
pub use engine::documents::{repository_arn, REGISTRY_POLICY};
pub use engine::metrics;
pub use engine::outcome::{DocumentReport, Outcome, RetryableError, Status, SweepReport};
pub use engine::sweep::{
    deadline_from_context, NoObserver, RepositoryResult, SweepObserver, SweepOptions,
};
pub use event::{Classified, Event, Trigger};
pub use metrics_cloudwatch_embedded::Collector;
pub use names::{check_repository_name, is_account_id, Arn};
pub use policy::diff::named_statements;
pub use policy::trust::{
    check as check_trust, revoke as revoke_untrusted, Before, Finding, FindingKind, Revocation,
    Trusted,
};
pub use policy::{plan, Change, Kind as DocumentKind, Plan};

use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::SdkConfig;
use tracing_subscriber::filter::{EnvFilter, LevelFilter};

/// The SDK configuration from the standard environment, with timeouts that leave room for the
/// SDK's own retries inside a Lambda invocation, and adaptive retries: on throttling the client
/// slows its own request rate down instead of hammering a registry others share.
pub async fn sdk_config() -> SdkConfig {
    sdk_config_for(None, None).await
}

/// The same, with the command line's `--region` and `--profile` over the environment's.
pub async fn sdk_config_for(region: Option<String>, profile: Option<String>) -> SdkConfig {
    let mut loader = aws_config::from_env();
    if let Some(region) = region {
        loader = loader.region(aws_config::Region::new(region));
    }
    if let Some(profile) = profile {
        loader = loader.profile_name(profile);
    }
    loader
        .retry_config(RetryConfig::adaptive())
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(3))
                .operation_attempt_timeout(Duration::from_secs(10))
                .build(),
        )
        .load()
        .await
}

/// The log filter, as Lambda's runtime documents it: `AWS_LAMBDA_LOG_LEVEL` (Lambda's advanced
/// logging controls) wins and sets this crate's level, with the SDK and the runtime kept at `warn`
/// or quieter so that `DEBUG` means our own detail, not the SDK's internals; else `RUST_LOG` as a
/// full filter directive (`ecr_policy_remediator=debug,aws_smithy_runtime=info`); else `default`.
pub fn log_filter(
    lambda_level: Option<&str>,
    rust_log: Option<&str>,
    default: LevelFilter,
) -> EnvFilter {
    // aws_config's warnings are its provider chain trying one source after another (IMDS, the
    // profile): dumps of internal errors, when what is missing is said once, in a sentence, by
    // the command itself. The shared files' reader moved to aws_runtime::env_config; its
    // warnings (an AWS_CONFIG_FILE that names no file) are the same kind.
    let ours = |level: LevelFilter| {
        let others = level.min(LevelFilter::WARN);
        let config = level.min(LevelFilter::ERROR);
        EnvFilter::new(format!(
            "{others},aws_config={config},aws_runtime::env_config={config},\
             ecr_policy_remediator={level}"
        ))
    };
    let filter = match (
        lambda_level.and_then(|l| l.trim().parse::<LevelFilter>().ok()),
        rust_log.map(str::trim).filter(|d| !d.is_empty()),
    ) {
        (Some(level), _) => ours(level),
        (None, Some(directive)) => EnvFilter::try_new(directive).unwrap_or_else(|_| ours(default)),
        (None, None) => ours(default),
    };
    // The runtime's span of each invocation carries its request id: it must stay enabled for
    // every line to have it (a span prints nothing by itself).
    match "lambda_runtime::layers::trace=info".parse() {
        Ok(span) => filter.add_directive(span),
        Err(_) => filter,
    }
}

/// Logs on standard error, one line per event. `AWS_LAMBDA_LOG_FORMAT=Text` gives text lines;
/// otherwise (JSON, or unset) JSON objects with the fields at the top level, so that CloudWatch
/// Logs Insights can filter on `outcome` or `repository` directly, and, under the Lambda runtime,
/// the invocation's span (`span.requestId`) on every line of it.
pub fn init_tracing(default: LevelFilter) {
    let var = |name| std::env::var(name).ok();
    let filter = log_filter(
        var("AWS_LAMBDA_LOG_LEVEL").as_deref(),
        var("RUST_LOG").as_deref(),
        default,
    );
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .with_writer(std::io::stderr);
    if var("AWS_LAMBDA_LOG_FORMAT").is_some_and(|f| f.eq_ignore_ascii_case("text")) {
        builder.with_ansi(false).init();
    } else {
        builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .init();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn directives(f: EnvFilter) -> Vec<String> {
        let mut d: Vec<String> = f.to_string().split(',').map(str::to_string).collect();
        d.sort();
        d
    }

    #[test]
    fn lambdas_log_level_wins_and_keeps_the_sdk_quiet() {
        let f = log_filter(Some("DEBUG"), Some("trace"), LevelFilter::INFO);
        let span = "lambda_runtime::layers::trace=info";
        let (config, files) = ("aws_config=error", "aws_runtime::env_config=error");
        assert_eq!(
            directives(f),
            [config, files, "ecr_policy_remediator=debug", span, "warn"]
        );
        let f = log_filter(Some("error"), None, LevelFilter::INFO);
        assert_eq!(
            directives(f),
            [config, files, "ecr_policy_remediator=error", "error", span]
        );
    }

    #[test]
    fn rust_log_is_a_full_directive_and_a_bad_one_falls_back() {
        let directive = "ecr_policy_remediator=debug,aws_smithy_runtime=info";
        let f = log_filter(None, Some(directive), LevelFilter::INFO).to_string();
        assert!(f.contains("aws_smithy_runtime=info"), "{f}");
        let f = log_filter(None, Some("=[broken"), LevelFilter::INFO).to_string();
        assert!(f.contains("ecr_policy_remediator=info"), "{f}");
        let f = log_filter(None, None, LevelFilter::ERROR).to_string();
        assert!(f.contains("ecr_policy_remediator=error"), "{f}");
    }
}
