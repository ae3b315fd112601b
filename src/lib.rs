//! # ecr-policy-remediator
//!
//! An AWS Lambda that makes one set of rules the whole truth about who may pull what from an ECR
//! registry: it gives repositories the cross-account policy statements the rules ask for within
//! seconds of the repository being created (by a person, a pipeline, pull-through cache or
//! replication) or of a cross-account pull being denied, takes back the statements the rules no
//! longer give, and keeps every statement it does not own byte for byte.
//!
//! The decision is pure and lives in plain modules: [`event`] (over [`cloudtrail`], [`locate`]
//! and [`names`]) reads EventBridge/CloudTrail events and says which repository they concern,
//! [`rules`] holds the validated configuration and the statements it generates, [`policy`] merges
//! those into a document someone else may share (a repository policy, the registry policy, a
//! creation template's policy), [`registry`] and [`templates`] say what the rules want in the
//! registry's own documents, [`coverage`] says where each sweep starts. The SDK adapters [`ecr`]
//! and [`ecr_registry`] are thin; [`converge`] (with [`documents`] for the registry's documents)
//! is the one read-decide-write step that the event path ([`handler`]), the scheduled [`sweep`]
//! and the command line ([`cli`]) all share.
//!
//! ## Environment variables
//!
//! | Variable | Meaning |
//! |---|---|
//! | `REMEDIATOR_CONFIG` | The rules, as JSON. |
//! | `REMEDIATOR_CONFIG_FILE` | A path to the rules file (instead of `REMEDIATOR_CONFIG`; set only one). |
//! | `REMEDIATOR_DRY_RUN` | `true` or `1`: decide and report, write nothing. |
//! | `RUST_LOG` | Log level: `error`, `warn`, `info` (default) or `debug` (adds the before/after policy). |
//! | `AWS_LAMBDA_LOG_LEVEL` | Used when `RUST_LOG` is not set (Lambda's advanced logging controls). |
//! | `AWS_REGION`, `AWS_ENDPOINT_URL`, credentials | The standard AWS SDK environment. |

pub mod canonical;
pub mod cli;
pub mod cloudtrail;
pub mod commands;
pub mod config_error;
pub mod converge;
pub mod coverage;
pub mod documents;
pub mod ecr;
pub mod ecr_registry;
pub mod event;
pub mod handler;
pub mod identity;
pub mod locate;
pub mod names;
pub mod outcome;
pub mod ownership;
pub mod policy;
pub mod reconcile;
pub mod registry;
pub mod rules;
pub mod settings;
pub mod sweep;
pub mod templates;
pub mod validate;

pub use converge::Remediator;
pub use outcome::{Outcome, Status};

use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::SdkConfig;
use tracing_subscriber::filter::LevelFilter;

/// The SDK configuration from the standard environment, with timeouts that leave room for the
/// SDK's own retries inside a Lambda invocation, and adaptive retries: on throttling the client
/// slows its own request rate down instead of hammering a registry others share.
pub async fn sdk_config() -> SdkConfig {
    aws_config::from_env()
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

/// JSON logs on standard error, one object per line, fields at the top level so that CloudWatch
/// Logs Insights can filter on `outcome` or `repository` directly.
pub fn init_tracing(default: LevelFilter) {
    let level = std::env::var("RUST_LOG")
        .or_else(|_| std::env::var("AWS_LAMBDA_LOG_LEVEL"))
        .ok()
        .and_then(|l| l.trim().to_ascii_lowercase().parse::<LevelFilter>().ok())
        .unwrap_or(default);
    tracing_subscriber::fmt()
        .json()
        .flatten_event(true)
        .with_current_span(false)
        .with_span_list(false)
        .with_target(false)
        .with_max_level(level)
        .with_writer(std::io::stderr)
        .init();
}
