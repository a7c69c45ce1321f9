//! The audit trail: one JSON record per line in `audit/log.jsonl`, each
//! carrying the SHA-256 of the line before it and sealed by its device's
//! forward-evolving key ([`seal`]), and its shipping off the laptop.
//! Records hold file ids and file identities, never names, paths or
//! contents.
//!
//! Inside: `record` (what a line says, the typed [`EventKind`], the one
//! parser [`parse_records`]), `status` (the [`StatusRecord`] schema),
//! `chain` ([`verify_chain`]), `seal` ([`verify_seals`]), `identity`
//! ([`Identity`], the session id, file identities), `log`
//! ([`AuditLog`]: durable appends), `sinks` ([`Sink`] and the vault's sink
//! list) and `ship` (sending the log to the sinks, never under the vault's
//! writer lock). Nothing here reads the organisation policy: callers hand
//! its sinks to [`AuditLog::with_sinks`].

mod chain;
mod identity;
mod log;
mod record;
pub mod seal;
mod ship;
mod sinks;
mod status;

pub use chain::{ChainReport, Checkpoint, GENESIS, line_hash, verify_chain};
#[cfg(unix)]
pub use identity::user_name_of;
pub use identity::{
    Identity, device_id, file_identity, file_identity_of, host_name, session_id, user_name,
};
pub use log::{AuditLog, verify_vault_log};
pub use record::{
    AuditEvent, EventKind, MAX_LINE, Record, newest_manifest_generation, parse_record,
    parse_records,
};
pub use seal::{AuditKeys, SealBreak, SealReport, verify_seals};
pub use ship::{ShipOnRelease, ShipReport, ship_all};
pub use sinks::Sink;
pub use status::{StatusKdf, StatusRecord, waiting_by_name};

/// Folder of the audit trail inside the vault.
pub const AUDIT_DIR: &str = "audit";
/// The log itself.
pub const LOG_FILE: &str = "log.jsonl";

/// Shipping the audit trail: the sinks and sending records to them (also
/// at `coffer_core::sink`).
pub mod sink {
    pub use super::ship::{ShipOnRelease, ShipReport, copy_name, ship_all};
    pub use super::sinks::{Sink, check_url, load, save};
}
