//! Finding 2: was the vault locked when the laptop was lost?

use std::fmt::Write as _;

use coffer_core::audit::{EventKind, Record};
use jiff::Timestamp;

use super::{Assessment, Finding, IncidentFacts, Notes};
use crate::text::{
    d_str, human_duration, human_time, human_ts, lock_reason_text, parse_ts, seq_list,
};

/// Events that leave the vault open.
const OPENS: [EventKind; 3] = [
    EventKind::Unlock,
    EventKind::Recovery,
    EventKind::VaultCreated,
];

/// Whether `r` leaves the vault open.
pub(crate) fn opens(r: &Record) -> bool {
    OPENS.into_iter().any(|k| r.is(k))
}

fn opening_text(r: &Record) -> String {
    match r.kind() {
        Some(EventKind::VaultCreated) => format!(
            "created (and so unlocked) at {} by {} on {} (record #{})",
            human_time(&r.ts),
            r.user,
            r.host,
            r.seq
        ),
        Some(EventKind::Recovery) => format!(
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

/// The lock state at the loss: the last unlock or lock before it decides.
/// Unlocks no lock answers, hidden behind a later lock, are a caveat.
pub(crate) fn lock_state(
    before: &[&Record],
    lost_at: Timestamp,
    facts: &mut IncidentFacts,
    notes: &mut Notes,
) {
    let lost = human_ts(lost_at);
    let mut last_session: Option<&Record> = None;
    let mut last_open: Option<&Record> = None;
    let mut last_lock: Option<&Record> = None;
    let mut open_stack: Vec<u64> = Vec::new();
    for r in before {
        if opens(r) {
            open_stack.push(r.seq);
            last_open = Some(r);
            last_session = Some(r);
        } else if r.is(EventKind::Lock) {
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
            notes.findings.push(Finding {
                topic: "lock_state".into(),
                question: "Was the vault locked when the laptop was lost?".into(),
                answer: format!(
                    "The records before {lost} show no unlock and no lock, so the lock state at the loss cannot be shown."
                ),
                proof: vec![],
                assessment: Assessment::Unknown,
            });
            notes
                .unknowns
                .push("no unlock or lock is recorded before the loss".into());
        }
        Some(r) if !r.is(EventKind::Lock) => {
            facts.locked_at_loss = Some(false);
            notes.findings.push(Finding {
                topic: "lock_state".into(),
                question: "Was the vault locked when the laptop was lost?".into(),
                answer: format!(
                    "NO. The vault was {}, and no lock was recorded after that before the loss at {lost}. It was unlocked at the time of loss: whoever held the running laptop could read its files.",
                    opening_text(r)
                ),
                proof: vec![r.seq],
                assessment: Assessment::Bad,
            });
            notes.fails.push(format!(
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
            notes.findings.push(Finding {
                topic: "lock_state".into(),
                question: "Was the vault locked when the laptop was lost?".into(),
                answer,
                proof,
                assessment: Assessment::Good,
            });
            notes.goods.push(format!(
                "the vault was locked at the loss, and had been since {} (record #{})",
                human_time(&l.ts),
                l.seq
            ));
            if !open_stack.is_empty() {
                facts.unmatched_unlock_seqs = open_stack.clone();
                notes.caveats.push(format!(
                    "Unlock record(s) {} have no lock of their own. Records carry no process id, so this is either a program that ended without logging (a crash or power loss: its keys left memory with it) or a second session — e.g. the desktop app while a command ran and exited — that may still have been open at the loss. Check what ran on the laptop at those times.",
                    seq_list(&open_stack, 8)
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::incident::testing::{facts, rec, ts};

    const LOST: &str = "2026-03-02T18:30:00Z";

    #[test]
    fn a_lock_after_the_last_unlock_means_locked_with_proof() {
        let r = [
            rec(
                1,
                "2026-03-02T09:00:00Z",
                "unlock",
                json!({"method": "passphrase"}),
            ),
            rec(
                2,
                "2026-03-02T17:00:00Z",
                "lock",
                json!({"reason": "manual"}),
            ),
        ];
        let before: Vec<&Record> = r.iter().collect();
        let (mut f, mut n) = (facts(), Notes::default());
        lock_state(&before, ts(LOST), &mut f, &mut n);
        assert_eq!(f.locked_at_loss, Some(true));
        assert_eq!(f.locked_since.as_deref(), Some("2026-03-02T17:00:00Z"));
        assert_eq!((f.last_unlock_seq, f.last_lock_seq), (Some(1), Some(2)));
        let l = &n.findings[0];
        assert_eq!(
            (l.topic.as_str(), l.assessment),
            ("lock_state", Assessment::Good)
        );
        assert_eq!(l.proof, [2, 1]);
        assert!(l.answer.starts_with(
            "Yes. Locked since 2026-03-02 17:00:00 UTC, 1 hour 30 minutes before the loss (record #2: locked by the user)."
        ));
        assert!(
            l.answer
                .contains("unlocked with the passphrase at 2026-03-02 09:00:00 UTC")
        );
        assert!(n.goods[0].starts_with("the vault was locked at the loss"));
        assert!(n.caveats.is_empty());
    }

    #[test]
    fn an_unlock_with_no_lock_before_the_loss_defeats_the_safe_harbor() {
        let r = [
            rec(1, "2026-03-02T09:00:00Z", "vault_created", json!({})),
            rec(2, "2026-03-02T09:01:00Z", "lock", json!({})),
            rec(
                3,
                "2026-03-02T18:00:00Z",
                "unlock",
                json!({"method": "keychain"}),
            ),
        ];
        let before: Vec<&Record> = r.iter().collect();
        let (mut f, mut n) = (facts(), Notes::default());
        lock_state(&before, ts(LOST), &mut f, &mut n);
        assert_eq!(f.locked_at_loss, Some(false));
        assert_eq!(n.findings[0].assessment, Assessment::Bad);
        assert_eq!(n.findings[0].proof, [3]);
        assert!(
            n.findings[0]
                .answer
                .starts_with("NO. The vault was unlocked with the keychain")
        );
        assert!(n.fails[0].contains("record #3"));
    }

    #[test]
    fn no_session_record_leaves_the_lock_state_unknown_and_unmatched_unlocks_are_a_caveat() {
        let (mut f, mut n) = (facts(), Notes::default());
        lock_state(&[], ts(LOST), &mut f, &mut n);
        assert_eq!(f.locked_at_loss, None);
        assert_eq!(n.findings[0].assessment, Assessment::Unknown);
        assert_eq!(
            n.unknowns,
            ["no unlock or lock is recorded before the loss"]
        );

        let r = [
            rec(1, "2026-03-02T09:00:00Z", "unlock", json!({})),
            rec(2, "2026-03-02T09:01:00Z", "unlock", json!({})),
            rec(3, "2026-03-02T09:02:00Z", "lock", json!({})),
        ];
        let before: Vec<&Record> = r.iter().collect();
        let (mut f, mut n) = (facts(), Notes::default());
        lock_state(&before, ts(LOST), &mut f, &mut n);
        assert_eq!(f.locked_at_loss, Some(true));
        assert_eq!(f.unmatched_unlock_seqs, [1]);
        assert!(n.caveats[0].starts_with("Unlock record(s) #1 have no lock of their own."));
    }
}
