//! The AWS configuration every subcommand that reaches AWS starts from: the standard environment
//! with `--region` and `--profile` on top, refused in one sentence when it names no region or a
//! profile the shared files do not have.

use aws_config::SdkConfig;
use aws_runtime::env_config::file::EnvConfigFiles;
use aws_types::os_shim_internal::{Env, Fs};

use crate::cli::common::{AwsOptions, CliError};

/// The SDK's configuration for `aws`, or the sentence that says why it cannot reach a registry.
pub(crate) async fn sdk_config(aws: &AwsOptions) -> Result<SdkConfig, CliError> {
    if let Some(name) = &aws.profile {
        if profile_exists(name).await == Some(false) {
            return Err(CliError::Usage(missing_profile(name, "--profile")));
        }
    }
    let sdk = ecr_policy_remediator::sdk_config_for(aws.region.clone(), aws.profile.clone()).await;
    if sdk.region().is_some() {
        return Ok(sdk);
    }
    // Without a region, an AWS_PROFILE the files lack is the likelier mistake: say that instead.
    let from_env = std::env::var("AWS_PROFILE").ok().filter(|p| !p.is_empty());
    if let (None, Some(name)) = (&aws.profile, from_env) {
        if profile_exists(&name).await == Some(false) {
            return Err(CliError::Usage(missing_profile(&name, "AWS_PROFILE")));
        }
    }
    Err(CliError::Usage(
        "no AWS region is set: pass --region, or set AWS_REGION (or a region in the profile)"
            .into(),
    ))
}

/// Whether the shared config or credentials file defines the profile, read as the SDK reads them
/// (`AWS_CONFIG_FILE`, `AWS_SHARED_CREDENTIALS_FILE`, else `~/.aws/config` and
/// `~/.aws/credentials`); `None` when the files cannot be parsed, which the SDK then reports.
async fn profile_exists(name: &str) -> Option<bool> {
    let files = EnvConfigFiles::default();
    let profiles = aws_config::profile::load(&Fs::real(), &Env::real(), &files, None).await;
    profiles.ok().map(|set| set.get_profile(name).is_some())
}

fn missing_profile(name: &str, given_by: &str) -> String {
    let file = |var: &str, default: &str| {
        std::env::var(var)
            .ok()
            .filter(|v| !v.is_empty())
            .unwrap_or_else(|| default.to_string())
    };
    format!(
        "the AWS profile {name:?} ({given_by}) does not exist in {} or {}: check its spelling, or \
         create it with `aws configure --profile {name}`",
        file("AWS_CONFIG_FILE", "~/.aws/config"),
        file("AWS_SHARED_CREDENTIALS_FILE", "~/.aws/credentials"),
    )
}
