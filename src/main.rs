//! `ecr-policy-remediator`, the command line: the Lambda's code path from a workstation or a CI
//! job, and the operator's tools (`access`, `doctor`). The Lambda is the other binary.

mod cli;

use std::process::ExitCode;

use clap::{CommandFactory, Parser};
use cli::Cli;

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let Some(command) = cli.command else {
        // Nothing to do is a usage error, as for any Unix tool; the help says what there is.
        let _ = Cli::command().print_help();
        return ExitCode::from(2);
    };
    ecr_policy_remediator::init_tracing(command.default_log_level());
    cli::run(command, &cli.aws).await
}
