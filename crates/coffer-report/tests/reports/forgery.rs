//! Attacks on a shipped copy, seen by the incident report: a real sealed
//! log shipped to a directory sink, the collector's receipts, and a
//! forgery tool per attack written from docs/FORMAT.md ("The audit log").

use std::fs;
use std::path::{Path, PathBuf};

use coffer_core::audit::{AuditEvent, AuditKeys, AuditLog, Identity, SealBreak};
use coffer_core::crypto::wrap;
use coffer_core::sink::{self, Sink};
use coffer_report::receipts::{Arrivals, CopyChange, default_receipts_dir, note_arrivals};
use coffer_report::{IncidentOptions, IncidentReport, Verdict, incident_report_with, load_shipped};
use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::fixtures::status;

struct Laptop {
    _d: tempfile::TempDir,
    share: PathBuf,
    log: AuditLog,
    escrow: wrap::PrivateKey,
    escrow_pk: wrap::PublicKey,
}

fn minutes(m: i64) -> Timestamp {
    Timestamp::now() + SignedDuration::from_mins(m)
}

/// A laptop whose vault enrolled an audit key sealed to the escrow key,
/// worked a little, locked, and shipped.
fn laptop() -> Laptop {
    let d = tempfile::tempdir().unwrap();
    let (vault, share) = (d.path().join("v"), d.path().join("share"));
    fs::create_dir(&share).unwrap();
    sink::save(
        &vault,
        &[Sink::Directory {
            path: share.clone(),
        }],
    )
    .unwrap();
    let (sk, pk) = wrap::generate_keypair();
    let log = AuditLog::new(&vault, Identity::current(&[7; 16])).with_key_recipient(Some(pk));
    let st = match status(3, 1, "2026-03-01T08:00:00Z", "on", true) {
        Value::Object(m) => m,
        _ => unreachable!(),
    };
    log.append(&[AuditEvent::VaultCreated, AuditEvent::Status(st)])
        .unwrap();
    log.append(&[AuditEvent::Locked {
        reason: "process_end".into(),
    }])
    .unwrap();
    log.ship_pending();
    Laptop {
        _d: d,
        share,
        log,
        escrow: sk,
        escrow_pk: pk,
    }
}

impl Laptop {
    fn device(&self) -> String {
        self.log.identity().device.clone()
    }
    fn copy(&self) -> PathBuf {
        fs::read_dir(&self.share)
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .find(|p| p.extension().is_some_and(|e| e == "jsonl"))
            .unwrap()
    }
    /// The collector's step, at `at` by its clock.
    fn receive(&self, at: Timestamp) {
        note_arrivals(&self.share, &default_receipts_dir(&self.share), at).unwrap();
    }
    fn keys(&self) -> AuditKeys {
        AuditKeys::escrow(
            wrap::PrivateKey::from_secret_bytes(&self.escrow.to_secret_bytes()).unwrap(),
        )
    }
    fn report(&self, lost: Timestamp) -> IncidentReport {
        let (records, raw) = load_shipped(&self.share, &self.device()).unwrap();
        let arrivals =
            Arrivals::for_copy(&default_receipts_dir(&self.share), &self.copy()).unwrap();
        let opts = IncidentOptions::default()
            .keys(self.keys())
            .arrivals(arrivals)
            .require_authenticated(true);
        incident_report_with(&records, &raw, &self.device(), lost, &opts)
    }
}

fn reasons(r: &IncidentReport) -> String {
    r.reasons.join(" | ")
}

fn sha(b: &[u8]) -> String {
    Sha256::digest(b)
        .iter()
        .map(|x| format!("{x:02x}"))
        .collect()
}

/// Forgery tool: a whole new copy in the device's name, with the forger's
/// own audit key enrolled and sealed to the (public) escrow key, every
/// record sealed and chained as the format says.
fn forge_copy(
    device: &str,
    vault: &str,
    escrow: &wrap::PublicKey,
    events: &[(&str, Value)],
) -> Vec<u8> {
    use hmac::{Hmac, KeyInit, Mac};
    let mac = |k: &[u8], parts: &[&[u8]]| -> [u8; 32] {
        let mut m = <Hmac<Sha256> as KeyInit>::new_from_slice(k).unwrap();
        for p in parts {
            m.update(p);
        }
        m.finalize().into_bytes().into()
    };
    let mut key = [9u8; 32].to_vec();
    let aad = format!("{vault}\0{device}\0{}", 1);
    let (enc, ct) = wrap::seal(escrow, b"coffer/v1/audit-key", aad.as_bytes(), &key).unwrap();
    let mut blob = enc.to_vec();
    blob.extend_from_slice(&ct);
    let sealed = data_encoding_b64(&blob);
    let mut all = vec![("audit_key", json!({"sealed": sealed}))];
    all.extend(events.iter().cloned());
    let mut out = Vec::new();
    let mut prev = "0".repeat(64);
    for (i, (event, detail)) in all.iter().enumerate() {
        let seq = i as u64 + 1;
        if seq > 1 {
            key = mac(&key, &[b"coffer/v1/audit-ratchet"]).to_vec();
        }
        let unsealed = format!(
            "{{\"seq\":{seq},\"ts\":{},\"vault\":\"{vault}\",\"device\":\"{device}\",\"host\":\"h\",\"user\":\"alice\",\"session\":\"forger\",\"event\":\"{event}\",\"detail\":{detail},\"prev\":\"{prev}\"}}",
            Value::String(Timestamp::now().to_string())
        );
        let m: String = mac(&key, &[b"coffer/v1/audit-record\0", unsealed.as_bytes()])
            .iter()
            .map(|x| format!("{x:02x}"))
            .collect();
        let line = format!("{},\"mac\":\"{m}\"}}", &unsealed[..unsealed.len() - 1]);
        prev = sha(line.as_bytes());
        out.extend_from_slice(line.as_bytes());
        out.push(b'\n');
    }
    out
}

fn data_encoding_b64(b: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut s = String::new();
    for c in b.chunks(3) {
        let n = (u32::from(c[0]) << 16)
            | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
            | u32::from(*c.get(2).unwrap_or(&0));
        for i in 0..4 {
            if i <= c.len() {
                s.push(A[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                s.push('=');
            }
        }
    }
    s
}

fn write(p: &Path, b: &[u8]) {
    fs::write(p, b).unwrap();
}

#[test]
fn an_untouched_sealed_copy_with_receipts_holds_and_names_its_proof() {
    let l = laptop();
    l.receive(minutes(0));
    let rep = l.report(minutes(30));
    assert_eq!(rep.verdict, Verdict::Holds, "{}", reasons(&rep));
    assert_eq!(rep.facts.authenticated, Some(true));
    let a = rep
        .findings
        .iter()
        .find(|f| f.topic == "authenticity")
        .unwrap();
    assert_eq!(a.proof, [1], "the enrolment is cited");
    // Without the escrow key it cannot be shown to be the device's own.
    let (records, raw) = load_shipped(&l.share, &l.device()).unwrap();
    let opts = IncidentOptions::default().require_authenticated(true);
    let rep = incident_report_with(&records, &raw, &l.device(), minutes(30), &opts);
    assert_eq!(rep.verdict, Verdict::CannotBeEstablished);
    assert!(
        reasons(&rep).contains("no verification key was given"),
        "{}",
        reasons(&rep)
    );
}

#[test]
fn a_copy_replaced_wholesale_is_named() {
    let l = laptop();
    l.receive(minutes(0));
    let forged = forge_copy(
        &l.device(),
        &l.log.identity().vault,
        &l.escrow_pk,
        &[
            ("vault_created", json!({})),
            ("lock", json!({"reason": "manual"})),
        ],
    );
    write(&l.copy(), &forged);
    let rep = l.report(minutes(30));
    // Its seals verify: only the collector's receipt tells.
    assert_eq!(rep.facts.authenticated, Some(true));
    assert_eq!(rep.facts.copy_change, Some(CopyChange::ReplacedWholesale));
    assert_eq!(rep.verdict, Verdict::CannotBeEstablished);
    assert!(
        reasons(&rep).contains("replaced wholesale after the collector received record #4"),
        "{}",
        reasons(&rep)
    );
}

#[test]
fn a_truncated_tail_and_a_rewritten_suffix_are_named() {
    let l = laptop();
    l.log
        .append(&[AuditEvent::Unlocked {
            method: "passphrase".into(),
        }])
        .unwrap();
    l.log.ship_pending();
    l.receive(minutes(0));
    // Tool: cut the unlock from the copy.
    let raw = fs::read(l.copy()).unwrap();
    let keep: Vec<&[u8]> = raw
        .split(|b| *b == b'\n')
        .filter(|x| !x.is_empty())
        .take(4)
        .collect();
    let mut cut = keep.join(&b'\n');
    cut.push(b'\n');
    write(&l.copy(), &cut);
    let rep = l.report(minutes(30));
    assert_eq!(rep.facts.copy_change, Some(CopyChange::TailTruncated));
    assert_eq!(rep.verdict, Verdict::CannotBeEstablished);
    assert!(reasons(&rep).contains("cut short"), "{}", reasons(&rep));

    // Tool: turn the unlock into a lock, recompute the chain; keep the seal.
    let text = String::from_utf8(raw).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    lines[4] = lines[4].replace("\"event\":\"unlock\"", "\"event\":\"lock\"");
    let out = lines.join("\n") + "\n";
    write(&l.copy(), out.as_bytes());
    let rep = l.report(minutes(30));
    assert_eq!(rep.facts.seal_break, Some(SealBreak::ForgedRecord));
    assert_eq!(rep.facts.copy_change, Some(CopyChange::Rewritten));
    assert_eq!(rep.verdict, Verdict::CannotBeEstablished);
    assert!(
        reasons(&rep).contains("fails its device seals at record #5: forged record(s)"),
        "{}",
        reasons(&rep)
    );
}

#[test]
fn a_backdated_lock_that_arrived_after_the_loss_counts_after_it() {
    let l = laptop();
    l.log
        .append(&[AuditEvent::Unlocked {
            method: "passphrase".into(),
        }])
        .unwrap();
    l.log.ship_pending();
    l.receive(minutes(1));
    // After the loss (at +2 min) the thief, holding the running laptop,
    // appends a lock (sealed with the laptop's current key, dated by its
    // clock before the loss) and lets it ship; the collector sees it at +3.
    l.log
        .append(&[AuditEvent::Locked {
            reason: "manual".into(),
        }])
        .unwrap();
    l.log.ship_pending();
    l.receive(minutes(3));
    let rep = l.report(minutes(2));
    assert_eq!(rep.facts.authenticated, Some(true), "its seal is valid");
    assert_eq!(rep.facts.late_records, [6]);
    assert_eq!(rep.verdict, Verdict::DoesNotHold, "{}", reasons(&rep));
    assert!(
        reasons(&rep).contains(
            "record(s) #6 are dated before the loss but are not shown to have arrived before it"
        ),
        "{}",
        reasons(&rep)
    );
}
