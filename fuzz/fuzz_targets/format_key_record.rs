//! `format::KeyRecord::parse` over arbitrary bytes: never panics, and an
//! accepted record is exactly its own serialization.
#![no_main]

use coffer_core::format::{KeyRecord, MAX_RECORD_LEN};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(r) = KeyRecord::parse(data) {
        assert!(data.len() <= MAX_RECORD_LEN);
        assert_eq!(r.encoded_len(), data.len());
        assert_eq!(r.to_bytes(), data, "key record round trip");
    }
});
