//! The verdict rules of docs/COMPLIANCE.md, each over a hand-written
//! chain: what holds, and each open question with its reason stated.

use coffer_report::{IncidentOptions, Verdict, incident_report, incident_report_with};
use serde_json::{Value, json};

use crate::fixtures::{Chain, DEV, status, ts};

const LOST: &str = "2026-03-02T18:30:00Z";

/// A day in sessions: created, a folder protected while the watcher ran,
/// unlocked and locked by one process, a heartbeat at 18:00.
fn day(encrypt: &[(&str, &[&str])]) -> Chain {
    let mut c = Chain::new();
    c.session("create")
        .push("2026-03-02T08:00:00Z", "alice", "vault_created", json!({}))
        .push(
            "2026-03-02T08:00:01Z",
            "alice",
            "lock",
            json!({"reason": "process_end"}),
        );
    c.session("cli")
        .push("2026-03-02T08:10:00Z", "alice", "protect", json!({}));
    c.session("watcher").push(
        "2026-03-02T08:10:01Z",
        "alice",
        "plaintext_found",
        json!({"count": 3, "files": ["f1", "f2", "f3"]}),
    );
    for (i, (by, files)) in encrypt.iter().enumerate() {
        let ids: Vec<String> = (0..files.len()).map(|j| format!("{i:02}{j:030}")).collect();
        c.session(if *by == "watcher" { "watcher" } else { "cli" })
            .push(
                "2026-03-02T08:10:02Z",
                "alice",
                "file_added",
                json!({"ids": ids, "by": by, "files": files}),
            );
    }
    c.session("app")
        .push(
            "2026-03-02T09:00:00Z",
            "alice",
            "unlock",
            json!({"method": "passphrase"}),
        )
        .push(
            "2026-03-02T12:00:00Z",
            "alice",
            "lock",
            json!({"reason": "auto"}),
        );
    c.session("watcher").push(
        "2026-03-02T18:00:00Z",
        "alice",
        "status",
        status(3, 1, "2026-03-02T08:00:00Z", "on", true),
    );
    c
}

fn report(c: &Chain) -> coffer_report::IncidentReport {
    incident_report(&c.records, &c.bytes, DEV, ts(LOST))
}

fn reasons(r: &coffer_report::IncidentReport) -> String {
    r.reasons.join(" | ")
}

#[test]
fn plaintext_found_then_encrypted_by_protect_the_watcher_or_both_holds() {
    let cases: [&[(&str, &[&str])]; 3] = [
        &[("cli", &["f1", "f2", "f3"])],
        &[("watcher", &["f1", "f2", "f3"])],
        &[("cli", &["f1", "f3"]), ("watcher", &["f2"])],
    ];
    for encrypt in cases {
        let rep = report(&day(encrypt));
        assert_eq!(
            rep.verdict,
            Verdict::Holds,
            "{encrypt:?}: {}",
            reasons(&rep)
        );
        assert_eq!(rep.facts.plaintext_pending, 0);
        let pt = rep
            .findings
            .iter()
            .find(|f| f.topic == "plaintext")
            .unwrap();
        assert!(pt.proof.contains(&4), "the scan is cited");
        assert!(pt.proof.len() > 1, "the encryption is cited");
    }
    // Three other files encrypted do not settle the three found.
    let rep = report(&day(&[("cli", &["x1", "x2", "x3"])]));
    assert_eq!(
        rep.verdict,
        Verdict::CannotBeEstablished,
        "disk encryption on"
    );
    assert_eq!(rep.facts.plaintext_pending, 3);
}

#[test]
fn an_unmatched_unlock_before_the_loss_never_holds() {
    // The app unlocks at 13:00 and never locks; a command unlocks and
    // locks at 14:00; the app's process still writes at 17:55.
    let mut c = day(&[("cli", &["f1", "f2", "f3"])]);
    c.session("app2").push(
        "2026-03-02T13:00:00Z",
        "alice",
        "unlock",
        json!({"method": "passphrase"}),
    );
    c.session("cli2")
        .push(
            "2026-03-02T14:00:00Z",
            "alice",
            "unlock",
            json!({"method": "passphrase"}),
        )
        .push(
            "2026-03-02T14:00:05Z",
            "alice",
            "lock",
            json!({"reason": "process_end"}),
        );
    c.session("app2").push(
        "2026-03-02T17:55:00Z",
        "alice",
        "file_opened",
        json!({"ids": ["a"]}),
    );
    let rep = report(&c);
    assert_eq!(rep.verdict, Verdict::DoesNotHold, "{}", reasons(&rep));
    assert!(reasons(&rep).contains("a session was still unlocked at the loss"));
    assert_eq!(rep.facts.open_session_seqs, [9]);
    let lock = rep
        .findings
        .iter()
        .find(|f| f.topic == "lock_state")
        .unwrap();
    assert!(lock.proof.contains(&9));
}

#[test]
fn a_three_day_gap_before_the_loss_cannot_be_established() {
    let c = day(&[("cli", &["f1", "f2", "f3"])]);
    let rep = incident_report(&c.records, &c.bytes, DEV, ts("2026-03-05T18:00:00Z"));
    assert_eq!(rep.verdict, Verdict::CannotBeEstablished);
    assert!(
        reasons(&rep).contains("no record covers the 3 days"),
        "{}",
        reasons(&rep)
    );
    // Held to a looser bound, the same evidence holds.
    let rep = incident_report_with(
        &c.records,
        &c.bytes,
        DEV,
        ts("2026-03-05T18:00:00Z"),
        &IncidentOptions::default().max_gap_secs(4 * 86400),
    );
    assert_eq!(rep.verdict, Verdict::Holds, "{}", reasons(&rep));
}

#[test]
fn a_clock_that_went_backwards_cannot_be_established() {
    // A lock dated before the unlock it answers: a backdated record.
    let mut c = day(&[("cli", &["f1", "f2", "f3"])]);
    c.session("app3")
        .push(
            "2026-03-02T18:05:00Z",
            "alice",
            "unlock",
            json!({"method": "passphrase"}),
        )
        .push(
            "2026-03-02T16:00:00Z",
            "alice",
            "lock",
            json!({"reason": "manual"}),
        );
    let rep = report(&c);
    assert_eq!(
        rep.verdict,
        Verdict::CannotBeEstablished,
        "{}",
        reasons(&rep)
    );
    assert!(reasons(&rep).contains("clock went backwards at record(s) #10"));
}

#[test]
fn a_keychain_slot_on_a_laptop_that_may_have_run_cannot_be_established() {
    let mut c = Chain::new();
    for r in &day(&[("cli", &["f1", "f2", "f3"])]).records {
        let mut d = Value::Object(r.detail.clone());
        if r.event == "status" {
            d["slots"] = json!(["passphrase", "keychain"]);
        }
        c.session = r.session.clone();
        c.push(&r.ts, &r.user, &r.event, d);
    }
    let rep = report(&c);
    assert_eq!(rep.verdict, Verdict::CannotBeEstablished);
    assert!(
        reasons(&rep).contains("a keychain slot was enrolled (record #8)"),
        "{}",
        reasons(&rep)
    );
}

#[test]
fn a_chain_that_fails_to_verify_cannot_be_established() {
    let c = day(&[("cli", &["f1", "f2", "f3"])]);
    let mut lines = c.lines();
    lines[6] = String::from_utf8(lines[6].clone())
        .unwrap()
        .replace("\"auto\"", "\"manual\"")
        .into_bytes();
    let mut bytes = lines.join(&b'\n');
    bytes.push(b'\n');
    let rep = incident_report(&coffer_report::parse_records(&bytes), &bytes, DEV, ts(LOST));
    assert_eq!(rep.verdict, Verdict::CannotBeEstablished);
    assert!(
        reasons(&rep).contains("fails verification at line 8"),
        "{}",
        reasons(&rep)
    );
}
