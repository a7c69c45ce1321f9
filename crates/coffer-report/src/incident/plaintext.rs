//! Finding 5: was plaintext waiting in a protected folder?

use std::fmt::Write as _;

use coffer_core::audit::{EventKind, Record};

use super::{Assessment, Finding, IncidentFacts, Notes};
use crate::text::{d_str, d_u64, human_time, record_ids, records_ref};

/// Files the watcher encrypted. `by` has no typed form: the core writes
/// it as a plain string ("cli", "watcher", "app").
fn by_watcher(r: &Record) -> bool {
    r.is(EventKind::FileAdded) && d_str(r, "by") == Some("watcher")
}

/// The watcher's last start-up scan before the loss against the files it
/// recorded encrypting afterwards. Pending files defeat the safe harbor
/// unless full-disk encryption was on, and then leave it open.
pub(crate) fn plaintext(before: &[&Record], facts: &mut IncidentFacts, notes: &mut Notes) {
    let found = before
        .iter()
        .rev()
        .find(|r| r.is(EventKind::PlaintextFound))
        .copied();
    match found {
        Some(p) => {
            let count = d_u64(p, "count").unwrap_or(0);
            let adds: Vec<&Record> = before
                .iter()
                .filter(|r| r.seq > p.seq && by_watcher(r))
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
                    notes.unknowns.push(format!(
                        "up to {pending} file(s) found in plaintext (record #{}) were not recorded as encrypted before the loss",
                        p.seq
                    ));
                    Assessment::Unknown
                } else {
                    notes.fails.push(format!(
                        "up to {pending} file(s) found in plaintext in protected folders (record #{}) were not recorded as encrypted before the loss, and full-disk encryption was {}",
                        p.seq, facts.disk_encryption
                    ));
                    Assessment::Bad
                }
            };
            notes.findings.push(Finding {
                topic: "plaintext".into(),
                question: "Was plaintext waiting in a protected folder?".into(),
                answer,
                proof,
                assessment,
            });
            if pending == 0 {
                notes
                    .goods
                    .push("no plaintext was left waiting in protected folders".into());
            }
        }
        None => {
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
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::incident::testing::{facts, rec};

    fn day(found: u64, encrypted: &[&str]) -> Vec<Record> {
        vec![
            rec(
                1,
                "2026-03-02T08:55:00Z",
                "plaintext_found",
                json!({"count": found}),
            ),
            rec(
                2,
                "2026-03-02T08:55:04Z",
                "file_added",
                json!({"ids": encrypted, "by": "watcher"}),
            ),
            rec(
                3,
                "2026-03-02T09:00:00Z",
                "file_added",
                json!({"ids": ["x"], "by": "user"}),
            ),
        ]
    }

    #[test]
    fn plaintext_the_watcher_encrypted_leaves_none_waiting() {
        let r = day(2, &["a", "b"]);
        let before: Vec<&Record> = r.iter().collect();
        let (mut f, mut n) = (facts(), Notes::default());
        plaintext(&before, &mut f, &mut n);
        assert_eq!(
            (f.plaintext_found_seq, f.plaintext_found_count),
            (Some(1), Some(2))
        );
        assert_eq!((f.plaintext_encrypted_after, f.plaintext_pending), (2, 0));
        let p = &n.findings[0];
        assert_eq!(
            (p.topic.as_str(), p.assessment),
            ("plaintext", Assessment::Good)
        );
        assert_eq!(p.proof, [1, 2]);
        assert!(p.answer.ends_with("None was left waiting."));
        assert_eq!(
            n.goods,
            ["no plaintext was left waiting in protected folders"]
        );
    }

    #[test]
    fn pending_plaintext_defeats_the_safe_harbor_unless_the_disk_is_encrypted() {
        let r = day(5, &["a"]);
        let before: Vec<&Record> = r.iter().collect();
        let (mut f, mut n) = (facts(), Notes::default());
        f.disk_encryption = "off".into();
        plaintext(&before, &mut f, &mut n);
        assert_eq!(f.plaintext_pending, 4);
        assert_eq!(n.findings[0].assessment, Assessment::Bad);
        assert!(n.fails[0].starts_with("up to 4 file(s) found in plaintext"));
        assert!(n.fails[0].ends_with("full-disk encryption was off"));

        let (mut f, mut n) = (facts(), Notes::default());
        f.disk_encryption = "on".into();
        plaintext(&before, &mut f, &mut n);
        assert_eq!(n.findings[0].assessment, Assessment::Unknown);
        assert!(n.fails.is_empty());
        assert!(n.unknowns[0].starts_with("up to 4 file(s) found in plaintext (record #1)"));
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
