//! The bytes of the vault's integrity files (docs/FORMAT.md §17):
//! `manifest.bin`, what should exist, authenticated under a key only an
//! unlock yields; and `endorsements.bin`, what a writer is about to
//! change, authenticated under the writer key so that a process working
//! while locked can vouch for the objects it writes.
//!
//! Both are parsed here, bounded, and nothing in them is trusted before
//! its MAC verified.

use std::collections::BTreeMap;

use sha2::{Digest, Sha256};

use super::{FILE_ID_LEN, FileId, Reader};
use crate::crypto::primitives::{ct_eq, hmac32};
use crate::crypto::secret::Key32;
use crate::error::{Error, Result};

const MANIFEST_MAGIC: &[u8; 8] = b"COFFERMF";
/// Version of `manifest.bin`.
pub const MANIFEST_VERSION: u16 = 1;
const MANIFEST_FIXED: usize = 8 + 2 + 16 + 8 + 4;
const ENTRY_LEN: usize = FILE_ID_LEN + 32;
/// Most objects a manifest lists (the index's bound: about 11 million).
pub const MAX_MANIFEST_ENTRIES: usize = 1 << 23;
/// Longest `manifest.bin`.
pub const MAX_MANIFEST_LEN: u64 = (MANIFEST_FIXED + MAX_MANIFEST_ENTRIES * ENTRY_LEN + 32) as u64;
/// One endorsement: phase, generation, file id, digest, MAC.
pub const ENDORSEMENT_LEN: usize = 1 + 8 + FILE_ID_LEN + 32 + 32;
/// Longest `endorsements.bin` read (about 750,000 entries).
pub const MAX_ENDORSEMENTS_LEN: u64 = 64 << 20;

const LABEL_DIGEST: &[u8] = b"coffer/v2/object-digest";
const LABEL_MANIFEST_MAC: &[u8] = b"coffer/v2/manifest";
const LABEL_ENDORSEMENT_MAC: &[u8] = b"coffer/v2/endorsement";

/// SHA-256 naming one object exactly: its header and the key record in
/// force (embedded or sidecar), length-prefixed.
pub fn object_digest(header: &[u8], record: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(LABEL_DIGEST);
    h.update(header);
    h.update((record.len() as u32).to_be_bytes());
    h.update(record);
    h.finalize().into()
}

/// What should exist: every object's id and digest, and a generation that
/// only grows.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Manifest {
    /// Grows by one with every change.
    pub generation: u64,
    /// Object id → [`object_digest`].
    pub entries: BTreeMap<FileId, [u8; 32]>,
}

impl Manifest {
    /// `magic ‖ BE16 version ‖ vault id ‖ BE64 generation ‖ BE32 n ‖
    /// n × (id ‖ digest) ‖ HMAC`, entries in ascending id order.
    pub fn to_bytes(&self, key: &Key32, vault_id: &[u8; 16]) -> Vec<u8> {
        let mut out = Vec::with_capacity(MANIFEST_FIXED + self.entries.len() * ENTRY_LEN + 32);
        out.extend_from_slice(MANIFEST_MAGIC);
        out.extend_from_slice(&MANIFEST_VERSION.to_be_bytes());
        out.extend_from_slice(vault_id);
        out.extend_from_slice(&self.generation.to_be_bytes());
        out.extend_from_slice(&(self.entries.len() as u32).to_be_bytes());
        for (id, digest) in &self.entries {
            out.extend_from_slice(&id.0);
            out.extend_from_slice(digest);
        }
        let mac = hmac32(key, &[LABEL_MANIFEST_MAC, &out]);
        out.extend_from_slice(&mac);
        out
    }

    /// Parses and authenticates a manifest. Structure first (corrupt), then
    /// the MAC and the vault id (tampered), then the order of entries.
    pub fn parse(bytes: &[u8], key: &Key32, vault_id: &[u8; 16]) -> Result<Self> {
        let (generation, n) = parse_fixed(bytes)?;
        let body_len = MANIFEST_FIXED + n * ENTRY_LEN;
        if bytes.len() != body_len + 32 {
            return Err(Error::corrupt(
                "manifest",
                "length does not match its count",
            ));
        }
        let mac = hmac32(key, &[LABEL_MANIFEST_MAC, &bytes[..body_len]]);
        if !ct_eq(&mac, &bytes[body_len..]) || bytes[10..26] != vault_id[..] {
            return Err(Error::Tampered { what: "manifest" });
        }
        let mut r = Reader::new(&bytes[MANIFEST_FIXED..body_len], "manifest");
        let mut entries = BTreeMap::new();
        let mut last: Option<FileId> = None;
        for _ in 0..n {
            let id = FileId(r.array()?);
            let digest: [u8; 32] = r.array()?;
            if last.is_some_and(|l| l >= id) {
                return Err(Error::corrupt("manifest", "entries out of order"));
            }
            last = Some(id);
            entries.insert(id, digest);
        }
        r.finish()?;
        Ok(Manifest {
            generation,
            entries,
        })
    }

    /// The generation a manifest claims, without authenticating it: what a
    /// process working while locked binds its endorsements to. A wrong one
    /// only makes the next unlock refuse those endorsements.
    pub fn claimed_generation(bytes: &[u8]) -> Result<u64> {
        parse_fixed(bytes).map(|(g, _)| g)
    }
}

fn parse_fixed(bytes: &[u8]) -> Result<(u64, usize)> {
    let mut r = Reader::new(bytes, "manifest");
    if r.take(8)? != MANIFEST_MAGIC {
        return Err(Error::corrupt("manifest", "bad magic"));
    }
    let v = r.u16()?;
    if v != MANIFEST_VERSION {
        return Err(Error::UnsupportedVersion {
            what: "manifest",
            version: v.into(),
        });
    }
    let _vault_id: [u8; 16] = r.array()?;
    let generation = r.u64()?;
    let n = r.u32()? as usize;
    if n > MAX_MANIFEST_ENTRIES {
        return Err(Error::corrupt("manifest", "too many entries"));
    }
    Ok((generation, n))
}

/// What an endorsement says about an object.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// About to put an object with this digest in place (a new object, or a
    /// new key record for an existing one).
    Intent,
    /// The object is in place and durable; a plaintext may go.
    Done,
    /// About to remove the object on the user's request.
    Remove,
}

impl Phase {
    fn to_byte(self) -> u8 {
        match self {
            Phase::Intent => 1,
            Phase::Done => 2,
            Phase::Remove => 3,
        }
    }
    fn from_byte(b: u8) -> Option<Self> {
        match b {
            1 => Some(Phase::Intent),
            2 => Some(Phase::Done),
            3 => Some(Phase::Remove),
            _ => None,
        }
    }
}

/// One line of `endorsements.bin`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Endorsement {
    /// What it says.
    pub phase: Phase,
    /// The manifest generation the writer saw: endorsements of another
    /// generation are never applied (an old one cannot be replayed).
    pub generation: u64,
    /// The object.
    pub id: FileId,
    /// Its [`object_digest`] (zero for a removal).
    pub digest: [u8; 32],
}

impl Endorsement {
    /// `phase ‖ BE64 generation ‖ id ‖ digest ‖ HMAC(writer MAC key,
    /// label ‖ vault id ‖ the 57 bytes before)`.
    pub fn to_bytes(&self, key: &Key32, vault_id: &[u8; 16]) -> [u8; ENDORSEMENT_LEN] {
        let mut out = [0u8; ENDORSEMENT_LEN];
        out[0] = self.phase.to_byte();
        out[1..9].copy_from_slice(&self.generation.to_be_bytes());
        out[9..25].copy_from_slice(&self.id.0);
        out[25..57].copy_from_slice(&self.digest);
        let mac = hmac32(key, &[LABEL_ENDORSEMENT_MAC, vault_id, &out[..57]]);
        out[57..].copy_from_slice(&mac);
        out
    }
}

/// What `endorsements.bin` holds.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Endorsements {
    /// Entries whose MAC verified, in file order.
    pub valid: Vec<Endorsement>,
    /// Entries whose MAC failed or whose phase is unknown: forged.
    pub forged: usize,
    /// Whether the file ended in a partial entry (a crash mid-append; that
    /// entry was never flushed, so nothing relied on it).
    pub torn_tail: bool,
}

/// Splits `endorsements.bin` into entries and authenticates each.
pub fn parse_endorsements(bytes: &[u8], key: &Key32, vault_id: &[u8; 16]) -> Endorsements {
    let mut out = Endorsements {
        torn_tail: !bytes.len().is_multiple_of(ENDORSEMENT_LEN),
        ..Default::default()
    };
    for e in bytes.chunks_exact(ENDORSEMENT_LEN) {
        let mac = hmac32(key, &[LABEL_ENDORSEMENT_MAC, vault_id, &e[..57]]);
        let phase = Phase::from_byte(e[0]);
        match phase {
            Some(phase) if ct_eq(&mac, &e[57..]) => out.valid.push(Endorsement {
                phase,
                generation: u64::from_be_bytes(e[1..9].try_into().expect("8 bytes")),
                id: FileId(e[9..25].try_into().expect("16 bytes")),
                digest: e[25..57].try_into().expect("32 bytes"),
            }),
            _ => out.forged += 1,
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Manifest {
        let mut m = Manifest {
            generation: 7,
            ..Default::default()
        };
        for i in 0..3u8 {
            m.entries.insert(FileId([i; 16]), [i + 10; 32]);
        }
        m
    }

    #[test]
    fn manifest_round_trips_and_every_flipped_bit_is_refused() {
        let key = Key32::from_bytes([1; 32]);
        let vid = [2u8; 16];
        let bytes = sample().to_bytes(&key, &vid);
        assert_eq!(Manifest::parse(&bytes, &key, &vid).unwrap(), sample());
        assert_eq!(Manifest::claimed_generation(&bytes).unwrap(), 7);
        for i in 0..bytes.len() * 8 {
            let mut b = bytes.clone();
            b[i / 8] ^= 1 << (i % 8);
            assert!(Manifest::parse(&b, &key, &vid).is_err(), "bit {i}");
        }
        assert!(matches!(
            Manifest::parse(&bytes, &Key32::from_bytes([9; 32]), &vid),
            Err(Error::Tampered { .. })
        ));
        assert!(matches!(
            Manifest::parse(&bytes, &key, &[3; 16]),
            Err(Error::Tampered { .. })
        ));
        for cut in 0..bytes.len() {
            assert!(Manifest::parse(&bytes[..cut], &key, &vid).is_err());
        }
    }

    #[test]
    fn endorsements_verify_and_forgeries_are_counted() {
        let key = Key32::from_bytes([4; 32]);
        let vid = [5u8; 16];
        let e = Endorsement {
            phase: Phase::Done,
            generation: 3,
            id: FileId([6; 16]),
            digest: [7; 32],
        };
        let mut file = e.to_bytes(&key, &vid).to_vec();
        let mut forged = e.to_bytes(&Key32::from_bytes([8; 32]), &vid).to_vec();
        file.append(&mut forged);
        file.extend_from_slice(&[1, 2, 3]);
        let parsed = parse_endorsements(&file, &key, &vid);
        assert_eq!(parsed.valid, vec![e]);
        assert_eq!(parsed.forged, 1);
        assert!(parsed.torn_tail);
        // Another vault's endorsements do not verify here.
        assert_eq!(parse_endorsements(&file, &key, &[0; 16]).forged, 2);
    }
}
