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
    Command::new(cargo_lambda())
        .args([
            "lambda",
            "invoke",
            "ecr-policy-remediator",
            "--invoke-address",
            "127.0.0.1",
        ])
        .args([
            "--invoke-port",
            &port.to_string(),
            "--output-format",
            "json",
        ])
        .args(["--data-file", &format!("events/{event}")])
        .current_dir(manifest_dir())
        .output()
        .expect("cargo lambda invoke runs")
}

#[tokio::test]
async fn cargo_lambda_watch_and_invoke_handle_a_sample_event() {
    let moto = Moto::start();
    let (client, _) = moto.client();
    create_repository(&client, "registry.k8s.io/pause").await;

    let port = free_port();
    let mut env: Vec<String> = moto
        .env()
        .into_iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    env.push(format!(
        "REMEDIATOR_CONFIG_FILE={}",
        sample_config_path().display()
    ));
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
    assert_eq!(handled.len(), 2, "{logs}");
    for line in &handled {
        assert!(
            line["span"]["requestId"]
                .as_str()
                .is_some_and(|id| !id.is_empty()),
            "{line}"
        );
    }
}
