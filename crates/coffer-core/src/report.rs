//! Reports built from the audit trail, for auditors and compliance officers.
//!
//! Two reports, each a plain data structure made by a pure function over
//! [`Record`]s and rendered to what a compliance officer reads:
//!
//! - the **access report** ([`access_report`]): who unlocked the vault and
//!   added, opened, extracted or removed which file, when — filtered by
//!   period, user or file, with counts by event and by user and the result
//!   of chain verification. CSV, JSON, HTML and PDF.
//! - the **incident report** ([`incident_report`]) for a lost or stolen
//!   laptop, built from the copy of its log shipped to a sink, so it never
//!   needs the laptop: was the vault locked at the time of loss and since
//!   when, how the files were protected, whether plaintext was waiting in a
//!   protected folder, disk encryption, escrow, whether the shipped chain
//!   verifies, and a verdict on the HIPAA breach safe harbor. Each statement
//!   names the record(s) that prove it. JSON, HTML and PDF.
//!
//! Records carry file ids, never names. A report shows names only when the
//! caller passes a resolver, which only someone who unlocked the vault has.
//!
//! ```no_run
//! use coffer_core::audit::verify_chain;
//! use coffer_core::report::{AccessQuery, access_report, incident_report, load_shipped};
//! # fn main() -> coffer_core::Result<()> {
//! // Access report over a vault's own log, file ids only.
//! let bytes = std::fs::read("vault/audit/log.jsonl").unwrap();
//! let records = coffer_core::report::parse_records(&bytes);
//! let chain = verify_chain(&bytes, None);
//! let report = access_report(&records, &AccessQuery::default(), &chain, None);
//! std::fs::write("access.pdf", report.to_pdf()).unwrap();
//!
//! // Incident report from the copies shipped to a share.
//! let (records, raw) = load_shipped("/mnt/audit".as_ref(), "3f2a9c0d11e4b7aa")?;
//! let lost_at = "2026-03-02T18:30:00Z".parse().unwrap();
//! let incident = incident_report(&records, &raw, "3f2a9c0d11e4b7aa", lost_at);
//! println!("{}", incident.verdict_text);
//! # Ok(()) }
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

use jiff::Timestamp;
use serde::Serialize;
use serde_json::Value;

use crate::audit::{ChainReport, MAX_LINE, Record, verify_chain};
use crate::error::{Error, IoContext, Result};

// ---------------------------------------------------------------------------
// Chain verification, as reports state it
// ---------------------------------------------------------------------------

/// The result of chain verification, in the words a report uses.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ChainStatus {
    /// The whole chain verified and nothing is missing.
    pub ok: bool,
    /// Records that verified.
    pub verified_records: u64,
    /// Sequence number of the last record that verified.
    pub last_verified_seq: u64,
    /// Records up to this sequence number can be relied on. When the chain
    /// is broken this stops one record short of the break: an edited
    /// record is caught only by the hash in the record after it.
    pub trusted_through_seq: u64,
    /// Line (1-based) at which the chain breaks.
    pub broken_at_line: Option<u64>,
    /// Why it breaks.
    pub broken_reason: Option<String>,
    /// Records missing at the end (known only against a checkpoint).
    pub truncated: Option<String>,
    /// The last line is torn by a crash and not yet acknowledged.
    pub torn_tail: bool,
    /// Lines torn by crashes and acknowledged by `log_repaired` records.
    pub repaired_tears: u64,
    /// One sentence for people.
    pub statement: String,
}

impl ChainStatus {
    /// States what [`verify_chain`] found.
    pub fn new(c: &ChainReport) -> Self {
        let trusted = if c.broken.is_some() {
            c.last_seq.saturating_sub(1)
        } else {
            c.last_seq
        };
        let mut s = if let Some((line, why)) = &c.broken {
            let mut s = format!("Chain BROKEN at line {line}: {why}. ");
            if trusted == 0 {
                s.push_str("No record can be relied on.");
            } else {
                let _ = write!(
                    s,
                    "Records 1–{trusted} verify; nothing after record {trusted} can be relied on."
                );
            }
            s
        } else if let Some(t) = &c.truncated {
            format!(
                "Chain INCOMPLETE: {t}. Records 1–{} verify, but later records are missing.",
                c.last_seq
            )
        } else if c.verified == 0 {
            "The log holds no record to verify.".to_owned()
        } else {
            format!(
                "Chain verified: all {} records (1–{}) are intact and in order.",
                c.verified, c.last_seq
            )
        };
        if c.repaired_tears > 0 {
            let _ = write!(
                s,
                " {} line(s) torn by a crash were acknowledged by log_repaired records.",
                c.repaired_tears
            );
        }
        if c.torn_tail {
            s.push_str(" The last line is torn (a crash during the last write) and not counted.");
        }
        ChainStatus {
            ok: c.ok(),
            verified_records: c.verified,
            last_verified_seq: c.last_seq,
            trusted_through_seq: trusted,
            broken_at_line: c.broken.as_ref().map(|b| b.0),
            broken_reason: c.broken.as_ref().map(|b| b.1.clone()),
            truncated: c.truncated.clone(),
            torn_tail: c.torn_tail,
            repaired_tears: c.repaired_tears,
            statement: s,
        }
    }
}

// ---------------------------------------------------------------------------
// Reading logs
// ---------------------------------------------------------------------------

/// Parses the records of a log's bytes (a vault's log or a shipped copy).
/// Lines that do not parse are skipped; [`verify_chain`] reports them.
pub fn parse_records(bytes: &[u8]) -> Vec<Record> {
    bytes
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty() && l.len() <= MAX_LINE)
        .filter_map(|l| serde_json::from_slice(l).ok())
        .collect()
}

/// One device's shipped copy of one vault's log, found in a sink folder.
#[derive(Clone, Debug)]
pub struct ShippedCopy {
    /// The copy's path.
    pub path: PathBuf,
    /// The vault id taken from the copy's name (`<device>-<vault>.jsonl`).
    pub vault: String,
    /// Its records.
    pub records: Vec<Record>,
    /// Its bytes, for [`verify_chain`].
    pub bytes: Vec<u8>,
}

/// Every copy that `device` shipped to the sink folder `log_dir`
/// (`<device>-<vault>.jsonl`, see [`crate::sink::copy_name`]), one per
/// vault, sorted by vault id.
pub fn load_shipped_copies(log_dir: &Path, device: &str) -> Result<Vec<ShippedCopy>> {
    if device.is_empty() || device.contains(['/', '\\']) {
        return Err(Error::Invalid(format!("not a device id: {device:?}")));
    }
    let prefix = format!("{device}-");
    let mut out = Vec::new();
    for entry in fs::read_dir(log_dir).ctx("reading the audit log folder")? {
        let entry = entry.ctx("reading the audit log folder")?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let Some(vault) = name
            .strip_prefix(&prefix)
            .and_then(|r| r.strip_suffix(".jsonl"))
            .filter(|v| !v.is_empty() && v.bytes().all(|b| b.is_ascii_alphanumeric()))
        else {
            continue;
        };
        let path = entry.path();
        if !path.is_file() {
            continue;
        }
        let bytes = fs::read(&path).ctx("reading a shipped audit copy")?;
        out.push(ShippedCopy {
            vault: vault.to_owned(),
            records: parse_records(&bytes),
            bytes,
            path,
        });
    }
    out.sort_by(|a, b| a.vault.cmp(&b.vault));
    Ok(out)
}

/// The records and raw bytes of the copy `device` shipped to the sink
/// folder `log_dir`. Fails when there is none, or when the device shipped
/// copies of several vaults (use [`load_shipped_copies`] and report on
/// each).
pub fn load_shipped(log_dir: &Path, device: &str) -> Result<(Vec<Record>, Vec<u8>)> {
    let mut copies = load_shipped_copies(log_dir, device)?;
    match copies.len() {
        0 => Err(Error::NotFound(format!(
            "a shipped audit copy for device {device} ({device}-*.jsonl)"
        ))),
        1 => {
            let c = copies.pop().expect("one copy");
            Ok((c.records, c.bytes))
        }
        _ => Err(Error::Invalid(format!(
            "device {device} shipped copies for {} vaults ({}): report on each copy",
            copies.len(),
            copies
                .iter()
                .map(|c| c.vault.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}

// ---------------------------------------------------------------------------
// Small helpers over records
// ---------------------------------------------------------------------------

fn parse_ts(s: &str) -> Option<Timestamp> {
    s.parse().ok()
}

/// "2026-03-02 18:30:00 UTC", or the string as it was if it does not parse.
fn human_time(s: &str) -> String {
    parse_ts(s).map_or_else(|| s.to_owned(), human_ts)
}

fn human_ts(t: Timestamp) -> String {
    t.strftime("%Y-%m-%d %H:%M:%S UTC").to_string()
}

fn human_duration(secs: i64) -> String {
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

fn human_bytes(n: u64) -> String {
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

fn d_str<'a>(r: &'a Record, k: &str) -> Option<&'a str> {
    r.detail.get(k).and_then(Value::as_str)
}

fn d_u64(r: &Record, k: &str) -> Option<u64> {
    r.detail.get(k).and_then(Value::as_u64)
}

fn d_bool(r: &Record, k: &str) -> Option<bool> {
    r.detail.get(k).and_then(Value::as_bool)
}

/// The object ids a record names.
fn record_ids(r: &Record) -> Vec<&str> {
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

fn lock_reason_text(reason: &str) -> String {
    match reason {
        "process_end" => "the program that had unlocked it ended".into(),
        "manual" => "locked by the user".into(),
        "auto" => "auto-lock after inactivity".into(),
        "suspend" => "the laptop went to sleep".into(),
        "quit" => "the app was quit".into(),
        other => format!("reason: {other}"),
    }
}

fn kdf_text(kdf: &Value) -> Option<String> {
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
fn detail_summary(r: &Record) -> String {
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
fn records_ref(seqs: &[u64], max: usize) -> String {
    format!(
        "record{} {}",
        if seqs.len() == 1 { "" } else { "s" },
        seq_list(seqs, max)
    )
}

fn seq_list(seqs: &[u64], max: usize) -> String {
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

// ---------------------------------------------------------------------------
// Access report
// ---------------------------------------------------------------------------

/// Which records an access report covers. Every field narrows; the default
/// is the whole log.
#[derive(Clone, Debug, Default)]
pub struct AccessQuery {
    /// Records at or after this instant.
    pub from: Option<Timestamp>,
    /// Records strictly before this instant.
    pub to: Option<Timestamp>,
    /// Records by this OS user (exact match).
    pub user: Option<String>,
    /// Records of this event (exact name, e.g. `file_opened`).
    pub action: Option<String>,
    /// Records naming this object id (or an id starting with it); only the
    /// matching ids become rows.
    pub file: Option<String>,
    /// Records naming a file whose name contains this (case-insensitive);
    /// needs the name resolver, so only someone who unlocked the vault can
    /// filter by name. Only the matching ids become rows.
    pub file_name: Option<String>,
}

/// The period an access report covers.
#[derive(Clone, Debug, Serialize)]
pub struct Period {
    /// Lower bound asked for (RFC 3339), if any.
    pub from: Option<String>,
    /// Upper bound asked for (RFC 3339, exclusive), if any.
    pub to: Option<String>,
    /// Time of the first record selected.
    pub first_record: Option<String>,
    /// Time of the last record selected.
    pub last_record: Option<String>,
}

impl Period {
    /// "2026-03-01 00:00:00 UTC to 2026-04-01 00:00:00 UTC", "the whole log", ...
    pub fn describe(&self) -> String {
        match (&self.from, &self.to) {
            (Some(f), Some(t)) => format!("{} to {}", human_time(f), human_time(t)),
            (Some(f), None) => format!("{} to the end of the log", human_time(f)),
            (None, Some(t)) => format!("the start of the log to {}", human_time(t)),
            (None, None) => "the whole log".into(),
        }
    }
}

/// A device seen in the log.
#[derive(Clone, Debug, Serialize)]
pub struct DeviceSeen {
    /// Device id.
    pub device: String,
    /// Host names it recorded.
    pub hosts: Vec<String>,
}

/// Counts over the selected records.
#[derive(Clone, Debug, Default, Serialize)]
pub struct AccessSummary {
    /// Records selected.
    pub records: u64,
    /// Rows (one per record and file id).
    pub rows: u64,
    /// Selected records per event name.
    pub by_event: BTreeMap<String, u64>,
    /// Selected records per OS user.
    pub by_user: BTreeMap<String, u64>,
    /// Records left out of a period filter because their time does not parse.
    pub records_without_valid_time: u64,
}

/// The formats a report is written in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReportFormat {
    /// Comma-separated rows (access report only).
    Csv,
    /// One JSON document.
    Json,
    /// A self-contained HTML page.
    Html,
    /// A PDF document.
    Pdf,
}

impl ReportFormat {
    /// Its name as users type it.
    pub fn as_str(self) -> &'static str {
        match self {
            ReportFormat::Csv => "csv",
            ReportFormat::Json => "json",
            ReportFormat::Html => "html",
            ReportFormat::Pdf => "pdf",
        }
    }
}

impl std::str::FromStr for ReportFormat {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "csv" => Ok(ReportFormat::Csv),
            "json" => Ok(ReportFormat::Json),
            "html" => Ok(ReportFormat::Html),
            "pdf" => Ok(ReportFormat::Pdf),
            _ => Err(Error::Invalid(format!(
                "unknown report format {s}: use csv, json, html or pdf"
            ))),
        }
    }
}

/// One row: a record, or one file id of a record that names several.
#[derive(Clone, Debug, Serialize)]
pub struct AccessRow {
    /// The record's sequence number.
    pub seq: u64,
    /// When (RFC 3339, the laptop's clock).
    pub ts: String,
    /// OS user.
    pub user: String,
    /// Host name.
    pub host: String,
    /// Device id.
    pub device: String,
    /// Event name (see [`event_label`]).
    pub event: String,
    /// Object id, for file events.
    pub file_id: Option<String>,
    /// The file's name, when a resolver was given and knows the id.
    pub file_name: Option<String>,
    /// Method, reason, counts, ... in a few words.
    pub detail: String,
    /// The record lies in the part of the chain that verified.
    pub verified: bool,
}

/// Who did what, when, to which file.
#[derive(Clone, Debug, Serialize)]
pub struct AccessReport {
    /// When the report was made (RFC 3339).
    pub generated_at: String,
    /// The period covered.
    pub period: Period,
    /// User filter, if any.
    pub filter_user: Option<String>,
    /// File id filter, if any.
    pub filter_file: Option<String>,
    /// Vault ids in the log.
    pub vaults: Vec<String>,
    /// Devices in the log.
    pub devices: Vec<DeviceSeen>,
    /// Chain verification of the whole log.
    pub chain: ChainStatus,
    /// File names were resolved (the vault was unlocked for the report).
    pub names_resolved: bool,
    /// What that means for the reader.
    pub names_note: String,
    /// Counts.
    pub summary: AccessSummary,
    /// The rows, in log order.
    pub rows: Vec<AccessRow>,
}

/// Maps an object id to its file name (`None` when the vault does not know
/// it, e.g. a removed file). Only someone who unlocked the vault has one.
pub type NameResolver<'a> = &'a dyn Fn(&str) -> Option<String>;

/// Builds an access report over `records` (a vault's log or a shipped
/// copy). `chain` is what [`verify_chain`] found for the same log; rows
/// beyond its trusted part are marked unverified. `names` maps an object id
/// to its file name — pass it only when the vault was unlocked for the
/// report; without it the report holds file ids only.
pub fn access_report(
    records: &[Record],
    query: &AccessQuery,
    chain: &ChainReport,
    names: Option<NameResolver<'_>>,
) -> AccessReport {
    let chain = ChainStatus::new(chain);
    let file_q = query
        .file
        .as_deref()
        .map(|f| f.trim().to_ascii_lowercase())
        .filter(|f| !f.is_empty());
    let name_q = query
        .file_name
        .as_deref()
        .map(|f| f.trim().to_lowercase())
        .filter(|f| !f.is_empty());
    let mut vaults = BTreeSet::new();
    let mut devices: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    let mut summary = AccessSummary::default();
    let mut rows = Vec::new();
    let mut first: Option<&str> = None;
    let mut last: Option<&str> = None;
    for r in records {
        vaults.insert(r.vault.as_str());
        devices
            .entry(r.device.as_str())
            .or_default()
            .insert(r.host.as_str());
        if query.from.is_some() || query.to.is_some() {
            let Some(t) = parse_ts(&r.ts) else {
                summary.records_without_valid_time += 1;
                continue;
            };
            if query.from.is_some_and(|f| t < f) || query.to.is_some_and(|e| t >= e) {
                continue;
            }
        }
        if query.user.as_ref().is_some_and(|u| *u != r.user) {
            continue;
        }
        if query.action.as_ref().is_some_and(|a| *a != r.event) {
            continue;
        }
        let mut ids = record_ids(r);
        if let Some(f) = &file_q {
            ids.retain(|id| id.to_ascii_lowercase().starts_with(f.as_str()));
            if ids.is_empty() {
                continue;
            }
        }
        if let Some(n) = &name_q {
            ids.retain(|id| {
                names
                    .and_then(|f| f(id))
                    .is_some_and(|name| name.to_lowercase().contains(n.as_str()))
            });
            if ids.is_empty() {
                continue;
            }
        }
        summary.records += 1;
        *summary.by_event.entry(r.event.clone()).or_default() += 1;
        *summary.by_user.entry(r.user.clone()).or_default() += 1;
        first.get_or_insert(&r.ts);
        last = Some(&r.ts);
        let detail = detail_summary(r);
        let verified = r.seq <= chain.trusted_through_seq;
        let row = |id: Option<&str>| AccessRow {
            seq: r.seq,
            ts: r.ts.clone(),
            user: r.user.clone(),
            host: r.host.clone(),
            device: r.device.clone(),
            event: r.event.clone(),
            file_id: id.map(str::to_owned),
            file_name: id.and_then(|id| names.and_then(|f| f(id))),
            detail: detail.clone(),
            verified,
        };
        if ids.is_empty() {
            rows.push(row(None));
        } else {
            rows.extend(ids.into_iter().map(|id| row(Some(id))));
        }
    }
    summary.rows = rows.len() as u64;
    let names_note = if names.is_some() {
        "File names are shown because the vault was unlocked to make this report. \
         File names can identify patients: handle this report as protected health information."
    } else {
        "File ids only: the vault was not unlocked for this report, so file names stay \
         encrypted. Someone who can unlock the vault can map the ids to names."
    };
    AccessReport {
        generated_at: Timestamp::now().to_string(),
        period: Period {
            from: query.from.map(|t| t.to_string()),
            to: query.to.map(|t| t.to_string()),
            first_record: first.map(str::to_owned),
            last_record: last.map(str::to_owned),
        },
        filter_user: query.user.clone(),
        filter_file: file_q,
        vaults: vaults.into_iter().map(str::to_owned).collect(),
        devices: devices
            .into_iter()
            .map(|(d, h)| DeviceSeen {
                device: d.to_owned(),
                hosts: h.into_iter().map(str::to_owned).collect(),
            })
            .collect(),
        chain,
        names_resolved: names.is_some(),
        names_note: names_note.into(),
        summary,
        rows,
    }
}

/// A CSV field: quoted when needed, and defused when a spreadsheet would
/// take it for a formula (it starts with `=`, `+`, `-`, `@`, tab or CR).
fn csv_field(s: &str) -> String {
    let s = if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s.to_owned()
    };
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

impl AccessReport {
    /// The report in `format`.
    pub fn render(&self, format: ReportFormat) -> Vec<u8> {
        match format {
            ReportFormat::Csv => self.to_csv().into_bytes(),
            ReportFormat::Json => self.to_json().into_bytes(),
            ReportFormat::Html => self.to_html().into_bytes(),
            ReportFormat::Pdf => self.to_pdf(),
        }
    }

    /// One line per row, with a header line:
    /// `seq,time,user,host,device,event,file_id,file_name,detail,verified`.
    /// Times are RFC 3339; `verified` is `yes` or `no`.
    pub fn to_csv(&self) -> String {
        let mut out =
            String::from("seq,time,user,host,device,event,file_id,file_name,detail,verified\r\n");
        for r in &self.rows {
            let fields = [
                r.seq.to_string(),
                r.ts.clone(),
                r.user.clone(),
                r.host.clone(),
                r.device.clone(),
                r.event.clone(),
                r.file_id.clone().unwrap_or_default(),
                r.file_name.clone().unwrap_or_default(),
                r.detail.clone(),
                if r.verified { "yes" } else { "no" }.to_owned(),
            ];
            let line: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
            out.push_str(&line.join(","));
            out.push_str("\r\n");
        }
        out
    }

    /// The whole report as pretty-printed JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("reports serialize")
    }

    /// A self-contained HTML page (inline CSS, no scripts, no external
    /// assets); every text is escaped.
    pub fn to_html(&self) -> String {
        let mut b = String::new();
        let _ = write!(b, "<h1>Coffer access report</h1>");
        b.push_str("<table class=\"meta\">");
        meta_row(&mut b, "Period", &self.period.describe());
        if let (Some(f), Some(l)) = (&self.period.first_record, &self.period.last_record) {
            meta_row(
                &mut b,
                "Records selected",
                &format!(
                    "{} ({} to {})",
                    self.summary.records,
                    human_time(f),
                    human_time(l)
                ),
            );
        } else {
            meta_row(&mut b, "Records selected", "none");
        }
        meta_row(&mut b, "Vault", &self.vaults.join(", "));
        meta_row(&mut b, "Device", &self.devices_text());
        if let Some(u) = &self.filter_user {
            meta_row(&mut b, "User", u);
        }
        if let Some(f) = &self.filter_file {
            meta_row(&mut b, "File id", f);
        }
        meta_row(&mut b, "Generated", &human_time(&self.generated_at));
        b.push_str("</table>");
        let cls = if self.chain.ok { "good" } else { "bad" };
        let _ = write!(
            b,
            "<div class=\"status {cls}\"><strong>Audit chain:</strong> {}</div>",
            esc(&self.chain.statement)
        );
        let _ = write!(b, "<p class=\"note\">{}</p>", esc(&self.names_note));
        b.push_str("<h2>Summary</h2><div class=\"cols\">");
        b.push_str("<table class=\"data\"><tr><th>Event</th><th>Records</th></tr>");
        let mut events: Vec<(&str, u64)> = self
            .summary
            .by_event
            .iter()
            .map(|(e, n)| (event_label(e), *n))
            .collect();
        events.sort();
        for (e, n) in events {
            let _ = write!(b, "<tr><td>{}</td><td class=\"num\">{n}</td></tr>", esc(e));
        }
        b.push_str("</table><table class=\"data\"><tr><th>User</th><th>Records</th></tr>");
        for (u, n) in &self.summary.by_user {
            let _ = write!(b, "<tr><td>{}</td><td class=\"num\">{n}</td></tr>", esc(u));
        }
        b.push_str("</table></div>");
        if self.summary.records_without_valid_time > 0 {
            let _ = write!(
                b,
                "<p class=\"note\">{} record(s) with an unreadable time were left out of the period.</p>",
                self.summary.records_without_valid_time
            );
        }
        let _ = write!(b, "<h2>Activity ({} rows)</h2>", self.rows.len());
        b.push_str("<table class=\"data rows\"><tr><th>#</th><th>Time (UTC)</th><th>User</th><th>Host</th><th>Event</th><th>File id</th>");
        if self.names_resolved {
            b.push_str("<th>File name</th>");
        }
        b.push_str("<th>Detail</th></tr>");
        for r in &self.rows {
            let cls = if r.verified {
                ""
            } else {
                " class=\"unverified\""
            };
            let _ = write!(
                b,
                "<tr{cls}><td class=\"num\">{}</td><td class=\"nowrap\">{}</td><td class=\"nowrap\">{}</td><td class=\"nowrap\">{}</td><td>{}</td><td class=\"mono\">{}</td>",
                r.seq,
                esc(&table_time(&r.ts)),
                esc(&r.user),
                esc(&r.host),
                esc(event_label(&r.event)),
                esc(r.file_id.as_deref().unwrap_or(""))
            );
            if self.names_resolved {
                let _ = write!(
                    b,
                    "<td>{}</td>",
                    esc(r.file_name.as_deref().unwrap_or(if r.file_id.is_some() {
                        "(not in the vault)"
                    } else {
                        ""
                    }))
                );
            }
            let mut d = esc(&r.detail);
            if !r.verified {
                d.push_str(" <em>(not covered by the verified chain)</em>");
            }
            let _ = write!(b, "<td>{d}</td></tr>");
        }
        b.push_str("</table>");
        html_page("Coffer access report", &b)
    }

    /// A PDF (A4 landscape, Helvetica): header, chain status, summary and
    /// the rows as a table that continues over as many pages as needed.
    pub fn to_pdf(&self) -> Vec<u8> {
        use pdf::{Doc, Font};
        let mut d = Doc::new(true, "Coffer access report");
        d.title("Coffer access report");
        let mut meta = vec![("Period".to_owned(), self.period.describe())];
        meta.push((
            "Records selected".into(),
            match (&self.period.first_record, &self.period.last_record) {
                (Some(f), Some(l)) => format!(
                    "{} ({} to {})",
                    self.summary.records,
                    human_time(f),
                    human_time(l)
                ),
                _ => "none".into(),
            },
        ));
        meta.push(("Vault".into(), self.vaults.join(", ")));
        meta.push(("Device".into(), self.devices_text()));
        if let Some(u) = &self.filter_user {
            meta.push(("User".into(), u.clone()));
        }
        if let Some(f) = &self.filter_file {
            meta.push(("File id".into(), f.clone()));
        }
        meta.push(("Generated".into(), human_time(&self.generated_at)));
        d.key_values(&meta, 110.0);
        d.space(6.0);
        d.status_box(
            "Audit chain",
            &self.chain.statement,
            if self.chain.ok { pdf::GOOD } else { pdf::BAD },
            12.0,
        );
        d.paragraph(&self.names_note, Font::Regular, 9.0, pdf::GREY);
        d.space(4.0);
        d.heading("Summary");
        let mut ev: Vec<Vec<String>> = self
            .summary
            .by_event
            .iter()
            .map(|(e, n)| vec![event_label(e).to_owned(), n.to_string()])
            .collect();
        ev.sort();
        let us: Vec<Vec<String>> = self
            .summary
            .by_user
            .iter()
            .map(|(u, n)| vec![u.clone(), n.to_string()])
            .collect();
        d.tables_side_by_side(
            (&[("Event", 170.0), ("Records", 55.0)], &ev),
            (&[("User", 170.0), ("Records", 55.0)], &us),
            40.0,
            9.0,
        );
        if self.summary.records_without_valid_time > 0 {
            d.space(4.0);
            d.paragraph(
                &format!(
                    "{} record(s) with an unreadable time were left out of the period.",
                    self.summary.records_without_valid_time
                ),
                Font::Regular,
                9.0,
                pdf::GREY,
            );
        }
        d.space(8.0);
        d.heading(&format!("Activity ({} rows)", self.rows.len()));
        let mut cols: Vec<(&str, f32)> = vec![
            ("#", 34.0),
            ("Time (UTC)", 90.0),
            ("User", 66.0),
            ("Host", 68.0),
            ("Event", 84.0),
            ("File id", 150.0),
        ];
        if self.names_resolved {
            cols.push(("File name", 120.0));
        }
        let used: f32 = cols.iter().map(|c| c.1).sum();
        cols.push(("Detail", d.usable_width() - used));
        let rows: Vec<Vec<String>> = self
            .rows
            .iter()
            .map(|r| {
                let mut v = vec![
                    r.seq.to_string(),
                    table_time(&r.ts),
                    r.user.clone(),
                    r.host.clone(),
                    event_label(&r.event).to_owned(),
                    r.file_id.clone().unwrap_or_default(),
                ];
                if self.names_resolved {
                    v.push(r.file_name.clone().unwrap_or_else(|| {
                        if r.file_id.is_some() {
                            "(not in the vault)".into()
                        } else {
                            String::new()
                        }
                    }));
                }
                let mut det = r.detail.clone();
                if !r.verified {
                    det.push_str(" [not covered by the verified chain]");
                }
                v.push(det);
                v
            })
            .collect();
        if rows.is_empty() {
            d.paragraph("No record matches.", Font::Regular, 10.0, pdf::BLACK);
        } else {
            d.table(&cols, &rows, 8.0);
        }
        d.finish("Coffer access report")
    }

    fn devices_text(&self) -> String {
        self.devices
            .iter()
            .map(|d| {
                if d.hosts.is_empty() {
                    d.device.clone()
                } else {
                    format!("{} ({})", d.device, d.hosts.join(", "))
                }
            })
            .collect::<Vec<_>>()
            .join("; ")
    }
}

/// "2026-03-02 18:30:00" for table cells (the header says UTC).
fn table_time(ts: &str) -> String {
    parse_ts(ts).map_or_else(
        || ts.to_owned(),
        |t| t.strftime("%Y-%m-%d %H:%M:%S").to_string(),
    )
}

// ---------------------------------------------------------------------------
// Incident report
// ---------------------------------------------------------------------------

/// The answer to "is the loss of this laptop a reportable breach?" under
/// the HIPAA breach safe harbor (PHI encrypted per NIST SP 800-111, keys
/// not compromised).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// The records show the vault locked at the loss and the files encrypted.
    Holds,
    /// The records show data readable at the loss (vault unlocked, or
    /// plaintext left in a protected folder).
    DoesNotHold,
    /// The records cannot show either (chain broken, evidence missing, the
    /// vault used after the loss, ...).
    CannotBeEstablished,
}

impl Verdict {
    /// "safe harbor holds", "does not hold", "cannot be established".
    pub fn as_str(&self) -> &'static str {
        match self {
            Verdict::Holds => "safe harbor holds",
            Verdict::DoesNotHold => "safe harbor does not hold",
            Verdict::CannotBeEstablished => "safe harbor cannot be established",
        }
    }
}

/// How a finding bears on the verdict.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Assessment {
    /// Supports safe harbor.
    Good,
    /// Does not defeat safe harbor, but the clinic should look at it.
    Warning,
    /// Defeats safe harbor.
    Bad,
    /// The records cannot answer the question.
    Unknown,
    /// For information.
    Info,
}

impl Assessment {
    fn label(self) -> &'static str {
        match self {
            Assessment::Good => "OK",
            Assessment::Warning => "Warning",
            Assessment::Bad => "Problem",
            Assessment::Unknown => "Unknown",
            Assessment::Info => "Note",
        }
    }
}

/// One question the incident report answers, with the records that prove
/// the answer.
#[derive(Clone, Debug, Serialize)]
pub struct Finding {
    /// Stable key: `chain`, `lock_state`, `protection`, `rotation`,
    /// `plaintext`, `disk_encryption`, `escrow`, `evidence`, `after_loss`.
    pub topic: String,
    /// The question, for people.
    pub question: String,
    /// The answer, for people.
    pub answer: String,
    /// Sequence numbers of the records that prove it.
    pub proof: Vec<u64>,
    /// How it bears on the verdict.
    pub assessment: Assessment,
}

/// Argon2id parameters of the weakest passphrase slot.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct KdfParams {
    /// Algorithm ("argon2id").
    pub alg: String,
    /// Memory, KiB.
    pub m_kib: u64,
    /// Passes.
    pub t: u64,
    /// Lanes.
    pub p: u64,
}

/// The facts behind the findings, for machines (fleet tools, tickets).
#[derive(Clone, Debug, Default, Serialize)]
pub struct IncidentFacts {
    /// Locked at the loss: `None` when the records cannot tell.
    pub locked_at_loss: Option<bool>,
    /// Since when (RFC 3339), if locked.
    pub locked_since: Option<String>,
    /// The last unlock (or recovery, or creation) before the loss.
    pub last_unlock_seq: Option<u64>,
    /// The last lock before the loss.
    pub last_lock_seq: Option<u64>,
    /// Unlocks before the loss that no lock answers (see the caveats).
    pub unmatched_unlock_seqs: Vec<u64>,
    /// The last `status` record before the loss.
    pub status_seq: Option<u64>,
    /// Files (file versions) in the vault per that record.
    pub objects: Option<u64>,
    /// Ciphertext bytes per that record.
    pub stored_bytes: Option<u64>,
    /// File ids added between that record and the loss.
    pub files_added_after_status: u64,
    /// File ids removed between that record and the loss.
    pub files_removed_after_status: u64,
    /// Content encryption per that record.
    pub cipher: Option<String>,
    /// Key wrapping per that record.
    pub key_wrap: Option<String>,
    /// Passphrase KDF per that record (`None`: no passphrase slot or no record).
    pub kdf: Option<KdfParams>,
    /// Key version in force.
    pub key_version: Option<u64>,
    /// When it was created (RFC 3339).
    pub key_version_created: Option<String>,
    /// Its age at the loss, in days.
    pub key_age_days: Option<i64>,
    /// The last `rotation_finished` before the loss.
    pub last_rotation_seq: Option<u64>,
    /// The last `plaintext_found` before the loss.
    pub plaintext_found_seq: Option<u64>,
    /// Its count.
    pub plaintext_found_count: Option<u64>,
    /// File ids the watcher recorded adding after it, before the loss.
    pub plaintext_encrypted_after: u64,
    /// Files found in plaintext and not recorded as encrypted by the loss.
    pub plaintext_pending: u64,
    /// "on", "off" or "unknown".
    pub disk_encryption: String,
    /// An organisation escrow slot existed.
    pub escrow: Option<bool>,
    /// Slot kinds enrolled.
    pub slots: Vec<String>,
    /// The last shipped record.
    pub last_record_seq: Option<u64>,
    /// Its time.
    pub last_record_at: Option<String>,
    /// Records dated at or before the loss.
    pub records_before_loss: u64,
    /// Records dated after it.
    pub records_after_loss: u64,
}

/// "At the time of loss, the vault was locked since T; N files, all
/// encrypted with AES-256-GCM; ..." — with the records that prove it.
#[derive(Clone, Debug, Serialize)]
pub struct IncidentReport {
    /// When the report was made (RFC 3339).
    pub generated_at: String,
    /// The lost device's id.
    pub device: String,
    /// Host names its records carry.
    pub hosts: Vec<String>,
    /// Vault ids in the copy.
    pub vaults: Vec<String>,
    /// When the laptop was lost or stolen (RFC 3339), as reported.
    pub lost_at: String,
    /// The verdict.
    pub verdict: Verdict,
    /// The verdict in one sentence.
    pub verdict_text: String,
    /// Why: the decisive findings, in order.
    pub reasons: Vec<String>,
    /// Chain verification of the shipped copy.
    pub chain: ChainStatus,
    /// The questions and answers.
    pub findings: Vec<Finding>,
    /// Things the reader should check that do not decide the verdict.
    pub caveats: Vec<String>,
    /// What no report built from these records can prove.
    pub limits: Vec<String>,
    /// The facts, for machines.
    pub facts: IncidentFacts,
}

const OPENS: [&str; 3] = ["unlock", "recovery", "vault_created"];

fn opening_text(r: &Record) -> String {
    match r.event.as_str() {
        "vault_created" => format!(
            "created (and so unlocked) at {} by {} on {} (record #{})",
            human_time(&r.ts),
            r.user,
            r.host,
            r.seq
        ),
        "recovery" => format!(
            "unlocked with the {} at {} by {} on {} (record #{})",
            d_str(r, "method").unwrap_or("recovery key"),
            human_time(&r.ts),
            r.user,
            r.host,
            r.seq
        ),
        _ => format!(
            "unlocked with the {} at {} by {} on {} (record #{})",
            d_str(r, "method").unwrap_or("?"),
            human_time(&r.ts),
            r.user,
            r.host,
            r.seq
        ),
    }
}

/// Builds the incident report for `device`, lost or stolen at `lost_at`,
/// from the records of its shipped copy (`records`) and the copy's raw
/// bytes (`raw`, for chain verification). Times are compared as the laptop
/// recorded them.
pub fn incident_report(
    records: &[Record],
    raw: &[u8],
    device: &str,
    lost_at: Timestamp,
) -> IncidentReport {
    let chain = ChainStatus::new(&verify_chain(raw, None));
    let mut facts = IncidentFacts {
        disk_encryption: "unknown".into(),
        ..Default::default()
    };
    let mut findings: Vec<Finding> = Vec::new();
    let mut caveats: Vec<String> = Vec::new();
    let mut fails: Vec<String> = Vec::new();
    let mut unknowns: Vec<String> = Vec::new();
    let mut goods: Vec<String> = Vec::new();
    let lost = human_ts(lost_at);

    // Place every record before or after the loss by its own time; an
    // unreadable time inherits the one before it.
    let mut before: Vec<&Record> = Vec::new();
    let mut after: Vec<&Record> = Vec::new();
    let mut prev_t: Option<Timestamp> = None;
    let mut backwards = Vec::new();
    let mut undated = Vec::new();
    for r in records {
        let t = match parse_ts(&r.ts) {
            Some(t) => {
                if prev_t.is_some_and(|p| t < p) {
                    backwards.push(r.seq);
                }
                prev_t = Some(t);
                Some(t)
            }
            None => {
                undated.push(r.seq);
                prev_t
            }
        };
        if t.is_none_or(|t| t <= lost_at) {
            before.push(r);
        } else {
            after.push(r);
        }
    }
    facts.records_before_loss = before.len() as u64;
    facts.records_after_loss = after.len() as u64;
    if !backwards.is_empty() {
        caveats.push(format!(
            "The laptop's clock went backwards at record(s) {}: times near those records may be wrong.",
            seq_list(&backwards, 8)
        ));
    }
    if !undated.is_empty() {
        caveats.push(format!(
            "Record(s) {} carry an unreadable time and were placed by their order.",
            seq_list(&undated, 8)
        ));
    }
    let hosts: BTreeSet<&str> = records
        .iter()
        .filter(|r| r.device == device)
        .map(|r| r.host.as_str())
        .collect();
    let vaults: BTreeSet<&str> = records.iter().map(|r| r.vault.as_str()).collect();
    let other_devices: BTreeSet<&str> = records
        .iter()
        .filter(|r| r.device != device)
        .map(|r| r.device.as_str())
        .collect();
    if !records.is_empty() && hosts.is_empty() {
        caveats.push(format!(
            "No record in this copy carries device id {device}: check that this is the lost laptop's copy."
        ));
    } else if !other_devices.is_empty() {
        caveats.push(format!(
            "The copy also holds records from device(s) {}: the vault was used on, or moved from, another machine.",
            other_devices.iter().copied().collect::<Vec<_>>().join(", ")
        ));
    }
    if vaults.len() > 1 {
        caveats.push(format!(
            "The copy holds records of {} vaults; a copy should hold one.",
            vaults.len()
        ));
    }

    // 1. The chain.
    let last_seq = records.iter().map(|r| r.seq).max();
    if chain.ok && !records.is_empty() {
        let complete = Some(chain.last_verified_seq) == last_seq;
        findings.push(Finding {
            topic: "chain".into(),
            question: "Does the shipped log verify?".into(),
            answer: format!(
                "{} The copy cannot be checked against the laptop itself, so records removed from its very end would look like missing evidence (see below).",
                chain.statement
            ),
            proof: last_seq.into_iter().collect(),
            assessment: if complete {
                Assessment::Good
            } else {
                Assessment::Unknown
            },
        });
        if complete {
            goods.push(format!(
                "the shipped log verifies through record #{}",
                chain.last_verified_seq
            ));
        } else {
            unknowns.push("the records given do not match the verified copy".into());
        }
    } else if records.is_empty() {
        findings.push(Finding {
            topic: "chain".into(),
            question: "Does the shipped log verify?".into(),
            answer: "The copy holds no record.".into(),
            proof: vec![],
            assessment: Assessment::Unknown,
        });
        unknowns.push("the shipped copy holds no record".into());
    } else {
        findings.push(Finding {
            topic: "chain".into(),
            question: "Does the shipped log verify?".into(),
            answer: format!(
                "No. {} Records were deleted, edited, inserted or reordered after they were written, so none of them can be relied on as evidence without other proof.",
                chain.statement
            ),
            proof: vec![],
            assessment: Assessment::Bad,
        });
        unknowns.push(format!(
            "the shipped log fails verification at line {}: {}",
            chain.broken_at_line.unwrap_or(0),
            chain.broken_reason.as_deref().unwrap_or("unknown")
        ));
    }

    // 2. Locked at the time of loss?
    let mut last_session: Option<&Record> = None;
    let mut last_open: Option<&Record> = None;
    let mut last_lock: Option<&Record> = None;
    let mut open_stack: Vec<u64> = Vec::new();
    for r in &before {
        if OPENS.contains(&r.event.as_str()) {
            open_stack.push(r.seq);
            last_open = Some(r);
            last_session = Some(r);
        } else if r.event == "lock" {
            open_stack.pop();
            last_lock = Some(r);
            last_session = Some(r);
        }
    }
    facts.last_unlock_seq = last_open.map(|r| r.seq);
    facts.last_lock_seq = last_lock.map(|r| r.seq);
    match last_session {
        None => {
            facts.locked_at_loss = None;
            findings.push(Finding {
                topic: "lock_state".into(),
                question: "Was the vault locked when the laptop was lost?".into(),
                answer: format!(
                    "The records before {lost} show no unlock and no lock, so the lock state at the loss cannot be shown."
                ),
                proof: vec![],
                assessment: Assessment::Unknown,
            });
            unknowns.push("no unlock or lock is recorded before the loss".into());
        }
        Some(r) if r.event != "lock" => {
            facts.locked_at_loss = Some(false);
            findings.push(Finding {
                topic: "lock_state".into(),
                question: "Was the vault locked when the laptop was lost?".into(),
                answer: format!(
                    "NO. The vault was {}, and no lock was recorded after that before the loss at {lost}. It was unlocked at the time of loss: whoever held the running laptop could read its files.",
                    opening_text(r)
                ),
                proof: vec![r.seq],
                assessment: Assessment::Bad,
            });
            fails.push(format!(
                "the vault was unlocked at the time of loss (unlocked at {}, record #{}, with no lock before the loss)",
                human_time(&r.ts),
                r.seq
            ));
        }
        Some(l) => {
            facts.locked_at_loss = Some(true);
            facts.locked_since = Some(l.ts.clone());
            let since = parse_ts(&l.ts)
                .map(|t| {
                    format!(
                        ", {} before the loss",
                        human_duration(lost_at.as_second() - t.as_second())
                    )
                })
                .unwrap_or_default();
            let mut answer = format!(
                "Yes. Locked since {}{since} (record #{}: {}).",
                human_time(&l.ts),
                l.seq,
                lock_reason_text(d_str(l, "reason").unwrap_or("?"))
            );
            let mut proof = vec![l.seq];
            if let Some(o) = last_open {
                let _ = write!(answer, " Before that it was {}.", opening_text(o));
                proof.push(o.seq);
            }
            findings.push(Finding {
                topic: "lock_state".into(),
                question: "Was the vault locked when the laptop was lost?".into(),
                answer,
                proof,
                assessment: Assessment::Good,
            });
            goods.push(format!(
                "the vault was locked at the loss, and had been since {} (record #{})",
                human_time(&l.ts),
                l.seq
            ));
            if !open_stack.is_empty() {
                facts.unmatched_unlock_seqs = open_stack.clone();
                caveats.push(format!(
                    "Unlock record(s) {} have no lock of their own. Records carry no process id, so this is either a program that ended without logging (a crash or power loss: its keys left memory with it) or a second session — e.g. the desktop app while a command ran and exited — that may still have been open at the loss. Check what ran on the laptop at those times.",
                    seq_list(&open_stack, 8)
                ));
            }
        }
    }

    // 3. How the files were protected: the last status record before the loss.
    let status = before.iter().rev().find(|r| r.event == "status").copied();
    if let Some(s) = status {
        facts.status_seq = Some(s.seq);
        facts.objects = d_u64(s, "objects");
        facts.stored_bytes = d_u64(s, "stored_bytes");
        facts.cipher = d_str(s, "cipher").map(str::to_owned);
        facts.key_wrap = d_str(s, "key_wrap").map(str::to_owned);
        facts.key_version = d_u64(s, "key_version");
        facts.disk_encryption = d_str(s, "disk_encryption").unwrap_or("unknown").to_owned();
        facts.escrow = d_bool(s, "escrow");
        facts.slots = s
            .detail
            .get("slots")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default();
        let kdf = s.detail.get("kdf").filter(|k| k.is_object());
        facts.kdf = kdf.and_then(|k| {
            Some(KdfParams {
                alg: k
                    .get("alg")
                    .and_then(Value::as_str)
                    .unwrap_or("argon2id")
                    .into(),
                m_kib: k.get("m_kib")?.as_u64()?,
                t: k.get("t")?.as_u64()?,
                p: k.get("p")?.as_u64()?,
            })
        });
        let created = s
            .detail
            .get("key_version_created")
            .and_then(Value::as_i64)
            .and_then(|c| Timestamp::from_second(c).ok());
        facts.key_version_created = created.map(|t| t.to_string());
        facts.key_age_days = created.map(|t| (lost_at.as_second() - t.as_second()).max(0) / 86_400);
        for r in before.iter().filter(|r| r.seq > s.seq) {
            match r.event.as_str() {
                "file_added" => facts.files_added_after_status += record_ids(r).len() as u64,
                "file_removed" => facts.files_removed_after_status += record_ids(r).len() as u64,
                _ => {}
            }
        }
        let objects = facts.objects.unwrap_or(0);
        let mut answer = format!(
            "At {} (record #{}, the last status record before the loss) the vault held {} encrypted file(s), counting kept versions ({} of ciphertext), in {} protected folder(s). Contents: {}. File keys wrapped with {}.",
            human_time(&s.ts),
            s.seq,
            objects,
            human_bytes(facts.stored_bytes.unwrap_or(0)),
            d_u64(s, "protected_folders").unwrap_or(0),
            facts.cipher.as_deref().unwrap_or("not stated"),
            facts.key_wrap.as_deref().unwrap_or("not stated"),
        );
        match kdf.and_then(kdf_text) {
            Some(k) => {
                let _ = write!(answer, " Passphrase key derived with {k}.");
            }
            None => answer.push_str(" No passphrase slot."),
        }
        if let Some(v) = facts.key_version {
            let _ = write!(answer, " Key version {v}");
            if let Some(c) = created {
                let _ = write!(
                    answer,
                    ", created {} ({} before the loss)",
                    human_ts(c),
                    human_duration(lost_at.as_second() - c.as_second())
                );
            }
            answer.push('.');
        }
        if !facts.slots.is_empty() {
            let _ = write!(answer, " Key slots: {}.", facts.slots.join(", "));
        }
        let mut proof = vec![s.seq];
        if facts.files_added_after_status + facts.files_removed_after_status > 0 {
            let later: Vec<u64> = before
                .iter()
                .filter(|r| r.seq > s.seq && (r.event == "file_added" || r.event == "file_removed"))
                .map(|r| r.seq)
                .collect();
            let _ = write!(
                answer,
                " After that record and before the loss, {} file(s) were added to the vault (encrypted as they entered) and {} removed ({}).",
                facts.files_added_after_status,
                facts.files_removed_after_status,
                records_ref(&later, 10)
            );
            proof.extend(later);
        }
        if d_bool(s, "rotation_in_progress") == Some(true) {
            answer.push_str(
                " A key rotation was in progress: files were under the old or the new key version, encrypted either way.",
            );
        }
        let coffer_cipher = facts
            .cipher
            .as_deref()
            .is_some_and(|c| c.starts_with("AES-256-GCM"));
        findings.push(Finding {
            topic: "protection".into(),
            question: "How were the files protected?".into(),
            answer,
            proof,
            assessment: if coffer_cipher {
                Assessment::Good
            } else {
                Assessment::Unknown
            },
        });
        if coffer_cipher {
            goods.push(format!(
                "{} file(s) encrypted with AES-256-GCM{} (record #{})",
                objects + facts.files_added_after_status,
                kdf.and_then(kdf_text)
                    .map(|k| format!(", passphrase key from {k}"))
                    .unwrap_or_default(),
                s.seq
            ));
        } else {
            unknowns.push(format!(
                "the status record #{} does not state AES-256-GCM encryption",
                s.seq
            ));
        }
        if d_bool(s, "policy_compliant") == Some(false) {
            let problems: Vec<&str> = s
                .detail
                .get("policy_problems")
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            caveats.push(format!(
                "The device did not meet the organisation's policy (record #{}): {}.",
                s.seq,
                if problems.is_empty() {
                    "no detail recorded".to_owned()
                } else {
                    problems.join("; ")
                }
            ));
        }
        if facts.slots.iter().any(|k| k == "keychain") && facts.disk_encryption != "on" {
            caveats.push(format!(
                "A keychain slot was enrolled while full-disk encryption was {} (record #{}): that slot is only as strong as the OS login password guarding the keychain.",
                facts.disk_encryption, s.seq
            ));
        }
    } else {
        findings.push(Finding {
            topic: "protection".into(),
            question: "How were the files protected?".into(),
            answer: "No status record was shipped before the loss, so the number of files, the key version and the key-derivation parameters cannot be shown from this evidence (Coffer always encrypts file contents with AES-256-GCM, but the records must show it).".into(),
            proof: vec![],
            assessment: Assessment::Unknown,
        });
        unknowns.push("no status record before the loss shows how the files were protected".into());
    }

    // 4. Key rotation.
    let rotation = before
        .iter()
        .rev()
        .find(|r| r.event == "rotation_finished")
        .copied();
    facts.last_rotation_seq = rotation.map(|r| r.seq);
    findings.push(match rotation {
        Some(r) => Finding {
            topic: "rotation".into(),
            question: "When were the keys last rotated?".into(),
            answer: format!(
                "{} (record #{}): {}.",
                human_time(&r.ts),
                r.seq,
                detail_summary(r)
            ),
            proof: vec![r.seq],
            assessment: Assessment::Info,
        },
        None => Finding {
            topic: "rotation".into(),
            question: "When were the keys last rotated?".into(),
            answer: match &facts.key_version_created {
                Some(c) => format!(
                    "No rotation is recorded before the loss; the key version in force dates from {}.",
                    human_time(c)
                ),
                None => "No rotation is recorded before the loss.".into(),
            },
            proof: facts.status_seq.into_iter().collect(),
            assessment: Assessment::Info,
        },
    });

    // 5. Plaintext waiting in a protected folder.
    let found = before
        .iter()
        .rev()
        .find(|r| r.event == "plaintext_found")
        .copied();
    match found {
        Some(p) => {
            let count = d_u64(p, "count").unwrap_or(0);
            let adds: Vec<&Record> = before
                .iter()
                .filter(|r| {
                    r.seq > p.seq && r.event == "file_added" && d_str(r, "by") == Some("watcher")
                })
                .copied()
                .collect();
            let encrypted: u64 = adds.iter().map(|r| record_ids(r).len() as u64).sum();
            let pending = count.saturating_sub(encrypted);
            facts.plaintext_found_seq = Some(p.seq);
            facts.plaintext_found_count = Some(count);
            facts.plaintext_encrypted_after = encrypted;
            facts.plaintext_pending = pending;
            let mut proof = vec![p.seq];
            proof.extend(adds.iter().map(|r| r.seq));
            let mut answer = format!(
                "The watcher's last start-up scan before the loss (record #{}, {}) found {count} unencrypted file(s) in protected folders; afterwards it recorded encrypting {encrypted} file(s){}.",
                p.seq,
                human_time(&p.ts),
                if adds.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", records_ref(&proof[1..], 10))
                }
            );
            let assessment = if pending == 0 {
                answer.push_str(" None was left waiting.");
                Assessment::Good
            } else {
                let _ = write!(
                    answer,
                    " Up to {pending} file(s) may still have been in plaintext in a protected folder at the loss."
                );
                if facts.disk_encryption == "on" {
                    answer.push_str(" Full-disk encryption was on, which protects them only if the laptop was powered off or at its OS login screen.");
                    unknowns.push(format!(
                        "up to {pending} file(s) found in plaintext (record #{}) were not recorded as encrypted before the loss",
                        p.seq
                    ));
                    Assessment::Unknown
                } else {
                    fails.push(format!(
                        "up to {pending} file(s) found in plaintext in protected folders (record #{}) were not recorded as encrypted before the loss, and full-disk encryption was {}",
                        p.seq, facts.disk_encryption
                    ));
                    Assessment::Bad
                }
            };
            findings.push(Finding {
                topic: "plaintext".into(),
                question: "Was plaintext waiting in a protected folder?".into(),
                answer,
                proof,
                assessment,
            });
            if pending == 0 {
                goods.push("no plaintext was left waiting in protected folders".into());
            }
        }
        None => {
            let watcher_ran = before
                .iter()
                .any(|r| r.event == "file_added" && d_str(r, "by") == Some("watcher"));
            findings.push(Finding {
                topic: "plaintext".into(),
                question: "Was plaintext waiting in a protected folder?".into(),
                answer: if watcher_ran {
                    "No start-up scan before the loss reported unencrypted files in protected folders (the watcher logs plaintext_found when it finds any)."
                } else {
                    "No record before the loss reports unencrypted files in protected folders (the watcher logs plaintext_found when its start-up scan finds any; no record shows the watcher adding files)."
                }
                .into(),
                proof: vec![],
                assessment: Assessment::Good,
            });
        }
    }

    // 6. Disk encryption.
    findings.push(Finding {
        topic: "disk_encryption".into(),
        question: "Was full-disk encryption on?".into(),
        answer: match (facts.disk_encryption.as_str(), facts.status_seq) {
            ("on", Some(q)) => format!("Yes (record #{q})."),
            ("off", Some(q)) => format!(
                "No (record #{q}). The files in the vault are encrypted by Coffer, but copies outside protected folders, application caches, swap and the disk blocks of deleted plaintext were not encrypted."
            ),
            (_, Some(q)) => format!("Could not be determined on the laptop (record #{q})."),
            (_, None) => "No status record before the loss states it.".into(),
        },
        proof: facts.status_seq.into_iter().collect(),
        assessment: match facts.disk_encryption.as_str() {
            "on" => Assessment::Good,
            "off" => Assessment::Warning,
            _ => Assessment::Unknown,
        },
    });

    // 7. Escrow.
    findings.push(Finding {
        topic: "escrow".into(),
        question: "Were the keys escrowed with the organisation?".into(),
        answer: match (facts.escrow, facts.status_seq) {
            (Some(true), Some(q)) => format!(
                "Yes (record #{q}): an organisation escrow slot existed, so the organisation can recover the vault with its escrow private key, which is not on the laptop. That key must stay in the organisation's custody for the files to stay unreadable."
            ),
            (Some(false), Some(q)) => format!(
                "No (record #{q}): no organisation escrow slot; only the user's own credentials open the vault."
            ),
            _ => "No status record before the loss states it.".into(),
        },
        proof: facts.status_seq.into_iter().collect(),
        assessment: Assessment::Info,
    });

    // 8. How complete the evidence is.
    let last = records.iter().max_by_key(|r| r.seq);
    facts.last_record_seq = last.map(|r| r.seq);
    facts.last_record_at = last.map(|r| r.ts.clone());
    if let Some(l) = last {
        let gap = parse_ts(&l.ts).map(|t| lost_at.as_second() - t.as_second());
        let (answer, assessment) = match gap {
            Some(g) if g < 0 => (
                format!(
                    "The shipped records continue past the loss, up to record #{} at {}, so they cover the moment of loss.",
                    l.seq,
                    human_time(&l.ts)
                ),
                Assessment::Good,
            ),
            Some(g) => {
                caveats.push(format!(
                    "The evidence ends at {} (record #{}), {} before the loss: the verdict rests on the laptop's state as last shipped.",
                    human_time(&l.ts),
                    l.seq,
                    human_duration(g)
                ));
                (
                    format!(
                        "The last shipped record is #{} at {}, {} before the loss. Anything the laptop recorded after it — for example an unlock while it could not reach the log store — is missing from this evidence.",
                        l.seq,
                        human_time(&l.ts),
                        human_duration(g)
                    ),
                    Assessment::Warning,
                )
            }
            None => (
                format!(
                    "The last shipped record is #{}; its time cannot be read.",
                    l.seq
                ),
                Assessment::Unknown,
            ),
        };
        findings.push(Finding {
            topic: "evidence".into(),
            question: "How complete is the evidence?".into(),
            answer,
            proof: vec![l.seq],
            assessment,
        });
    }
    if before.is_empty() && !records.is_empty() {
        unknowns.push("no shipped record is dated before the loss".into());
    }

    // 9. After the loss.
    if !after.is_empty() {
        let opens: Vec<u64> = after
            .iter()
            .filter(|r| OPENS.contains(&r.event.as_str()))
            .map(|r| r.seq)
            .collect();
        let failed: Vec<u64> = after
            .iter()
            .filter(|r| r.event == "unlock_failed")
            .map(|r| r.seq)
            .collect();
        let mut answer = format!(
            "{} record(s) are dated after the loss (from record #{}).",
            after.len(),
            after[0].seq
        );
        let mut proof = Vec::new();
        let assessment = if !opens.is_empty() {
            let _ = write!(
                answer,
                " The vault was UNLOCKED after the loss ({}): unless the laptop was back in the clinic's hands by then, whoever held it had a working credential, and the keys must be treated as compromised.",
                records_ref(&opens, 8)
            );
            proof.extend(&opens);
            unknowns.push(format!(
                "the vault was unlocked after the reported time of loss ({}): either the time of loss is wrong, the laptop had been recovered, or someone holding it had a credential",
                records_ref(&opens, 8)
            ));
            Assessment::Bad
        } else {
            Assessment::Info
        };
        if !failed.is_empty() {
            let _ = write!(
                answer,
                " {} failed unlock attempt(s) after the loss ({}): someone tried to open the vault without the credential.",
                failed.len(),
                records_ref(&failed, 8)
            );
            proof.extend(&failed);
        }
        if proof.is_empty() {
            proof.push(after[0].seq);
        }
        findings.push(Finding {
            topic: "after_loss".into(),
            question: "Did anything happen after the loss?".into(),
            answer,
            proof,
            assessment,
        });
    }

    let integrity: Vec<u64> = before
        .iter()
        .filter(|r| r.event == "integrity_failure")
        .map(|r| r.seq)
        .collect();
    if !integrity.is_empty() {
        caveats.push(format!(
            "Integrity failures were recorded before the loss ({}): some objects failed authentication (damage or tampering; no plaintext is released from such objects).",
            records_ref(&integrity, 8)
        ));
    }

    let last_at = facts
        .last_record_at
        .as_deref()
        .map(human_time)
        .unwrap_or_else(|| "nothing".into());
    let (verdict, verdict_text, reasons) = if !fails.is_empty() {
        let mut r = fails;
        r.extend(unknowns);
        (
            Verdict::DoesNotHold,
            "Safe harbor does NOT hold: the records show the data was readable when the laptop was lost.".to_owned(),
            r,
        )
    } else if !unknowns.is_empty() {
        (
            Verdict::CannotBeEstablished,
            "Safe harbor cannot be established from this evidence.".to_owned(),
            unknowns,
        )
    } else {
        (
            Verdict::Holds,
            format!(
                "Safe harbor holds, on the evidence shipped up to {last_at}: the vault was locked and its files encrypted when the laptop was lost."
            ),
            goods,
        )
    };

    IncidentReport {
        generated_at: Timestamp::now().to_string(),
        device: device.to_owned(),
        hosts: hosts.into_iter().map(str::to_owned).collect(),
        vaults: vaults.into_iter().map(str::to_owned).collect(),
        lost_at: lost_at.to_string(),
        verdict,
        verdict_text,
        reasons,
        chain,
        findings,
        caveats,
        limits: incident_limits(),
        facts,
    }
}

fn incident_limits() -> Vec<String> {
    [
        "This report rests on the records the laptop shipped. It cannot show what happened after the last shipped record: records ship on every write while the log store is reachable, and queue on the laptop while it is not.",
        "Times are the laptop's own clock.",
        "Safe harbor also requires that the keys were not compromised. A passphrase written down, shared or phished, or a recovery key kept with the laptop, defeats it; no record can show that.",
        "While the vault is unlocked, files are readable to the user and to any malware in the session. An unlocked session before the loss could have copied files; this report cannot show that.",
        "A locked vault protects the files inside it. Copies outside protected folders, email attachments, application caches and swap are covered only by full-disk encryption.",
    ]
    .into_iter()
    .map(str::to_owned)
    .collect()
}

impl IncidentReport {
    /// The report in `format` (JSON, HTML or PDF; a CSV has no place for
    /// findings and their evidence).
    pub fn render(&self, format: ReportFormat) -> Result<Vec<u8>> {
        match format {
            ReportFormat::Json => Ok(self.to_json().into_bytes()),
            ReportFormat::Html => Ok(self.to_html().into_bytes()),
            ReportFormat::Pdf => Ok(self.to_pdf()),
            ReportFormat::Csv => Err(Error::Invalid(
                "an incident report is written as json, html or pdf".into(),
            )),
        }
    }

    /// The whole report as pretty-printed JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("reports serialize")
    }

    fn meta(&self) -> Vec<(String, String)> {
        let mut m = vec![
            (
                "Device".to_owned(),
                if self.hosts.is_empty() {
                    self.device.clone()
                } else {
                    format!("{} ({})", self.device, self.hosts.join(", "))
                },
            ),
            ("Vault".to_owned(), self.vaults.join(", ")),
            ("Lost or stolen at".to_owned(), human_time(&self.lost_at)),
        ];
        m.push((
            "Evidence up to".to_owned(),
            match (&self.facts.last_record_seq, &self.facts.last_record_at) {
                (Some(q), Some(t)) => format!("record #{q}, {}", human_time(t)),
                _ => "no record".into(),
            },
        ));
        m.push(("Generated".to_owned(), human_time(&self.generated_at)));
        m
    }

    fn verdict_class(&self) -> &'static str {
        match self.verdict {
            Verdict::Holds => "good",
            Verdict::DoesNotHold => "bad",
            Verdict::CannotBeEstablished => "unknown",
        }
    }

    /// A self-contained HTML page (inline CSS, no scripts, no external
    /// assets); every text is escaped.
    pub fn to_html(&self) -> String {
        let mut b = String::new();
        b.push_str("<h1>Coffer incident report: lost or stolen laptop</h1><table class=\"meta\">");
        for (k, v) in self.meta() {
            meta_row(&mut b, &k, &v);
        }
        b.push_str("</table>");
        let _ = write!(
            b,
            "<div class=\"status {} verdict\"><div class=\"label\">Verdict: {}</div><div class=\"headline\">{}</div><ul>",
            self.verdict_class(),
            self.verdict.as_str(),
            esc(&self.verdict_text)
        );
        for r in &self.reasons {
            let _ = write!(b, "<li>{}</li>", esc(r));
        }
        b.push_str("</ul></div>");
        let cls = if self.chain.ok { "good" } else { "bad" };
        let _ = write!(
            b,
            "<div class=\"status {cls}\"><strong>Audit chain of the shipped copy:</strong> {}</div>",
            esc(&self.chain.statement)
        );
        b.push_str("<h2>Findings</h2><table class=\"data findings\"><tr><th>Question</th><th></th><th>Finding</th><th>Proof</th></tr>");
        for f in &self.findings {
            let cls = match f.assessment {
                Assessment::Good => "good",
                Assessment::Bad => "bad",
                Assessment::Unknown | Assessment::Warning => "unknown",
                Assessment::Info => "info",
            };
            let proof = if f.proof.is_empty() {
                "—".to_owned()
            } else {
                records_ref(&f.proof, 12)
            };
            let _ = write!(
                b,
                "<tr><td><strong>{}</strong></td><td><span class=\"tag {cls}\">{}</span></td><td>{}</td><td class=\"nowrap\">{}</td></tr>",
                esc(&f.question),
                f.assessment.label(),
                esc(&f.answer),
                esc(&proof)
            );
        }
        b.push_str("</table>");
        if !self.caveats.is_empty() {
            b.push_str("<h2>Caveats</h2><ul>");
            for c in &self.caveats {
                let _ = write!(b, "<li>{}</li>", esc(c));
            }
            b.push_str("</ul>");
        }
        b.push_str("<h2>What this report cannot prove</h2><ul>");
        for c in &self.limits {
            let _ = write!(b, "<li>{}</li>", esc(c));
        }
        b.push_str("</ul>");
        html_page("Coffer incident report", &b)
    }

    /// A PDF (A4 portrait, Helvetica): verdict first, then each finding with
    /// the records that prove it, caveats and limits.
    pub fn to_pdf(&self) -> Vec<u8> {
        use pdf::{Doc, Font};
        let mut d = Doc::new(false, "Coffer incident report");
        d.title("Coffer incident report: lost or stolen laptop");
        d.key_values(&self.meta(), 110.0);
        d.space(6.0);
        let colour = match self.verdict {
            Verdict::Holds => pdf::GOOD,
            Verdict::DoesNotHold => pdf::BAD,
            Verdict::CannotBeEstablished => pdf::UNKNOWN,
        };
        let mut body = self.verdict_text.clone();
        for r in &self.reasons {
            body.push_str("\n• ");
            body.push_str(r);
        }
        d.status_box(
            &format!("Verdict: {}", self.verdict.as_str()).to_uppercase(),
            &body,
            colour,
            15.0,
        );
        d.status_box(
            "Audit chain of the shipped copy",
            &self.chain.statement,
            if self.chain.ok { pdf::GOOD } else { pdf::BAD },
            12.0,
        );
        d.heading("Findings");
        for f in &self.findings {
            let c = match f.assessment {
                Assessment::Good => pdf::GOOD,
                Assessment::Bad => pdf::BAD,
                Assessment::Unknown | Assessment::Warning => pdf::UNKNOWN,
                Assessment::Info => pdf::INFO,
            };
            let proof = if f.proof.is_empty() {
                "Proof: none in the records".to_owned()
            } else {
                format!("Proof: {}", records_ref(&f.proof, 12))
            };
            d.finding(&f.question, f.assessment.label(), c, &f.answer, &proof);
        }
        if !self.caveats.is_empty() {
            d.heading("Caveats");
            for c in &self.caveats {
                d.paragraph(&format!("• {c}"), Font::Regular, 9.5, pdf::BLACK);
                d.space(2.0);
            }
        }
        d.heading("What this report cannot prove");
        for c in &self.limits {
            d.paragraph(&format!("• {c}"), Font::Regular, 9.5, pdf::BLACK);
            d.space(2.0);
        }
        d.finish("Coffer incident report")
    }
}

// ---------------------------------------------------------------------------
// HTML
// ---------------------------------------------------------------------------

/// Escapes text for HTML content and attribute values.
fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            _ => o.push(c),
        }
    }
    o
}

fn meta_row(b: &mut String, k: &str, v: &str) {
    let _ = write!(b, "<tr><th>{}</th><td>{}</td></tr>", esc(k), esc(v));
}

const CSS: &str = "\
body{font-family:-apple-system,'Segoe UI',Helvetica,Arial,sans-serif;color:#1a1a1a;max-width:1180px;margin:2em auto;padding:0 1em;line-height:1.45}\
h1{font-size:1.6em;margin:0 0 .4em}h2{font-size:1.2em;margin-top:1.6em;border-bottom:1px solid #ccc;padding-bottom:.2em}\
table.meta th{text-align:left;font-weight:600;padding:.1em 1.2em .1em 0;color:#444;vertical-align:top}table.meta td{padding:.1em 0}\
.status{border:2px solid;border-radius:6px;padding:.8em 1em;margin:1em 0}\
.good{border-color:#2e7d32;background:#e8f5e9}.bad{border-color:#c62828;background:#ffebee}\
.unknown{border-color:#ef6c00;background:#fff3e0}.info{border-color:#546e7a;background:#eceff1}\
.verdict .label{font-size:1.4em;font-weight:800;text-transform:uppercase;letter-spacing:.02em}.verdict .headline{font-size:1.1em;font-weight:600;margin-top:.2em}.verdict ul{margin:.4em 0 0}\
.note{color:#555;font-size:.92em}\
.cols{display:flex;gap:2em;flex-wrap:wrap;align-items:flex-start}.cols table.data{width:auto;min-width:18em}\
table.data{border-collapse:collapse;width:100%;font-size:.9em}\
table.data th{background:#eceff1;text-align:left}table.data th,table.data td{border:1px solid #cfd8dc;padding:.3em .5em;vertical-align:top}\
table.data tr:nth-child(even) td{background:#fafafa}tr.unverified td{background:#fff3e0!important}\
.num{text-align:right}.nowrap{white-space:nowrap}\
.mono{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.85em;word-break:break-all}\
.tag{display:inline-block;border:1px solid;border-radius:4px;padding:0 .4em;font-size:.85em;font-weight:600}\
@media print{body{margin:0;max-width:none}.status{break-inside:avoid}tr{break-inside:avoid}}";

fn html_page(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{}</title><style>{CSS}</style></head><body>{body}</body></html>\n",
        esc(title)
    )
}

/// The fleet view (`coffer audit fleet --format html`): one row per device,
/// non-compliant and never-reporting devices first, for IT to act on.
pub fn fleet_html(devices: &[crate::fleet::DeviceSummary], generated_at: &str) -> String {
    let mut rows: Vec<&crate::fleet::DeviceSummary> = devices.iter().collect();
    rows.sort_by_key(|d| (d.compliant == Some(true) && d.chain_ok, d.device.clone()));
    let ok = devices
        .iter()
        .filter(|d| d.compliant == Some(true) && d.chain_ok)
        .count();
    let mut b = String::from("<h1>Coffer fleet compliance</h1><table class=\"meta\">");
    meta_row(&mut b, "Generated", generated_at);
    meta_row(&mut b, "Devices", &devices.len().to_string());
    meta_row(&mut b, "Compliant", &format!("{ok} of {}", devices.len()));
    b.push_str("</table>");
    let (class, text) = if ok == devices.len() && !devices.is_empty() {
        ("good", "Every device complied at its last status record.")
    } else if devices.is_empty() {
        (
            "unknown",
            "No device has shipped records to this folder yet.",
        )
    } else {
        (
            "bad",
            "Some devices do not comply, never reported a status, or their log does not verify: see below.",
        )
    };
    let _ = write!(b, "<div class=\"status {class}\">{}</div>", esc(text));
    b.push_str(
        "<table class=\"data\"><tr><th>Device</th><th>Host</th><th>Last seen</th>\
         <th>Compliant</th><th>Log chain</th><th>Disk encryption</th><th>Key version</th>\
         <th class=\"num\">Files</th><th>Problems</th></tr>",
    );
    for d in rows {
        let compliant = match d.compliant {
            Some(true) => "<span class=\"tag\" style=\"color:#2e7d32\">yes</span>",
            Some(false) => "<span class=\"tag\" style=\"color:#c62828\">NO</span>",
            None => "<span class=\"tag\" style=\"color:#ef6c00\">never reported</span>",
        };
        let chain = if d.chain_ok {
            "verifies"
        } else {
            "<b style=\"color:#c62828\">BROKEN</b>"
        };
        let _ = write!(
            b,
            "<tr><td class=\"mono\">{}</td><td>{}</td><td class=\"nowrap\">{}</td><td>{compliant}</td>\
             <td>{chain}</td><td>{}</td><td>{}</td><td class=\"num\">{}</td><td>{}</td></tr>",
            esc(&d.device),
            esc(&d.host),
            esc(&human_time(&d.last_seen)),
            esc(d.disk_encryption.as_deref().unwrap_or("unknown")),
            d.key_version.map_or("–".into(), |v| v.to_string()),
            d.objects.map_or("–".into(), |v| v.to_string()),
            esc(&d.problems.join("; ")),
        );
    }
    b.push_str("</table>");
    html_page("Coffer fleet compliance", &b)
}

// ---------------------------------------------------------------------------
// PDF
// ---------------------------------------------------------------------------

/// A small page-layout layer over `pdf-writer`: the standard Helvetica
/// fonts (nothing embedded), wrapped paragraphs, coloured boxes and tables
/// that continue on new pages with their header repeated.
mod pdf {
    use pdf_writer::{Content, Name, Pdf, Rect, Ref, Str, TextStr};

    /// An RGB colour.
    pub type Rgb = (f32, f32, f32);
    pub const BLACK: Rgb = (0.1, 0.1, 0.1);
    pub const GREY: Rgb = (0.35, 0.35, 0.35);
    pub const GOOD: Rgb = (0.18, 0.49, 0.2);
    pub const BAD: Rgb = (0.78, 0.16, 0.16);
    pub const UNKNOWN: Rgb = (0.85, 0.42, 0.0);
    pub const INFO: Rgb = (0.33, 0.43, 0.48);

    const MARGIN: f32 = 40.0;
    const FOOTER: f32 = 28.0;
    const MAX_CELL_LINES: usize = 12;

    #[derive(Clone, Copy, PartialEq, Eq)]
    pub enum Font {
        Regular,
        Bold,
    }

    impl Font {
        fn name(self) -> Name<'static> {
            match self {
                Font::Regular => Name(b"F1"),
                Font::Bold => Name(b"F2"),
            }
        }
    }

    /// Helvetica advance widths (1/1000 em) for WinAnsi codes 32..=126.
    const HELVETICA: [u16; 95] = [
        278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333, 278, 278, 556, 556,
        556, 556, 556, 556, 556, 556, 556, 556, 278, 278, 584, 584, 584, 556, 1015, 667, 667, 722,
        722, 667, 611, 778, 722, 278, 500, 667, 556, 833, 722, 778, 667, 778, 722, 667, 611, 722,
        667, 944, 667, 667, 611, 278, 278, 278, 469, 556, 333, 556, 556, 500, 556, 556, 278, 556,
        556, 222, 222, 500, 222, 833, 556, 556, 556, 556, 333, 500, 278, 556, 500, 722, 500, 500,
        500, 334, 260, 334, 584,
    ];
    /// Helvetica-Bold advance widths for WinAnsi codes 32..=126.
    const HELVETICA_BOLD: [u16; 95] = [
        278, 333, 474, 556, 556, 889, 722, 238, 333, 333, 389, 584, 278, 333, 278, 278, 556, 556,
        556, 556, 556, 556, 556, 556, 556, 556, 333, 333, 584, 584, 584, 611, 975, 722, 722, 722,
        722, 667, 611, 778, 722, 278, 556, 722, 611, 833, 722, 778, 667, 778, 722, 667, 611, 722,
        667, 944, 667, 667, 611, 333, 278, 333, 584, 556, 333, 556, 611, 556, 611, 556, 333, 611,
        611, 278, 278, 556, 278, 889, 611, 611, 611, 611, 389, 556, 333, 611, 556, 778, 556, 556,
        500, 389, 280, 389, 584,
    ];

    /// Text in WinAnsiEncoding: ASCII and Latin-1 as they are, a few
    /// typographic marks mapped, anything else shown as `?`.
    fn encode(s: &str) -> Vec<u8> {
        s.chars()
            .map(|c| match c {
                ' '..='~' => c as u8,
                '\u{a0}'..='\u{ff}' => c as u32 as u8,
                '€' => 0x80,
                '…' => 0x85,
                '•' => 0x95,
                '–' => 0x96,
                '—' => 0x97,
                '‘' => 0x91,
                '’' => 0x92,
                '“' => 0x93,
                '”' => 0x94,
                '™' => 0x99,
                '\t' => b' ',
                _ => b'?',
            })
            .collect()
    }

    fn glyph_width(b: u8, font: Font) -> u16 {
        let table = match font {
            Font::Regular => &HELVETICA,
            Font::Bold => &HELVETICA_BOLD,
        };
        match b {
            32..=126 => table[usize::from(b - 32)],
            0x85 | 0x97 | 0x99 => 1000,
            0x95 => 350,
            0x91 | 0x92 => 222,
            0x93 | 0x94 => 333,
            _ => 556,
        }
    }

    /// Width of `s` in points.
    pub fn width(s: &str, font: Font, size: f32) -> f32 {
        encode(s)
            .iter()
            .map(|b| f32::from(glyph_width(*b, font)))
            .sum::<f32>()
            * size
            / 1000.0
    }

    /// Greedy word wrap to `max` points; words longer than a line are
    /// broken between characters. `\n` starts a new line.
    pub fn wrap(s: &str, font: Font, size: f32, max: f32) -> Vec<String> {
        let mut lines = Vec::new();
        for para in s.split('\n') {
            let mut line = String::new();
            for word in para.split(' ').filter(|w| !w.is_empty()) {
                let candidate = if line.is_empty() {
                    word.to_owned()
                } else {
                    format!("{line} {word}")
                };
                if width(&candidate, font, size) <= max {
                    line = candidate;
                    continue;
                }
                if !line.is_empty() {
                    lines.push(std::mem::take(&mut line));
                }
                // The word alone: break it if it is too long.
                for c in word.chars() {
                    let mut next = line.clone();
                    next.push(c);
                    if width(&next, font, size) > max && !line.is_empty() {
                        lines.push(std::mem::take(&mut line));
                        line.push(c);
                    } else {
                        line = next;
                    }
                }
            }
            lines.push(line);
        }
        lines
    }

    fn put_text(
        c: &mut Content,
        x: f32,
        baseline: f32,
        font: Font,
        size: f32,
        colour: Rgb,
        s: &str,
    ) {
        let bytes = encode(s);
        c.set_fill_rgb(colour.0, colour.1, colour.2);
        c.begin_text();
        c.set_font(font.name(), size);
        c.next_line(x, baseline);
        c.show(Str(&bytes));
        c.end_text();
    }

    /// Like [`wrap`], but a paragraph starting with "• " hangs: its
    /// continuation lines are indented past the bullet. Each line comes
    /// with its x offset.
    pub fn wrap_hanging(s: &str, font: Font, size: f32, max: f32) -> Vec<(f32, String)> {
        let mut out = Vec::new();
        for para in s.split('\n') {
            match para.strip_prefix("• ") {
                Some(rest) => {
                    let indent = width("• ", font, size);
                    for (i, l) in wrap(rest, font, size, max - indent).into_iter().enumerate() {
                        if i == 0 {
                            out.push((0.0, format!("• {l}")));
                        } else {
                            out.push((indent, l));
                        }
                    }
                }
                None => out.extend(wrap(para, font, size, max).into_iter().map(|l| (0.0, l))),
            }
        }
        out
    }

    /// A document being laid out, page by page.
    pub struct Doc {
        w: f32,
        h: f32,
        pages: Vec<Content>,
        y: f32,
        footer: String,
    }

    impl Doc {
        /// A4, landscape or portrait; `footer` is printed on every page.
        pub fn new(landscape: bool, footer: &str) -> Self {
            let (w, h) = if landscape {
                (842.0, 595.0)
            } else {
                (595.0, 842.0)
            };
            let mut d = Doc {
                w,
                h,
                pages: Vec::new(),
                y: 0.0,
                footer: footer.to_owned(),
            };
            d.new_page();
            d
        }

        /// Width between the margins.
        pub fn usable_width(&self) -> f32 {
            self.w - 2.0 * MARGIN
        }

        fn new_page(&mut self) {
            self.pages.push(Content::new());
            self.y = self.h - MARGIN;
        }

        fn c(&mut self) -> &mut Content {
            self.pages.last_mut().expect("a page")
        }

        /// Starts a new page unless `h` points fit on this one.
        fn ensure(&mut self, h: f32) -> bool {
            if self.y - h < MARGIN + FOOTER {
                self.new_page();
                true
            } else {
                false
            }
        }

        /// Vertical space.
        pub fn space(&mut self, h: f32) {
            self.y -= h;
        }

        fn text(&mut self, x: f32, baseline: f32, font: Font, size: f32, colour: Rgb, s: &str) {
            put_text(self.c(), x, baseline, font, size, colour, s);
        }

        fn fill_rect(&mut self, x: f32, y: f32, w: f32, h: f32, colour: Rgb) {
            let c = self.c();
            c.set_fill_rgb(colour.0, colour.1, colour.2);
            c.rect(x, y, w, h);
            c.fill_nonzero();
        }

        fn stroke_rect(&mut self, x: f32, y: f32, w: f32, h: f32, colour: Rgb, lw: f32) {
            let c = self.c();
            c.set_stroke_rgb(colour.0, colour.1, colour.2);
            c.set_line_width(lw);
            c.rect(x, y, w, h);
            c.stroke();
        }

        fn hline(&mut self, x1: f32, x2: f32, y: f32, colour: Rgb, lw: f32) {
            let c = self.c();
            c.set_stroke_rgb(colour.0, colour.1, colour.2);
            c.set_line_width(lw);
            c.move_to(x1, y);
            c.line_to(x2, y);
            c.stroke();
        }

        /// The document title.
        pub fn title(&mut self, s: &str) {
            let size = 18.0;
            for line in wrap(s, Font::Bold, size, self.usable_width()) {
                self.ensure(size * 1.3);
                self.y -= size;
                self.text(MARGIN, self.y, Font::Bold, size, BLACK, &line);
                self.y -= size * 0.3;
            }
            self.y -= 6.0;
        }

        /// A section heading with a rule under it.
        pub fn heading(&mut self, s: &str) {
            let size = 13.0;
            self.ensure(size * 1.5 + 40.0);
            self.y -= 8.0 + size;
            self.text(MARGIN, self.y, Font::Bold, size, BLACK, s);
            self.y -= 4.0;
            let (x2, y) = (self.w - MARGIN, self.y);
            self.hline(MARGIN, x2, y, (0.75, 0.75, 0.75), 0.6);
            self.y -= 8.0;
        }

        /// A wrapped paragraph over the full width.
        pub fn paragraph(&mut self, s: &str, font: Font, size: f32, colour: Rgb) {
            let lead = size * 1.3;
            for (dx, line) in wrap_hanging(s, font, size, self.usable_width()) {
                self.ensure(lead);
                self.y -= lead;
                self.text(
                    MARGIN + dx,
                    self.y + (lead - size) * 0.6,
                    font,
                    size,
                    colour,
                    &line,
                );
            }
        }

        /// "Key:  value" lines, values wrapped beside a bold key column.
        pub fn key_values(&mut self, kv: &[(String, String)], key_w: f32) {
            let size = 10.0;
            let lead = size * 1.35;
            let vw = self.usable_width() - key_w;
            for (k, v) in kv {
                let lines = wrap(v, Font::Regular, size, vw);
                self.ensure(lead * lines.len() as f32);
                self.y -= lead;
                self.text(MARGIN, self.y, Font::Bold, size, GREY, k);
                for (i, l) in lines.iter().enumerate() {
                    if i > 0 {
                        self.y -= lead;
                    }
                    self.text(MARGIN + key_w, self.y, Font::Regular, size, BLACK, l);
                }
            }
            self.y -= 4.0;
        }

        /// A box with a coloured border and tint: a bold headline and a
        /// wrapped body (paragraphs split by `\n`; "• " items hang).
        pub fn status_box(&mut self, headline: &str, body: &str, colour: Rgb, hs: f32) {
            let pad = 8.0;
            let inner = self.usable_width() - 2.0 * pad - 6.0;
            let bs = 10.0;
            let head = wrap(headline, Font::Bold, hs, inner);
            let lines = if body.is_empty() {
                Vec::new()
            } else {
                wrap_hanging(body, Font::Regular, bs, inner)
            };
            let h = 2.0 * pad + head.len() as f32 * hs * 1.3 + lines.len() as f32 * bs * 1.35;
            self.ensure(h + 8.0);
            let top = self.y - 4.0;
            let tint = (
                1.0 - (1.0 - colour.0) * 0.1,
                1.0 - (1.0 - colour.1) * 0.1,
                1.0 - (1.0 - colour.2) * 0.1,
            );
            let uw = self.usable_width();
            self.fill_rect(MARGIN, top - h, uw, h, tint);
            self.fill_rect(MARGIN, top - h, 5.0, h, colour);
            self.stroke_rect(MARGIN, top - h, uw, h, colour, 1.0);
            let x = MARGIN + 6.0 + pad;
            let mut y = top - pad;
            for l in &head {
                y -= hs * 1.3;
                self.text(x, y + hs * 0.25, Font::Bold, hs, colour, l);
            }
            for (dx, l) in &lines {
                y -= bs * 1.35;
                self.text(x + dx, y + bs * 0.3, Font::Regular, bs, BLACK, l);
            }
            self.y = top - h - 8.0;
        }

        /// One finding: a tag, the question in bold, the answer, the proof.
        pub fn finding(
            &mut self,
            question: &str,
            tag: &str,
            colour: Rgb,
            answer: &str,
            proof: &str,
        ) {
            let tag_w = 58.0;
            let x = MARGIN + tag_w + 6.0;
            let w = self.usable_width() - tag_w - 6.0;
            let q = wrap(question, Font::Bold, 10.5, w);
            let a = wrap(answer, Font::Regular, 9.5, w);
            let p = wrap(proof, Font::Regular, 8.5, w);
            // Keep a finding on one page when it fits on one.
            let whole = q.len() as f32 * 14.0 + a.len() as f32 * 13.0 + p.len() as f32 * 12.0;
            let page = self.h - 2.0 * MARGIN - FOOTER;
            let first = q.len() as f32 * 14.0 + 13.0f32.min(a.len() as f32 * 13.0);
            self.ensure(if whole + 10.0 < page {
                whole + 10.0
            } else {
                first + 6.0
            });
            self.y -= 4.0;
            // Tag.
            let top = self.y;
            self.fill_rect(MARGIN, top - 14.0, tag_w, 13.0, colour);
            let tw = width(tag, Font::Bold, 8.5);
            self.text(
                MARGIN + (tag_w - tw) / 2.0,
                top - 10.5,
                Font::Bold,
                8.5,
                (1.0, 1.0, 1.0),
                tag,
            );
            for l in &q {
                self.y -= 14.0;
                self.text(x, self.y + 3.5, Font::Bold, 10.5, BLACK, l);
            }
            for l in &a {
                if self.ensure(13.0) {
                    self.y -= 4.0;
                }
                self.y -= 13.0;
                self.text(x, self.y + 3.0, Font::Regular, 9.5, BLACK, l);
            }
            for l in &p {
                self.ensure(12.0);
                self.y -= 12.0;
                self.text(x, self.y + 3.0, Font::Regular, 8.5, GREY, l);
            }
            self.y -= 6.0;
        }

        /// A table with wrapped cells; the header repeats on each page.
        /// `cols` are (title, width in points).
        pub fn table(&mut self, cols: &[(&str, f32)], rows: &[Vec<String>], size: f32) {
            self.table_at(MARGIN, cols, rows, size);
        }

        /// Two tables side by side, both starting here; the second one
        /// starts `gap` points right of the first.
        pub fn tables_side_by_side(
            &mut self,
            left: (&[(&str, f32)], &[Vec<String>]),
            right: (&[(&str, f32)], &[Vec<String>]),
            gap: f32,
            size: f32,
        ) {
            let (page, y0) = (self.pages.len(), self.y);
            self.table_at(MARGIN, left.0, left.1, size);
            let (page_l, y_l) = (self.pages.len(), self.y);
            let x = MARGIN + left.0.iter().map(|c| c.1).sum::<f32>() + gap;
            if page_l == page {
                // The left one fitted on this page: start the right one beside it.
                self.y = y0;
                self.table_at(x, right.0, right.1, size);
                if self.pages.len() == page {
                    self.y = self.y.min(y_l);
                }
            } else {
                self.table_at(MARGIN, right.0, right.1, size);
            }
        }

        fn table_at(&mut self, x0: f32, cols: &[(&str, f32)], rows: &[Vec<String>], size: f32) {
            let pad = 3.0;
            let lead = size * 1.25;
            let total: f32 = cols.iter().map(|c| c.1).sum();
            let header = |d: &mut Doc| {
                let h = lead + 2.0 * pad;
                let top = d.y;
                d.fill_rect(x0, top - h, total, h, (0.88, 0.9, 0.92));
                let mut x = x0;
                for (t, w) in cols {
                    d.text(x + pad, top - pad - size, Font::Bold, size, BLACK, t);
                    x += w;
                }
                d.y -= h;
            };
            self.ensure(2.0 * (lead + 2.0 * pad));
            header(self);
            for (i, row) in rows.iter().enumerate() {
                let cells: Vec<Vec<String>> = cols
                    .iter()
                    .zip(row)
                    .map(|((_, w), s)| {
                        let mut l = wrap(s, Font::Regular, size, w - 2.0 * pad);
                        if l.len() > MAX_CELL_LINES {
                            l.truncate(MAX_CELL_LINES);
                            if let Some(last) = l.last_mut() {
                                last.push('…');
                            }
                        }
                        l
                    })
                    .collect();
                let n = cells.iter().map(Vec::len).max().unwrap_or(1).max(1);
                let h = n as f32 * lead + 2.0 * pad;
                if self.ensure(h) {
                    header(self);
                }
                let top = self.y;
                if i % 2 == 1 {
                    self.fill_rect(x0, top - h, total, h, (0.965, 0.97, 0.975));
                }
                let mut x = x0;
                for (ci, lines) in cells.iter().enumerate() {
                    for (li, l) in lines.iter().enumerate() {
                        self.text(
                            x + pad,
                            top - pad - size - li as f32 * lead,
                            Font::Regular,
                            size,
                            BLACK,
                            l,
                        );
                    }
                    x += cols[ci].1;
                }
                self.hline(x0, x0 + total, top - h, (0.8, 0.82, 0.85), 0.4);
                self.y -= h;
            }
        }

        /// Writes the pages, with "footer  |  page i of n" at the bottom.
        pub fn finish(mut self, title: &str) -> Vec<u8> {
            let n = self.pages.len();
            let footer = std::mem::take(&mut self.footer);
            for (i, page) in self.pages.iter_mut().enumerate() {
                let s = format!("{footer}  |  page {} of {n}", i + 1);
                let x = (self.w - width(&s, Font::Regular, 8.0)) / 2.0;
                put_text(page, x, MARGIN - 14.0, Font::Regular, 8.0, GREY, &s);
            }
            let mut pdf = Pdf::new();
            let catalog = Ref::new(1);
            let tree = Ref::new(2);
            let f1 = Ref::new(3);
            let f2 = Ref::new(4);
            let info = Ref::new(5);
            let page_ids: Vec<Ref> = (0..n).map(|i| Ref::new(6 + 2 * i as i32)).collect();
            pdf.catalog(catalog).pages(tree);
            pdf.pages(tree)
                .kids(page_ids.iter().copied())
                .count(n as i32);
            for (i, content) in self.pages.into_iter().enumerate() {
                let cid = Ref::new(7 + 2 * i as i32);
                let mut page = pdf.page(page_ids[i]);
                page.media_box(Rect::new(0.0, 0.0, self.w, self.h));
                page.parent(tree);
                page.contents(cid);
                page.resources()
                    .fonts()
                    .pair(Font::Regular.name(), f1)
                    .pair(Font::Bold.name(), f2);
                drop(page);
                pdf.stream(cid, &content.finish());
            }
            pdf.type1_font(f1)
                .base_font(Name(b"Helvetica"))
                .encoding_predefined(Name(b"WinAnsiEncoding"));
            pdf.type1_font(f2)
                .base_font(Name(b"Helvetica-Bold"))
                .encoding_predefined(Name(b"WinAnsiEncoding"));
            pdf.document_info(info)
                .title(TextStr(title))
                .producer(TextStr("Coffer"));
            pdf.finish()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::{AuditEvent, AuditLog, GENESIS, Identity, line_hash};
    use serde_json::{Map, json};

    const DEV: &str = "d1e2a3b4c5d6e7f8";
    const VAULT: &str = "0a0b0c0d0e0f00112233445566778899";
    const ID_A: &str = "aaaa0000000000000000000000000001";
    const ID_B: &str = "bbbb0000000000000000000000000002";
    const ID_C: &str = "cccc0000000000000000000000000003";

    /// A hash chain written by hand, with the times we choose.
    struct Chain {
        bytes: Vec<u8>,
        records: Vec<Record>,
        prev: String,
    }

    impl Chain {
        fn new() -> Self {
            Chain {
                bytes: Vec::new(),
                records: Vec::new(),
                prev: GENESIS.into(),
            }
        }

        fn push(&mut self, ts: &str, user: &str, event: &str, detail: Value) -> &mut Self {
            let r = Record {
                seq: self.records.len() as u64 + 1,
                ts: ts.into(),
                vault: VAULT.into(),
                device: DEV.into(),
                host: "frontdesk-3".into(),
                user: user.into(),
                event: event.into(),
                detail: match detail {
                    Value::Object(m) => m,
                    _ => Map::new(),
                },
                prev: self.prev.clone(),
            };
            let line = serde_json::to_vec(&r).unwrap();
            self.prev = line_hash(&line);
            self.bytes.extend_from_slice(&line);
            self.bytes.push(b'\n');
            self.records.push(r);
            self
        }

        fn lines(&self) -> Vec<Vec<u8>> {
            self.bytes
                .split(|b| *b == b'\n')
                .filter(|l| !l.is_empty())
                .map(<[u8]>::to_vec)
                .collect()
        }
    }

    fn status(objects: u64, key_version: u64, created: &str, fde: &str, escrow: bool) -> Value {
        let created: Timestamp = created.parse().unwrap();
        json!({
            "unlocked": false,
            "objects": objects,
            "stored_bytes": objects * 180_000,
            "cipher": "AES-256-GCM (64 KiB chunks, random key per file)",
            "key_wrap": "HPKE X25519/HKDF-SHA256/AES-256-GCM",
            "key_version": key_version,
            "key_version_created": created.as_second(),
            "kdf": {"alg": "argon2id", "m_kib": 262144, "t": 3, "p": 4},
            "slots": ["passphrase", "recovery", "keychain", "escrow"],
            "escrow": escrow,
            "protected_folders": 2,
            "rotation_in_progress": false,
            "disk_encryption": fde,
            "policy_source": "/etc/coffer/policy.toml",
            "policy_compliant": true,
            "policy_problems": [],
        })
    }

    /// Two days at the front desk: creation, a watcher start that finds
    /// three plaintext files and encrypts them, alice and bob opening
    /// files, a key rotation, a final status, everything locked by 17:00.
    fn clinic_day() -> Chain {
        let mut c = Chain::new();
        c.push("2026-03-01T08:00:00Z", "alice", "vault_created", json!({}))
            .push(
                "2026-03-01T08:00:00.5Z",
                "alice",
                "status",
                status(0, 1, "2026-03-01T08:00:00Z", "on", true),
            )
            .push(
                "2026-03-01T08:00:05Z",
                "alice",
                "lock",
                json!({"reason": "process_end"}),
            )
            .push(
                "2026-03-02T08:55:00Z",
                "alice",
                "plaintext_found",
                json!({"count": 3}),
            )
            .push(
                "2026-03-02T08:55:01Z",
                "alice",
                "status",
                status(40, 1, "2026-03-01T08:00:00Z", "on", true),
            )
            .push(
                "2026-03-02T08:55:04Z",
                "alice",
                "file_added",
                json!({"ids": [ID_A, ID_B, ID_C], "by": "watcher"}),
            )
            .push(
                "2026-03-02T09:10:00Z",
                "alice",
                "unlock",
                json!({"method": "passphrase"}),
            )
            .push(
                "2026-03-02T09:11:00Z",
                "alice",
                "file_opened",
                json!({"ids": [ID_A]}),
            )
            .push(
                "2026-03-02T09:30:00Z",
                "alice",
                "file_extracted",
                json!({"ids": [ID_B]}),
            )
            .push(
                "2026-03-02T09:31:00Z",
                "alice",
                "lock",
                json!({"reason": "manual"}),
            )
            .push(
                "2026-03-02T12:00:00Z",
                "bob",
                "unlock_failed",
                json!({"method": "passphrase"}),
            )
            .push(
                "2026-03-02T12:01:00Z",
                "bob",
                "unlock",
                json!({"method": "keychain"}),
            )
            .push(
                "2026-03-02T12:02:00Z",
                "bob",
                "file_opened",
                json!({"ids": [ID_C]}),
            )
            .push(
                "2026-03-02T12:05:00Z",
                "bob",
                "lock",
                json!({"reason": "process_end"}),
            )
            .push(
                "2026-03-02T12:59:00Z",
                "alice",
                "unlock",
                json!({"method": "passphrase"}),
            )
            .push(
                "2026-03-02T13:00:00Z",
                "alice",
                "rotation_started",
                json!({"kind": "rewrap", "key_version": 2}),
            )
            .push(
                "2026-03-02T13:01:00Z",
                "alice",
                "rotation_finished",
                json!({"kind": "rewrap", "key_version": 2, "files": 43, "destroyed_versions": [1]}),
            )
            .push(
                "2026-03-02T13:02:00Z",
                "alice",
                "lock",
                json!({"reason": "process_end"}),
            )
            .push(
                "2026-03-02T17:00:00Z",
                "alice",
                "status",
                status(43, 2, "2026-03-02T13:00:00Z", "on", true),
            );
        c
    }

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn page_count(pdf: &[u8]) -> usize {
        let pat = b"/Type /Page";
        pdf.windows(pat.len() + 1)
            .filter(|w| &w[..pat.len()] == pat && w[pat.len()] != b's')
            .count()
    }

    fn ok_chain(c: &Chain) -> ChainReport {
        let rep = verify_chain(&c.bytes, None);
        assert!(rep.ok(), "{rep:?}");
        rep
    }

    // ---- access report -------------------------------------------------

    #[test]
    fn access_report_rows_and_counts_over_the_whole_log() {
        let c = clinic_day();
        let rep = access_report(&c.records, &AccessQuery::default(), &ok_chain(&c), None);
        assert_eq!(rep.summary.records, 19);
        // One row per record, except the watcher's batch of three.
        assert_eq!(rep.rows.len(), 21);
        assert_eq!(rep.summary.rows, 21);
        assert_eq!(rep.summary.by_event["file_opened"], 2);
        assert_eq!(rep.summary.by_event["unlock"], 3);
        assert_eq!(rep.summary.by_event["lock"], 4);
        assert_eq!(rep.summary.by_user["bob"], 4);
        assert_eq!(rep.summary.by_user["alice"], 15);
        assert!(rep.rows.iter().all(|r| r.verified && r.file_name.is_none()));
        assert!(rep.chain.ok);
        assert!(
            rep.chain
                .statement
                .starts_with("Chain verified: all 19 records")
        );
        assert!(!rep.names_resolved);
        assert!(rep.names_note.starts_with("File ids only"));
        assert_eq!(rep.vaults, vec![VAULT.to_owned()]);
        assert_eq!(rep.devices[0].device, DEV);
        assert_eq!(rep.devices[0].hosts, vec!["frontdesk-3".to_owned()]);
        let unlock = rep.rows.iter().find(|r| r.event == "unlock").unwrap();
        assert_eq!(unlock.detail, "method: passphrase");
        let added: Vec<_> = rep
            .rows
            .iter()
            .filter(|r| r.event == "file_added")
            .collect();
        assert_eq!(added.len(), 3);
        assert_eq!(added[0].detail, "by watcher, batch of 3 files");
    }

    #[test]
    fn access_report_filters_by_period_user_and_file() {
        let c = clinic_day();
        let chain = ok_chain(&c);
        let q = AccessQuery {
            from: Some(ts("2026-03-02T09:00:00Z")),
            to: Some(ts("2026-03-02T09:31:00Z")),
            ..Default::default()
        };
        let rep = access_report(&c.records, &q, &chain, None);
        let events: Vec<&str> = rep.rows.iter().map(|r| r.event.as_str()).collect();
        // `to` is exclusive: the 09:31 lock is out.
        assert_eq!(events, ["unlock", "file_opened", "file_extracted"]);
        assert_eq!(rep.period.from.as_deref(), Some("2026-03-02T09:00:00Z"));
        assert_eq!(
            rep.period.first_record.as_deref(),
            Some("2026-03-02T09:10:00Z")
        );
        assert_eq!(
            rep.period.describe(),
            "2026-03-02 09:00:00 UTC to 2026-03-02 09:31:00 UTC"
        );

        let q = AccessQuery {
            user: Some("bob".into()),
            ..Default::default()
        };
        let rep = access_report(&c.records, &q, &chain, None);
        assert_eq!(rep.summary.records, 4);
        assert_eq!(rep.summary.by_user.len(), 1);
        assert_eq!(rep.summary.by_event["unlock_failed"], 1);

        // A file filter by id prefix keeps only that id's rows, even out of
        // a batch.
        let q = AccessQuery {
            file: Some("CCCC".into()),
            ..Default::default()
        };
        let rep = access_report(&c.records, &q, &chain, None);
        assert_eq!(rep.rows.len(), 2);
        assert!(rep.rows.iter().all(|r| r.file_id.as_deref() == Some(ID_C)));
        assert_eq!(rep.summary.by_event["file_added"], 1);
        assert_eq!(rep.summary.by_event["file_opened"], 1);
        assert_eq!(rep.filter_file.as_deref(), Some("cccc"));

        // A name filter needs the resolver (an unlocked vault) and matches
        // part of the name, whatever the case; without names nothing matches.
        let names = |id: &str| (id == ID_C).then(|| "Scans/Letter-Smith.pdf".to_owned());
        let q = AccessQuery {
            file_name: Some("letter-SMITH".into()),
            ..Default::default()
        };
        let rep = access_report(&c.records, &q, &chain, Some(&names));
        assert_eq!(rep.rows.len(), 2);
        assert!(rep.rows.iter().all(|r| r.file_id.as_deref() == Some(ID_C)));
        assert!(access_report(&c.records, &q, &chain, None).rows.is_empty());

        let q = AccessQuery {
            from: Some(ts("2027-01-01T00:00:00Z")),
            ..Default::default()
        };
        let rep = access_report(&c.records, &q, &chain, None);
        assert!(rep.rows.is_empty());
        assert!(rep.to_csv().lines().count() == 1);
        assert!(rep.to_pdf().starts_with(b"%PDF"));
    }

    #[test]
    fn csv_and_json_carry_the_rows_and_names_only_with_a_resolver() {
        let mut c = clinic_day();
        c.push(
            "2026-03-02T17:30:00Z",
            "=cmd|' /C calc'!A0",
            "file_opened",
            json!({"ids": [ID_A]}),
        );
        let chain = ok_chain(&c);
        let names = |id: &str| (id == ID_A).then(|| "Smith, John \"JS\" referral.pdf".to_owned());
        let rep = access_report(&c.records, &AccessQuery::default(), &chain, Some(&names));
        let csv = rep.to_csv();
        let mut lines = csv.lines();
        assert_eq!(
            lines.next().unwrap(),
            "seq,time,user,host,device,event,file_id,file_name,detail,verified"
        );
        assert_eq!(csv.lines().count(), 1 + rep.rows.len());
        let opened = csv
            .lines()
            .find(|l| l.starts_with("8,"))
            .expect("record 8 is a row");
        assert_eq!(
            opened,
            format!(
                "8,2026-03-02T09:11:00Z,alice,frontdesk-3,{DEV},file_opened,{ID_A},\"Smith, John \"\"JS\"\" referral.pdf\",,yes"
            )
        );
        // A user name a spreadsheet would run as a formula is defused.
        assert!(csv.contains(",'=cmd|' /C calc'!A0,"), "{csv}");
        // Removed or unknown ids resolve to nothing.
        assert!(
            rep.rows
                .iter()
                .any(|r| r.file_id.as_deref() == Some(ID_B) && r.file_name.is_none())
        );
        assert!(rep.names_resolved);
        assert!(rep.names_note.contains("protected health information"));

        let v: Value = serde_json::from_str(&rep.to_json()).unwrap();
        assert_eq!(v["summary"]["by_event"]["file_opened"], 3);
        assert_eq!(v["summary"]["records"], 20);
        assert_eq!(v["chain"]["ok"], true);
        assert_eq!(v["names_resolved"], true);
        assert_eq!(v["rows"][0]["event"], "vault_created");
        assert_eq!(v["rows"].as_array().unwrap().len(), rep.rows.len());

        // Without the resolver, no name reaches any format.
        let rep = access_report(&c.records, &AccessQuery::default(), &chain, None);
        for out in [rep.to_csv(), rep.to_json(), rep.to_html()] {
            assert!(!out.contains("Smith"));
        }
        assert!(!String::from_utf8_lossy(&rep.to_pdf()).contains("Smith"));
    }

    #[test]
    fn html_shows_the_chain_status_and_escapes_everything() {
        let mut c = clinic_day();
        c.push(
            "2026-03-02T17:30:00Z",
            "<script>alert(1)</script>",
            "unlock_failed",
            json!({"method": "pass\"phrase<b>"}),
        );
        let chain = ok_chain(&c);
        let names = |_: &str| Some("<img src=x onerror=alert(2)>.pdf".to_owned());
        let html =
            access_report(&c.records, &AccessQuery::default(), &chain, Some(&names)).to_html();
        assert!(html.starts_with("<!DOCTYPE html>"));
        assert!(html.contains("Chain verified: all 20 records"));
        assert!(html.contains("class=\"status good\""));
        assert!(!html.contains("<script"), "user name not escaped");
        assert!(!html.contains("<img"), "file name not escaped");
        assert!(!html.contains("<b>"));
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(html.contains("&lt;img src=x onerror=alert(2)&gt;.pdf"));
        assert!(!html.contains("http"), "no external assets");

        // A broken chain is shown as broken, and rows past it as unverified.
        let mut lines = c.lines();
        lines.remove(5);
        let mut bytes = lines.join(&b'\n');
        bytes.push(b'\n');
        let broken = verify_chain(&bytes, None);
        assert!(!broken.ok());
        let rep = access_report(
            &parse_records(&bytes),
            &AccessQuery::default(),
            &broken,
            None,
        );
        assert_eq!(rep.chain.broken_at_line, Some(6));
        assert_eq!(rep.chain.trusted_through_seq, 4);
        assert!(rep.rows.iter().any(|r| !r.verified));
        assert!(rep.rows.iter().filter(|r| r.seq <= 4).all(|r| r.verified));
        let html = rep.to_html();
        assert!(html.contains("class=\"status bad\""));
        assert!(html.contains("Chain BROKEN at line 6"));
        assert!(html.contains("not covered by the verified chain"));
        assert!(rep.to_csv().lines().any(|l| l.ends_with(",no")));
    }

    #[test]
    fn pdf_is_a_pdf_and_long_tables_continue_on_new_pages() {
        let c = clinic_day();
        let rep = access_report(&c.records, &AccessQuery::default(), &ok_chain(&c), None);
        let pdf = rep.to_pdf();
        assert!(pdf.starts_with(b"%PDF-"));
        assert!(pdf.ends_with(b"%%EOF\n") || pdf.ends_with(b"%%EOF"));
        let short = page_count(&pdf);
        assert!((1..=2).contains(&short), "{short} pages for 21 rows");

        let mut many = Chain::new();
        many.push("2026-03-01T08:00:00Z", "alice", "vault_created", json!({}));
        for i in 0..400u32 {
            many.push(
                &format!("2026-03-01T09:{:02}:{:02}Z", i / 60, i % 60),
                "alice",
                "file_opened",
                json!({"ids": [format!("{i:032x}")]}),
            );
        }
        let rep = access_report(
            &many.records,
            &AccessQuery::default(),
            &ok_chain(&many),
            None,
        );
        let pdf = rep.to_pdf();
        let pages = page_count(&pdf);
        assert!(pages >= short + 5, "{pages} pages for 401 rows");
        let text = String::from_utf8_lossy(&pdf);
        assert!(text.contains(&format!("page {pages} of {pages}")));
        // The last row made it onto the last page.
        assert!(text.contains(&format!("{:032x}", 399)));
    }

    #[test]
    fn text_wraps_within_the_width() {
        use pdf::{Font, width, wrap};
        let s = "Chain verified: all 19 records (1–19) are intact and in order.";
        let lines = wrap(s, Font::Regular, 10.0, 120.0);
        assert!(lines.len() > 1);
        assert!(lines.iter().all(|l| width(l, Font::Regular, 10.0) <= 120.0));
        assert_eq!(lines.join(" "), s);
        // A long id is broken between characters.
        let id = "0123456789abcdef0123456789abcdef";
        let lines = wrap(id, Font::Regular, 8.0, 60.0);
        assert!(lines.len() > 1);
        assert_eq!(lines.concat(), id);
        assert!((width("Hello", Font::Regular, 10.0) - 22.78).abs() < 0.01);
    }

    // ---- incident report -----------------------------------------------

    #[test]
    fn locked_at_loss_holds_with_proof() {
        let c = clinic_day();
        let rep = incident_report(&c.records, &c.bytes, DEV, ts("2026-03-02T18:30:00Z"));
        assert_eq!(rep.verdict, Verdict::Holds, "{:#?}", rep.reasons);
        assert!(rep.verdict_text.starts_with(
            "Safe harbor holds, on the evidence shipped up to 2026-03-02 17:00:00 UTC"
        ));
        let f = &rep.facts;
        assert_eq!(f.locked_at_loss, Some(true));
        assert_eq!(f.locked_since.as_deref(), Some("2026-03-02T13:02:00Z"));
        assert_eq!(f.last_lock_seq, Some(18));
        assert_eq!(f.last_unlock_seq, Some(15));
        assert!(f.unmatched_unlock_seqs.is_empty());
        assert_eq!(f.status_seq, Some(19));
        assert_eq!(f.objects, Some(43));
        assert_eq!(f.key_version, Some(2));
        assert_eq!(f.key_age_days, Some(0));
        assert_eq!(
            f.kdf,
            Some(KdfParams {
                alg: "argon2id".into(),
                m_kib: 262144,
                t: 3,
                p: 4
            })
        );
        assert_eq!(f.last_rotation_seq, Some(17));
        assert_eq!(f.plaintext_found_seq, Some(4));
        assert_eq!((f.plaintext_encrypted_after, f.plaintext_pending), (3, 0));
        assert_eq!(f.disk_encryption, "on");
        assert_eq!(f.escrow, Some(true));
        assert_eq!(f.records_after_loss, 0);
        let lock = rep
            .findings
            .iter()
            .find(|f| f.topic == "lock_state")
            .unwrap();
        assert_eq!(lock.proof, vec![18, 15]);
        assert_eq!(lock.assessment, Assessment::Good);
        assert!(lock.answer.starts_with("Yes. Locked since 2026-03-02 13:02:00 UTC, 5 hours 28 minutes before the loss (record #18"), "{}", lock.answer);
        let prot = rep
            .findings
            .iter()
            .find(|f| f.topic == "protection")
            .unwrap();
        assert!(prot.answer.contains("43 encrypted file(s)"));
        assert!(
            prot.answer
                .contains("Argon2id (memory 256 MiB, 3 passes, 4 lanes)")
        );
        assert_eq!(prot.proof, vec![19]);
        let pt = rep
            .findings
            .iter()
            .find(|f| f.topic == "plaintext")
            .unwrap();
        assert_eq!(pt.proof, vec![4, 6]);
        assert!(rep.findings.iter().all(|f| f.assessment != Assessment::Bad));
        // The gap between the last record and the loss is stated.
        assert!(
            rep.caveats
                .iter()
                .any(|c| c.contains("1 hour 30 minutes before the loss"))
        );

        let v: Value = serde_json::from_str(&rep.to_json()).unwrap();
        assert_eq!(v["verdict"], "holds");
        assert_eq!(v["facts"]["locked_at_loss"], true);
        let html = rep.to_html();
        assert!(html.contains("class=\"status good verdict\""));
        assert!(html.contains("Safe harbor holds"));
        assert!(html.contains("records #18, #15"));
        let pdf = rep.to_pdf();
        assert!(pdf.starts_with(b"%PDF-") && page_count(&pdf) >= 1);
    }

    #[test]
    fn unlocked_at_loss_does_not_hold() {
        let mut c = clinic_day();
        c.push(
            "2026-03-02T18:00:00Z",
            "alice",
            "unlock",
            json!({"method": "passphrase"}),
        )
        .push(
            "2026-03-02T18:05:00Z",
            "alice",
            "file_opened",
            json!({"ids": [ID_A]}),
        );
        let rep = incident_report(&c.records, &c.bytes, DEV, ts("2026-03-02T18:30:00Z"));
        assert_eq!(rep.verdict, Verdict::DoesNotHold);
        assert_eq!(rep.facts.locked_at_loss, Some(false));
        assert_eq!(rep.facts.last_unlock_seq, Some(20));
        assert!(rep.reasons[0].starts_with("the vault was unlocked at the time of loss"));
        assert!(rep.reasons[0].contains("record #20"));
        let lock = rep
            .findings
            .iter()
            .find(|f| f.topic == "lock_state")
            .unwrap();
        assert_eq!(lock.assessment, Assessment::Bad);
        assert_eq!(lock.proof, vec![20]);
        assert!(lock.answer.starts_with("NO."));
        let html = rep.to_html();
        assert!(html.contains("class=\"status bad verdict\""));
        assert!(html.contains("Safe harbor does NOT hold"));
        assert!(rep.to_pdf().starts_with(b"%PDF-"));

        // Locked later, but only after the loss: still unlocked at the loss,
        // and the lock after the loss is reported, not counted.
        c.push(
            "2026-03-02T19:00:00Z",
            "alice",
            "lock",
            json!({"reason": "auto"}),
        );
        let rep = incident_report(&c.records, &c.bytes, DEV, ts("2026-03-02T18:30:00Z"));
        assert_eq!(rep.verdict, Verdict::DoesNotHold);
        assert_eq!(rep.facts.records_after_loss, 1);
        let ev = rep.findings.iter().find(|f| f.topic == "evidence").unwrap();
        assert_eq!(ev.assessment, Assessment::Good);
    }

    #[test]
    fn tampered_copy_cannot_establish_safe_harbor() {
        let c = clinic_day();
        // Someone turns bob's unlock into a failed one and drops his file opening.
        let mut lines = c.lines();
        lines[11] = String::from_utf8(lines[11].clone())
            .unwrap()
            .replace("\"event\":\"unlock\"", "\"event\":\"unlock_failed\"")
            .into_bytes();
        let mut bytes = lines.join(&b'\n');
        bytes.push(b'\n');
        let recs = parse_records(&bytes);
        let rep = incident_report(&recs, &bytes, DEV, ts("2026-03-02T18:30:00Z"));
        assert_eq!(rep.verdict, Verdict::CannotBeEstablished);
        assert!(!rep.chain.ok);
        assert_eq!(rep.chain.broken_at_line, Some(13));
        assert!(
            rep.reasons
                .iter()
                .any(|r| r.starts_with("the shipped log fails verification at line 13"))
        );
        let chain = rep.findings.iter().find(|f| f.topic == "chain").unwrap();
        assert_eq!(chain.assessment, Assessment::Bad);
        assert!(rep.to_html().contains("class=\"status unknown verdict\""));
        assert!(rep.to_pdf().starts_with(b"%PDF-"));

        // A deleted record breaks the sequence.
        let mut lines = c.lines();
        lines.remove(9);
        let mut bytes = lines.join(&b'\n');
        bytes.push(b'\n');
        let rep = incident_report(
            &parse_records(&bytes),
            &bytes,
            DEV,
            ts("2026-03-02T18:30:00Z"),
        );
        assert_eq!(rep.verdict, Verdict::CannotBeEstablished);
        assert_eq!(rep.chain.broken_at_line, Some(10));
    }

    #[test]
    fn pending_plaintext_unmatched_unlocks_and_use_after_loss() {
        let mut c = clinic_day();
        c.push(
            "2026-03-02T17:10:00Z",
            "alice",
            "plaintext_found",
            json!({"count": 5}),
        )
        .push(
            "2026-03-02T17:10:03Z",
            "alice",
            "file_added",
            json!({"ids": [ID_A, ID_B], "by": "watcher"}),
        );
        let lost = ts("2026-03-02T18:30:00Z");
        // Disk encryption on: the waiting plaintext leaves it open.
        let rep = incident_report(&c.records, &c.bytes, DEV, lost);
        assert_eq!(rep.facts.plaintext_pending, 3);
        assert_eq!(rep.verdict, Verdict::CannotBeEstablished);
        // Disk encryption off: it does not hold.
        let mut off = Chain::new();
        for r in &clinic_day().records {
            let mut d = Value::Object(r.detail.clone());
            if r.event == "status" {
                d["disk_encryption"] = json!("off");
            }
            off.push(&r.ts, &r.user, &r.event, d);
        }
        off.push(
            "2026-03-02T17:10:00Z",
            "alice",
            "plaintext_found",
            json!({"count": 5}),
        );
        let rep = incident_report(&off.records, &off.bytes, DEV, lost);
        assert_eq!(rep.verdict, Verdict::DoesNotHold);
        assert!(rep.reasons[0].contains("5 file(s) found in plaintext"));
        assert!(rep.caveats.iter().any(|c| c.contains("keychain slot")));

        // An unlock with no lock of its own, hidden by a later lock: a caveat.
        let mut c = clinic_day();
        c.push(
            "2026-03-02T17:20:00Z",
            "alice",
            "unlock",
            json!({"method": "passphrase"}),
        )
        .push(
            "2026-03-02T17:21:00Z",
            "alice",
            "unlock",
            json!({"method": "keychain"}),
        )
        .push(
            "2026-03-02T17:22:00Z",
            "alice",
            "lock",
            json!({"reason": "process_end"}),
        );
        let rep = incident_report(&c.records, &c.bytes, DEV, lost);
        assert_eq!(rep.verdict, Verdict::Holds);
        assert_eq!(rep.facts.unmatched_unlock_seqs, vec![20]);
        assert!(
            rep.caveats
                .iter()
                .any(|c| c.contains("#20") && c.contains("no process id"))
        );

        // The vault unlocked after the loss: cannot be established.
        let mut c = clinic_day();
        c.push(
            "2026-03-02T19:00:00Z",
            "mallory",
            "unlock_failed",
            json!({"method": "passphrase"}),
        )
        .push(
            "2026-03-02T19:05:00Z",
            "mallory",
            "unlock",
            json!({"method": "passphrase"}),
        );
        let rep = incident_report(&c.records, &c.bytes, DEV, lost);
        assert_eq!(rep.verdict, Verdict::CannotBeEstablished);
        let after = rep
            .findings
            .iter()
            .find(|f| f.topic == "after_loss")
            .unwrap();
        assert_eq!(after.proof, vec![21, 20]);
        assert!(after.answer.contains("UNLOCKED after the loss"));
        assert!(after.answer.contains("1 failed unlock attempt(s)"));

        // No status record: the protection cannot be shown.
        let mut c = Chain::new();
        c.push("2026-03-01T08:00:00Z", "alice", "vault_created", json!({}))
            .push(
                "2026-03-01T08:00:05Z",
                "alice",
                "lock",
                json!({"reason": "process_end"}),
            );
        let rep = incident_report(&c.records, &c.bytes, DEV, lost);
        assert_eq!(rep.verdict, Verdict::CannotBeEstablished);
        assert!(rep.reasons.iter().any(|r| r.contains("no status record")));

        // Nothing at all.
        let rep = incident_report(&[], b"", DEV, lost);
        assert_eq!(rep.verdict, Verdict::CannotBeEstablished);
        assert!(rep.to_pdf().starts_with(b"%PDF-"));
    }

    // ---- real log, real sink -------------------------------------------

    #[test]
    fn report_from_a_real_log_shipped_to_a_directory_sink() {
        let d = tempfile::tempdir().unwrap();
        let vault = d.path().join("v");
        let share = d.path().join("share");
        fs::create_dir(&share).unwrap();
        crate::sink::save(
            &vault,
            &[crate::sink::Sink::Directory {
                path: share.clone(),
            }],
        )
        .unwrap();
        let id = Identity::current(&[7; 16]);
        let log = AuditLog::new(&vault, id.clone());
        let st = match status(3, 1, "2026-03-01T08:00:00Z", "on", false) {
            Value::Object(m) => m,
            _ => unreachable!(),
        };
        log.append(&[AuditEvent::VaultCreated, AuditEvent::Status(st)])
            .unwrap();
        log.append(&[AuditEvent::Locked {
            reason: "process_end".into(),
        }])
        .unwrap();
        log.append(&[AuditEvent::Unlocked {
            method: "passphrase".into(),
        }])
        .unwrap();
        log.append(&[AuditEvent::FileOpened { id: ID_A.into() }])
            .unwrap();
        log.append(&[AuditEvent::Locked {
            reason: "manual".into(),
        }])
        .unwrap();
        log.ship_pending();

        let (records, bytes) = load_shipped(&share, &id.device).unwrap();
        assert_eq!(records.len(), 6);
        assert_eq!(bytes, fs::read(log.path()).unwrap());
        let copies = load_shipped_copies(&share, &id.device).unwrap();
        assert_eq!(copies.len(), 1);
        assert_eq!(copies[0].vault, id.vault);

        let lost = Timestamp::now()
            .checked_add(jiff::SignedDuration::from_hours(1))
            .unwrap();
        let rep = incident_report(&records, &bytes, &id.device, lost);
        assert_eq!(rep.verdict, Verdict::Holds, "{:#?}", rep.reasons);
        assert_eq!(rep.facts.last_lock_seq, Some(6));
        assert_eq!(rep.facts.escrow, Some(false));
        assert_eq!(rep.hosts, vec![id.host.clone()]);

        let chain = crate::audit::verify_vault_log(&log).unwrap();
        let rep = access_report(
            &crate::audit::parse_records(&fs::read(log.path()).unwrap()),
            &AccessQuery::default(),
            &chain,
            None,
        );
        assert_eq!(rep.summary.records, 6);
        assert!(rep.chain.ok);

        // Not there, and ambiguous.
        assert!(matches!(
            load_shipped(&share, "ffffffffffffffff"),
            Err(Error::NotFound(_))
        ));
        fs::write(
            share.join(format!("{}-{}.jsonl", id.device, "00".repeat(16))),
            b"",
        )
        .unwrap();
        assert!(matches!(
            load_shipped(&share, &id.device),
            Err(Error::Invalid(_))
        ));
        assert_eq!(load_shipped_copies(&share, &id.device).unwrap().len(), 2);
        assert!(load_shipped(&share, "../x").is_err());
    }

    /// Renders both PDFs and, where poppler's `pdftoppm` is installed,
    /// rasterises page 1 of each. Set COFFER_REPORT_ARTIFACTS to a folder
    /// to keep the PDFs and PNGs for a look.
    #[test]
    fn pdf_pages_rasterise() {
        let d = tempfile::tempdir().unwrap();
        let out = std::env::var_os("COFFER_REPORT_ARTIFACTS")
            .map(PathBuf::from)
            .unwrap_or_else(|| d.path().to_path_buf());
        fs::create_dir_all(&out).unwrap();
        let c = clinic_day();
        let names = |id: &str| match id {
            ID_A => Some("Referral – Smith, J. (cardiology).pdf".to_owned()),
            ID_B => Some("Lab results 2026-02-27.pdf".to_owned()),
            _ => None,
        };
        let access = access_report(
            &c.records,
            &AccessQuery::default(),
            &ok_chain(&c),
            Some(&names),
        );
        let mut u = clinic_day();
        u.push(
            "2026-03-02T18:00:00Z",
            "alice",
            "unlock",
            json!({"method": "passphrase"}),
        );
        let docs = [
            ("access", access.to_pdf()),
            (
                "incident-holds",
                incident_report(&c.records, &c.bytes, DEV, ts("2026-03-02T18:30:00Z")).to_pdf(),
            ),
            (
                "incident-unlocked",
                incident_report(&u.records, &u.bytes, DEV, ts("2026-03-02T18:30:00Z")).to_pdf(),
            ),
        ];
        for (name, pdf) in &docs {
            fs::write(out.join(format!("{name}.pdf")), pdf).unwrap();
        }
        fs::write(out.join("access.html"), access.to_html()).unwrap();
        fs::write(
            out.join("incident-unlocked.html"),
            incident_report(&u.records, &u.bytes, DEV, ts("2026-03-02T18:30:00Z")).to_html(),
        )
        .unwrap();
        let have = std::process::Command::new("pdftoppm")
            .arg("-v")
            .output()
            .is_ok();
        if !have {
            eprintln!("skipped: pdftoppm not installed (apt-get install poppler-utils)");
            return;
        }
        for (name, _) in &docs {
            let st = std::process::Command::new("pdftoppm")
                .args(["-png", "-r", "80", "-f", "1", "-l", "1", "-singlefile"])
                .arg(out.join(format!("{name}.pdf")))
                .arg(out.join(name))
                .status()
                .unwrap();
            assert!(st.success(), "pdftoppm failed on {name}");
            let png = fs::read(out.join(format!("{name}.png"))).unwrap();
            assert!(png.len() > 1000, "{name}.png is {} bytes", png.len());
            assert!(png.starts_with(b"\x89PNG"));
        }
    }
}
