//! `vault::open_index` with a fixed key and vault id over arbitrary bytes
//! (`index.bin`): never panics; only authenticated bytes come out.
#![no_main]

use coffer_core::secret::Key32;
use coffer_core::vault::open_index;
use coffer_fuzz::{INDEX_KEY, VAULT_ID};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(pt) = open_index(&Key32::from_bytes(INDEX_KEY), &VAULT_ID, data) {
        // magic (8) ‖ version (2) ‖ nonce (12) ‖ ciphertext ‖ tag (16)
        assert_eq!(pt.len() + 8 + 2 + 12 + 16, data.len());
    }
});
