//! What the deployment around the function looks like, read from CloudTrail, EventBridge, Lambda
//! and ECR for `doctor`. Only the command line builds these clients: the Lambda's event path never
//! loads them.

pub(crate) mod checks;
mod facts;

use std::io::Write;
use std::path::PathBuf;

use aws_config::SdkConfig;
use aws_sdk_cloudtrail::error::DisplayErrorContext;
use clap::ValueEnum;

use crate::cli::common::{connect, load_config, stdout, AwsOptions, CliError, Ran};
use crate::cli::doctor::checks::{checks, BusRule, Check, Facts, FunctionConfig, Trail};
use ecr_policy_remediator::Config;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum DoctorFormat {
    /// A checklist, with the fix under each miss.
    Text,
    /// `{"checks": [...], "missing": N}`.
    Json,
}

/// `doctor`: reads the deployment, prints the checklist; exits 1 when anything is missing.
pub(crate) async fn doctor(
    config: Option<PathBuf>,
    function_name: String,
    output: DoctorFormat,
    aws: &AwsOptions,
) -> Result<Ran, CliError> {
    let sdk = crate::cli::profile::sdk_config(aws).await?;
    let lambda = aws_sdk_lambda::Client::new(&sdk);
    let (function, inline) = read_function(&lambda, &function_name).await?;
    // The rules: the file given, else the function's own.
    let config = match (config, inline) {
        (Some(path), _) => load_config(Some(path))?,
        (None, Some(text)) => Config::from_json(&text)
            .map_err(|e| CliError::Usage(format!("the function's rules are invalid: {e}")))?,
        (None, None) => load_config(None)?,
    };
    let mut planning = config.clone();
    planning.dry_run = true;
    let remediator = connect(planning, aws).await?;
    let facts = Facts {
        region: remediator.region().to_string(),
        registry_id: remediator.registry_id().to_string(),
        trails: read_trails(&sdk, remediator.region()).await?,
        function,
        function_name,
        rules: read_rules(&sdk).await?,
        bus_policy: read_bus_policy(&sdk).await?,
        scope: remediator
            .ecr()
            .registry_policy_scope()
            .await
            .map_err(|e| e.to_string()),
        pull_through_cache_prefixes: remediator
            .ecr()
            .pull_through_cache_prefixes(remediator.registry_id())
            .await
            .map_err(|e| e.to_string()),
        documents: remediator.converge_registry().await,
    };
    let found = checks(&facts, Some(&config));
    let mut out = stdout();
    print(&mut out, &found, output)?;
    out.flush()?;
    Ok(Ran {
        failed: found.iter().any(|c| !c.ok),
        changes: false,
    })
}

fn unreadable(what: &str, e: impl std::error::Error) -> CliError {
    CliError::Aws(format!("cannot read {what}: {}", DisplayErrorContext(&e)))
}

/// The function's ARN and where its rules come from, and the inline rules' text.
async fn read_function(
    lambda: &aws_sdk_lambda::Client,
    name: &str,
) -> Result<(Option<(String, FunctionConfig)>, Option<String>), CliError> {
    let out = match lambda
        .get_function_configuration()
        .function_name(name)
        .send()
        .await
    {
        Ok(out) => out,
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_resource_not_found_exception()) =>
        {
            return Ok((None, None))
        }
        Err(e) => return Err(unreadable("the function", e)),
    };
    let vars = out.environment().and_then(|e| e.variables());
    let var = |k: &str| {
        vars.and_then(|v| v.get(k))
            .filter(|v| !v.is_empty())
            .cloned()
    };
    let (config, inline) = match (var("REMEDIATOR_CONFIG"), var("REMEDIATOR_CONFIG_FILE")) {
        (Some(text), _) => {
            let valid = Config::from_json(&text)
                .map(|_| ())
                .map_err(|e| e.to_string());
            (FunctionConfig::Inline(valid), Some(text))
        }
        (None, Some(path)) => (FunctionConfig::File(path), None),
        (None, None) => (FunctionConfig::Missing, None),
    };
    let arn = out.function_arn().unwrap_or_default().to_string();
    Ok((Some((arn, config)), inline))
}

async fn read_trails(sdk: &SdkConfig, region: &str) -> Result<Vec<Trail>, CliError> {
    let client = aws_sdk_cloudtrail::Client::new(sdk);
    let described = client
        .describe_trails()
        .include_shadow_trails(true)
        .send()
        .await
        .map_err(|e| unreadable("the trails", e))?;
    let mut trails = Vec::new();
    for t in described.trail_list() {
        let id = t.trail_arn().or(t.name()).unwrap_or_default();
        let status = client.get_trail_status().name(id).send().await;
        let selectors = client.get_event_selectors().trail_name(id).send().await;
        let management = selectors.is_ok_and(|s| {
            let classic = s.event_selectors().iter().any(|e| {
                e.include_management_events().unwrap_or(true)
                    && e.read_write_type().is_none_or(|r| r.as_str() == "All")
            });
            // An advanced selector for management events that does not filter on readOnly.
            let advanced = s.advanced_event_selectors().iter().any(|a| {
                let fields = a.field_selectors();
                let management = fields.iter().any(|f| {
                    f.field() == "eventCategory" && f.equals().iter().any(|v| v == "Management")
                });
                management && !fields.iter().any(|f| f.field() == "readOnly")
            });
            let none = s.event_selectors().is_empty() && s.advanced_event_selectors().is_empty();
            classic || advanced || none
        });
        trails.push(Trail {
            name: t.name().unwrap_or(id).to_string(),
            home_region: t.home_region().unwrap_or(region).to_string(),
            multi_region: t.is_multi_region_trail().unwrap_or(false),
            logging: status.is_ok_and(|s| s.is_logging().unwrap_or(false)),
            management_reads_and_writes: management,
        });
    }
    Ok(trails)
}

/// The default bus's rules that concern ECR or run on a schedule, with their targets.
async fn read_rules(sdk: &SdkConfig) -> Result<Vec<BusRule>, CliError> {
    let client = aws_sdk_eventbridge::Client::new(sdk);
    let mut rules = Vec::new();
    let mut token = None;
    loop {
        let page = client
            .list_rules()
            .event_bus_name("default")
            .set_next_token(token)
            .send()
            .await
            .map_err(|e| unreadable("the EventBridge rules", e))?;
        for r in page.rules() {
            let pattern = r.event_pattern().map(str::to_string);
            let schedule = r.schedule_expression().map(str::to_string);
            if !pattern.as_deref().is_some_and(|p| p.contains("aws.ecr")) && schedule.is_none() {
                continue;
            }
            let name = r.name().unwrap_or_default().to_string();
            let targets = client
                .list_targets_by_rule()
                .rule(&name)
                .send()
                .await
                .map_err(|e| unreadable("a rule's targets", e))?;
            rules.push(BusRule {
                state: r
                    .state()
                    .map(|s| s.as_str().to_string())
                    .unwrap_or_default(),
                targets: targets
                    .targets()
                    .iter()
                    .map(|t| {
                        let dlq = t
                            .dead_letter_config()
                            .and_then(|d| d.arn())
                            .map(String::from);
                        (t.arn().to_string(), dlq)
                    })
                    .collect(),
                name,
                pattern,
                schedule,
            });
        }
        match page.next_token() {
            Some(t) => token = Some(t.to_string()),
            None => return Ok(rules),
        }
    }
}

async fn read_bus_policy(sdk: &SdkConfig) -> Result<Option<String>, CliError> {
    let client = aws_sdk_eventbridge::Client::new(sdk);
    let bus = client
        .describe_event_bus()
        .name("default")
        .send()
        .await
        .map_err(|e| unreadable("the default bus", e))?;
    Ok(bus.policy().map(str::to_string))
}

fn print(out: &mut impl Write, found: &[Check], output: DoctorFormat) -> std::io::Result<()> {
    let missing = found.iter().filter(|c| !c.ok).count();
    match output {
        DoctorFormat::Json => {
            let doc = serde_json::json!({ "checks": found, "missing": missing });
            writeln!(out, "{doc}")
        }
        DoctorFormat::Text => {
            for c in found {
                let mark = if c.ok { "[ok]  " } else { "[MISS]" };
                writeln!(out, "{mark} {}: {}", c.check, c.detail)?;
                if let Some(fix) = &c.fix {
                    writeln!(out, "       fix: {fix}")?;
                }
            }
            writeln!(out, "{} check(s), {missing} missing", found.len())
        }
    }
}
