//! What `doctor` reads of the registry account, as plain data: the checks decide on it alone.

use ecr_policy_remediator::DocumentReport;

/// One trail, as CloudTrail describes it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Trail {
    pub name: String,
    pub home_region: String,
    pub multi_region: bool,
    pub logging: bool,
    /// Its selectors record management events, reads and writes both.
    pub management_reads_and_writes: bool,
}

/// One EventBridge rule on the default bus, with its targets.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct BusRule {
    pub name: String,
    pub state: String,
    pub pattern: Option<String>,
    pub schedule: Option<String>,
    /// `(target ARN, dead-letter queue ARN)`.
    pub targets: Vec<(String, Option<String>)>,
}

/// Where the function's rules come from, as its environment says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum FunctionConfig {
    /// `REMEDIATOR_CONFIG`, and whether it is valid (the error otherwise).
    Inline(Result<(), String>),
    /// `REMEDIATOR_CONFIG_FILE`: a file in the package, which only `check-config` can read.
    File(String),
    Missing,
}

/// What `doctor` read of the registry account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Facts {
    pub region: String,
    pub registry_id: String,
    pub trails: Vec<Trail>,
    /// The function's ARN and configuration; `None` when it does not exist.
    pub function: Option<(String, FunctionConfig)>,
    pub function_name: String,
    pub rules: Vec<BusRule>,
    /// The default bus's resource policy.
    pub bus_policy: Option<String>,
    pub scope: Result<String, String>,
    pub pull_through_cache_prefixes: Result<Vec<String>, String>,
    /// The registry policy and the templates, as a dry run plans them.
    pub documents: Vec<DocumentReport>,
}
