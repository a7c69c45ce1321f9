//! `format::Metadata::parse` over arbitrary bytes (the plaintext of a
//! metadata record, which a key holder could craft): never panics, only
//! valid relative paths get through, and an accepted record is exactly its
//! own serialization.
#![no_main]

use coffer_core::format::{Metadata, validate_rel_path};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(m) = Metadata::parse(data) {
        assert_eq!(validate_rel_path(&m.path), Ok(()), "accepted a bad path");
        assert_eq!(m.to_bytes(), data, "metadata round trip");
    }
});
