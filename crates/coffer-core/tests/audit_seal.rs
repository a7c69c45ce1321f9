//! Device-authenticated, forward-secure audit records, attacked. Each
//! attack has its own forgery tool below, written from docs/FORMAT.md
//! ("The audit log"): JSON lines, `prev` = SHA-256 of the line before,
//! `mac` = HMAC-SHA256(K_seq, "coffer/v1/audit-record\0" ‖ line without
//! its `mac` member), `K_{s+1}` = HMAC-SHA256(K_s, "coffer/v1/audit-ratchet"),
//! the device state `audit/seal-<device>.json` ({device, seq, key}) and the
//! checkpoint `audit/head.json` ({seq, hash, mac}). The tools use only
//! what a thief holding the laptop has: the log, the checkpoint and the
//! device's current state file.

use std::fs;
use std::path::Path;

use coffer_core::audit::{
    AuditEvent, AuditKeys, AuditLog, Checkpoint, Identity, SealBreak, verify_chain, verify_seals,
};
use coffer_core::crypto::wrap;
use hmac::{Hmac, KeyInit, Mac};
use serde_json::Value;
use sha2::{Digest, Sha256};

// ------------------------------------------------ forgery tools (from the format)

fn hmac(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    let mut m = <Hmac<Sha256> as KeyInit>::new_from_slice(key).unwrap();
    for p in parts {
        m.update(p);
    }
    m.finalize().into_bytes().into()
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn sha(line: &[u8]) -> String {
    hex(&Sha256::digest(line))
}

/// The lines of a log, as JSON values in written order.
fn values(bytes: &[u8]) -> Vec<serde_json::Map<String, Value>> {
    bytes
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| serde_json::from_slice(l).unwrap())
        .collect()
}

/// Writes records back as lines, recomputing `prev` over the chain and,
/// with `key` (the key of record `from`), sealing records from `from` on.
/// Members keep the order the format gives them (serde_json's preserve
/// order is off: the writer's order is the struct's, so rebuild it).
fn write_lines(
    recs: &[serde_json::Map<String, Value>],
    mut key: Option<(u64, Vec<u8>)>,
) -> Vec<u8> {
    let order = [
        "seq", "ts", "vault", "device", "host", "user", "session", "event", "detail", "prev",
    ];
    let mut out = Vec::new();
    let mut prev = "0".repeat(64);
    for r in recs {
        let mut s = String::from("{");
        let mut first = true;
        for k in order {
            let Some(v) = r.get(k) else { continue };
            let v = if k == "prev" {
                Value::String(prev.clone())
            } else {
                v.clone()
            };
            if !first {
                s.push(',');
            }
            first = false;
            s.push_str(&format!("{}:{}", Value::String(k.into()), v));
        }
        s.push('}');
        let seq = r["seq"].as_u64().unwrap();
        let line = match key.as_mut() {
            Some((at, k)) if *at <= seq => {
                while *at < seq {
                    *k = hmac(k, &[b"coffer/v1/audit-ratchet"]).to_vec();
                    *at += 1;
                }
                let mac = hex(&hmac(k, &[b"coffer/v1/audit-record\0", s.as_bytes()]));
                format!("{},\"mac\":\"{mac}\"}}", &s[..s.len() - 1])
            }
            _ => match r.get("mac") {
                Some(m) => format!("{},\"mac\":{m}}}", &s[..s.len() - 1]),
                None => s,
            },
        };
        prev = sha(line.as_bytes());
        out.extend_from_slice(line.as_bytes());
        out.push(b'\n');
    }
    out
}

/// What the thief reads from the laptop: the device's current key state.
fn stolen_state(vault: &Path, device: &str) -> (u64, Vec<u8>) {
    let v: Value =
        serde_json::from_slice(&fs::read(vault.join(format!("audit/seal-{device}.json"))).unwrap())
            .unwrap();
    (
        v["seq"].as_u64().unwrap(),
        unhex(v["key"].as_str().unwrap()),
    )
}

// ------------------------------------------------ setting up

struct Setup {
    _d: tempfile::TempDir,
    dir: std::path::PathBuf,
    escrow: wrap::PrivateKey,
    device: String,
}

fn id(device: &str) -> Identity {
    Identity {
        vault: "0a".repeat(16),
        device: device.into(),
        host: "frontdesk".into(),
        user: "alice".into(),
    }
}

fn setup(n: usize) -> Setup {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path().join("vault");
    let (sk, pk) = wrap::generate_keypair();
    let log = AuditLog::new(&dir, id("aaaa")).with_key_recipient(Some(pk));
    for i in 0..n {
        log.append(&[if i % 2 == 0 {
            AuditEvent::Unlocked {
                method: "passphrase".into(),
            }
        } else {
            AuditEvent::Locked {
                reason: "manual".into(),
            }
        }])
        .unwrap();
    }
    Setup {
        _d: d,
        dir,
        escrow: sk,
        device: "aaaa".into(),
    }
}

impl Setup {
    fn log(&self) -> Vec<u8> {
        fs::read(self.dir.join("audit/log.jsonl")).unwrap()
    }
    fn checkpoint(&self) -> Checkpoint {
        serde_json::from_slice(&fs::read(self.dir.join("audit/head.json")).unwrap()).unwrap()
    }
    fn keys(&self) -> AuditKeys {
        AuditKeys::escrow(
            wrap::PrivateKey::from_secret_bytes(&self.escrow.to_secret_bytes()).unwrap(),
        )
    }
}

// ------------------------------------------------ the tests

#[test]
fn an_untouched_log_verifies_as_authenticated_and_the_device_keeps_no_old_key() {
    let s = setup(6);
    let log = s.log();
    let recs = values(&log);
    assert_eq!(recs[0]["event"], "audit_key", "the device enrols first");
    assert!(
        recs.iter()
            .all(|r| r["mac"].as_str().is_some_and(|m| m.len() == 64))
    );
    let rep = verify_seals(&log, Some(&s.checkpoint()), &s.keys());
    assert!(rep.authenticated(), "{rep:?}");
    assert_eq!(rep.sealed_ok, 7);
    assert_eq!(rep.enrolments, [(s.device.clone(), 1)]);
    // The state on the device is the key of the NEXT record only.
    let (seq, _) = stolen_state(&s.dir, &s.device);
    assert_eq!(seq, 8);
    // Without the escrow key nothing can be verified, nothing is claimed.
    let rep = verify_seals(&log, None, &AuditKeys::none());
    assert!(!rep.authenticated());
    assert_eq!(rep.unverifiable, 7);
}

#[test]
fn a_forged_record_is_named() {
    let s = setup(6);
    let mut recs = values(&s.log());
    // Tool: append a lock with a made-up seal and a correct chain.
    let mut forged = recs[recs.len() - 1].clone();
    forged.insert("seq".into(), 8.into());
    forged.insert("event".into(), "lock".into());
    forged.insert("mac".into(), Value::String("ab".repeat(32)));
    recs.push(forged);
    let bytes = write_lines(&recs, None);
    assert!(
        verify_chain(&bytes, None).ok(),
        "the hash chain alone is fooled"
    );
    let rep = verify_seals(&bytes, None, &s.keys());
    assert_eq!(
        rep.broken.as_ref().map(|b| (b.0, b.1)),
        Some((SealBreak::ForgedRecord, 8))
    );
}

#[test]
fn a_suffix_rewritten_with_a_recomputed_chain_is_named() {
    let s = setup(6);
    let mut recs = values(&s.log());
    // Tool: turn the unlock at #6 into a lock and recompute every `prev`
    // after it; the thief's current key cannot seal records before #8.
    recs[5].insert("event".into(), "lock".into());
    let (at, key) = stolen_state(&s.dir, &s.device);
    let bytes = write_lines(&recs, Some((at, key)));
    assert!(
        verify_chain(&bytes, None).ok(),
        "the hash chain alone is fooled"
    );
    let rep = verify_seals(&bytes, None, &s.keys());
    let b = rep.broken.unwrap();
    assert_eq!((b.0, b.1, b.2), (SealBreak::SuffixRewritten, 6, vec![6, 7]));
}

#[test]
fn records_forged_by_another_devices_process_are_named() {
    let s = setup(4);
    // Device bbbb writes to the same log (the vault used from two
    // machines): it enrols its own key.
    let other = AuditLog::new(&s.dir, id("bbbb")).with_key_recipient(Some(
        wrap::PrivateKey::from_secret_bytes(&s.escrow.to_secret_bytes())
            .unwrap()
            .public_key(),
    ));
    other
        .append(&[AuditEvent::Unlocked {
            method: "passphrase".into(),
        }])
        .unwrap();
    // Tool: bbbb's process appends a lock in aaaa's name, sealed with
    // bbbb's own current key.
    let mut recs = values(&s.log());
    let (at, key) = stolen_state(&s.dir, "bbbb");
    let mut forged = recs[recs.len() - 1].clone();
    forged.insert("seq".into(), at.into());
    forged.insert("device".into(), "aaaa".into());
    forged.insert("event".into(), "lock".into());
    forged.remove("mac");
    recs.push(forged);
    let bytes = write_lines(&recs, Some((at, key)));
    let rep = verify_seals(&bytes, None, &s.keys());
    assert_eq!(
        rep.broken.as_ref().map(|b| (b.0, b.1)),
        Some((SealBreak::OtherDevice, at)),
        "{rep:?}"
    );
}

#[test]
fn a_truncated_tail_with_a_rewritten_checkpoint_and_an_edited_checkpoint_are_named() {
    let s = setup(6);
    let log = s.log();
    // Tool: cut the last two records and write a checkpoint for #5 with
    // the only key the thief has (the next record's).
    let keep: Vec<&[u8]> = log
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .take(5)
        .collect();
    let mut cut = keep.join(&b'\n');
    cut.push(b'\n');
    let (_, key) = stolen_state(&s.dir, &s.device);
    let hash = sha(keep[4]);
    let mut m = b"coffer/v1/audit-checkpoint\0".to_vec();
    m.extend_from_slice(&5u64.to_be_bytes());
    m.extend_from_slice(hash.as_bytes());
    let cp = Checkpoint {
        seq: 5,
        hash,
        mac: Some(hex(&hmac(&key, &[&m]))),
    };
    assert!(
        verify_chain(&cut, Some(&cp)).ok(),
        "the hash chain alone is fooled"
    );
    let rep = verify_seals(&cut, Some(&cp), &s.keys());
    assert_eq!(
        rep.broken.as_ref().map(|b| b.0),
        Some(SealBreak::CheckpointEdited)
    );

    // Tool: edit the checkpoint's hash (or drop its seal).
    let mut cp = s.checkpoint();
    cp.hash = "0".repeat(64);
    let rep = verify_seals(&log, Some(&cp), &s.keys());
    assert_eq!(
        rep.broken.as_ref().map(|b| b.0),
        Some(SealBreak::CheckpointEdited)
    );
    let mut cp = s.checkpoint();
    cp.mac = None;
    let rep = verify_seals(&log, Some(&cp), &s.keys());
    assert_eq!(
        rep.broken.as_ref().map(|b| b.0),
        Some(SealBreak::CheckpointEdited)
    );
    // The real one verifies.
    assert!(verify_seals(&log, Some(&s.checkpoint()), &s.keys()).authenticated());
}

#[test]
fn a_stripped_seal_is_named_and_older_logs_verify_as_unauthenticated() {
    let s = setup(4);
    // Tool: drop the last record's seal (the chain needs no change).
    let mut recs = values(&s.log());
    recs[4].remove("mac");
    let bytes = write_lines(&recs, None);
    assert!(verify_chain(&bytes, None).ok());
    let rep = verify_seals(&bytes, None, &s.keys());
    assert_eq!(
        rep.broken.as_ref().map(|b| (b.0, b.1)),
        Some((SealBreak::Unsealed, 5))
    );

    // An older log: no enrolment, no seal: not a failure, not authenticated.
    let mut old = values(&s.log());
    old.remove(0);
    for (i, r) in old.iter_mut().enumerate() {
        r.remove("mac");
        r.remove("session");
        r.insert("seq".into(), (i as u64 + 1).into());
    }
    let bytes = write_lines(&old, None);
    assert!(verify_chain(&bytes, None).ok());
    let rep = verify_seals(&bytes, None, &s.keys());
    assert!(rep.broken.is_none() && !rep.authenticated());
    assert_eq!(rep.unsealed_legacy, 4);
}

#[test]
fn a_lost_state_file_re_enrols_and_is_reported() {
    let s = setup(2);
    fs::remove_file(s.dir.join(format!("audit/seal-{}.json", s.device))).unwrap();
    let pk = wrap::PrivateKey::from_secret_bytes(&s.escrow.to_secret_bytes())
        .unwrap()
        .public_key();
    AuditLog::new(&s.dir, id("aaaa"))
        .with_key_recipient(Some(pk))
        .append(&[AuditEvent::Locked {
            reason: "manual".into(),
        }])
        .unwrap();
    let rep = verify_seals(&s.log(), Some(&s.checkpoint()), &s.keys());
    assert!(rep.broken.is_none(), "{rep:?}");
    assert_eq!(rep.re_enrolments, [(s.device.clone(), 4)]);
}

#[test]
fn a_hostile_copy_claiming_huge_gaps_cannot_make_verification_slow() {
    let s = setup(2);
    let mut recs = values(&s.log());
    // Tool: a record numbered far beyond the log, then more of them.
    for i in 0..50u64 {
        let mut r = recs[2].clone();
        r.insert("seq".into(), ((1u64 << 40) + i * (1 << 30)).into());
        recs.push(r);
    }
    let bytes = write_lines(&recs, None);
    let t = std::time::Instant::now();
    let rep = verify_seals(&bytes, None, &s.keys());
    assert!(
        t.elapsed() < std::time::Duration::from_secs(5),
        "{:?}",
        t.elapsed()
    );
    assert!(rep.broken.is_some() && !rep.authenticated());
}
