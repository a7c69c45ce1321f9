//! Device-authenticated, forward-secure records: an HMAC-SHA256 key
//! ratchet in the manner of Schneier–Kelsey and systemd's forward-secure
//! sealing.
//!
//! When a device first writes to a vault's log it makes a random key `K`
//! and writes an `audit_key` record (its enrolment) carrying `K` sealed
//! with HPKE to the organisation's escrow public key. Record `s` is sealed
//! with `K_s`, where `K` is the key of the enrolment record and
//! `K_{s+1} = HMAC(K_s, "coffer/v1/audit-ratchet")`: its `mac` is
//! `HMAC(K_s, "coffer/v1/audit-record\0" ‖ line)`, over the line as it
//! reads without its `mac` member. The device keeps only the key of the
//! next record (`audit/seal-<device>.json`), overwritten at every append,
//! so whoever takes the laptop holds a key that can seal only records
//! after the last one written: records before cannot be rewritten or
//! followed by forged ones without failing their seal. The checkpoint
//! (`head.json`) carries `HMAC(K_n, "coffer/v1/audit-checkpoint\0" ‖ n ‖
//! hash)`, so it cannot be rewritten to an earlier record either.
//!
//! The auditor holds the escrow private key, opens each enrolment's key
//! and verifies ([`verify_seals`]). Records of older versions carry no
//! seal and verify as "unauthenticated (older format)".

use std::collections::BTreeMap;
use std::path::Path;

use hmac::{Hmac, KeyInit, Mac};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::Sha256;
use zeroize::{Zeroize, Zeroizing};

use super::record::{EventKind, Record, parse_record};
use crate::crypto::secret::Key32;
use crate::crypto::wrap::{self, PrivateKey, PublicKey};
use crate::error::{Error, Result};
use crate::fsutil;

/// HPKE `info` of an enrolment's sealed key.
pub const SEAL_INFO: &[u8] = b"coffer/v1/audit-key";
const RATCHET: &[u8] = b"coffer/v1/audit-ratchet";
const RECORD: &[u8] = b"coffer/v1/audit-record\0";
const CHECKPOINT: &[u8] = b"coffer/v1/audit-checkpoint\0";
/// The member a sealed line ends with, before its 64 hex digits and `"}`.
const MAC_MEMBER: &[u8] = b",\"mac\":\"";
/// Ratchet steps a verifier takes beyond two per line of the log: an
/// honest log needs at most one step per record (per device), so a hostile
/// copy claiming huge gaps in `seq` cannot make verification take long.
pub const RATCHET_SLACK: u64 = 1 << 16;

fn hmac(key: &Key32, parts: &[&[u8]]) -> [u8; 32] {
    let mut m = <Hmac<Sha256> as KeyInit>::new_from_slice(key.expose()).expect("any key length");
    for p in parts {
        m.update(p);
    }
    m.finalize().into_bytes().into()
}

/// The next key of the ratchet; the caller drops (and so zeroizes) the old.
pub fn ratchet(key: &Key32) -> Key32 {
    Key32::from_bytes(hmac(key, &[RATCHET]))
}

/// The record MAC (hex) of `unsealed` (a line without its `mac` member).
pub fn record_mac(key: &Key32, unsealed: &[u8]) -> String {
    data_encoding::HEXLOWER.encode(&hmac(key, &[RECORD, unsealed]))
}

/// The checkpoint MAC (hex) of record `seq` with line hash `hash`.
pub fn checkpoint_mac(key: &Key32, seq: u64, hash: &str) -> String {
    data_encoding::HEXLOWER.encode(&hmac(
        key,
        &[CHECKPOINT, &seq.to_be_bytes(), hash.as_bytes()],
    ))
}

/// Splits a sealed line into the line without its `mac` member and the
/// MAC's hex; `None` when the line does not end with one.
pub fn split_mac(line: &[u8]) -> Option<(Vec<u8>, &str)> {
    let tail = MAC_MEMBER.len() + 64 + 2;
    if line.len() < tail + 1 || !line.ends_with(b"\"}") {
        return None;
    }
    let at = line.len() - tail;
    if &line[at..at + MAC_MEMBER.len()] != MAC_MEMBER {
        return None;
    }
    let hex = std::str::from_utf8(&line[at + MAC_MEMBER.len()..line.len() - 2]).ok()?;
    let mut unsealed = line[..at].to_vec();
    unsealed.push(b'}');
    Some((unsealed, hex))
}

/// The device's sealing state on disk: the key of record `seq`.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct StateFile {
    device: String,
    seq: u64,
    key: String,
}

/// The key of the next record a device writes.
pub(super) struct SealState {
    /// The sequence number `key` seals.
    pub seq: u64,
    pub key: Key32,
}

impl SealState {
    /// Reads the state in `path`; `None` when there is none (or it is
    /// unreadable: the device then enrols again, which reports name).
    pub fn load(path: &Path, device: &str) -> Option<Self> {
        let b = Zeroizing::new(fsutil::read_bounded(path, 4096, "audit seal state").ok()?);
        let mut f: StateFile = serde_json::from_slice(&b).ok()?;
        let key = Zeroizing::new(data_encoding::HEXLOWER.decode(f.key.as_bytes()).ok());
        f.key.zeroize();
        (f.device == device).then_some(())?;
        Some(SealState {
            seq: f.seq,
            key: Key32::from_slice(key.as_deref()?)?,
        })
    }

    /// The key of record `seq` (at or after the state's).
    pub fn advance_to(&mut self, seq: u64) -> Result<()> {
        if seq < self.seq {
            return Err(Error::corrupt(
                "audit seal state",
                "it is ahead of the log: the log was cut back",
            ));
        }
        while self.seq < seq {
            self.key = ratchet(&self.key);
            self.seq += 1;
        }
        Ok(())
    }

    /// Writes the state durably, replacing (so erasing) the older key.
    pub fn save(&self, path: &Path, device: &str) -> Result<()> {
        let mut f = StateFile {
            device: device.into(),
            seq: self.seq,
            key: data_encoding::HEXLOWER.encode(self.key.expose()),
        };
        let bytes = Zeroizing::new(serde_json::to_vec(&f).expect("serializes"));
        f.key.zeroize();
        fsutil::atomic_write(path, &bytes)
    }
}

/// The detail of an enrolment record: the key sealed to `recipient`, or
/// `sealed: null` when there is none (the device's records are then
/// sealed but no auditor can verify them).
pub(super) fn enrolment_detail(
    key: &Key32,
    recipient: Option<&PublicKey>,
    vault: &str,
    device: &str,
    seq: u64,
) -> Map<String, Value> {
    let mut d = Map::new();
    let sealed = recipient.and_then(|pk| {
        let aad = enrolment_aad(vault, device, seq);
        wrap::seal(pk, SEAL_INFO, &aad, key.expose()).ok()
    });
    d.insert(
        "sealed".into(),
        match sealed {
            Some((enc, ct)) => {
                let mut blob = enc.to_vec();
                blob.extend_from_slice(&ct);
                Value::String(data_encoding::BASE64.encode(&blob))
            }
            None => Value::Null,
        },
    );
    d
}

fn enrolment_aad(vault: &str, device: &str, seq: u64) -> Vec<u8> {
    format!("{vault}\0{device}\0{seq}").into_bytes()
}

/// Opens the key of enrolment record `r` with the escrow private key.
pub fn open_enrolment(r: &Record, escrow: &PrivateKey) -> Option<Key32> {
    let b64 = r.detail.get("sealed")?.as_str()?;
    let blob = data_encoding::BASE64.decode(b64.as_bytes()).ok()?;
    if blob.len() < wrap::ENC_LEN + 32 || blob.len() > 256 {
        return None;
    }
    let enc: [u8; wrap::ENC_LEN] = blob[..wrap::ENC_LEN].try_into().ok()?;
    let aad = enrolment_aad(&r.vault, &r.device, r.seq);
    let k = wrap::open(escrow, &enc, SEAL_INFO, &aad, &blob[wrap::ENC_LEN..]).ok()?;
    Key32::from_slice(&k)
}

/// How the verifier finds an enrolment's key.
pub struct AuditKeys {
    escrow: Option<PrivateKey>,
    known: BTreeMap<(String, u64), Key32>,
}

impl AuditKeys {
    /// Keys opened with the organisation's escrow private key.
    pub fn escrow(sk: PrivateKey) -> Self {
        AuditKeys {
            escrow: Some(sk),
            known: BTreeMap::new(),
        }
    }

    /// No key: sealed records are reported as not verifiable.
    pub fn none() -> Self {
        AuditKeys {
            escrow: None,
            known: BTreeMap::new(),
        }
    }

    /// Also knows `key` for `device`'s enrolment at record `seq`.
    pub fn with_key(mut self, device: &str, seq: u64, key: Key32) -> Self {
        self.known.insert((device.into(), seq), key);
        self
    }

    fn key_for(&self, r: &Record) -> Option<Key32> {
        self.known
            .get(&(r.device.clone(), r.seq))
            .cloned()
            .or_else(|| open_enrolment(r, self.escrow.as_ref()?))
    }
}

/// What went wrong with a log's seals, by kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SealBreak {
    /// A record's seal fails under its device's key, and so do all after
    /// it: the log was rewritten from there (a recomputed hash chain does
    /// not help without the erased keys).
    SuffixRewritten,
    /// Some records' seals fail, not all after the first: forged records.
    ForgedRecord,
    /// A record's seal verifies under another device's key: that device
    /// wrote (or rewrote) records in this device's name.
    OtherDevice,
    /// A record without a seal from a device that has enrolled: a seal
    /// stripped, or a record written by hand.
    Unsealed,
    /// The checkpoint's MAC fails: it was edited, or rewritten to an
    /// earlier record to hide a truncated tail.
    CheckpointEdited,
}

impl SealBreak {
    /// For people.
    pub fn describe(self) -> &'static str {
        match self {
            SealBreak::SuffixRewritten => "the log was rewritten from this record on",
            SealBreak::ForgedRecord => "forged record(s)",
            SealBreak::OtherDevice => "records written in this device's name by another device",
            SealBreak::Unsealed => "a record without a seal from a device whose records are sealed",
            SealBreak::CheckpointEdited => "the checkpoint was edited or rewritten",
        }
    }
}

/// What seal verification found.
#[derive(Clone, Debug, Default, Serialize)]
pub struct SealReport {
    /// Records whose seal verified.
    pub sealed_ok: u64,
    /// Records of the older format (no seal, no enrolment before them).
    pub unsealed_legacy: u64,
    /// Sealed records whose device's key could not be opened.
    pub unverifiable: u64,
    /// Enrolments: (device, record).
    pub enrolments: Vec<(String, u64)>,
    /// Devices that enrolled more than once (a lost state file, or a
    /// re-enrolment hiding a cut tail): (device, record).
    pub re_enrolments: Vec<(String, u64)>,
    /// The first break: its kind, record, and the records affected.
    pub broken: Option<(SealBreak, u64, Vec<u64>)>,
}

impl SealReport {
    /// Every record is sealed and verified.
    pub fn authenticated(&self) -> bool {
        self.broken.is_none()
            && self.unverifiable == 0
            && self.unsealed_legacy == 0
            && self.sealed_ok > 0
    }
}

struct DeviceKey {
    seq: u64,
    key: Key32,
}

impl DeviceKey {
    /// The key of record `seq`, spending ratchet steps from `budget`.
    fn key_at(&mut self, seq: u64, budget: &mut u64) -> Option<Key32> {
        if seq < self.seq || seq - self.seq > *budget {
            return None;
        }
        *budget -= seq - self.seq;
        while self.seq < seq {
            self.key = ratchet(&self.key);
            self.seq += 1;
        }
        Some(self.key.clone())
    }
}

/// Verifies the seals of a log's bytes (and its checkpoint, when given).
/// Lines that do not parse are left to [`super::verify_chain`].
pub fn verify_seals(
    bytes: &[u8],
    checkpoint: Option<&super::Checkpoint>,
    keys: &AuditKeys,
) -> SealReport {
    let mut rep = SealReport::default();
    let mut devices: BTreeMap<String, Option<DeviceKey>> = BTreeMap::new();
    let mut failed: Vec<u64> = Vec::new();
    let mut other: Vec<u64> = Vec::new();
    let mut stripped: Vec<u64> = Vec::new();
    let mut total_after_first = 0u64;
    let lines = bytes.split(|b| *b == b'\n').count() as u64;
    let mut budget = lines.saturating_mul(2).saturating_add(RATCHET_SLACK);
    for line in bytes.split(|b| *b == b'\n') {
        let Some(r) = parse_record(line) else {
            continue;
        };
        if !failed.is_empty() {
            total_after_first += 1;
        }
        let enrol = r.is(EventKind::AuditKey);
        if enrol {
            if devices.contains_key(&r.device) {
                rep.re_enrolments.push((r.device.clone(), r.seq));
            }
            rep.enrolments.push((r.device.clone(), r.seq));
            let k = keys.key_for(&r).map(|key| DeviceKey { seq: r.seq, key });
            devices.insert(r.device.clone(), k);
        }
        let Some(entry) = devices.get_mut(&r.device) else {
            if r.mac.is_some() {
                // Sealed, by a device that never enrolled here.
                failed.push(r.seq);
            } else {
                rep.unsealed_legacy += 1;
            }
            continue;
        };
        let Some((unsealed, mac)) = split_mac(line) else {
            stripped.push(r.seq);
            continue;
        };
        let Some(dk) = entry.as_mut() else {
            rep.unverifiable += 1;
            continue;
        };
        let ok = dk.key_at(r.seq, &mut budget).is_some_and(|k| {
            crate::crypto::primitives::ct_eq(record_mac(&k, &unsealed).as_bytes(), mac.as_bytes())
        });
        if ok {
            rep.sealed_ok += 1;
            continue;
        }
        failed.push(r.seq);
        let by_other = devices.iter_mut().any(|(d, k)| {
            d != &r.device
                && k.as_mut().is_some_and(|k| {
                    let mut probe = DeviceKey {
                        seq: k.seq,
                        key: k.key.clone(),
                    };
                    probe.key_at(r.seq, &mut budget).is_some_and(|k| {
                        crate::crypto::primitives::ct_eq(
                            record_mac(&k, &unsealed).as_bytes(),
                            mac.as_bytes(),
                        )
                    })
                })
        });
        if by_other {
            other.push(r.seq);
        }
    }
    if !other.is_empty() {
        rep.broken = Some((SealBreak::OtherDevice, other[0], other));
    } else if !failed.is_empty() {
        // Every record from the first failure on failed: a rewritten suffix.
        let kind = if failed.len() as u64 == total_after_first + 1 && failed.len() > 1 {
            SealBreak::SuffixRewritten
        } else {
            SealBreak::ForgedRecord
        };
        rep.broken = Some((kind, failed[0], failed));
    } else if !stripped.is_empty() {
        rep.broken = Some((SealBreak::Unsealed, stripped[0], stripped));
    } else if let Some(cp) = checkpoint {
        let last_device = bytes
            .split(|b| *b == b'\n')
            .filter_map(parse_record)
            .find(|r| r.seq == cp.seq)
            .map(|r| r.device);
        let verified = last_device
            .and_then(|d| devices.get_mut(&d))
            .and_then(|k| k.as_mut())
            .and_then(|k| k.key_at(cp.seq, &mut budget));
        let ok = match (&cp.mac, verified) {
            (Some(m), Some(k)) => crate::crypto::primitives::ct_eq(
                checkpoint_mac(&k, cp.seq, &cp.hash).as_bytes(),
                m.as_bytes(),
            ),
            // A sealed log's checkpoint must be sealed too.
            (None, Some(_)) => false,
            (_, None) => true,
        };
        if !ok {
            rep.broken = Some((SealBreak::CheckpointEdited, cp.seq, vec![cp.seq]));
        }
    }
    rep
}

/// The name of a device's sealing state file in the audit folder.
pub fn state_file_name(device: &str) -> String {
    format!("seal-{device}.json")
}
