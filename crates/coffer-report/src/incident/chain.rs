//! Finding 1: does the shipped log verify?

use coffer_core::audit::Record;

use super::{Assessment, Finding, Notes};
use crate::records::ChainStatus;

/// Whether the shipped copy's chain verifies, and covers every record given.
pub(crate) fn chain(chain: &ChainStatus, records: &[Record], notes: &mut Notes) {
    let last_seq = records.iter().map(|r| r.seq).max();
    if chain.ok && !records.is_empty() {
        let complete = Some(chain.last_verified_seq) == last_seq;
        notes.findings.push(Finding {
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
            notes.goods.push(format!(
                "the shipped log verifies through record #{}",
                chain.last_verified_seq
            ));
        } else {
            notes
                .unknowns
                .push("the records given do not match the verified copy".into());
        }
    } else if records.is_empty() {
        notes.findings.push(Finding {
            topic: "chain".into(),
            question: "Does the shipped log verify?".into(),
            answer: "The copy holds no record.".into(),
            proof: vec![],
            assessment: Assessment::Unknown,
        });
        notes
            .unknowns
            .push("the shipped copy holds no record".into());
    } else {
        notes.findings.push(Finding {
            topic: "chain".into(),
            question: "Does the shipped log verify?".into(),
            answer: format!(
                "No. {} Records were deleted, edited, inserted or reordered after they were written, so none of them can be relied on as evidence without other proof.",
                chain.statement
            ),
            proof: vec![],
            assessment: Assessment::Bad,
        });
        notes.unknowns.push(format!(
            "the shipped log fails verification at line {}: {}",
            chain.broken_at_line.unwrap_or(0),
            chain.broken_reason.as_deref().unwrap_or("unknown")
        ));
    }
}

#[cfg(test)]
mod tests {
    use coffer_core::audit::ChainReport;
    use serde_json::json;

    use super::*;
    use crate::incident::testing::rec;

    fn status(verified: u64, broken: Option<(u64, &str)>) -> ChainStatus {
        ChainStatus::new(&ChainReport {
            verified,
            last_seq: verified,
            broken: broken.map(|(l, w)| (l, w.to_owned())),
            ..Default::default()
        })
    }

    #[test]
    fn a_verified_copy_supports_the_verdict_only_when_it_covers_every_record() {
        let records = [
            rec(1, "2026-03-02T09:00:00Z", "unlock", json!({})),
            rec(2, "2026-03-02T09:01:00Z", "lock", json!({})),
        ];
        let mut n = Notes::default();
        chain(&status(2, None), &records, &mut n);
        assert_eq!(n.findings[0].topic, "chain");
        assert_eq!(n.findings[0].assessment, Assessment::Good);
        assert_eq!(n.findings[0].proof, [2]);
        assert_eq!(n.goods, ["the shipped log verifies through record #2"]);

        let mut n = Notes::default();
        chain(&status(1, None), &records, &mut n);
        assert_eq!(n.findings[0].assessment, Assessment::Unknown);
        assert_eq!(
            n.unknowns,
            ["the records given do not match the verified copy"]
        );
    }

    #[test]
    fn a_broken_or_empty_copy_cannot_be_relied_on() {
        let records = [rec(1, "2026-03-02T09:00:00Z", "unlock", json!({}))];
        let mut n = Notes::default();
        chain(&status(0, Some((1, "hash mismatch"))), &records, &mut n);
        assert_eq!(n.findings[0].assessment, Assessment::Bad);
        assert!(
            n.findings[0]
                .answer
                .starts_with("No. Chain BROKEN at line 1")
        );
        assert_eq!(
            n.unknowns,
            ["the shipped log fails verification at line 1: hash mismatch"]
        );

        let mut n = Notes::default();
        chain(&status(0, None), &[], &mut n);
        assert_eq!(n.findings[0].answer, "The copy holds no record.");
        assert_eq!(n.findings[0].assessment, Assessment::Unknown);
        assert_eq!(n.unknowns, ["the shipped copy holds no record"]);
    }
}
