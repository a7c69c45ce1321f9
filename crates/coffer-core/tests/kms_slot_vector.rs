//! A test vector for the `kms_escrow` slot (docs/FORMAT.md §3.1.1), so a
//! re-implementation can check every byte: the slot below was made once by
//! Coffer for a fixed vault id and master key, to the RSA 3072 test key in
//! `src/crypto/testdata/org-rsa-3072.pem` (test only; never an
//! organisation's key). What the KMS does — RSAES-OAEP-DECRYPT with
//! SHA-256, MGF1-SHA-256 and the empty label — is done here with that
//! private key; the AES-256-GCM layer must then open under `kms_aad` and
//! give the master key. Any other vault id, or an edited key name, version
//! or fingerprint, must fail.

use coffer_core::escrow_key::kms::KmsSlot;
use coffer_core::secret::Key32;
use rsa::pkcs8::DecodePrivateKey;
use rsa::sha2::Sha256;

const PRIVATE_PEM: &str = include_str!("../src/crypto/testdata/org-rsa-3072.pem");
const VAULT_ID: [u8; 16] = *b"coffer-kms-vec-1";
const MASTER: [u8; 32] = *b"the 32-byte master key of vault1";
const SLOT: &str = include_str!("vectors/kms_escrow_slot.json");

fn slot_key(slot: &KmsSlot) -> Key32 {
    let sk = rsa::PrivateKey::from_pkcs8_pem(PRIVATE_PEM).unwrap();
    let k = sk.oaep_decrypt::<Sha256>(&slot.oaep).unwrap();
    Key32::from_slice(&k).unwrap()
}

#[test]
fn the_vector_opens_to_its_master_key() {
    let slot: KmsSlot = serde_json::from_str(SLOT).unwrap();
    slot.validate().unwrap();
    assert_eq!(slot.oaep.len(), 384);
    let k = slot_key(&slot);
    assert_eq!(&slot.open(&VAULT_ID, &k).unwrap()[..], &MASTER);
}

#[test]
fn the_vector_is_bound_to_vault_and_key() {
    let slot: KmsSlot = serde_json::from_str(SLOT).unwrap();
    let k = slot_key(&slot);
    let mut other_vault = VAULT_ID;
    other_vault[0] ^= 1;
    assert!(slot.open(&other_vault, &k).is_err());
    let mut s = slot.clone();
    s.key_name.push('x');
    assert!(s.open(&VAULT_ID, &k).is_err());
    let mut s = slot.clone();
    s.key_version += 1;
    assert!(s.open(&VAULT_ID, &k).is_err());
    let mut s = slot.clone();
    s.fingerprint[5] ^= 1;
    assert!(s.open(&VAULT_ID, &k).is_err());
}

/// Prints a fresh vector (run with `--ignored --nocapture` only when the
/// format changes on purpose).
#[test]
#[ignore]
fn print_a_fresh_vector() {
    use coffer_core::crypto::rsa_oaep::OrgRsaKey;
    use coffer_core::escrow_key::kms::{KmsProvider, OrgKmsKey};
    use rsa::pkcs8::EncodePublicKey;
    let sk = rsa::PrivateKey::from_pkcs8_pem(PRIVATE_PEM).unwrap();
    let der = sk.to_public_key().to_public_key_der().unwrap();
    let org = OrgKmsKey {
        provider: KmsProvider::OpenbaoTransit,
        name: "coffer-escrow".into(),
        version: 2,
        key: OrgRsaKey::from_der(der.as_bytes()).unwrap(),
    };
    let slot = KmsSlot::seal(
        &VAULT_ID,
        *b"kms-slot-id-0001",
        1_796_000_000,
        &org,
        &MASTER,
    )
    .unwrap();
    println!("{}", serde_json::to_string_pretty(&slot).unwrap());
}
