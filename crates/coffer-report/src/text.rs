//! Human formatting shared by every report and renderer: times,
//! durations, sizes, event names and one-line record summaries. Records
//! carry file ids, never names, and nothing here adds one.

use std::fmt::Write as _;
use std::io;

use coffer_core::Error;
use coffer_core::audit::{EventKind, Record, StatusKdf};
use jiff::Timestamp;
use serde_json::Value;

/// Attaches a path-free description to an I/O error, as the engine does.
pub(crate) trait IoContext<T> {
    fn ctx(self, context: &'static str) -> coffer_core::Result<T>;
}

impl<T> IoContext<T> for io::Result<T> {
    fn ctx(self, context: &'static str) -> coffer_core::Result<T> {
        self.map_err(|source| Error::Io { context, source })
    }
}

pub(crate) fn parse_ts(s: &str) -> Option<Timestamp> {
    s.parse().ok()
}

/// "2026-03-02 18:30:00 UTC", or the string as it was if it does not parse.
pub(crate) fn human_time(s: &str) -> String {
    parse_ts(s).map_or_else(|| s.to_owned(), human_ts)
}

pub(crate) fn human_ts(t: Timestamp) -> String {
    t.strftime("%Y-%m-%d %H:%M:%S UTC").to_string()
}

pub(crate) fn human_duration(secs: i64) -> String {
    let s = secs.unsigned_abs();
    let (d, h, m) = (s / 86_400, s % 86_400 / 3600, s % 3600 / 60);
    let plural = |n: u64, unit: &str| format!("{n} {unit}{}", if n == 1 { "" } else { "s" });
    if d > 0 {
        if h > 0 {
            format!("{} {}", plural(d, "day"), plural(h, "hour"))
        } else {
            plural(d, "day")
        }
    } else if h > 0 {
        format!("{} {}", plural(h, "hour"), plural(m, "minute"))
    } else if m > 0 {
        plural(m, "minute")
    } else {
        plural(s, "second")
    }
}

pub(crate) fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["bytes", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut i = 0;
    while v >= 1024.0 && i + 1 < UNITS.len() {
        v /= 1024.0;
        i += 1;
    }
    if i == 0 {
        format!("{n} bytes")
    } else {
        format!("{v:.1} {}", UNITS[i])
    }
}

pub(crate) fn d_str<'a>(r: &'a Record, k: &str) -> Option<&'a str> {
    r.detail.get(k).and_then(Value::as_str)
}

pub(crate) fn d_u64(r: &Record, k: &str) -> Option<u64> {
    r.detail.get(k).and_then(Value::as_u64)
}

/// The object ids a record names.
pub(crate) fn record_ids(r: &Record) -> Vec<&str> {
    r.detail
        .get("ids")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

/// What people call an event. A name this version does not know is shown
/// as written.
pub fn event_label(event: &str) -> &str {
    match EventKind::parse(event) {
        Some(k) => kind_label(k),
        None => event,
    }
}

/// What people call an event kind.
fn kind_label(kind: EventKind) -> &'static str {
    match kind {
        EventKind::VaultCreated => "Vault created",
        EventKind::Unlock => "Unlocked",
        EventKind::UnlockFailed => "Unlock failed",
        EventKind::Lock => "Locked",
        EventKind::Recovery => "Recovery unlock",
        EventKind::FileAdded => "File added",
        EventKind::FileOpened => "File opened",
        EventKind::FileExtracted => "File extracted",
        EventKind::FileRemoved => "File removed",
        EventKind::Protect => "Folder protected",
        EventKind::Unprotect => "Folder unprotected",
        EventKind::PlaintextFound => "Plaintext found",
        EventKind::RotationStarted => "Key rotation started",
        EventKind::RotationFinished => "Key rotation finished",
        EventKind::SlotAdded => "Key slot added",
        EventKind::SlotRemoved => "Key slot removed",
        EventKind::IntegrityFailure => "Integrity failure",
        EventKind::ObjectsQuarantined => "Damaged files set aside",
        EventKind::AuditExport => "Audit exported",
        EventKind::PolicyApplied => "Policy applied",
        EventKind::Status => "Status",
        EventKind::LogRepaired => "Log repaired",
        EventKind::AuditKey => "Device audit key enrolled",
        EventKind::ManifestUpdated => "Vault contents endorsed",
        EventKind::IntegrityAccepted => "Vault accepted as it is",
        // The enum is non-exhaustive: a kind added to the core before it
        // gets a label here still reads as its name.
        other => other.as_str(),
    }
}

pub(crate) fn lock_reason_text(reason: &str) -> String {
    match reason {
        "process_end" => "the program that had unlocked it ended".into(),
        "manual" => "locked by the user".into(),
        "auto" => "auto-lock after inactivity".into(),
        "suspend" => "the laptop went to sleep".into(),
        "quit" => "the app was quit".into(),
        other => format!("reason: {other}"),
    }
}

pub(crate) fn kdf_text(kdf: &StatusKdf) -> String {
    let StatusKdf {
        alg,
        m_kib: m,
        t,
        p,
    } = kdf;
    let alg = if alg == "argon2id" { "Argon2id" } else { alg };
    let mem = if m % 1024 == 0 {
        format!("{} MiB", m / 1024)
    } else {
        format!("{m} KiB")
    };
    format!("{alg} (memory {mem}, {t} passes, {p} lanes)")
}

/// A one-line summary of a record's fields (never a name).
pub(crate) fn detail_summary(r: &Record) -> String {
    let s = |k| d_str(r, k).unwrap_or("?");
    let n = record_ids(r).len();
    let batch = if n > 1 {
        format!("batch of {n} files")
    } else {
        String::new()
    };
    match r.kind() {
        Some(EventKind::Unlock | EventKind::UnlockFailed | EventKind::Recovery) => {
            format!("method: {}", s("method"))
        }
        Some(EventKind::Lock) => match s("reason") {
            "process_end" => "program ended".into(),
            "manual" => "by the user".into(),
            "auto" => "auto-lock".into(),
            "suspend" => "laptop went to sleep".into(),
            "quit" => "app quit".into(),
            other => format!("reason: {other}"),
        },
        Some(EventKind::FileAdded) => {
            let by = format!("by {}", s("by"));
            if batch.is_empty() {
                by
            } else {
                format!("{by}, {batch}")
            }
        }
        Some(
            EventKind::FileOpened
            | EventKind::FileExtracted
            | EventKind::FileRemoved
            | EventKind::IntegrityFailure,
        ) => batch,
        Some(EventKind::ObjectsQuarantined) => {
            let n = record_ids(r).len();
            format!(
                "{n} damaged file{} moved to the vault's quarantine folder",
                if n == 1 { "" } else { "s" }
            )
        }
        Some(EventKind::PlaintextFound) => format!(
            "{} file(s) found unencrypted, queued for encryption",
            d_u64(r, "count").unwrap_or(0)
        ),
        Some(EventKind::RotationStarted) => format!(
            "{} to key version {}",
            s("kind"),
            d_u64(r, "key_version").unwrap_or(0)
        ),
        Some(EventKind::RotationFinished) => {
            let destroyed: Vec<String> = r
                .detail
                .get("destroyed_versions")
                .and_then(Value::as_array)
                .map(|a| a.iter().map(|v| v.to_string()).collect())
                .unwrap_or_default();
            let mut t = format!(
                "{}, key version {}, {} files",
                s("kind"),
                d_u64(r, "key_version").unwrap_or(0),
                d_u64(r, "files").unwrap_or(0)
            );
            if !destroyed.is_empty() {
                let _ = write!(t, ", destroyed versions {}", destroyed.join(" "));
            }
            t
        }
        Some(EventKind::SlotAdded | EventKind::SlotRemoved) => format!("kind: {}", s("kind")),
        Some(EventKind::AuditExport) => format!(
            "{}, {} records",
            s("format"),
            d_u64(r, "records").unwrap_or(0)
        ),
        Some(EventKind::PolicyApplied) => format!("source: {}", s("source")),
        Some(EventKind::LogRepaired) => format!(
            "{} bytes of a line torn by a crash",
            d_u64(r, "torn_bytes").unwrap_or(0)
        ),
        Some(EventKind::AuditKey) => {
            if r.detail.get("sealed").is_some_and(Value::is_string) {
                "key sealed to the organisation escrow key".to_owned()
            } else {
                "key not sealed to any auditor (no organisation escrow key)".to_owned()
            }
        }
        Some(EventKind::Status) => {
            let st = r.status().unwrap_or_default();
            let mut parts = Vec::new();
            if let Some(o) = st.objects {
                parts.push(format!("{o} files"));
            }
            if let Some(v) = st.key_version {
                parts.push(format!("key version {v}"));
            }
            if let Some(d) = st.disk_encryption {
                parts.push(format!("disk encryption {d}"));
            }
            if let Some(e) = st.escrow {
                parts.push(format!("escrow {}", if e { "yes" } else { "no" }));
            }
            parts.join(", ")
        }
        _ => r
            .detail
            .iter()
            .filter(|(k, _)| k.as_str() != "ids")
            .filter_map(|(k, v)| match v {
                Value::String(s) => Some(format!("{k}: {s}")),
                Value::Number(_) | Value::Bool(_) => Some(format!("{k}: {v}")),
                _ => None,
            })
            .chain((!batch.is_empty()).then_some(batch.clone()))
            .collect::<Vec<_>>()
            .join(", "),
    }
}

/// "record #4" or "records #4, #6".
pub(crate) fn records_ref(seqs: &[u64], max: usize) -> String {
    format!(
        "record{} {}",
        if seqs.len() == 1 { "" } else { "s" },
        seq_list(seqs, max)
    )
}

pub(crate) fn seq_list(seqs: &[u64], max: usize) -> String {
    let mut s = seqs
        .iter()
        .take(max)
        .map(|q| format!("#{q}"))
        .collect::<Vec<_>>()
        .join(", ");
    if seqs.len() > max {
        let _ = write!(s, " and {} more", seqs.len() - max);
    }
    s
}

/// "2026-03-02 18:30:00" for table cells (the header says UTC).
pub(crate) fn table_time(ts: &str) -> String {
    parse_ts(ts).map_or_else(
        || ts.to_owned(),
        |t| t.strftime("%Y-%m-%d %H:%M:%S").to_string(),
    )
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::incident::testing::rec;

    #[test]
    fn a_status_summary_leaves_out_fields_of_the_wrong_type() {
        let d = json!({"objects": 12, "key_version": "3", "disk_encryption": "on", "escrow": 1});
        let r = rec(1, "2026-03-02T08:00:00Z", "status", d.clone());
        assert_eq!(detail_summary(&r), "12 files, disk encryption on");
        // The same fields under another event are listed as written.
        let r = rec(1, "2026-03-02T08:00:00Z", "no_such_event", d);
        assert_eq!(
            detail_summary(&r),
            "disk_encryption: on, escrow: 1, key_version: 3, objects: 12"
        );
    }

    #[test]
    fn every_kind_has_a_label_and_unknown_names_show_as_written() {
        for k in EventKind::ALL {
            assert_ne!(event_label(k.as_str()), k.as_str(), "{k}");
        }
        assert_eq!(event_label("status"), "Status");
        assert_eq!(event_label("later_event"), "later_event");
    }
}
