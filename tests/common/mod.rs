//! The integration-test harness: a real moto server on a free loopback port, started per test and
//! stopped when the test ends, and a real `aws-sdk-ecr` client that records every request it sends.

#![allow(dead_code)]

pub(crate) mod observe;

use std::collections::BTreeMap;
use std::io::Write;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_sdk_ecr::config::{
    BehaviorVersion, ConfigBag, Credentials, Intercept, Region, RuntimeComponents,
};
use aws_sdk_ecr::Client;
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextRef;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use ecr_policy_remediator::Config;
use ecr_policy_remediator::Remediator;
use ecr_policy_remediator::SdkEcr;
use ecr_policy_remediator::{plan, Plan};
use serde_json::Value;

pub(crate) const REGISTRY: &str = "111111111111";
pub(crate) const REGION: &str = "us-east-1";
pub(crate) const INSTALL_HINT: &str =
    "moto is missing: run `make venv` (it installs the pinned moto[server] into .venv), \
     or set MOTO_SERVER to a moto_server executable";

pub(crate) fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The moto_server the project pinned: `MOTO_SERVER`, else `.venv/bin/moto_server`.
pub(crate) fn moto_server_path() -> PathBuf {
    if let Some(path) = std::env::var_os("MOTO_SERVER") {
        return PathBuf::from(path);
    }
    let venv = manifest_dir().join(".venv/bin/moto_server");
    assert!(venv.exists(), "{INSTALL_HINT}");
    venv
}

pub(crate) fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

/// A moto server owned by one test.
pub(crate) struct Moto {
    child: Child,
    pub endpoint: String,
}

impl Moto {
    /// moto through `scripts/moto_ext.py`: moto's server with the ECR operations it lacks.
    pub(crate) fn start() -> Moto {
        Self::with_faults("{}")
    }

    /// [`Moto::start`], with `faults` (the launcher's `MOTO_EXT_FAULTS`) injected into the ECR
    /// operations they name.
    pub(crate) fn with_faults(faults: &str) -> Moto {
        let python = moto_server_path().with_file_name("python");
        let mut cmd = Command::new(python);
        cmd.arg(manifest_dir().join("scripts/moto_ext.py"))
            .env("MOTO_EXT_FAULTS", faults);
        Self::spawn(cmd)
    }

    fn spawn(mut cmd: Command) -> Moto {
        let path = PathBuf::from(cmd.get_program());
        let port = free_port();
        let child = cmd
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .env("MOTO_ACCOUNT_ID", REGISTRY)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}. {INSTALL_HINT}", path.display()));
        let mut moto = Moto {
            child,
            endpoint: format!("http://127.0.0.1:{port}"),
        };
        let addr: SocketAddr = ([127, 0, 0, 1], port).into();
        let deadline = Instant::now() + Duration::from_secs(60);
        while TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
            if let Ok(Some(status)) = moto.child.try_wait() {
                panic!("moto_server exited at start-up with {status}. {INSTALL_HINT}");
            }
            assert!(
                Instant::now() < deadline,
                "moto_server did not listen on {addr} within 60 s"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        moto
    }

    /// A client of this server that records each HTTP request by operation.
    pub(crate) fn client(&self) -> (Client, Recorder) {
        self.client_with(aws_sdk_ecr::config::retry::RetryConfig::standard())
    }

    /// [`Moto::client`] with the given retry configuration.
    pub(crate) fn client_with(
        &self,
        retry: aws_sdk_ecr::config::retry::RetryConfig,
    ) -> (Client, Recorder) {
        let recorder = Recorder::default();
        let config = aws_sdk_ecr::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .retry_config(retry)
            .region(Region::new(REGION))
            .endpoint_url(&self.endpoint)
            .credentials_provider(Credentials::new("testing", "testing", None, None, "tests"))
            .interceptor(recorder.clone())
            .build();
        (Client::from_conf(config), recorder)
    }

    /// The environment the binary and cargo-lambda need to reach this server.
    pub(crate) fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ENDPOINT_URL", self.endpoint.clone()),
            ("AWS_REGION", REGION.into()),
            ("AWS_ACCESS_KEY_ID", "testing".into()),
            ("AWS_SECRET_ACCESS_KEY", "testing".into()),
            ("AWS_EC2_METADATA_DISABLED", "true".into()),
        ]
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Counts the HTTP requests a client sends, by operation name.
#[derive(Debug, Clone, Default)]
pub(crate) struct Recorder(Arc<Mutex<Vec<String>>>);

impl Recorder {
    pub(crate) fn count(&self, operation: &str) -> usize {
        self.0
            .lock()
            .unwrap()
            .iter()
            .filter(|o| *o == operation)
            .count()
    }
    pub(crate) fn total(&self) -> usize {
        self.0.lock().unwrap().len()
    }
    pub(crate) fn by_operation(&self) -> BTreeMap<String, usize> {
        let mut out = BTreeMap::new();
        for op in self.0.lock().unwrap().iter() {
            *out.entry(op.clone()).or_insert(0) += 1;
        }
        out
    }
    pub(crate) fn clear(&self) {
        self.0.lock().unwrap().clear();
    }
}

impl Intercept for Recorder {
    fn name(&self) -> &'static str {
        "Recorder"
    }
    fn read_before_transmit(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let name = cfg
            .load::<Metadata>()
            .map(|m| m.name().to_string())
            .unwrap_or_else(|| "unknown".into());
        self.0.lock().unwrap().push(name);
        Ok(())
    }
}

pub(crate) fn sample_config_path() -> PathBuf {
    manifest_dir().join("events/config.json")
}

pub(crate) fn sample_config() -> Config {
    Config::from_file(&sample_config_path()).expect("events/config.json is valid")
}

pub(crate) fn load_event(name: &str) -> Value {
    let path = manifest_dir().join("events").join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

pub(crate) fn sample_event_names() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(manifest_dir().join("events"))
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".json") && n != "config.json")
        .collect();
    names.sort();
    names
}

pub(crate) fn remediator(client: &Client, config: Config) -> Remediator {
    Remediator::new(
        config,
        Arc::new(SdkEcr::new(client.clone())),
        REGISTRY.into(),
        REGION.into(),
    )
}

/// The policy the rules want for `name`, as the function would write it on a repository without
/// one; `None` when no rule matches.
pub(crate) fn right_policy(config: &Config, name: &str) -> Option<String> {
    let desired = config.desired(name);
    match plan(None, &desired, &[], &config.ownership).map(|d| d.plan) {
        Ok(Plan::Write { text, .. }) => Some(text),
        _ => None,
    }
}

/// Whether the stored policy is exactly what the rules want (nothing to write).
pub(crate) fn is_right(config: &Config, name: &str, current: Option<&str>) -> bool {
    let desired = config.desired(name);
    plan(current, &desired, &[], &config.ownership).map(|d| d.plan) == Ok(Plan::Unchanged)
}

pub(crate) async fn create_repository(client: &Client, name: &str) {
    client
        .create_repository()
        .repository_name(name)
        .send()
        .await
        .unwrap_or_else(|e| panic!("create {name}: {e:?}"));
}

pub(crate) async fn set_policy(client: &Client, name: &str, text: &str) {
    client
        .set_repository_policy()
        .repository_name(name)
        .policy_text(text)
        .send()
        .await
        .unwrap_or_else(|e| panic!("set policy on {name}: {e:?}"));
}

pub(crate) async fn policy(client: &Client, name: &str) -> Option<String> {
    match client
        .get_repository_policy()
        .repository_name(name)
        .send()
        .await
    {
        Ok(out) => out.policy_text().map(str::to_string),
        Err(e) => {
            let code = aws_sdk_ecr::error::ProvideErrorMetadata::code(&e).map(str::to_string);
            assert_eq!(
                code.as_deref(),
                Some("RepositoryPolicyNotFoundException"),
                "{e:?}"
            );
            None
        }
    }
}

pub(crate) async fn repository_exists(client: &Client, name: &str) -> bool {
    client
        .describe_repositories()
        .repository_names(name)
        .send()
        .await
        .is_ok()
}

/// The statements of a policy, as values.
pub(crate) fn statements(policy: &str) -> Vec<Value> {
    let v: Value = serde_json::from_str(policy).expect("policy is JSON");
    match &v["Statement"] {
        Value::Array(items) => items.clone(),
        Value::Object(_) => vec![v["Statement"].clone()],
        _ => Vec::new(),
    }
}

pub(crate) fn sids(policy: &str) -> Vec<String> {
    statements(policy)
        .iter()
        .map(|s| s["Sid"].as_str().unwrap_or_default().to_string())
        .collect()
}

pub(crate) fn bin() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_ecr-policy-remediator"))
}

/// A legal policy of some 10,000 characters (66 foreign statements of ~150): ECR's limit is
/// 10,240, so it leaves no room for the function's statements. moto does not enforce the limit,
/// so the tests can store it and check that the function refuses to write.
pub(crate) fn near_limit_policy() -> String {
    let statements: Vec<String> = (0..66u64)
        .map(|i| {
            format!(
                r#"{{"Sid":"Foreign{i:03}","Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{:012}:root"}},"Action":["ecr:BatchGetImage","ecr:GetDownloadUrlForLayer"]}}"#,
                500_000_000_000u64 + i
            )
        })
        .collect();
    format!(
        r#"{{"Version":"2012-10-17","Statement":[{}]}}"#,
        statements.join(",")
    )
}

/// The binary as a user runs it, with no rules or Lambda settings from the environment and a
/// profile that does not exist, so that only what a test gives it counts.
pub(crate) fn command(moto: Option<&Moto>, args: &[&str]) -> Command {
    let mut cmd = Command::new(bin());
    cmd.args(args)
        .current_dir(manifest_dir())
        .env_remove("REMEDIATOR_CONFIG")
        .env_remove("REMEDIATOR_CONFIG_FILE")
        .env_remove("REMEDIATOR_DRY_RUN")
        .env_remove("AWS_LAMBDA_RUNTIME_API")
        .env("AWS_PROFILE", "none-such-profile-for-tests");
    if let Some(moto) = moto {
        cmd.envs(moto.env());
    }
    cmd
}

/// [`command`], run to its end with `stdin` as its standard input.
pub(crate) fn run(moto: Option<&Moto>, args: &[&str], stdin: Option<&str>) -> Output {
    let mut cmd = command(moto, args);
    cmd.stdin(if stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    })
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("the binary runs");
    if let Some(text) = stdin {
        // A command that stops before it reads (a usage error) may close its end first: that is
        // its answer to check, not the test's failure.
        let written = child.stdin.take().unwrap().write_all(text.as_bytes());
        if let Err(e) = written {
            assert_eq!(e.kind(), std::io::ErrorKind::BrokenPipe, "{e}");
        }
    }
    child.wait_with_output().unwrap()
}

pub(crate) fn lines(out: &Output) -> Vec<Value> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}")))
        .collect()
}

pub(crate) fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}
