//! The reports' tests: access and incident reports over hand-written
//! chains, a real log shipped to a directory sink, the fleet view, and
//! the PDFs rasterised. (Moved from coffer-core's report.rs and fleet.rs;
//! they assert what they asserted there.)

mod access;
mod fixtures;
mod fleet;
mod forgery;
mod incident;
mod pdf;
mod shipped;
mod verdict_rules;
