//! Human formatting shared by every report and renderer: times,
//! durations, sizes, event names and one-line record summaries. Records
//! carry file ids, never names, and nothing here adds one.

use std::fmt::Write as _;
use std::io;

use coffer_core::Error;
use coffer_core::audit::Record;
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

pub(crate) fn d_bool(r: &Record, k: &str) -> Option<bool> {
    r.detail.get(k).and_then(Value::as_bool)
}

/// The object ids a record names.
pub(crate) fn record_ids(r: &Record) -> Vec<&str> {
    r.detail
        .get("ids")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

/// What people call an event.
pub fn event_label(event: &str) -> &str {
    match event {
        "vault_created" => "Vault created",
        "unlock" => "Unlocked",
        "unlock_failed" => "Unlock failed",
        "lock" => "Locked",
        "recovery" => "Recovery unlock",
        "file_added" => "File added",
        "file_opened" => "File opened",
        "file_extracted" => "File extracted",
        "file_removed" => "File removed",
        "protect" => "Folder protected",
        "unprotect" => "Folder unprotected",
        "plaintext_found" => "Plaintext found",
        "rotation_started" => "Key rotation started",
        "rotation_finished" => "Key rotation finished",
        "slot_added" => "Key slot added",
        "slot_removed" => "Key slot removed",
        "integrity_failure" => "Integrity failure",
        "objects_quarantined" => "Damaged files set aside",
        "audit_export" => "Audit exported",
        "policy_applied" => "Policy applied",
        "status" => "Status",
        "log_repaired" => "Log repaired",
        other => other,
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

pub(crate) fn kdf_text(kdf: &Value) -> Option<String> {
    let m = kdf.get("m_kib")?.as_u64()?;
    let t = kdf.get("t")?.as_u64()?;
    let p = kdf.get("p")?.as_u64()?;
    let alg = kdf.get("alg").and_then(Value::as_str).unwrap_or("argon2id");
    let alg = if alg == "argon2id" { "Argon2id" } else { alg };
    let mem = if m % 1024 == 0 {
        format!("{} MiB", m / 1024)
    } else {
        format!("{m} KiB")
    };
    Some(format!("{alg} (memory {mem}, {t} passes, {p} lanes)"))
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
    match r.event.as_str() {
        "unlock" | "unlock_failed" | "recovery" => format!("method: {}", s("method")),
        "lock" => match s("reason") {
            "process_end" => "program ended".into(),
            "manual" => "by the user".into(),
            "auto" => "auto-lock".into(),
            "suspend" => "laptop went to sleep".into(),
            "quit" => "app quit".into(),
            other => format!("reason: {other}"),
        },
        "file_added" => {
            let by = format!("by {}", s("by"));
            if batch.is_empty() {
                by
            } else {
                format!("{by}, {batch}")
            }
        }
        "file_opened" | "file_extracted" | "file_removed" | "integrity_failure" => batch,
        "objects_quarantined" => {
            let n = record_ids(r).len();
            format!(
                "{n} damaged file{} moved to the vault's quarantine folder",
                if n == 1 { "" } else { "s" }
            )
        }
        "plaintext_found" => format!(
            "{} file(s) found unencrypted, queued for encryption",
            d_u64(r, "count").unwrap_or(0)
        ),
        "rotation_started" => format!(
            "{} to key version {}",
            s("kind"),
            d_u64(r, "key_version").unwrap_or(0)
        ),
        "rotation_finished" => {
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
        "slot_added" | "slot_removed" => format!("kind: {}", s("kind")),
        "audit_export" => format!(
            "{}, {} records",
            s("format"),
            d_u64(r, "records").unwrap_or(0)
        ),
        "policy_applied" => format!("source: {}", s("source")),
        "log_repaired" => format!(
            "{} bytes of a line torn by a crash",
            d_u64(r, "torn_bytes").unwrap_or(0)
        ),
        "status" => {
            let mut parts = Vec::new();
            if let Some(o) = d_u64(r, "objects") {
                parts.push(format!("{o} files"));
            }
            if let Some(v) = d_u64(r, "key_version") {
                parts.push(format!("key version {v}"));
            }
            if let Some(d) = d_str(r, "disk_encryption") {
                parts.push(format!("disk encryption {d}"));
            }
            if let Some(e) = d_bool(r, "escrow") {
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
