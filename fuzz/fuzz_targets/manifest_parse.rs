//! `manifest.bin` and `endorsements.bin` from anywhere (someone who can
//! write the vault folder): parsing never panics, a manifest only parses
//! when its tag verifies under the key, and what parses round-trips byte
//! for byte; endorsements are split and authenticated without panicking.
#![no_main]

use coffer_core::format::manifest::{ENDORSEMENT_LEN, Manifest, parse_endorsements};
use coffer_core::secret::Key32;
use coffer_fuzz::{INDEX_KEY, VAULT_ID};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let key = Key32::from_bytes(INDEX_KEY);
    let _ = Manifest::claimed_generation(data);
    if let Ok(m) = Manifest::parse(data, &key, &VAULT_ID) {
        assert_eq!(m.to_bytes(&key, &VAULT_ID), data);
    }
    let e = parse_endorsements(data, &key, &VAULT_ID);
    assert_eq!(e.valid.len() + e.forged, data.len() / ENDORSEMENT_LEN);
    assert_eq!(e.torn_tail, data.len() % ENDORSEMENT_LEN != 0);
    for en in &e.valid {
        let bytes = en.to_bytes(&key, &VAULT_ID);
        assert!(data.chunks_exact(ENDORSEMENT_LEN).any(|c| c == &bytes[..]));
    }
});
