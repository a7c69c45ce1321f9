//! A hash chain written by hand and two days at a clinic's front desk,
//! shared by the report tests.

use coffer_core::audit::{ChainReport, GENESIS, Record, line_hash, verify_chain};
use jiff::Timestamp;
use serde_json::{Map, Value, json};

pub const DEV: &str = "d1e2a3b4c5d6e7f8";
pub const VAULT: &str = "0a0b0c0d0e0f00112233445566778899";
pub const ID_A: &str = "aaaa0000000000000000000000000001";
pub const ID_B: &str = "bbbb0000000000000000000000000002";
pub const ID_C: &str = "cccc0000000000000000000000000003";

/// A hash chain written by hand, with the times we choose.
pub struct Chain {
    pub bytes: Vec<u8>,
    pub records: Vec<Record>,
    prev: String,
    /// The session id the next records carry (`None`: an older version's).
    pub session: Option<String>,
}

impl Chain {
    pub fn new() -> Self {
        Chain {
            bytes: Vec::new(),
            records: Vec::new(),
            prev: GENESIS.into(),
            session: None,
        }
    }

    /// The next records are written by the process of session `s`.
    pub fn session(&mut self, s: &str) -> &mut Self {
        self.session = Some(s.into());
        self
    }

    pub fn push(&mut self, ts: &str, user: &str, event: &str, detail: Value) -> &mut Self {
        let r = Record {
            seq: self.records.len() as u64 + 1,
            ts: ts.into(),
            vault: VAULT.into(),
            device: DEV.into(),
            host: "frontdesk-3".into(),
            user: user.into(),
            session: self.session.clone(),
            event: event.into(),
            detail: match detail {
                Value::Object(m) => m,
                _ => Map::new(),
            },
            prev: self.prev.clone(),
            mac: None,
        };
        let line = serde_json::to_vec(&r).unwrap();
        self.prev = line_hash(&line);
        self.bytes.extend_from_slice(&line);
        self.bytes.push(b'\n');
        self.records.push(r);
        self
    }

    pub fn lines(&self) -> Vec<Vec<u8>> {
        self.bytes
            .split(|b| *b == b'\n')
            .filter(|l| !l.is_empty())
            .map(<[u8]>::to_vec)
            .collect()
    }
}

pub fn status(objects: u64, key_version: u64, created: &str, fde: &str, escrow: bool) -> Value {
    let created: Timestamp = created.parse().unwrap();
    json!({
        "unlocked": false,
        "objects": objects,
        "stored_bytes": objects * 180_000,
        "cipher": "AES-256-GCM (64 KiB chunks, random key per file)",
        "key_wrap": "HPKE X25519/HKDF-SHA256/AES-256-GCM",
        "key_version": key_version,
        "key_version_created": created.as_second(),
        "kdf": {"alg": "argon2id", "m_kib": 262144, "t": 3, "p": 4},
        "slots": ["passphrase", "recovery", "escrow"],
        "escrow": escrow,
        "protected_folders": 2,
        "rotation_in_progress": false,
        "disk_encryption": fde,
        "policy_source": "/etc/coffer/policy.toml",
        "policy_compliant": true,
        "policy_problems": [],
    })
}

/// Two days at the front desk: creation, a watcher start that finds
/// three plaintext files and encrypts them, alice and bob opening
/// files, a key rotation, a final status, everything locked by 17:00.
pub fn clinic_day() -> Chain {
    let mut c = Chain::new();
    c.push("2026-03-01T08:00:00Z", "alice", "vault_created", json!({}))
        .push(
            "2026-03-01T08:00:00.5Z",
            "alice",
            "status",
            status(0, 1, "2026-03-01T08:00:00Z", "on", true),
        )
        .push(
            "2026-03-01T08:00:05Z",
            "alice",
            "lock",
            json!({"reason": "process_end"}),
        )
        .push(
            "2026-03-02T08:55:00Z",
            "alice",
            "plaintext_found",
            json!({"count": 3}),
        )
        .push(
            "2026-03-02T08:55:01Z",
            "alice",
            "status",
            status(40, 1, "2026-03-01T08:00:00Z", "on", true),
        )
        .push(
            "2026-03-02T08:55:04Z",
            "alice",
            "file_added",
            json!({"ids": [ID_A, ID_B, ID_C], "by": "watcher"}),
        )
        .push(
            "2026-03-02T09:10:00Z",
            "alice",
            "unlock",
            json!({"method": "passphrase"}),
        )
        .push(
            "2026-03-02T09:11:00Z",
            "alice",
            "file_opened",
            json!({"ids": [ID_A]}),
        )
        .push(
            "2026-03-02T09:30:00Z",
            "alice",
            "file_extracted",
            json!({"ids": [ID_B]}),
        )
        .push(
            "2026-03-02T09:31:00Z",
            "alice",
            "lock",
            json!({"reason": "manual"}),
        )
        .push(
            "2026-03-02T12:00:00Z",
            "bob",
            "unlock_failed",
            json!({"method": "passphrase"}),
        )
        .push(
            "2026-03-02T12:01:00Z",
            "bob",
            "unlock",
            json!({"method": "keychain"}),
        )
        .push(
            "2026-03-02T12:02:00Z",
            "bob",
            "file_opened",
            json!({"ids": [ID_C]}),
        )
        .push(
            "2026-03-02T12:05:00Z",
            "bob",
            "lock",
            json!({"reason": "process_end"}),
        )
        .push(
            "2026-03-02T12:59:00Z",
            "alice",
            "unlock",
            json!({"method": "passphrase"}),
        )
        .push(
            "2026-03-02T13:00:00Z",
            "alice",
            "rotation_started",
            json!({"kind": "rewrap", "key_version": 2}),
        )
        .push(
            "2026-03-02T13:01:00Z",
            "alice",
            "rotation_finished",
            json!({"kind": "rewrap", "key_version": 2, "files": 43, "destroyed_versions": [1]}),
        )
        .push(
            "2026-03-02T13:02:00Z",
            "alice",
            "lock",
            json!({"reason": "process_end"}),
        )
        .push(
            "2026-03-02T17:00:00Z",
            "alice",
            "status",
            status(43, 2, "2026-03-02T13:00:00Z", "on", true),
        );
    c
}

pub fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

pub fn page_count(pdf: &[u8]) -> usize {
    let pat = b"/Type /Page";
    pdf.windows(pat.len() + 1)
        .filter(|w| &w[..pat.len()] == pat && w[pat.len()] != b's')
        .count()
}

pub fn ok_chain(c: &Chain) -> ChainReport {
    let rep = verify_chain(&c.bytes, None);
    assert!(rep.ok(), "{rep:?}");
    rep
}
