//! The incident report: the verdict and its proof, over hand-written chains.

use coffer_report::{Assessment, KdfParams, Verdict, incident_report, parse_records};
use serde_json::{Value, json};

use crate::fixtures::{Chain, DEV, ID_A, ID_B, clinic_day, page_count, ts};

#[test]
fn locked_at_loss_holds_with_proof() {
    let c = clinic_day();
    let rep = incident_report(&c.records, &c.bytes, DEV, ts("2026-03-02T18:30:00Z"));
    assert_eq!(rep.verdict, Verdict::Holds, "{:#?}", rep.reasons);
    assert!(
        rep.verdict_text
            .starts_with("Safe harbor holds, on the records up to 2026-03-02 17:00:00 UTC")
    );
    let f = &rep.facts;
    assert_eq!(f.locked_at_loss, Some(true));
    assert_eq!(f.locked_since.as_deref(), Some("2026-03-02T13:02:00Z"));
    assert_eq!(f.last_lock_seq, Some(18));
    assert_eq!(f.last_unlock_seq, Some(15));
    assert!(f.unmatched_unlock_seqs.is_empty());
    assert_eq!(f.status_seq, Some(19));
    assert_eq!(f.objects, Some(43));
    assert_eq!(f.key_version, Some(2));
    assert_eq!(f.key_age_days, Some(0));
    assert_eq!(
        f.kdf,
        Some(KdfParams {
            alg: "argon2id".into(),
            m_kib: 262144,
            t: 3,
            p: 4
        })
    );
    assert_eq!(f.last_rotation_seq, Some(17));
    assert_eq!(f.plaintext_found_seq, Some(4));
    assert_eq!((f.plaintext_encrypted_after, f.plaintext_pending), (3, 0));
    assert_eq!(f.disk_encryption, "on");
    assert_eq!(f.escrow, Some(true));
    assert_eq!(f.records_after_loss, 0);
    let lock = rep
        .findings
        .iter()
        .find(|f| f.topic == "lock_state")
        .unwrap();
    assert_eq!(lock.proof, vec![18, 15]);
    assert_eq!(lock.assessment, Assessment::Good);
    assert!(lock.answer.starts_with("Yes. Every session that unlocked recorded its own lock. The last lock before the loss was at 2026-03-02 13:02:00 UTC, 5 hours 28 minutes before the loss (record #18"), "{}", lock.answer);
    let prot = rep
        .findings
        .iter()
        .find(|f| f.topic == "protection")
        .unwrap();
    assert!(prot.answer.contains("43 encrypted file(s)"));
    assert!(
        prot.answer
            .contains("Argon2id (memory 256 MiB, 3 passes, 4 lanes)")
    );
    assert_eq!(prot.proof, vec![19]);
    let pt = rep
        .findings
        .iter()
        .find(|f| f.topic == "plaintext")
        .unwrap();
    assert_eq!(pt.proof, vec![4, 6]);
    assert!(rep.findings.iter().all(|f| f.assessment != Assessment::Bad));
    // The gap between the last record and the loss is stated.
    assert!(
        rep.caveats
            .iter()
            .any(|c| c.contains("1 hour 30 minutes before the loss"))
    );

    let v: Value = serde_json::from_str(&rep.to_json()).unwrap();
    assert_eq!(v["verdict"], "holds");
    assert_eq!(v["facts"]["locked_at_loss"], true);
    let html = rep.to_html();
    assert!(html.contains("class=\"status good verdict\""));
    assert!(html.contains("Safe harbor holds"));
    assert!(html.contains("records #18, #15"));
    let pdf = rep.to_pdf();
    assert!(pdf.starts_with(b"%PDF-") && page_count(&pdf) >= 1);
}

#[test]
fn unlocked_at_loss_does_not_hold() {
    let mut c = clinic_day();
    c.push(
        "2026-03-02T18:00:00Z",
        "alice",
        "unlock",
        json!({"method": "passphrase"}),
    )
    .push(
        "2026-03-02T18:05:00Z",
        "alice",
        "file_opened",
        json!({"ids": [ID_A]}),
    );
    let rep = incident_report(&c.records, &c.bytes, DEV, ts("2026-03-02T18:30:00Z"));
    assert_eq!(rep.verdict, Verdict::DoesNotHold);
    assert_eq!(rep.facts.locked_at_loss, Some(false));
    assert_eq!(rep.facts.last_unlock_seq, Some(20));
    assert!(rep.reasons[0].starts_with("the vault was unlocked at the time of loss"));
    assert!(rep.reasons[0].contains("record #20"));
    let lock = rep
        .findings
        .iter()
        .find(|f| f.topic == "lock_state")
        .unwrap();
    assert_eq!(lock.assessment, Assessment::Bad);
    assert_eq!(lock.proof, vec![20]);
    assert!(lock.answer.starts_with("NO."));
    let html = rep.to_html();
    assert!(html.contains("class=\"status bad verdict\""));
    assert!(html.contains("Safe harbor does NOT hold"));
    assert!(rep.to_pdf().starts_with(b"%PDF-"));

    // Locked later, but only after the loss: still unlocked at the loss,
    // and the lock after the loss is reported, not counted.
    c.push(
        "2026-03-02T19:00:00Z",
        "alice",
        "lock",
        json!({"reason": "auto"}),
    );
    let rep = incident_report(&c.records, &c.bytes, DEV, ts("2026-03-02T18:30:00Z"));
    assert_eq!(rep.verdict, Verdict::DoesNotHold);
    assert_eq!(rep.facts.records_after_loss, 1);
    let ev = rep.findings.iter().find(|f| f.topic == "evidence").unwrap();
    assert_eq!(ev.assessment, Assessment::Good);
}

#[test]
fn tampered_copy_cannot_establish_safe_harbor() {
    let c = clinic_day();
    // Someone turns bob's unlock into a failed one and drops his file opening.
    let mut lines = c.lines();
    lines[11] = String::from_utf8(lines[11].clone())
        .unwrap()
        .replace("\"event\":\"unlock\"", "\"event\":\"unlock_failed\"")
        .into_bytes();
    let mut bytes = lines.join(&b'\n');
    bytes.push(b'\n');
    let recs = parse_records(&bytes);
    let rep = incident_report(&recs, &bytes, DEV, ts("2026-03-02T18:30:00Z"));
    assert_eq!(rep.verdict, Verdict::CannotBeEstablished);
    assert!(!rep.chain.ok);
    assert_eq!(rep.chain.broken_at_line, Some(13));
    assert!(
        rep.reasons
            .iter()
            .any(|r| r.starts_with("the shipped log fails verification at line 13"))
    );
    let chain = rep.findings.iter().find(|f| f.topic == "chain").unwrap();
    assert_eq!(chain.assessment, Assessment::Bad);
    assert!(rep.to_html().contains("class=\"status unknown verdict\""));
    assert!(rep.to_pdf().starts_with(b"%PDF-"));

    // A deleted record breaks the sequence.
    let mut lines = c.lines();
    lines.remove(9);
    let mut bytes = lines.join(&b'\n');
    bytes.push(b'\n');
    let rep = incident_report(
        &parse_records(&bytes),
        &bytes,
        DEV,
        ts("2026-03-02T18:30:00Z"),
    );
    assert_eq!(rep.verdict, Verdict::CannotBeEstablished);
    assert_eq!(rep.chain.broken_at_line, Some(10));
}

#[test]
fn pending_plaintext_unmatched_unlocks_and_use_after_loss() {
    let mut c = clinic_day();
    c.push(
        "2026-03-02T17:10:00Z",
        "alice",
        "plaintext_found",
        json!({"count": 5}),
    )
    .push(
        "2026-03-02T17:10:03Z",
        "alice",
        "file_added",
        json!({"ids": [ID_A, ID_B], "by": "watcher"}),
    );
    let lost = ts("2026-03-02T18:30:00Z");
    // Disk encryption on: the waiting plaintext leaves it open.
    let rep = incident_report(&c.records, &c.bytes, DEV, lost);
    assert_eq!(rep.facts.plaintext_pending, 3);
    assert_eq!(rep.verdict, Verdict::CannotBeEstablished);
    // Disk encryption off: it does not hold.
    let mut off = Chain::new();
    for r in &clinic_day().records {
        let mut d = Value::Object(r.detail.clone());
        if r.event == "status" {
            d["disk_encryption"] = json!("off");
        }
        off.push(&r.ts, &r.user, &r.event, d);
    }
    off.push(
        "2026-03-02T17:10:00Z",
        "alice",
        "plaintext_found",
        json!({"count": 5}),
    );
    let rep = incident_report(&off.records, &off.bytes, DEV, lost);
    assert_eq!(rep.verdict, Verdict::DoesNotHold);
    assert!(rep.reasons[0].contains("5 file(s) found in plaintext"));

    // An unlock with no lock of its own, hidden by a later lock, in records
    // that carry no session id to pair them: an open question.
    let mut c = clinic_day();
    c.push(
        "2026-03-02T17:20:00Z",
        "alice",
        "unlock",
        json!({"method": "passphrase"}),
    )
    .push(
        "2026-03-02T17:21:00Z",
        "alice",
        "unlock",
        json!({"method": "keychain"}),
    )
    .push(
        "2026-03-02T17:22:00Z",
        "alice",
        "lock",
        json!({"reason": "process_end"}),
    );
    let rep = incident_report(&c.records, &c.bytes, DEV, lost);
    assert_eq!(rep.verdict, Verdict::CannotBeEstablished);
    assert_eq!(rep.facts.unmatched_unlock_seqs, vec![20]);
    assert!(
        rep.reasons
            .iter()
            .any(|c| c.contains("#20") && c.contains("no session id"))
    );

    // The vault unlocked after the loss: cannot be established.
    let mut c = clinic_day();
    c.push(
        "2026-03-02T19:00:00Z",
        "mallory",
        "unlock_failed",
        json!({"method": "passphrase"}),
    )
    .push(
        "2026-03-02T19:05:00Z",
        "mallory",
        "unlock",
        json!({"method": "passphrase"}),
    );
    let rep = incident_report(&c.records, &c.bytes, DEV, lost);
    assert_eq!(rep.verdict, Verdict::CannotBeEstablished);
    let after = rep
        .findings
        .iter()
        .find(|f| f.topic == "after_loss")
        .unwrap();
    assert_eq!(after.proof, vec![21, 20]);
    assert!(after.answer.contains("UNLOCKED after the loss"));
    assert!(after.answer.contains("1 failed unlock attempt(s)"));

    // No status record: the protection cannot be shown.
    let mut c = Chain::new();
    c.push("2026-03-01T08:00:00Z", "alice", "vault_created", json!({}))
        .push(
            "2026-03-01T08:00:05Z",
            "alice",
            "lock",
            json!({"reason": "process_end"}),
        );
    let rep = incident_report(&c.records, &c.bytes, DEV, lost);
    assert_eq!(rep.verdict, Verdict::CannotBeEstablished);
    assert!(rep.reasons.iter().any(|r| r.contains("no status record")));

    // Nothing at all.
    let rep = incident_report(&[], b"", DEV, lost);
    assert_eq!(rep.verdict, Verdict::CannotBeEstablished);
    assert!(rep.to_pdf().starts_with(b"%PDF-"));
}
