//! The demo (`make demo`, `scripts/demo.sh`) never hangs and never lies: `scripts/outcome_line.py`
//! names every invocation that timed out, exited non-zero, answered no outcome or an outcome
//! `failed` its sample is not meant to have, and a demo whose invocations time out still ends, runs
//! its other steps, exits non-zero and names them on its last line.

mod common;

use std::fs;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;

fn venv_bin(name: &str) -> PathBuf {
    let path = manifest_dir().join(".venv/bin").join(name);
    assert!(
        path.exists(),
        "{name} is missing: run `make venv-demo` (it installs moto and cargo-lambda into .venv)"
    );
    path
}

fn scratch(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("remediator-demo-{}-{name}", std::process::id()))
}

/// The table line `outcome_line.py` prints for one answer, and what it appended to the failures.
fn judge(name: &str, rc: i32, answer: &str, stderr: &str) -> (String, String) {
    let (err, failures) = (
        scratch(&format!("{name}.err")),
        scratch(&format!("{name}.fail")),
    );
    fs::write(&err, stderr).unwrap();
    let _ = fs::remove_file(&failures);
    let mut child = Command::new(venv_bin("python"))
        .arg(manifest_dir().join("scripts/outcome_line.py"))
        .args([name, "--exit", &rc.to_string(), "--timeout", "120"])
        .arg("--stderr")
        .arg(&err)
        .arg("--failures")
        .arg(&failures)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("outcome_line.py runs");
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), answer.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "outcome_line.py itself failed");
    let failed = fs::read_to_string(&failures).unwrap_or_default();
    let _ = (fs::remove_file(&err), fs::remove_file(&failures));
    (String::from_utf8(out.stdout).unwrap(), failed)
}

#[test]
fn every_failed_invocation_is_named_and_only_those() {
    let (line, failed) = judge(
        "create-repository-api.json",
        0,
        r#"{"outcome":"applied","repository":"team-a/payments-api","rules":["team-a"]}"#,
        "",
    );
    assert!(line.contains("applied    team-a/payments-api"), "{line}");
    assert_eq!(failed, "");
    let skipped = r#"{"outcome":"skipped","reason":"BatchGetImage succeeded: not a denied pull"}"#;
    assert_eq!(judge("skip-pull-succeeded.json", 0, skipped, "").1, "");

    let (line, failed) = judge("scheduled-sweep.json", 124, "", "");
    assert!(line.contains("TIMEOUT"), "{line}");
    assert_eq!(
        failed,
        "scheduled-sweep.json (timeout: no answer after 120s)\n"
    );

    let said = "Error: Missing function\nWas this behavior unexpected?\n";
    let (line, failed) = judge("template-deleted.json", 1, "", said);
    assert!(
        line.contains("ERROR      Error: Missing function"),
        "{line}"
    );
    assert_eq!(
        failed,
        "template-deleted.json (exit 1: Error: Missing function)\n"
    );

    let (_, failed) = judge("template-updated.json", 0, "not json", "");
    assert_eq!(failed, "template-updated.json (no JSON outcome)\n");

    let answer = r#"{"outcome":"failed","repository":"team-a/ledger","reason":"too big"}"#;
    let (line, failed) = judge("policy-changed-deleted.json", 0, answer, "");
    assert!(line.contains("failed     team-a/ledger"), "{line}");
    assert_eq!(
        failed,
        "policy-changed-deleted.json (outcome failed: too big)\n"
    );

    let counts = r#""listed":2,"matching":2,"applied":1,"unchanged":0,"revoked":0,"skipped":0,"notReached":0,"coverageSweeps":1"#;
    let answer = format!(
        r#"{{"outcome":"swept","sweep":{{{counts},"failed":1,"documents":[{{"document":"registry policy","outcome":"failed"}}]}}}}"#
    );
    let (_, failed) = judge("scheduled-sweep.json", 0, &answer, "");
    assert_eq!(
        failed,
        "scheduled-sweep.json (registry policy failed, the sweep failed on 1 repository(ies))\n"
    );
}

#[test]
fn the_demo_reads_the_intended_outcome_of_every_sample() {
    let out = Command::new(venv_bin("python"))
        .args([
            "-c",
            "import sys; sys.path.insert(0, 'scripts'); import outcome_line; \
             print('\\n'.join(sorted(outcome_line.intended_outcomes())))",
        ])
        .current_dir(manifest_dir())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut samples: Vec<String> = fs::read_dir(manifest_dir().join("events"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".json") && name != "config.json")
        .collect();
    samples.sort();
    let read: Vec<String> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    assert_eq!(read, samples);
}

#[test]
fn a_demo_whose_invocations_time_out_ends_non_zero_and_names_them() {
    let (stdout, stderr) = (scratch("demo.out"), scratch("demo.err"));
    let path = format!(
        "{}:{}",
        venv_bin("cargo-lambda").parent().unwrap().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut demo = Command::new("bash")
        .arg("scripts/demo.sh")
        .current_dir(manifest_dir())
        .env("PATH", path)
        // No invocation can answer within a millisecond: two time out, the rest are not sent.
        .env("DEMO_INVOKE_TIMEOUT", "0.001")
        .stdin(Stdio::null())
        .stdout(fs::File::create(&stdout).unwrap())
        .stderr(fs::File::create(&stderr).unwrap())
        .spawn()
        .expect("bash runs the demo");
    // Its own build is fresh (cargo test built both binaries): what is left takes seconds.
    let deadline = Instant::now() + Duration::from_secs(600);
    let status = loop {
        if let Some(status) = demo.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = Command::new("kill").arg(demo.id().to_string()).status();
            let _ = demo.wait();
            panic!("the demo did not end within 600 s");
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let (out, err) = (
        fs::read_to_string(&stdout).unwrap(),
        fs::read_to_string(&stderr).unwrap(),
    );
    let _ = (fs::remove_file(&stdout), fs::remove_file(&stderr));
    assert_eq!(status.code(), Some(1), "{out}\n{err}");
    let last = err.lines().last().unwrap_or_default();
    assert!(last.starts_with("==> demo FAILED, 3 failure(s)"), "{last}");
    for named in [
        "create-repository-api.json (timeout: no answer after 0s)",
        "create-repository-pull-through-cache.json (timeout: no answer after 0s)",
        "not sent, the function having stopped answering at \
         create-repository-pull-through-cache.json: create-repository-replication-api-call.json, ",
        "template-updated.json",
    ] {
        assert!(last.contains(named), "{named} is not named: {last}");
    }
    // The steps after the events still ran.
    assert!(
        out.contains("registry policy: deleted, nothing was left in it"),
        "{out}"
    );
}
