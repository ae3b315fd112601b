//! The Lambda: the event path only. `main` reads the rules, builds the ECR client once and serves
//! invocations; everything else is in the library. The command line is the other binary.

use std::time::SystemTime;

use anyhow::Context as _;
use ecr_policy_remediator::{
    deadline_from_context, init_tracing, metrics, sdk_config, Collector, Config, Outcome,
    Remediator, RetryableError,
};
use lambda_runtime::{service_fn, LambdaEvent};
use serde_json::Value;
use tracing_subscriber::filter::LevelFilter;

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    init_tracing(LevelFilter::INFO);
    // A bad configuration fails the init, once, instead of every event later.
    let config = Config::from_env().context("invalid configuration")?;
    let sdk = sdk_config().await;
    let remediator = Remediator::connect(config, &sdk)
        .await
        .context("cannot learn the registry ID (ecr:DescribeRegistry)")?
        .with_self_role(std::env::var("REMEDIATOR_SELF_ROLE_ARN").ok());
    let function = std::env::var("AWS_LAMBDA_FUNCTION_NAME");
    let collector = metrics::install(function.as_deref().unwrap_or("ecr-policy-remediator"))
        .map_err(anyhow::Error::msg)?;
    lambda_runtime::run(service_fn(|event| handle(&remediator, collector, event)))
        .await
        .map_err(|e| anyhow::anyhow!(e))
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
