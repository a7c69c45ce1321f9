//! `format::Header::parse` over arbitrary bytes: never panics, and whatever
//! it accepts serializes back to the bytes it read.
#![no_main]

use coffer_core::format::{HEADER_LEN, Header};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(h) = Header::parse(data) {
        assert!(data.len() >= HEADER_LEN);
        assert_eq!(&h.to_bytes()[..], &data[..HEADER_LEN], "header round trip");
    }
});
