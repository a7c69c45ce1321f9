//! The vector of docs/FORMAT.md §3.1's slot commitments:
//! `tests/vectors/integrity/vault-v2-committed.json` is
//! `integrity/vault-v2.json` with its recovery slot committed (`commit`)
//! and its MAC recomputed, as the first unlock after this change leaves
//! it. Generated once by
//!
//! ```text
//! cargo test -p coffer-core --test slot_commitment_vector -- --ignored regenerate
//! ```
//!
//! and checked on every run, through coffer-core and by recomputing the
//! commitment from the document with the `hkdf` crate.

use std::path::PathBuf;

use serde_json::Value;
use sha2::Sha256;

use coffer_core::Error;
use coffer_core::config::{Credential, VaultConfig};
use coffer_core::recovery;

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/vectors")
}

fn b64(s: &Value) -> Vec<u8> {
    data_encoding::BASE64
        .decode(s.as_str().unwrap().as_bytes())
        .unwrap()
}

fn hkdf(salt: &[u8], ikm: &[u8], info: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    hkdf::Hkdf::<Sha256>::new(Some(salt), ikm)
        .expand(info, &mut out)
        .unwrap();
    out
}

fn recovery_key() -> coffer_core::secret::Key32 {
    let m: Value =
        serde_json::from_slice(&std::fs::read(dir().join("manifest.json")).unwrap()).unwrap();
    recovery::decode(m["recovery_key"].as_str().unwrap()).unwrap()
}

/// The recovery slot's commitment, from §3.1: the slot KEK, then
/// HKDF(salt = slot id, ikm = KEK, info = "coffer/v2/slot-commitment").
fn commitment_from_the_document(slot: &Value, rk: &[u8]) -> [u8; 32] {
    let kek = hkdf(&b64(&slot["salt"]), rk, b"coffer/v1/recovery-slot");
    hkdf(&b64(&slot["id"]), &kek, b"coffer/v2/slot-commitment")
}

fn recovery_slot(cfg: &Value) -> &Value {
    cfg["slots"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["kind"] == "recovery")
        .unwrap()
}

#[test]
#[ignore = "rewrites tests/vectors/integrity/vault-v2-committed.json"]
fn regenerate() {
    let rk = recovery_key();
    let text = std::fs::read(dir().join("integrity/vault-v2.json")).unwrap();
    let v2 = VaultConfig::parse(&text).unwrap();
    let (keys, _) = v2.unlock(&Credential::Recovery(&rk)).unwrap();
    let mut json: Value = serde_json::from_slice(&text).unwrap();
    for s in json["slots"].as_array_mut().unwrap() {
        if s["kind"] == "recovery" {
            let c = commitment_from_the_document(s, rk.expose());
            s["commit"] = Value::String(data_encoding::BASE64.encode(&c));
        }
    }
    let mut cfg = VaultConfig::parse(&serde_json::to_vec(&json).unwrap()).unwrap();
    cfg.authenticate(&keys);
    std::fs::write(
        dir().join("integrity/vault-v2-committed.json"),
        cfg.to_bytes(),
    )
    .unwrap();
}

#[test]
fn the_committed_vector_opens_and_its_commitment_is_the_documents() {
    let rk = recovery_key();
    let text = std::fs::read(dir().join("integrity/vault-v2-committed.json")).unwrap();
    let json: Value = serde_json::from_slice(&text).unwrap();
    let slot = recovery_slot(&json);
    assert_eq!(
        b64(&slot["commit"]),
        commitment_from_the_document(slot, rk.expose())
    );
    let cfg = VaultConfig::parse(&text).unwrap();
    // Opens (and its MAC, which covers `commit`, verifies) even where the
    // device requires committed slots.
    cfg.unlock_committed(&Credential::Recovery(&rk), true)
        .unwrap();
    // The uncommitted original does not, there: refused before any KDF.
    let old =
        VaultConfig::parse(&std::fs::read(dir().join("integrity/vault-v2.json")).unwrap()).unwrap();
    assert!(matches!(
        old.unlock_committed(&Credential::Recovery(&rk), true),
        Err(Error::Tampered { .. })
    ));
    old.unlock(&Credential::Recovery(&rk)).unwrap();
    // A commitment to another key: the slot is not tried, whatever its
    // ciphertext would open under.
    let mut bad = json.clone();
    for s in bad["slots"].as_array_mut().unwrap() {
        if s["kind"] == "recovery" {
            s["commit"] = Value::String(data_encoding::BASE64.encode(&[0u8; 32]));
        }
    }
    let bad = VaultConfig::parse(&serde_json::to_vec(&bad).unwrap()).unwrap();
    assert!(matches!(
        bad.unlock(&Credential::Recovery(&rk)),
        Err(Error::WrongCredential)
    ));
}
