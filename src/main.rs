use std::process::ExitCode;
use std::time::SystemTime;

use anyhow::Context as _;
use clap::{CommandFactory, Parser};
use ecr_policy_remediator::cli::{self, Cli};
use ecr_policy_remediator::config::Config;
use ecr_policy_remediator::engine::converge::Remediator;
use ecr_policy_remediator::engine::metrics;
use ecr_policy_remediator::engine::outcome::{Outcome, RetryableError};
use ecr_policy_remediator::engine::sweep::deadline_from_context;
use lambda_runtime::{service_fn, LambdaEvent};
use metrics_cloudwatch_embedded::Collector;
use serde_json::Value;
use tracing_subscriber::filter::LevelFilter;

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<ExitCode> {
    let cli = Cli::parse();
    let level = cli.command.as_ref().map(cli::Command::default_log_level);
    ecr_policy_remediator::init_tracing(level.unwrap_or(LevelFilter::INFO));
    if let Some(command) = cli.command {
        return Ok(cli::run(command, &cli.aws).await);
    }
    if std::env::var_os("AWS_LAMBDA_RUNTIME_API").is_none() {
        Cli::command().print_help()?;
        return Ok(ExitCode::from(2));
    }
    // A bad configuration fails the init, once, instead of every event later.
    let config = Config::from_env().context("invalid configuration")?;
    let sdk = ecr_policy_remediator::sdk_config().await;
    let remediator = Remediator::connect(config, &sdk)
        .await
        .context("cannot learn the registry ID (ecr:DescribeRegistry)")?
        .with_self_role(std::env::var("REMEDIATOR_SELF_ROLE_ARN").ok());
    let function = std::env::var("AWS_LAMBDA_FUNCTION_NAME");
    let collector = metrics::install(function.as_deref().unwrap_or("ecr-policy-remediator"))
        .map_err(anyhow::Error::msg)?;
    lambda_runtime::run(service_fn(|event| handle(&remediator, collector, event)))
        .await
        .map_err(|e| anyhow::anyhow!(e))?;
    Ok(ExitCode::SUCCESS)
}

async fn handle(
    remediator: &Remediator,
    collector: &Collector,
    event: LambdaEvent<Value>,
) -> Result<Outcome, RetryableError> {
    let deadline = deadline_from_context(event.context.deadline, SystemTime::now());
    let result = remediator.handle(&event.payload, Some(deadline)).await;
    // Standard output is the metrics' channel (the logs are on standard error).
    if let Err(e) = metrics::flush(
        collector,
        &event.context.request_id,
        std::io::stdout().lock(),
    ) {
        tracing::warn!(error = %e, "the metrics could not be written");
    }
    result
}
