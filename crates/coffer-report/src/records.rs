//! Reading audit logs for reports: parsing a log's bytes, finding the
//! copies a device shipped to a sink folder, and stating what chain
//! verification found in the words a report uses.

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

use coffer_core::audit::{ChainReport, Record};
use coffer_core::{Error, Result};
use serde::Serialize;

use crate::text::IoContext;

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
    /// States what [`verify_chain`](coffer_core::audit::verify_chain) found.
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

/// Parses the records of a log's bytes (a vault's log or a shipped copy).
/// Lines that do not parse are skipped;
/// [`verify_chain`](coffer_core::audit::verify_chain) reports them.
pub fn parse_records(bytes: &[u8]) -> Vec<Record> {
    coffer_core::audit::parse_records(bytes)
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
    /// Its bytes, for [`verify_chain`](coffer_core::audit::verify_chain).
    pub bytes: Vec<u8>,
}

/// Every copy that `device` shipped to the sink folder `log_dir`
/// (`<device>-<vault>.jsonl`, see [`coffer_core::sink::copy_name`]), one per
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
