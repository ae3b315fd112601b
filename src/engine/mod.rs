//! The remediator itself: the one converge step, the registry's documents, the event path, the
//! sweep and where it starts, and what each ends in (outcome, metrics). The only part that
//! drives the ECR adapter.

pub mod clock;
pub mod converge;
pub mod coverage;
pub mod documents;
pub mod handler;
mod isolate;
pub mod metrics;
pub mod outcome;
pub mod sweep;

#[cfg(test)]
mod tests;
