//! The one clock every age is measured with: an event's (Lambda retries, the event-age metric)
//! and a repository's (the sweep's missed events).

use std::time::SystemTime;

/// Seconds since the epoch, now.
pub(crate) fn epoch_now() -> i64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default()
}
