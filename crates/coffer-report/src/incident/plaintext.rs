//! Finding 5: was plaintext waiting in a protected folder?
//!
//! Each file a watcher scan found (`plaintext_found`, with its file
//! identity in `files`) is matched against the `file_added` records that
//! carry the same identity, by whoever encrypted it (`protect`, the
//! watcher, the app). Counts are never compared: a folder protected while
//! the watcher ran is found by the watcher and encrypted by `protect`.
//! Records of older versions carry no identities; for them the count the
//! scan found is compared with the files the watcher recorded encrypting.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use coffer_core::audit::{EventKind, Record};
use serde_json::Value;

use super::{Assessment, Finding, IncidentFacts, Notes};
use crate::text::{d_str, d_u64, human_time, record_ids, records_ref};

/// Files the watcher encrypted. `by` has no typed form: the core writes
/// it as a plain string ("cli", "watcher", "app").
fn by_watcher(r: &Record) -> bool {
    r.is(EventKind::FileAdded) && d_str(r, "by") == Some("watcher")
}

/// The file identities a record lists (`files`); `None` when it has none
/// (a record of an older version).
fn identities(r: &Record) -> Option<Vec<&str>> {
    r.detail
        .get("files")
        .and_then(Value::as_array)
        .map(|a| a.iter().map(|v| v.as_str().unwrap_or("")).collect())
}

/// What the scans found and what became of it.
struct Tally {
    /// The last scan record before the loss.
    last: u64,
    /// Files found (distinct identities; the count, for older records).
    found: u64,
    /// Of those, recorded as encrypted before the loss.
    encrypted: u64,
    /// The scan records and the adds that settle them, cited.
    proof: Vec<u64>,
    /// How many of `proof`'s first entries are the scans.
    scans: usize,
    /// How the answer was reached, for people.
    how: String,
}

/// Matches every identity found by any scan before the loss against the
/// identities encrypted before the loss. An empty identity (the scan could
/// not read the file's metadata) matches nothing.
fn by_identity(before: &[&Record], scans: &[&Record]) -> Tally {
    let found: BTreeSet<&str> = scans
        .iter()
        .flat_map(|r| identities(r).unwrap_or_default())
        .collect();
    let mut encrypted = BTreeSet::new();
    let mut proof: Vec<u64> = scans.iter().map(|r| r.seq).collect();
    for r in before.iter().filter(|r| r.is(EventKind::FileAdded)) {
        let hit: Vec<&str> = identities(r)
            .unwrap_or_default()
            .into_iter()
            .filter(|f| !f.is_empty() && found.contains(f))
            .collect();
        if !hit.is_empty() {
            proof.push(r.seq);
            encrypted.extend(hit);
        }
    }
    let n_found = found.len() as u64;
    let n_enc = encrypted.len() as u64;
    Tally {
        last: scans.last().map_or(0, |r| r.seq),
        found: n_found,
        encrypted: n_enc,
        scans: scans.len(),
        how: format!(
            "Scans before the loss ({}) found {n_found} unencrypted file(s) in protected folders; {n_enc} of them are recorded as encrypted before the loss, each matched by its file identity{}.",
            records_ref(&proof[..scans.len()], 10),
            if proof.len() > scans.len() {
                format!(" ({})", records_ref(&proof[scans.len()..], 10))
            } else {
                String::new()
            }
        ),
        proof,
    }
}

/// Older records: the last scan's count against the files the watcher
/// recorded encrypting after it.
fn by_count(before: &[&Record], p: &Record) -> Tally {
    let count = d_u64(p, "count").unwrap_or(0);
    let adds: Vec<&Record> = before
        .iter()
        .filter(|r| r.seq > p.seq && by_watcher(r))
        .copied()
        .collect();
    let encrypted: u64 = adds.iter().map(|r| record_ids(r).len() as u64).sum();
    let mut proof = vec![p.seq];
    proof.extend(adds.iter().map(|r| r.seq));
    Tally {
        last: p.seq,
        found: count,
        encrypted: encrypted.min(count),
        scans: 1,
        how: format!(
            "The watcher's last start-up scan before the loss (record #{}, {}) found {count} unencrypted file(s) in protected folders; afterwards it recorded encrypting {encrypted} file(s){}. These records are of an older version that names no file identity, so files are counted, not matched.",
            p.seq,
            human_time(&p.ts),
            if adds.is_empty() {
                String::new()
            } else {
                format!(" ({})", records_ref(&proof[1..], 10))
            }
        ),
        proof,
    }
}

/// Pending files defeat the safe harbor unless full-disk encryption was
/// on, and then leave it open.
pub(crate) fn plaintext(before: &[&Record], facts: &mut IncidentFacts, notes: &mut Notes) {
    let scans: Vec<&Record> = before
        .iter()
        .filter(|r| r.is(EventKind::PlaintextFound))
        .copied()
        .collect();
    let Some(last) = scans.last() else {
        return nothing_found(before, notes);
    };
    let t = if scans.iter().all(|r| identities(r).is_some()) {
        by_identity(before, &scans)
    } else {
        by_count(before, last)
    };
    let pending = t.found - t.encrypted;
    facts.plaintext_found_seq = Some(t.last);
    facts.plaintext_found_count = Some(t.found);
    facts.plaintext_encrypted_after = t.encrypted;
    facts.plaintext_pending = pending;
    let mut answer = t.how;
    let cite = records_ref(&t.proof[..t.scans], 10);
    let assessment = if pending == 0 {
        answer.push_str(" None was left waiting.");
        notes.goods.push(format!(
            "no plaintext was left waiting in protected folders ({cite})"
        ));
        Assessment::Good
    } else {
        let _ = write!(
            answer,
            " Up to {pending} file(s) may still have been in plaintext in a protected folder at the loss."
        );
        if facts.disk_encryption == "on" {
            answer.push_str(" Full-disk encryption was on, which protects them only if the laptop was powered off or at its OS login screen.");
            notes.unknowns.push(format!(
                "up to {pending} file(s) found in plaintext ({cite}) were not recorded as encrypted before the loss"
            ));
            Assessment::Unknown
        } else {
            notes.fails.push(format!(
                "up to {pending} file(s) found in plaintext in protected folders ({cite}) were not recorded as encrypted before the loss, and full-disk encryption was {}",
                facts.disk_encryption
            ));
            Assessment::Bad
        }
    };
    notes.findings.push(Finding {
        topic: "plaintext".into(),
        question: "Was plaintext waiting in a protected folder?".into(),
        answer,
        proof: t.proof,
        assessment,
    });
}

fn nothing_found(before: &[&Record], notes: &mut Notes) {
    let watcher_ran = before.iter().any(|r| by_watcher(r));
    notes.findings.push(Finding {
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

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::incident::testing::{facts, rec};

    fn run(r: &[Record], disk: &str) -> (IncidentFacts, Notes) {
        let before: Vec<&Record> = r.iter().collect();
        let (mut f, mut n) = (facts(), Notes::default());
        f.disk_encryption = disk.into();
        plaintext(&before, &mut f, &mut n);
        (f, n)
    }

    fn found(seq: u64, files: &[&str]) -> Record {
        rec(
            seq,
            "2026-03-02T08:55:00Z",
            "plaintext_found",
            json!({"count": files.len(), "files": files}),
        )
    }

    fn added(seq: u64, by: &str, files: &[&str]) -> Record {
        let ids: Vec<String> = files.iter().map(|f| format!("id-{f}")).collect();
        rec(
            seq,
            "2026-03-02T08:55:04Z",
            "file_added",
            json!({"ids": ids, "by": by, "files": files}),
        )
    }

    #[test]
    fn files_found_are_settled_by_their_encryption_whoever_did_it() {
        // Found by the watcher, encrypted by protect (cli), by the watcher,
        // or some by each; the add may even precede the scan's record.
        let cases = [
            vec![
                found(1, &["a", "b", "c"]),
                added(2, "cli", &["a", "b", "c"]),
            ],
            vec![
                found(1, &["a", "b", "c"]),
                added(2, "watcher", &["a", "b", "c"]),
            ],
            vec![
                added(1, "cli", &["a"]),
                found(2, &["a", "b", "c"]),
                added(3, "cli", &["b"]),
                added(4, "watcher", &["c"]),
            ],
        ];
        for r in cases {
            let (f, n) = run(&r, "off");
            assert_eq!((f.plaintext_found_count, f.plaintext_pending), (Some(3), 0));
            assert_eq!(f.plaintext_encrypted_after, 3);
            assert_eq!(n.findings[0].assessment, Assessment::Good, "{r:?}");
            assert!(n.fails.is_empty() && n.unknowns.is_empty());
            assert!(n.goods[0].starts_with("no plaintext was left waiting"));
            assert!(
                n.findings[0]
                    .answer
                    .contains("matched by its file identity")
            );
            assert_eq!(n.findings[0].proof.len(), r.len());
        }
    }

    #[test]
    fn a_file_encrypted_with_other_bytes_or_never_is_still_pending() {
        // Three files added elsewhere do not settle the three found.
        let r = [
            found(1, &["a", "b", "c"]),
            added(2, "cli", &["x", "y", "z"]),
            added(3, "watcher", &["a"]),
        ];
        let (f, n) = run(&r, "off");
        assert_eq!(f.plaintext_pending, 2);
        assert_eq!(n.findings[0].assessment, Assessment::Bad);
        assert_eq!(n.findings[0].proof, [1, 3]);
        assert!(n.fails[0].starts_with("up to 2 file(s) found in plaintext"));
        assert!(n.fails[0].ends_with("full-disk encryption was off"));

        let (_, n) = run(&r, "on");
        assert_eq!(n.findings[0].assessment, Assessment::Unknown);
        assert!(n.unknowns[0].starts_with("up to 2 file(s) found in plaintext (record #1)"));

        // An identity the scan could not read matches nothing.
        let (f, _) = run(&[found(1, &[""]), added(2, "cli", &[""])], "off");
        assert_eq!(f.plaintext_pending, 1);
    }

    #[test]
    fn older_records_without_identities_are_counted() {
        let r = [
            rec(
                1,
                "2026-03-02T08:55:00Z",
                "plaintext_found",
                json!({"count": 2}),
            ),
            rec(
                2,
                "2026-03-02T08:55:04Z",
                "file_added",
                json!({"ids": ["a", "b"], "by": "watcher"}),
            ),
        ];
        let (f, n) = run(&r, "off");
        assert_eq!((f.plaintext_found_seq, f.plaintext_pending), (Some(1), 0));
        assert!(n.findings[0].answer.contains("older version"));
        let (f, n) = run(&r[..1], "off");
        assert_eq!(f.plaintext_pending, 2);
        assert_eq!(n.findings[0].assessment, Assessment::Bad);
    }

    #[test]
    fn no_scan_report_means_no_plaintext_was_found() {
        let (mut f, mut n) = (facts(), Notes::default());
        plaintext(&[], &mut f, &mut n);
        assert_eq!(n.findings[0].assessment, Assessment::Good);
        assert!(
            n.findings[0]
                .answer
                .contains("no record shows the watcher adding files")
        );
        assert_eq!(f.plaintext_found_seq, None);
    }
}
