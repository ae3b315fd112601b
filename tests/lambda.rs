//! Smoke test of the real Lambda path: `cargo lambda watch` runs the binary under cargo-lambda's
//! Runtime API emulator, `cargo lambda invoke` sends it a sample event, and the function talks to
//! moto.

mod common;

use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::*;
use serde_json::Value;

fn cargo_lambda() -> PathBuf {
    let path = manifest_dir().join(".venv/bin/cargo-lambda");
    assert!(
        path.exists(),
        "cargo-lambda is missing: run `make venv` (it installs the pinned cargo-lambda into .venv)"
    );
    path
}

struct Watch(Child);

impl Drop for Watch {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn invoke(port: u16, event: &str) -> Output {
    invoke_with(port, &["--data-file", &format!("events/{event}")])
}

fn invoke_with(port: u16, data: &[&str]) -> Output {
    Command::new(cargo_lambda())
        .args([
            "lambda",
            "invoke",
            "ecr-policy-remediator-lambda",
            "--invoke-address",
            "127.0.0.1",
        ])
        .args([
            "--invoke-port",
            &port.to_string(),
            "--output-format",
            "json",
        ])
        .args(data)
        .current_dir(manifest_dir())
        .output()
        .expect("cargo lambda invoke runs")
}

#[tokio::test]
async fn cargo_lambda_watch_and_invoke_handle_events_and_leave_logs_and_metrics() {
    let moto = Moto::start();
    let (client, _) = moto.client();
    create_repository(&client, "registry.k8s.io/pause").await;
    create_repository(&client, "team-a/payments-api").await;

    let port = free_port();
    let mut env: Vec<String> = moto
        .env()
        .into_iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    // The sample rules with a trust boundary in report mode: a foreign grant is reported, in a
    // WARN line and the UntrustedGrants metric, and nothing else changes.
    let mut config: Value =
        serde_json::from_str(&std::fs::read_to_string(sample_config_path()).unwrap()).unwrap();
    config["trust"] = serde_json::json!({"mode": "report"});
    let config_path = std::env::temp_dir().join(format!("remediator-config-{port}.json"));
    std::fs::write(&config_path, config.to_string()).unwrap();
    env.push(format!("REMEDIATOR_CONFIG_FILE={}", config_path.display()));
    let bin_dir = cargo_lambda().parent().unwrap().to_path_buf();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let log_path = std::env::temp_dir().join(format!("remediator-watch-{port}.log"));
    let log = std::fs::File::create(&log_path).unwrap();
    let watch = Watch(
        Command::new(cargo_lambda())
            .args(["lambda", "watch", "--invoke-address", "127.0.0.1"])
            .args([
                "--invoke-port",
                &port.to_string(),
                "--env-vars",
                &env.join(","),
            ])
            .current_dir(manifest_dir())
            .env("PATH", path)
            .stdin(Stdio::null())
            .stdout(Stdio::from(log.try_clone().unwrap()))
            .stderr(Stdio::from(log.try_clone().unwrap()))
            .spawn()
            .expect("cargo lambda watch starts"),
    );
    let addr: SocketAddr = ([127, 0, 0, 1], port).into();
    let deadline = Instant::now() + Duration::from_secs(600);
    while TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
        assert!(
            Instant::now() < deadline,
            "cargo lambda watch did not listen on {addr}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }

    let out = invoke(port, "create-repository-pull-through-cache.json");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let outcome: Value = serde_json::from_slice(&out.stdout).expect("the outcome is JSON");
    assert_eq!(outcome["outcome"], "applied", "{outcome}");
    assert_eq!(outcome["repository"], "registry.k8s.io/pause");
    let policy = policy(&client, "registry.k8s.io/pause")
        .await
        .expect("policy attached");
    assert!(
        policy.contains("EcrPolicyRemediator-k8s-mirror-Principals"),
        "{policy}"
    );

    let out = invoke(port, "create-repository-pull-through-cache.json");
    let outcome: Value = serde_json::from_slice(&out.stdout).expect("the outcome is JSON");
    assert_eq!(outcome["outcome"], "unchanged", "{outcome}");
    // A denied pull from a caller no rule names, and an event that can never succeed.
    let out = invoke(port, "pull-denied-outside-rules.json");
    let outcome: Value = serde_json::from_slice(&out.stdout).expect("the outcome is JSON");
    assert_eq!(outcome["outcome"], "applied", "{outcome}");
    // A pull-through cache that failed to sync an image it never held: skipped, warned, counted.
    let out = invoke(port, "native-pull-through-cache-failed.json");
    let outcome: Value = serde_json::from_slice(&out.stdout).expect("the outcome is JSON");
    assert_eq!(outcome["outcome"], "skipped", "{outcome}");
    assert!(
        outcome["reason"]
            .as_str()
            .is_some_and(|r| r.contains("UPSTREAM_UNAVAILABLE")),
        "{outcome}"
    );
    // Someone adds a grant to an outside account: the policy-changed event reports it.
    let current = common::policy(&client, "team-a/payments-api")
        .await
        .unwrap();
    let outsider = r#"{"Sid":"Contractor","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::999999999999:root"},"Action":"ecr:BatchGetImage"}"#;
    let with_outsider = current.replacen(
        r#""Statement":["#,
        &format!(r#""Statement":[{outsider},"#),
        1,
    );
    set_policy(&client, "team-a/payments-api", &with_outsider).await;
    let out = invoke(port, "policy-changed-statement-removed.json");
    let outcome: Value = serde_json::from_slice(&out.stdout).expect("the outcome is JSON");
    assert_eq!(outcome["outcome"], "unchanged", "{outcome}");
    assert_eq!(
        outcome["untrusted"],
        serde_json::json!([{"sid": "Contractor", "principal": "arn:aws:iam::999999999999:root", "kind": "untrusted"}]),
        "{outcome}"
    );
    let bad = r#"{"source":"aws.ecr","detail-type":"AWS API Call via CloudTrail","detail":{"eventSource":"ecr.amazonaws.com","eventName":"CreateRepository","requestParameters":{"repositoryName":"Not A Name"}}}"#;
    let out = invoke_with(port, &["--data-ascii", bad]);
    let outcome: Value = serde_json::from_slice(&out.stdout).expect("the outcome is JSON");
    assert_eq!(outcome["outcome"], "failed", "{outcome}");
    drop(watch);
    // Every line of an invocation carries its request id, in the runtime's span.
    let logs = std::fs::read_to_string(&log_path).unwrap();
    let handled: Vec<Value> = logs
        .lines()
        .filter_map(|l| {
            l.find('{')
                .and_then(|i| serde_json::from_str::<Value>(&l[i..]).ok())
        })
        .filter(|l| l["message"] == "event handled")
        .collect();
    assert_eq!(handled.len(), 6, "{logs}");
    let sync_failed: Vec<Value> = logs
        .lines()
        .filter_map(|l| {
            l.find('{')
                .and_then(|i| serde_json::from_str::<Value>(&l[i..]).ok())
        })
        .filter(|l| l["message"] == "pull-through cache sync failed")
        .collect();
    assert_eq!(sync_failed.len(), 1, "{logs}");
    assert_eq!(
        sync_failed[0]["failure_code"], "UPSTREAM_UNAVAILABLE",
        "{logs}"
    );
    let untrusted: Vec<Value> = logs
        .lines()
        .filter_map(|l| {
            l.find('{')
                .and_then(|i| serde_json::from_str::<Value>(&l[i..]).ok())
        })
        .filter(|l| l["message"] == "untrusted grant")
        .collect();
    assert_eq!(untrusted.len(), 1, "one WARN line per document: {logs}");
    assert_eq!(untrusted[0]["level"], "WARN");
    assert_eq!(untrusted[0]["repository"], "team-a/payments-api");
    assert!(
        untrusted[0]["untrusted"]
            .as_str()
            .is_some_and(|u| u.contains("999999999999") && u.contains("Contractor")),
        "{logs}"
    );
    for line in &handled {
        assert!(
            line["span"]["requestId"]
                .as_str()
                .is_some_and(|id| !id.is_empty()),
            "{line}"
        );
    }
    check_metrics(&logs);
}

/// The embedded-metric-format documents in the function's output, each checked for the
/// envelope CloudWatch needs: namespace, dimension set, and every metric with its unit.
fn emf_documents(logs: &str) -> Vec<Value> {
    let docs: Vec<Value> = logs
        .lines()
        .filter_map(|l| {
            l.find('{')
                .and_then(|i| serde_json::from_str::<Value>(&l[i..]).ok())
        })
        .filter(|d| d.get("_aws").is_some())
        .collect();
    for d in &docs {
        let spec = &d["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(spec["Namespace"], "EcrPolicyRemediator", "{d}");
        assert!(d["_aws"]["Timestamp"].as_u64().is_some(), "{d}");
        let dimensions = spec["Dimensions"][0].as_array().expect("one dimension set");
        assert_eq!(dimensions[0], "FunctionName", "{d}");
        for name in dimensions {
            assert!(
                d[name.as_str().unwrap()].is_string(),
                "dimension {name} has a value: {d}"
            );
        }
        for metric in spec["Metrics"].as_array().unwrap() {
            assert!(!d[metric["Name"].as_str().unwrap()].is_null(), "{d}");
        }
        assert!(
            d["requestId"].as_str().is_some_and(|id| !id.is_empty()),
            "{d}"
        );
    }
    docs
}

/// The value of a metric in the document whose dimensions are exactly `labels` (besides
/// FunctionName), with its unit.
fn metric<'a>(docs: &'a [Value], name: &str, labels: &[(&str, &str)]) -> Vec<(&'a Value, String)> {
    docs.iter()
        .filter(|d| {
            let dims = d["_aws"]["CloudWatchMetrics"][0]["Dimensions"][0]
                .as_array()
                .unwrap();
            dims.len() == labels.len() + 1 && labels.iter().all(|(k, v)| d[*k] == *v)
        })
        .filter_map(|d| {
            let spec = d["_aws"]["CloudWatchMetrics"][0]["Metrics"]
                .as_array()
                .unwrap();
            let m = spec.iter().find(|m| m["Name"] == name)?;
            Some((&d[name], m["Unit"].as_str().unwrap_or_default().to_string()))
        })
        .collect()
}

/// The metrics the binary wrote: each outcome by trigger, failures, the age of each event about
/// a repository, the denied pull from a caller no rule names, the failed pull-through-cache
/// sync, and the grant outside the trust boundary.
fn check_metrics(logs: &str) {
    let docs = emf_documents(logs);
    let applied = metric(
        &docs,
        "Invocations",
        &[("Trigger", "repository-created"), ("Outcome", "applied")],
    );
    assert_eq!(applied.len(), 1, "{docs:?}");
    assert_eq!(
        (applied[0].0.as_u64(), applied[0].1.as_str()),
        (Some(1), "Count")
    );
    let unchanged = metric(
        &docs,
        "Invocations",
        &[("Trigger", "repository-created"), ("Outcome", "unchanged")],
    );
    assert_eq!(unchanged[0].0.as_u64(), Some(1), "{docs:?}");
    let failed = metric(&docs, "FailedOutcomes", &[]);
    assert_eq!(failed.len(), 1, "one failed invocation: {docs:?}");
    assert_eq!(
        (failed[0].0.as_u64(), failed[0].1.as_str()),
        (Some(1), "Count")
    );
    let unnamed = metric(&docs, "UnnamedCallerPulls", &[]);
    assert_eq!(unnamed.len(), 1, "{docs:?}");
    assert_eq!(unnamed[0].0.as_u64(), Some(1));
    let sync = metric(&docs, "PullThroughCacheFailures", &[]);
    assert_eq!(sync.len(), 1, "{docs:?}");
    assert_eq!((sync[0].0.as_u64(), sync[0].1.as_str()), (Some(1), "Count"));
    let untrusted = metric(&docs, "UntrustedGrants", &[]);
    assert_eq!(untrusted.len(), 1, "{docs:?}");
    assert_eq!(
        (untrusted[0].0.as_u64(), untrusted[0].1.as_str()),
        (Some(1), "Count")
    );
    // Four events about a repository (the samples are from the past: their age is large);
    // the unreadable event has no time and so no age.
    let ages = metric(&docs, "EventAgeSeconds", &[]);
    assert_eq!(ages.len(), 4, "{docs:?}");
    for (age, unit) in ages {
        assert_eq!(unit, "Seconds");
        let values = age.as_array().expect("a histogram's values");
        assert!(
            values.len() == 1 && values[0].as_f64().unwrap() > 86_400.0,
            "{age}"
        );
    }
}
