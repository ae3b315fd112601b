//! `ecr-policy-remediator handle`: EventBridge events through exactly the Lambda's code, one
//! outcome line per event.

use std::io::{Read, Write};
use std::path::PathBuf;

use serde_json::Value;

use crate::cli::common::{connect, load_config, stdout, AwsOptions, CliError, Ran};
use ecr_policy_remediator::{Outcome, Status};

/// One event file's text, or the sentence that says why it cannot be read.
fn read_event(name: &str) -> Result<String, String> {
    if name == "-" {
        let mut s = String::new();
        std::io::stdin()
            .read_to_string(&mut s)
            .map_err(|e| format!("cannot read standard input: {e}"))?;
        return Ok(s);
    }
    std::fs::read_to_string(name).map_err(|e| format!("cannot read {name}: {e}"))
}

pub(crate) async fn handle(
    config: Option<PathBuf>,
    dry_run: bool,
    events: &[String],
    aws: &AwsOptions,
) -> Result<Ran, CliError> {
    let mut config = load_config(config)?;
    config.dry_run |= dry_run;
    let remediator = connect(config, aws).await?;
    let mut ran = Ran::default();
    let mut out = stdout();
    for name in events {
        // The Lambda runtime only ever hands over JSON; a file that cannot be read, or is not
        // JSON, is an event that cannot be handled, reported like any other, alone.
        let raw = read_event(name).and_then(|text| {
            serde_json::from_str::<Value>(&text).map_err(|e| format!("{name} is not JSON: {e}"))
        });
        let outcome = match raw {
            Ok(raw) => match remediator.handle(&raw, None).await {
                Ok(outcome) => outcome,
                Err(retryable) => *retryable.outcome,
            },
            Err(reason) => {
                let outcome = Outcome::unreadable(reason);
                outcome.log();
                outcome
            }
        };
        ran.failed |= outcome.status == Status::Failed;
        ran.changes |= matches!(
            outcome.status,
            Status::Planned | Status::Applied | Status::Created
        );
        let line = serde_json::to_string(&outcome).unwrap_or_default();
        writeln!(out, "{line}")?;
    }
    out.flush()?;
    Ok(ran)
}
