//! Findings 8 and 9: how complete the evidence is and what happened
//! after the loss; and the integrity failures recorded before it.

use std::fmt::Write as _;

use coffer_core::audit::{EventKind, Record};
use jiff::Timestamp;

use super::lock::opens;
use super::{Assessment, Finding, IncidentFacts, Notes};
use crate::text::{human_duration, human_time, parse_ts, records_ref};

/// How complete the evidence is: the last record before the loss against
/// the moment of loss. A running Coffer writes a status record at least
/// hourly (a heartbeat), so a stretch longer than `max_gap` seconds with no
/// record before the loss is a stretch nothing covers — an unlock while
/// the laptop could not reach the log store would sit in it unshipped —
/// and leaves the verdict open. So does no record before the loss.
pub(crate) fn evidence(
    records: &[Record],
    before: &[&Record],
    lost_at: Timestamp,
    max_gap: i64,
    facts: &mut IncidentFacts,
    notes: &mut Notes,
) {
    let last = records.iter().max_by_key(|r| r.seq);
    facts.last_record_seq = last.map(|r| r.seq);
    facts.last_record_at = last.map(|r| r.ts.clone());
    facts.max_gap_secs = max_gap;
    if let Some(b) = before.iter().max_by_key(|r| r.seq) {
        let gap = parse_ts(&b.ts).map(|t| lost_at.as_second() - t.as_second());
        facts.evidence_gap_secs = gap;
        if let Some(g) = gap.filter(|g| *g > max_gap) {
            notes.unknowns.push(format!(
                "no record covers the {} before the loss: the last record before it is #{} at {}, and the bound is {} (a running Coffer writes a status record hourly)",
                human_duration(g),
                b.seq,
                human_time(&b.ts),
                human_duration(max_gap)
            ));
        }
    }
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
                notes.caveats.push(format!(
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
        notes.findings.push(Finding {
            topic: "evidence".into(),
            question: "How complete is the evidence?".into(),
            answer,
            proof: vec![l.seq],
            assessment,
        });
    }
    if before.is_empty() && !records.is_empty() {
        notes
            .unknowns
            .push("no shipped record is dated before the loss".into());
    }
}

/// What the records dated after the loss show: an unlock there means the
/// keys must be treated as compromised; failed unlocks are reported.
pub(crate) fn after_loss(after: &[&Record], notes: &mut Notes) {
    if !after.is_empty() {
        let opens: Vec<u64> = after.iter().filter(|r| opens(r)).map(|r| r.seq).collect();
        let failed: Vec<u64> = after
            .iter()
            .filter(|r| r.is(EventKind::UnlockFailed))
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
            notes.unknowns.push(format!(
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
        notes.findings.push(Finding {
            topic: "after_loss".into(),
            question: "Did anything happen after the loss?".into(),
            answer,
            proof,
            assessment,
        });
    }
}

/// Integrity failures recorded before the loss (a caveat).
pub(crate) fn integrity(before: &[&Record], notes: &mut Notes) {
    let integrity: Vec<u64> = before
        .iter()
        .filter(|r| r.is(EventKind::IntegrityFailure))
        .map(|r| r.seq)
        .collect();
    if !integrity.is_empty() {
        notes.caveats.push(format!(
            "Integrity failures were recorded before the loss ({}): some objects failed authentication (damage or tampering; no plaintext is released from such objects).",
            records_ref(&integrity, 8)
        ));
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::incident::testing::{facts, rec, ts};

    const LOST: &str = "2026-03-02T18:30:00Z";

    #[test]
    fn evidence_that_ends_before_the_loss_is_a_warning_and_a_caveat() {
        let r = [rec(7, "2026-03-02T17:00:00Z", "status", json!({}))];
        let before: Vec<&Record> = r.iter().collect();
        let (mut f, mut n) = (facts(), Notes::default());
        evidence(&r, &before, ts(LOST), 3 * 3600, &mut f, &mut n);
        assert_eq!(f.last_record_seq, Some(7));
        assert_eq!(f.last_record_at.as_deref(), Some("2026-03-02T17:00:00Z"));
        assert_eq!(n.findings[0].topic, "evidence");
        assert_eq!(n.findings[0].assessment, Assessment::Warning);
        assert_eq!(n.findings[0].proof, [7]);
        assert!(n.caveats[0].contains("1 hour 30 minutes before the loss"));
        assert!(n.unknowns.is_empty());
        assert_eq!(f.evidence_gap_secs, Some(5400));
    }

    #[test]
    fn a_gap_longer_than_the_bound_before_the_loss_leaves_it_open() {
        // Three days without a heartbeat.
        let r = [rec(7, "2026-02-27T18:00:00Z", "status", json!({}))];
        let before: Vec<&Record> = r.iter().collect();
        let (mut f, mut n) = (facts(), Notes::default());
        evidence(&r, &before, ts(LOST), 3 * 3600, &mut f, &mut n);
        assert_eq!(f.max_gap_secs, 3 * 3600);
        assert_eq!(f.evidence_gap_secs, Some(3 * 86400 + 1800));
        assert!(
            n.unknowns[0].starts_with("no record covers the 3 days"),
            "{:?}",
            n.unknowns
        );
        assert!(n.unknowns[0].contains("before it is #7"));
        assert!(n.unknowns[0].contains("the bound is 3 hours"));
        // Within a longer bound it is only stated.
        let (mut f, mut n) = (facts(), Notes::default());
        evidence(&r, &before, ts(LOST), 4 * 86400, &mut f, &mut n);
        assert!(n.unknowns.is_empty());
    }

    #[test]
    fn evidence_past_the_loss_covers_it_and_none_before_it_leaves_it_open() {
        let r = [rec(3, "2026-03-02T19:00:00Z", "lock", json!({}))];
        let (mut f, mut n) = (facts(), Notes::default());
        evidence(&r, &[], ts(LOST), 3 * 3600, &mut f, &mut n);
        assert_eq!(n.findings[0].assessment, Assessment::Good);
        assert_eq!(n.unknowns, ["no shipped record is dated before the loss"]);

        let (mut f, mut n) = (facts(), Notes::default());
        evidence(&[], &[], ts(LOST), 3 * 3600, &mut f, &mut n);
        assert!(n.findings.is_empty() && n.unknowns.is_empty());
        assert_eq!(f.last_record_seq, None);
    }

    #[test]
    fn an_unlock_after_the_loss_means_compromised_keys() {
        let r = [
            rec(20, "2026-03-02T19:00:00Z", "unlock_failed", json!({})),
            rec(21, "2026-03-02T19:05:00Z", "unlock", json!({})),
        ];
        let after: Vec<&Record> = r.iter().collect();
        let mut n = Notes::default();
        after_loss(&after, &mut n);
        let a = &n.findings[0];
        assert_eq!(
            (a.topic.as_str(), a.assessment),
            ("after_loss", Assessment::Bad)
        );
        assert_eq!(a.proof, [21, 20]);
        assert!(
            a.answer
                .starts_with("2 record(s) are dated after the loss (from record #20).")
        );
        assert!(a.answer.contains("1 failed unlock attempt(s)"));
        assert!(
            n.unknowns[0]
                .starts_with("the vault was unlocked after the reported time of loss (record #21)")
        );

        let mut n = Notes::default();
        after_loss(&after[..1], &mut n);
        assert_eq!(n.findings[0].assessment, Assessment::Info);
        assert_eq!(n.findings[0].proof, [20]);
        assert!(n.unknowns.is_empty());

        let mut n = Notes::default();
        after_loss(&[], &mut n);
        assert!(n.findings.is_empty());
    }

    #[test]
    fn integrity_failures_before_the_loss_are_a_caveat() {
        let r = [
            rec(4, "2026-03-02T09:00:00Z", "integrity_failure", json!({})),
            rec(5, "2026-03-02T09:01:00Z", "unlock", json!({})),
        ];
        let before: Vec<&Record> = r.iter().collect();
        let mut n = Notes::default();
        integrity(&before, &mut n);
        assert_eq!(n.caveats.len(), 1);
        assert!(
            n.caveats[0]
                .starts_with("Integrity failures were recorded before the loss (record #4)")
        );
        integrity(&before[1..], &mut n);
        assert_eq!(n.caveats.len(), 1);
    }
}
