//! What an invocation leaves besides its answer: its JSON log lines and its metrics, captured on
//! the test's own thread with a log subscriber and a metrics recorder of its own.

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::{Arc, Mutex};

use ecr_policy_remediator::{Outcome, Remediator};
use metrics::{Counter, CounterFn, Gauge, Histogram, Key, KeyName, Metadata, SharedString, Unit};
use serde_json::Value;

/// Counts each counter's increments by name; gauges and histograms go nowhere.
#[derive(Clone, Default)]
pub(crate) struct Counts(Arc<Mutex<BTreeMap<String, u64>>>);

struct Named(String, Counts);

impl CounterFn for Named {
    fn increment(&self, value: u64) {
        *self.1 .0.lock().unwrap().entry(self.0.clone()).or_default() += value;
    }
    fn absolute(&self, value: u64) {
        self.1 .0.lock().unwrap().insert(self.0.clone(), value);
    }
}

impl metrics::Recorder for Counts {
    fn describe_counter(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_gauge(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_histogram(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn register_counter(&self, key: &Key, _: &Metadata<'_>) -> Counter {
        Counter::from_arc(Arc::new(Named(key.name().to_string(), self.clone())))
    }
    fn register_gauge(&self, _: &Key, _: &Metadata<'_>) -> Gauge {
        Gauge::noop()
    }
    fn register_histogram(&self, _: &Key, _: &Metadata<'_>) -> Histogram {
        Histogram::noop()
    }
}

impl Counts {
    pub(crate) fn get(&self, name: &str) -> u64 {
        self.0.lock().unwrap().get(name).copied().unwrap_or(0)
    }
}

#[derive(Clone, Default)]
struct Lines(Arc<Mutex<Vec<u8>>>);

impl Write for Lines {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// What one piece of work left: its result, its JSON log lines, its counters.
pub(crate) struct Observed<T> {
    pub outcome: T,
    pub lines: Vec<Value>,
    pub counts: Counts,
}

impl<T> Observed<T> {
    pub(crate) fn with_message(&self, message: &str) -> Vec<&Value> {
        self.lines
            .iter()
            .filter(|l| l["fields"]["message"] == message)
            .collect()
    }
}

/// Runs `work` to its end on this thread, with a recorder and a log subscriber of its own.
pub(crate) fn capture<T>(work: impl std::future::Future<Output = T>) -> Observed<T> {
    let counts = Counts::default();
    let lines = Lines::default();
    let writer = lines.clone();
    let subscriber = tracing_subscriber::fmt()
        .json()
        .with_writer(move || writer.clone())
        .finish();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let outcome = tracing::subscriber::with_default(subscriber, || {
        metrics::with_local_recorder(&counts, || runtime.block_on(work))
    });
    let text = String::from_utf8(lines.0.lock().unwrap().clone()).unwrap();
    let lines = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON log line"))
        .collect();
    Observed {
        outcome,
        lines,
        counts,
    }
}

/// Handles `event` on this thread, with a recorder and a log subscriber of its own.
pub(crate) fn observe(r: &Remediator, event: &Value) -> Observed<Outcome> {
    let seen = capture(r.handle(event, None));
    Observed {
        outcome: seen.outcome.expect("no retryable failure against moto"),
        lines: seen.lines,
        counts: seen.counts,
    }
}

pub(crate) fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(f)
}
