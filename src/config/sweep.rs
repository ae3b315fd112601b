//! How the scheduled sweep paces itself: the `sweep` object of the configuration.

use serde::Deserialize;

use crate::config::error::{invalid, ConfigError};

/// How the scheduled sweep paces itself. ECR publishes no request-rate quota for the policy and
/// describe calls, but throttles them all the same, and the registry's other callers (pipelines,
/// pull-through cache) share whatever the quota is; the defaults are deliberately slow.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase", default)]
pub struct SweepSettings {
    /// Repositories worked on at once.
    pub concurrency: usize,
    /// Cap on ECR requests per second, over the whole sweep.
    pub requests_per_second: f64,
    /// The schedule's period: it numbers the sweeps, and so where each starts (see `coverage`).
    pub interval_minutes: u64,
    /// A sweep starts no new repository this close to the Lambda deadline.
    pub safety_margin_seconds: u64,
}

impl Default for SweepSettings {
    fn default() -> Self {
        SweepSettings {
            concurrency: 4,
            requests_per_second: 10.0,
            interval_minutes: 60,
            safety_margin_seconds: 20,
        }
    }
}

impl SweepSettings {
    /// Checks the settings; `at` is the path of the object they came from.
    pub fn validate(&self, at: &str) -> Result<(), ConfigError> {
        if !(1..=64).contains(&self.concurrency) {
            return Err(invalid(
                format!("{at}.concurrency"),
                format!("{} is out of range: use 1 to 64", self.concurrency),
            ));
        }
        if !(self.requests_per_second >= 0.1 && self.requests_per_second <= 1000.0) {
            return Err(invalid(
                format!("{at}.requestsPerSecond"),
                format!(
                    "{} is out of range: use 0.1 to 1000",
                    self.requests_per_second
                ),
            ));
        }
        if !(1..=10_080).contains(&self.interval_minutes) {
            return Err(invalid(
                format!("{at}.intervalMinutes"),
                "use the schedule's period in minutes, 1 to 10080 (a week)",
            ));
        }
        if self.safety_margin_seconds > 600 {
            return Err(invalid(
                format!("{at}.safetyMarginSeconds"),
                "use 0 to 600 seconds",
            ));
        }
        Ok(())
    }
}
