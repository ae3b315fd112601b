//! Output nobody reads any more: a closed pipe (`| head -1`) ends the command line quietly with
//! status 0, as ripgrep does; never a panic, never a message.

mod common;

use std::process::{Output, Stdio};

use common::*;

/// The binary with its standard output a pipe whose reading end is already closed, as `head -1`
/// leaves it once it has its line: the first write fails with a broken pipe, every time (a
/// real `| head -1` races the writer, and small outputs fit in the pipe before it closes).
fn into_closed_pipe(moto: Option<&Moto>, args: &[&str]) -> Output {
    let (reader, writer) = std::io::pipe().expect("a pipe");
    drop(reader);
    command(moto, args)
        .stdin(Stdio::null())
        .stdout(writer)
        .stderr(Stdio::piped())
        .output()
        .expect("the binary runs")
}

fn assert_quiet_success(out: &Output, args: &[&str]) {
    let err = stderr(out);
    assert_eq!(out.status.code(), Some(0), "{args:?}: {err}");
    assert!(!err.contains("panicked"), "{args:?}: {err}");
    assert!(!err.contains("Broken pipe"), "{args:?}: {err}");
    assert!(!err.contains("ecr-policy-remediator:"), "{args:?}: {err}");
}

#[test]
fn check_config_and_help_stop_quietly_when_the_pipe_closes() {
    for args in [
        &["check-config", "--config", "events/config.json"][..],
        &["check-config", "events/config.json"],
        &["--help"],
        &["reconcile", "--help"],
        &["--version"],
    ] {
        let out = into_closed_pipe(None, args);
        assert_quiet_success(&out, args);
        assert!(out.stderr.is_empty(), "{args:?}: {}", stderr(&out));
    }
}

#[tokio::test]
async fn every_subcommand_that_reaches_aws_stops_quietly_when_the_pipe_closes() {
    let moto = Moto::start();
    let (client, _) = moto.client();
    for name in ["team-a/one", "registry.k8s.io/pause"] {
        create_repository(&client, name).await;
    }
    let config = ["--config", "events/config.json"];
    for args in [
        &["reconcile", "--dry-run"][..],
        &["reconcile", "--dry-run", "--summary"],
        &["reconcile", "--dry-run", "--output", "json"],
        &["plan", "--registry", "team-a/one"],
        &["access"],
        &["access", "--output", "csv"],
        &["handle", "--dry-run", "events/create-repository-api.json"],
    ] {
        let args = [args, &config[..]].concat();
        assert_quiet_success(&into_closed_pipe(Some(&moto), &args), &args);
    }
    assert_eq!(policy(&client, "team-a/one").await, None, "dry runs all");
    // A real run writes first and reports after: the grants are made, the report is dropped.
    let args = [&["reconcile"][..], &config[..]].concat();
    assert_quiet_success(&into_closed_pipe(Some(&moto), &args), &args);
    assert!(policy(&client, "team-a/one").await.is_some());
}

#[cfg(target_os = "linux")]
#[test]
fn output_that_cannot_be_written_is_one_sentence_and_exit_1() {
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .expect("/dev/full");
    let out = command(None, &["check-config", "--config", "events/config.json"])
        .stdin(Stdio::null())
        .stdout(full)
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let message = stderr(&out);
    assert!(
        message.starts_with("ecr-policy-remediator: cannot write to standard output: "),
        "{message}"
    );
    assert_eq!(message.trim().lines().count(), 1, "{message}");
}
