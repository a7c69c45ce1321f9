//! `format::parse_sidecar` over arbitrary bytes (a `.rec` file): never
//! panics, and an accepted sidecar is exactly its own serialization.
#![no_main]

use coffer_core::format::{parse_sidecar, sidecar_to_bytes};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok((h, r)) = parse_sidecar(data) {
        assert_eq!(sidecar_to_bytes(&h, &r), data, "sidecar round trip");
    }
});
