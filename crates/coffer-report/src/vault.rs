//! Reports over a vault's own audit log, for the CLI and the app alike.
//! The engine knows nothing of reports; these read the log through the
//! vault's public handle.

use std::collections::HashMap;

use coffer_core::Result;
use coffer_core::audit::{self, AuditEvent};
use coffer_core::vault::Vault;
use jiff::Timestamp;

use crate::access::{self, AccessQuery, AccessReport, NameResolver};
use crate::incident::{self, IncidentReport};
use crate::records::parse_records;
use crate::render::ReportFormat;
use crate::text::IoContext;

/// Builds an access report over `vault`'s log, verified against the
/// checkpoint in the vault. With `names`, file ids are resolved to file
/// names — which needs the vault unlocked, and the report says so.
pub fn access_report(vault: &Vault, query: &AccessQuery, names: bool) -> Result<AccessReport> {
    let log = vault.audit();
    let bytes = std::fs::read(log.path()).ctx("reading the audit log")?;
    let chain = audit::verify_chain(&bytes, log.checkpoint().as_ref());
    let records = parse_records(&bytes);
    let names_map: Option<HashMap<String, String>> = if names {
        Some(
            vault
                .entries()?
                .entries
                .into_iter()
                .map(|e| (e.id.to_hex(), e.path))
                .collect(),
        )
    } else {
        None
    };
    let resolve = |id: &str| names_map.as_ref().and_then(|m| m.get(id).cloned());
    Ok(access::access_report(
        &records,
        query,
        &chain,
        names_map.as_ref().map(|_| &resolve as NameResolver<'_>),
    ))
}

/// [`access_report`] rendered in `format`, recorded in `vault`'s audit
/// trail as an export (who exported how many records, never where to).
pub fn export_access_report(
    vault: &Vault,
    query: &AccessQuery,
    names: bool,
    format: ReportFormat,
) -> Result<(AccessReport, Vec<u8>)> {
    let rep = access_report(vault, query, names)?;
    let body = rep.render(format);
    vault.audit().append(&[AuditEvent::AuditExported {
        format: format.as_str().into(),
        records: rep.rows.len() as u64,
    }])?;
    Ok((rep, body))
}

/// The lost-laptop incident report from this device's own log (the app
/// offers it so IT can see what an auditor would conclude; the auditor
/// makes it from the shipped copy with `coffer audit incident`).
pub fn incident_report(vault: &Vault, lost_at: Timestamp) -> Result<IncidentReport> {
    let log = vault.audit();
    let raw = std::fs::read(log.path()).ctx("reading the audit log")?;
    let records = parse_records(&raw);
    Ok(incident::incident_report(
        &records,
        &raw,
        &log.identity().device,
        lost_at,
    ))
}
