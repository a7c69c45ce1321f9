//! Finding 2: was the vault locked when the laptop was lost?

use std::collections::BTreeMap;
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

/// An unlock method as a reader says it ("the recovery key", not "the
/// recovery").
fn method_words(method: Option<&str>) -> &str {
    match method {
        Some("passphrase") => "passphrase",
        Some("keychain") => "computer's keychain",
        Some("recovery") | None => "recovery key",
        Some("escrow") => "organisation's escrow key",
        Some("kms_escrow") => "organisation's key in its KMS or HSM",
        Some(other) => other,
    }
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
            method_words(d_str(r, "method")),
            human_time(&r.ts),
            r.user,
            r.host,
            r.seq
        ),
        _ => format!(
            "unlocked with the {} at {} by {} on {} (record #{})",
            d_str(r, "method").map_or("?", |m| method_words(Some(m))),
            human_time(&r.ts),
            r.user,
            r.host,
            r.seq
        ),
    }
}

/// One process's audit session before the loss: its last unlock or lock,
/// and the last record it wrote (its last sign of life).
struct Session<'a> {
    last_event: &'a Record,
    last_seen: &'a Record,
}

/// The sessions of the records before the loss that carry one, by id.
fn sessions<'a>(before: &[&'a Record]) -> BTreeMap<&'a str, Session<'a>> {
    let mut out: BTreeMap<&str, Session> = BTreeMap::new();
    for r in before {
        let Some(id) = r.session.as_deref() else {
            continue;
        };
        let is_event = opens(r) || r.is(EventKind::Lock);
        match out.get_mut(id) {
            Some(s) => {
                s.last_seen = r;
                if is_event {
                    s.last_event = r;
                }
            }
            None if is_event => {
                out.insert(
                    id,
                    Session {
                        last_event: r,
                        last_seen: r,
                    },
                );
            }
            None => {}
        }
    }
    out
}

/// The lock state at the loss. Each process's session pairs its own
/// unlocks and locks: a session whose last event is an unlock was still
/// open at the loss. If its process wrote anything within `max_gap` of the
/// loss, it held the keys then (the safe harbor does not hold); else it may
/// have ended without logging (a crash, a power loss) or still be running,
/// and the verdict cannot be established. Records of older versions carry
/// no session: an unlock no lock answers is then an open question too.
pub(crate) fn lock_state(
    before: &[&Record],
    lost_at: Timestamp,
    max_gap: i64,
    facts: &mut IncidentFacts,
    notes: &mut Notes,
) {
    let lost = human_ts(lost_at);
    let mut last_session: Option<&Record> = None;
    let mut last_open: Option<&Record> = None;
    let mut last_lock: Option<&Record> = None;
    // Unlocks of records without a session id, answered last-in first-out.
    let mut open_stack: Vec<u64> = Vec::new();
    for r in before {
        let legacy = r.session.is_none();
        if opens(r) {
            if legacy {
                open_stack.push(r.seq);
            }
            last_open = Some(r);
            last_session = Some(r);
        } else if r.is(EventKind::Lock) {
            if legacy {
                open_stack.pop();
            }
            last_lock = Some(r);
            last_session = Some(r);
        }
    }
    let open_sessions: Vec<Session> = sessions(before)
        .into_values()
        .filter(|s| !s.last_event.is(EventKind::Lock))
        .collect();
    facts.last_unlock_seq = last_open.map(|r| r.seq);
    facts.last_lock_seq = last_lock.map(|r| r.seq);
    facts.open_session_seqs = open_sessions.iter().map(|s| s.last_event.seq).collect();
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
            let since = parse_ts(&l.ts)
                .map(|t| {
                    format!(
                        ", {} before the loss",
                        human_duration(lost_at.as_second() - t.as_second())
                    )
                })
                .unwrap_or_default();
            let mut answer = format!(
                "The last lock before the loss was at {}{since} (record #{}: {}).",
                human_time(&l.ts),
                l.seq,
                lock_reason_text(d_str(l, "reason").unwrap_or("?"))
            );
            let mut proof = vec![l.seq];
            if let Some(o) = last_open.filter(|o| o.seq < l.seq) {
                let _ = write!(answer, " Before that the vault was {}.", opening_text(o));
                proof.push(o.seq);
            }
            let mut open = false;
            for s in &open_sessions {
                open = true;
                let o = s.last_event;
                proof.push(o.seq);
                let alive = parse_ts(&s.last_seen.ts)
                    .is_some_and(|t| lost_at.as_second() - t.as_second() <= max_gap);
                let _ = write!(
                    answer,
                    " But the process that {} never recorded its own lock (its session's last record is #{} at {}).",
                    opening_text(o),
                    s.last_seen.seq,
                    human_time(&s.last_seen.ts)
                );
                if alive {
                    notes.fails.push(format!(
                        "a session was still unlocked at the loss: unlocked at {} (record #{}), no lock of its own, and its process was still writing records at {} (record #{})",
                        human_time(&o.ts),
                        o.seq,
                        human_time(&s.last_seen.ts),
                        s.last_seen.seq
                    ));
                } else {
                    notes.unknowns.push(format!(
                        "a session unlocked at {} (record #{}) has no lock of its own before the loss: its process may have ended without logging (a crash or power loss) or still held the keys at the loss",
                        human_time(&o.ts),
                        o.seq
                    ));
                }
            }
            if !open_stack.is_empty() {
                open = true;
                facts.unmatched_unlock_seqs = open_stack.clone();
                proof.extend(&open_stack);
                notes.unknowns.push(format!(
                    "unlock record(s) {} have no lock of their own, and these records (of an older version) carry no session id to pair them: a second session (the desktop app while a command ran and exited, say) may still have been open at the loss",
                    seq_list(&open_stack, 8)
                ));
            }
            facts.locked_at_loss = (!open).then_some(true);
            if open {
                answer.insert_str(0, "NOT SHOWN. ");
            } else {
                facts.locked_since = Some(l.ts.clone());
                answer.insert_str(
                    0,
                    "Yes. Every session that unlocked recorded its own lock. ",
                );
                notes.goods.push(format!(
                    "the vault was locked at the loss, and had been since {} (record #{})",
                    human_time(&l.ts),
                    l.seq
                ));
            }
            notes.findings.push(Finding {
                topic: "lock_state".into(),
                question: "Was the vault locked when the laptop was lost?".into(),
                answer,
                proof,
                assessment: if open {
                    Assessment::Unknown
                } else {
                    Assessment::Good
                },
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::incident::testing::{facts, rec, ts};

    const LOST: &str = "2026-03-02T18:30:00Z";
    const GAP: i64 = 3 * 3600;

    fn in_session(mut r: Record, s: &str) -> Record {
        r.session = Some(s.into());
        r
    }

    fn run(r: &[Record]) -> (IncidentFacts, Notes) {
        let before: Vec<&Record> = r.iter().collect();
        let (mut f, mut n) = (facts(), Notes::default());
        lock_state(&before, ts(LOST), GAP, &mut f, &mut n);
        (f, n)
    }

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
        let (f, n) = run(&r);
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
            "Yes. Every session that unlocked recorded its own lock. The last lock before the loss was at 2026-03-02 17:00:00 UTC, 1 hour 30 minutes before the loss (record #2: locked by the user)."
        ), "{}", l.answer);
        assert!(
            l.answer
                .contains("unlocked with the passphrase at 2026-03-02 09:00:00 UTC")
        );
        assert!(n.goods[0].starts_with("the vault was locked at the loss"));
        assert!(n.unknowns.is_empty() && n.fails.is_empty());
    }

    #[test]
    fn unlock_methods_read_as_words() {
        assert_eq!(method_words(Some("recovery")), "recovery key");
        assert_eq!(method_words(Some("keychain")), "computer's keychain");
        assert_eq!(method_words(Some("passphrase")), "passphrase");
        assert_eq!(method_words(Some("escrow")), "organisation's escrow key");
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
        let (f, n) = run(&r);
        assert_eq!(f.locked_at_loss, Some(false));
        assert_eq!(n.findings[0].assessment, Assessment::Bad);
        assert_eq!(n.findings[0].proof, [3]);
        assert!(
            n.findings[0]
                .answer
                .starts_with("NO. The vault was unlocked with the computer's keychain")
        );
        assert!(n.fails[0].contains("record #3"));
    }

    /// The app unlocks at 09:00 and stays open; a command unlocks and
    /// locks at 12:00; the laptop is lost at 18:30.
    fn app_and_command(app_seen: &str) -> Vec<Record> {
        vec![
            in_session(
                rec(
                    1,
                    "2026-03-02T09:00:00Z",
                    "unlock",
                    json!({"method": "passphrase"}),
                ),
                "app",
            ),
            in_session(
                rec(
                    2,
                    "2026-03-02T12:00:00Z",
                    "unlock",
                    json!({"method": "passphrase"}),
                ),
                "cli",
            ),
            in_session(
                rec(
                    3,
                    "2026-03-02T12:00:01Z",
                    "lock",
                    json!({"reason": "process_end"}),
                ),
                "cli",
            ),
            in_session(
                rec(4, app_seen, "file_opened", json!({"ids": ["a"]})),
                "app",
            ),
        ]
    }

    #[test]
    fn an_open_session_behind_another_sessions_lock_never_holds() {
        // The app's process still wrote a record an hour before the loss.
        let (f, n) = run(&app_and_command("2026-03-02T17:30:00Z"));
        assert_eq!(f.locked_at_loss, None);
        assert_eq!(f.locked_since, None);
        assert_eq!(f.open_session_seqs, [1]);
        assert_eq!(n.findings[0].assessment, Assessment::Unknown);
        assert!(n.findings[0].answer.starts_with("NOT SHOWN."));
        assert!(n.findings[0].proof.contains(&1));
        assert!(n.goods.is_empty());
        assert!(
            n.fails[0].starts_with("a session was still unlocked at the loss"),
            "{:?}",
            n.fails
        );
        assert!(n.fails[0].contains("record #4"));

        // Last seen long before the loss: it may have crashed; unknown.
        let (_, n) = run(&app_and_command("2026-03-02T09:05:00Z"));
        assert!(n.fails.is_empty());
        assert!(n.unknowns[0].starts_with(
            "a session unlocked at 2026-03-02 09:00:00 UTC (record #1) has no lock of its own"
        ));
    }

    #[test]
    fn no_session_record_leaves_the_lock_state_unknown_and_so_do_unmatched_older_unlocks() {
        let (f, n) = run(&[]);
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
        let (f, n) = run(&r);
        assert_eq!(f.locked_at_loss, None);
        assert_eq!(f.unmatched_unlock_seqs, [1]);
        assert!(n.unknowns[0].starts_with("unlock record(s) #1 have no lock of their own"));
        assert!(n.goods.is_empty());
    }
}
