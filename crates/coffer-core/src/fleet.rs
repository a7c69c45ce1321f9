//! Fleet compliance from the audit sink: every device ships its records
//! (including periodic `status` records) to a shared folder; this reads
//! them all and says, per device, whether it complied at its last status
//! and when it was last heard from. Runs on IT's machine; needs no vault.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Serialize;
use serde_json::Value;

use crate::audit::{self, Record};
use crate::error::{IoContext, Result};

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
        let records: Vec<Record> = bytes
            .split(|b| *b == b'\n')
            .filter_map(|l| serde_json::from_slice(l).ok())
            .collect();
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
        if let Some(st) = records.iter().rev().find(|r| r.event == "status")
            && d.last_status.as_ref().is_none_or(|t| st.ts > *t)
        {
            let get = |k: &str| st.detail.get(k);
            d.last_status = Some(st.ts.clone());
            d.compliant = get("policy_compliant").and_then(Value::as_bool);
            d.problems = get("policy_problems")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(|v| v.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default();
            d.disk_encryption = get("disk_encryption")
                .and_then(Value::as_str)
                .map(str::to_owned);
            d.key_version = get("key_version").and_then(Value::as_u64);
            d.objects = get("objects").and_then(Value::as_u64);
        }
    }
    Ok(by_device.into_values().collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::{AuditEvent, AuditLog, Identity};
    use crate::sink::{self, Sink};

    #[test]
    fn devices_are_summarised_from_their_shipped_status() {
        let d = tempfile::tempdir().unwrap();
        let share = d.path().join("share");
        std::fs::create_dir(&share).unwrap();
        let vault = d.path().join("v");
        let log = AuditLog::new(&vault, Identity::current(&[9; 16]));
        sink::save(
            &vault,
            &[Sink::Directory {
                path: share.clone(),
            }],
        )
        .unwrap();
        let mut st = serde_json::Map::new();
        st.insert("policy_compliant".into(), false.into());
        st.insert(
            "policy_problems".into(),
            vec!["full-disk encryption: Off"].into(),
        );
        st.insert("disk_encryption".into(), "off".into());
        st.insert("key_version".into(), 2.into());
        log.append(&[AuditEvent::VaultCreated, AuditEvent::Status(st)])
            .unwrap();
        log.ship_pending();
        let s = summarize(&share).unwrap();
        assert_eq!(s.len(), 1);
        assert_eq!(s[0].compliant, Some(false));
        assert_eq!(s[0].problems, vec!["full-disk encryption: Off"]);
        assert_eq!(s[0].key_version, Some(2));
        assert!(s[0].chain_ok);
    }
}
