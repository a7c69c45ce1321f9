//! The device's posture as the Home screen shows it: disk encryption, the
//! organisation policy and whether this device meets it, and the audit
//! sinks (shipping to them is how their reachability is learnt).

use serde::Serialize;

use crate::error::CmdResult;
use crate::glue::AppCore;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PolicyView {
    source: Option<String>,
    compliant: bool,
    problems: Vec<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SinkView {
    name: String,
    last_shipped_seq: Option<u64>,
    pending: u64,
    reachable: Option<bool>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Posture {
    disk_encryption: &'static str,
    disk_encryption_required: bool,
    policy: PolicyView,
    sinks: Vec<SinkView>,
    audit_records: u64,
}

/// Measures the device against the policy and ships the audit log.
pub(crate) fn device_posture(core: &AppCore) -> CmdResult<Posture> {
    let v = core.open_vault()?;
    let problems: Vec<String> = v
        .compliance()?
        .into_iter()
        .filter(|c| !c.ok)
        .map(|c| format!("{}: {}", c.rule, c.detail))
        .collect();
    let last_seq = v.audit().checkpoint().map(|c| c.seq).unwrap_or(0);
    // Shipping now is how to learn whether a sink is reachable; it is
    // idempotent (sequence numbers), so it costs nothing to repeat.
    let sinks = coffer_core::sink::ship_all(v.audit())?
        .into_iter()
        .map(|r| SinkView {
            name: r.sink,
            last_shipped_seq: (r.error.is_none()).then_some(r.shipped_up_to),
            pending: if r.error.is_none() {
                last_seq.saturating_sub(r.shipped_up_to)
            } else {
                last_seq
            },
            reachable: Some(r.error.is_none()),
        })
        .collect();
    Ok(Posture {
        disk_encryption: coffer_core::posture::disk_encryption(&core.vault_dir).as_str(),
        disk_encryption_required: v.policy().policy.device.require_disk_encryption,
        policy: PolicyView {
            source: v.policy().source.as_ref().map(|p| p.display().to_string()),
            compliant: problems.is_empty(),
            problems,
        },
        sinks,
        audit_records: last_seq,
    })
}
