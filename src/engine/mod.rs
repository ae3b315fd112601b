//! The remediator itself: the one converge step, the registry's documents, the event path, the
//! sweep and where it starts, and what each ends in (outcome, metrics). The only part that
//! drives the ECR adapter.

pub(crate) mod clock;
pub(crate) mod converge;
pub(crate) mod coverage;
pub(crate) mod documents;
pub(crate) mod handler;
mod isolate;
pub mod metrics;
pub(crate) mod outcome;
pub(crate) mod sweep;
pub(crate) mod trust;

#[cfg(test)]
mod tests;
