//! Fleet compliance from the audit sink: every device ships its records
//! (including periodic `status` records) to a shared folder; this reads
//! them all and says, per device, whether it complied at its last status
//! and when it was last heard from. Runs on IT's machine; needs no vault.
//! Rendered as HTML by [`crate::render::fleet_html`].

use std::collections::BTreeMap;
use std::path::Path;

use serde::Serialize;

use coffer_core::Result;
use coffer_core::audit::{self, Record};

use crate::records::parse_records;
use crate::text::IoContext;

/// One device as the fleet view shows it.
#[derive(Clone, Debug, Serialize)]
pub struct DeviceSummary {
    /// Device id.
    pub device: String,
    /// Host name at its last record.
    pub host: String,
    /// Vault ids seen from it.
    pub vaults: Vec<String>,
    /// Time of its last record.
    pub last_seen: String,
    /// Time of its last status record, if any.
    pub last_status: Option<String>,
    /// Compliant at its last status (None: never reported a status).
    pub compliant: Option<bool>,
    /// What was wrong, from the last status.
    pub problems: Vec<String>,
    /// Full-disk encryption at the last status.
    pub disk_encryption: Option<String>,
    /// Key version and files at the last status.
    pub key_version: Option<u64>,
    /// Files (object count) at the last status.
    pub objects: Option<u64>,
    /// Whether every shipped copy from it verifies.
    pub chain_ok: bool,
}

/// Reads every `*.jsonl` copy in a sink folder and summarises each device.
pub fn summarize(dir: &Path) -> Result<Vec<DeviceSummary>> {
    let mut by_device: BTreeMap<String, DeviceSummary> = BTreeMap::new();
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .ctx("reading the audit sink folder")?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
        .collect();
    entries.sort();
    for path in entries {
        let bytes = std::fs::read(&path).ctx("reading a shipped audit copy")?;
        let chain_ok = audit::verify_chain(&bytes, None).ok();
        let records: Vec<Record> = parse_records(&bytes);
        let Some(last) = records.last() else { continue };
        let d = by_device
            .entry(last.device.clone())
            .or_insert_with(|| DeviceSummary {
                device: last.device.clone(),
                host: last.host.clone(),
                vaults: Vec::new(),
                last_seen: String::new(),
                last_status: None,
                compliant: None,
                problems: Vec::new(),
                disk_encryption: None,
                key_version: None,
                objects: None,
                chain_ok: true,
            });
        d.chain_ok &= chain_ok;
        if !d.vaults.contains(&last.vault) {
            d.vaults.push(last.vault.clone());
        }
        if last.ts > d.last_seen {
            d.last_seen = last.ts.clone();
            d.host = last.host.clone();
        }
        if let Some((at, st)) = records
            .iter()
            .rev()
            .find_map(|r| r.status().map(|st| (&r.ts, st)))
            && d.last_status.as_ref().is_none_or(|t| at > t)
        {
            d.last_status = Some(at.clone());
            d.compliant = st.policy_compliant;
            d.problems = st.policy_problems.unwrap_or_default();
            d.disk_encryption = st.disk_encryption;
            d.key_version = st.key_version;
            d.objects = st.objects;
        }
    }
    Ok(by_device.into_values().collect())
}
