//! Why a configuration cannot be used, always with the path of the field at fault.

/// A configuration that cannot be used, with the path of the offending field.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A field's value is refused.
    #[error("{path}: {message}")]
    Invalid {
        /// Where the field is, as `rules[0].principals.accounts[1]`.
        path: String,
        /// Why, in one sentence that says what to write instead.
        message: String,
    },
    /// The rules file could not be read.
    #[error("cannot read configuration file {path}: {source}")]
    Read {
        /// The file's path as given.
        path: String,
        /// What the file system said.
        #[source]
        source: std::io::Error,
    },
    #[error(
        "no configuration: set REMEDIATOR_CONFIG (the JSON itself) or REMEDIATOR_CONFIG_FILE (a path)"
    )]
    /// Neither environment variable is set.
    Missing,
    #[error("both REMEDIATOR_CONFIG and REMEDIATOR_CONFIG_FILE are set: set only one")]
    /// Both environment variables are set.
    Ambiguous,
}

pub(crate) fn invalid(path: impl Into<String>, message: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        path: path.into(),
        message: message.into(),
    }
}
