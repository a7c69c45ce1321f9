//! Finding 1b: are the records the lost device's own, as it wrote them?
//! Its seals ([`coffer_core::audit::seal`]), verified with the keys the
//! auditor opened, and the copy against the collector's receipts.

use coffer_core::audit::{AuditKeys, Record, verify_seals};

use super::{Assessment, Finding, IncidentFacts, Notes};
use crate::receipts::{Arrivals, CopyChange, check_copy};
use crate::text::{human_time, records_ref};

/// What the caller gives this step.
pub(crate) struct Given<'a> {
    pub keys: Option<&'a AuditKeys>,
    pub arrivals: Option<&'a Arrivals>,
    /// Unauthenticated records leave the verdict open (else a caveat).
    pub require: bool,
}

pub(crate) fn authenticity(
    records: &[Record],
    raw: &[u8],
    device: &str,
    given: &Given<'_>,
    facts: &mut IncidentFacts,
    notes: &mut Notes,
) {
    let mut answer = String::new();
    let mut proof = Vec::new();
    let mut assessment = Assessment::Good;
    let sealed = records.iter().any(|r| r.mac.is_some());
    let mut not_shown: Option<String> = None;
    match given.keys {
        Some(keys) => {
            let rep = verify_seals(raw, None, keys);
            proof.extend(rep.enrolments.iter().map(|e| e.1));
            if let Some((kind, seq, recs)) = &rep.broken {
                facts.authenticated = Some(false);
                facts.seal_break = Some(*kind);
                facts.seal_break_records = recs.clone();
                proof.extend(recs);
                answer = format!(
                    "NO. The seals fail: {} ({}).",
                    kind.describe(),
                    records_ref(recs, 8)
                );
                notes.unknowns.push(format!(
                    "the shipped copy fails its device seals at record #{seq}: {}",
                    kind.describe()
                ));
                assessment = Assessment::Bad;
            } else if rep.authenticated() {
                facts.authenticated = Some(true);
                answer = format!(
                    "Yes. Every one of the {} records carries a valid seal under the key its device enrolled ({}); the keys evolve forward and the laptop keeps only the next one, so whoever holds the laptop cannot rewrite records it had already written.",
                    rep.sealed_ok,
                    records_ref(&proof, 8)
                );
                notes.goods.push(format!(
                    "every record is sealed by its device's own key ({})",
                    records_ref(&proof, 8)
                ));
            } else {
                facts.authenticated = Some(false);
                not_shown = Some(if rep.unsealed_legacy > 0 {
                    format!(
                        "{} record(s) are of the older format, without a device seal (unauthenticated, older format): anyone who could write the copy could have written them",
                        rep.unsealed_legacy
                    )
                } else {
                    format!(
                        "{} sealed record(s) could not be verified: their device's key was not sealed to the escrow key given",
                        rep.unverifiable
                    )
                });
            }
            for (d, seq) in rep.re_enrolments.iter().filter(|(d, _)| d == device) {
                proof.push(*seq);
                notes.unknowns.push(format!(
                    "device {d} enrolled a new audit key at record #{seq}: a lost key state, or a new key after its records were cut; records before it cannot be shown complete"
                ));
            }
        }
        None => {
            not_shown = Some(if sealed {
                "the records are sealed, but no verification key was given (the organisation escrow key opens each device's key)".to_owned()
            } else {
                "the records are of the older format, without a device seal (unauthenticated, older format)".to_owned()
            });
        }
    }
    if let Some(why) = not_shown {
        answer = format!("NOT SHOWN: {why}.");
        assessment = Assessment::Warning;
        if given.require {
            notes.unknowns.push(why);
            assessment = Assessment::Unknown;
        } else {
            notes.caveats.push(format!(
                "The records are not shown to be the device's own: {why}."
            ));
        }
    }
    if let Some(a) = given.arrivals
        && let Some((change, r)) = check_copy(raw, &a.receipts)
    {
        facts.copy_change = Some(change);
        let what = match change {
            CopyChange::ReplacedWholesale => "replaced wholesale",
            CopyChange::TailTruncated => "cut short (its tail removed)",
            CopyChange::Rewritten => "rewritten",
        };
        answer.push_str(&format!(
            " The copy was {what} after the collector received record #{} at {}.",
            r.seq,
            human_time(&r.at)
        ));
        notes.unknowns.push(format!(
            "the shipped copy was {what} after the collector received record #{} at {} (collector receipt)",
            r.seq,
            human_time(&r.at)
        ));
        assessment = Assessment::Bad;
    }
    notes.findings.push(Finding {
        topic: "authenticity".into(),
        question: "Are the records the lost device's own, as it wrote them?".into(),
        answer,
        proof,
        assessment,
    });
}
