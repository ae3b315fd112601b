//! Why a configuration cannot be used, always with the path of the field at fault.

/// A configuration that cannot be used, with the path of the offending field.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{path}: {message}")]
    Invalid { path: String, message: String },
    #[error("cannot read configuration file {path}: {source}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "no configuration: set REMEDIATOR_CONFIG (the JSON itself) or REMEDIATOR_CONFIG_FILE (a path)"
    )]
    Missing,
    #[error("both REMEDIATOR_CONFIG and REMEDIATOR_CONFIG_FILE are set: set only one")]
    Ambiguous,
}

pub(crate) fn invalid(path: impl Into<String>, message: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        path: path.into(),
        message: message.into(),
    }
}
