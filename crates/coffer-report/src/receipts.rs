//! Collector receipts: times the device cannot choose.
//!
//! The directory sink is a share the laptops write. A step on the
//! collector's side ([`note_arrivals`], `coffer audit receive`, run by the
//! collector's own account on a timer) notes, for each shipped copy, which
//! records it holds and when it saw them: one JSON line per change in
//! `<receipts>/<copy name>`, `{"seq": n, "hash": h, "first": h1, "at": t}`
//! (the last complete record's sequence number and line hash, the first
//! line's hash, the collector's clock). The receipts folder must be
//! writable by the collector alone. A receipt pins everything up to its
//! record, because each line carries the hash of the one before.
//!
//! Reports read them back ([`load_receipts`]) to order evidence by arrival
//! (a record that arrived after the loss is treated as after it, whatever
//! time it claims) and to check the copy was not rewritten after the
//! collector saw it ([`check_copy`]).

use std::fs::{self, OpenOptions};
use std::io::Write as _;
use std::path::{Path, PathBuf};

use coffer_core::audit::{line_hash, parse_record};
use coffer_core::{Error, Result};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::text::IoContext;

/// The receipts folder a sink folder's collector uses unless told.
pub const RECEIPTS_DIR: &str = "receipts";
/// Longest receipts file read (a line is under 300 bytes: a million
/// receipts).
pub const MAX_RECEIPTS: u64 = 256 << 20;

/// One receipt: records `1..=seq` of a copy were there at `at`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Receipt {
    /// The last complete record's sequence number.
    pub seq: u64,
    /// Its line's SHA-256 (hex).
    pub hash: String,
    /// The first line's SHA-256 (hex).
    pub first: String,
    /// When the collector saw it (its own clock, RFC 3339).
    pub at: String,
}

/// The last complete record's sequence number and line hash, and the
/// first line's hash, of a copy's bytes.
fn head_of(bytes: &[u8]) -> Option<(u64, String, String)> {
    let complete = &bytes[..bytes.iter().rposition(|b| *b == b'\n')? + 1];
    let mut lines = complete.split(|b| *b == b'\n').filter(|l| !l.is_empty());
    let first = line_hash(lines.next()?);
    let last = complete
        .split(|b| *b == b'\n')
        .rev()
        .find(|l| !l.is_empty())?;
    let r = parse_record(last)?;
    Some((r.seq, line_hash(last), first))
}

/// The collector's step: for every copy (`*.jsonl`) in `log_dir`, appends
/// a receipt to `receipts_dir/<copy name>` when the copy changed since the
/// last one. Returns the copies noted.
pub fn note_arrivals(log_dir: &Path, receipts_dir: &Path, now: Timestamp) -> Result<Vec<String>> {
    fs::create_dir_all(receipts_dir).ctx("creating the receipts folder")?;
    let mut noted = Vec::new();
    for entry in fs::read_dir(log_dir).ctx("reading the audit log folder")? {
        let entry = entry.ctx("reading the audit log folder")?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if !name.ends_with(".jsonl") || !entry.path().is_file() {
            continue;
        }
        let bytes = fs::read(entry.path()).ctx("reading a shipped audit copy")?;
        let Some((seq, hash, first)) = head_of(&bytes) else {
            continue;
        };
        let path = receipts_dir.join(&name);
        let last = load_receipts_at(&path)?.pop();
        if last.is_some_and(|l| l.seq == seq && l.hash == hash && l.first == first) {
            continue;
        }
        let r = Receipt {
            seq,
            hash,
            first,
            at: now.to_string(),
        };
        let mut line = serde_json::to_vec(&r).expect("serializes");
        line.push(b'\n');
        let mut f = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .ctx("writing a receipt")?;
        f.write_all(&line).ctx("writing a receipt")?;
        f.sync_data().ctx("writing a receipt")?;
        noted.push(name);
    }
    noted.sort();
    Ok(noted)
}

fn load_receipts_at(path: &Path) -> Result<Vec<Receipt>> {
    let bytes = match fs::metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => {
            return Err(Error::Io {
                context: "reading receipts",
                source: e,
            });
        }
        Ok(m) if m.len() > MAX_RECEIPTS => {
            return Err(Error::Invalid("a receipts file is too large".into()));
        }
        Ok(_) => fs::read(path).ctx("reading receipts")?,
    };
    Ok(parse_receipts(&bytes))
}

/// The receipts in a receipts file's bytes; lines that are not one are
/// skipped.
pub fn parse_receipts(bytes: &[u8]) -> Vec<Receipt> {
    bytes
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty() && l.len() < 4096)
        .filter_map(|l| serde_json::from_slice(l).ok())
        .collect()
}

/// The receipts noted for the copy at `copy` (by its file name).
pub fn load_receipts(receipts_dir: &Path, copy: &Path) -> Result<Vec<Receipt>> {
    let name = copy
        .file_name()
        .ok_or_else(|| Error::Invalid("a copy has no file name".into()))?;
    load_receipts_at(&receipts_dir.join(name))
}

/// When the copy's file last changed, by a clock the laptop does not set:
/// its status-change time (ctime), which the file server sets and no
/// client can; elsewhere than Unix, its modification time (never run).
pub fn copy_changed_at(copy: &Path) -> Option<Timestamp> {
    let m = fs::metadata(copy).ok()?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        Timestamp::new(m.ctime(), m.ctime_nsec() as i32).ok()
    }
    #[cfg(not(unix))]
    {
        Timestamp::try_from(m.modified().ok()?).ok()
    }
}

/// What the collector's evidence says of a copy: receipts and the copy's
/// change time.
#[derive(Clone, Debug, Default)]
pub struct Arrivals {
    /// The receipts, in the order noted.
    pub receipts: Vec<Receipt>,
    /// When the copy last changed ([`copy_changed_at`]).
    pub changed_at: Option<Timestamp>,
    index: std::sync::OnceLock<Vec<(u64, Timestamp)>>,
}

impl Arrivals {
    /// The collector's evidence as given.
    pub fn new(receipts: Vec<Receipt>, changed_at: Option<Timestamp>) -> Self {
        Arrivals {
            receipts,
            changed_at,
            index: Default::default(),
        }
    }
}

impl Arrivals {
    /// The collector's evidence for the copy at `copy`.
    pub fn for_copy(receipts_dir: &Path, copy: &Path) -> Result<Self> {
        Ok(Arrivals::new(
            load_receipts(receipts_dir, copy)?,
            copy_changed_at(copy),
        ))
    }

    /// By when record `seq` had arrived: the first receipt that holds it,
    /// else the copy's change time. `None`: nothing shows it.
    pub fn arrived_by(&self, seq: u64) -> Option<Timestamp> {
        self.index()
            .iter()
            .find(|(s, _)| *s >= seq)
            .map(|(_, t)| *t)
            .or(self.changed_at)
    }

    /// For each receipt's record number, ascending, the earliest time any
    /// receipt holding it was noted (a suffix minimum), so that
    /// [`Arrivals::arrived_by`] is the first entry at or above a record.
    fn index(&self) -> &[(u64, Timestamp)] {
        self.index.get_or_init(|| {
            let mut v: Vec<(u64, Timestamp)> = self
                .receipts
                .iter()
                .filter_map(|r| Some((r.seq, r.at.parse::<Timestamp>().ok()?)))
                .collect();
            v.sort();
            for i in (0..v.len().saturating_sub(1)).rev() {
                v[i].1 = v[i].1.min(v[i + 1].1);
            }
            v
        })
    }

    /// Whether record `seq` is shown to have arrived by `t`. A record
    /// later than every receipt arrived after the last one, and by the
    /// copy's change time.
    pub fn arrived_before(&self, seq: u64, t: Timestamp) -> bool {
        self.arrived_by(seq).is_some_and(|a| a <= t)
    }
}

/// How a copy differs from what the collector received.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CopyChange {
    /// Its first record is not the one received: replaced wholesale.
    ReplacedWholesale,
    /// It ends before a record the collector received: its tail was cut.
    TailTruncated,
    /// A record the collector received reads differently now: rewritten
    /// from there on (with a recomputed chain).
    Rewritten,
}

/// Checks a copy's bytes against its receipts: the first difference, with
/// the receipt that shows it.
pub fn check_copy(bytes: &[u8], receipts: &[Receipt]) -> Option<(CopyChange, Receipt)> {
    let lines: Vec<&[u8]> = bytes
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .collect();
    let first = lines.first().map(|l| line_hash(l));
    // Each record's line hash, by sequence number (the first line of a
    // number wins, as a verifier reads it).
    let mut by_seq: std::collections::BTreeMap<u64, String> = Default::default();
    for l in &lines {
        if let Some(r) = parse_record(l) {
            by_seq.entry(r.seq).or_insert_with(|| line_hash(l));
        }
    }
    for r in receipts {
        if first.as_deref() != Some(r.first.as_str()) {
            return Some((CopyChange::ReplacedWholesale, r.clone()));
        }
        match by_seq.get(&r.seq).cloned() {
            None => return Some((CopyChange::TailTruncated, r.clone())),
            Some(h) if h != r.hash => return Some((CopyChange::Rewritten, r.clone())),
            Some(_) => {}
        }
    }
    None
}

/// The default receipts folder of a sink folder.
pub fn default_receipts_dir(log_dir: &Path) -> PathBuf {
    log_dir.join(RECEIPTS_DIR)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn receipts_are_noted_once_per_change_and_pin_the_copy() {
        let d = tempfile::tempdir().unwrap();
        let (log, rec) = (d.path().join("share"), d.path().join("receipts"));
        fs::create_dir(&log).unwrap();
        let copy = log.join("dev-vault.jsonl");
        let line = |seq: u64| {
            format!(
                "{{\"seq\":{seq},\"ts\":\"2026-03-02T09:00:00Z\",\"vault\":\"v\",\"device\":\"dev\",\"host\":\"h\",\"user\":\"u\",\"event\":\"lock\",\"prev\":\"x\"}}\n"
            )
        };
        fs::write(&copy, line(1)).unwrap();
        let t1: Timestamp = "2026-03-02T09:00:05Z".parse().unwrap();
        assert_eq!(note_arrivals(&log, &rec, t1).unwrap(), ["dev-vault.jsonl"]);
        assert!(
            note_arrivals(&log, &rec, t1).unwrap().is_empty(),
            "no change"
        );
        fs::write(&copy, format!("{}{}", line(1), line(2))).unwrap();
        let t2: Timestamp = "2026-03-02T10:00:00Z".parse().unwrap();
        note_arrivals(&log, &rec, t2).unwrap();
        let a = Arrivals::new(load_receipts(&rec, &copy).unwrap(), None);
        assert_eq!(a.receipts.len(), 2);
        assert_eq!(a.arrived_by(1), Some(t1));
        assert_eq!(a.arrived_by(2), Some(t2));
        assert_eq!(a.arrived_by(3), None);
        assert!(a.arrived_before(2, t2) && !a.arrived_before(2, t1));
        let now = fs::read(&copy).unwrap();
        assert_eq!(check_copy(&now, &a.receipts), None);
        // Cut, rewritten, replaced.
        assert_eq!(
            check_copy(line(1).as_bytes(), &a.receipts).map(|c| c.0),
            Some(CopyChange::TailTruncated)
        );
        let rewritten = format!("{}{}", line(1), line(2).replace("lock", "unlock"));
        assert_eq!(
            check_copy(rewritten.as_bytes(), &a.receipts).map(|c| c.0),
            Some(CopyChange::Rewritten)
        );
        let replaced = format!("{}{}", line(1).replace("lock", "status"), line(2));
        assert_eq!(
            check_copy(replaced.as_bytes(), &a.receipts).map(|c| c.0),
            Some(CopyChange::ReplacedWholesale)
        );
        assert_eq!(parse_receipts(b"junk\n{\"seq\":1}\n"), vec![]);
    }
}
