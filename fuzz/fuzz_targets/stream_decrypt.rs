//! `stream::decrypt` with a fixed key and header over arbitrary ciphertext:
//! returns Ok or Err, never panics; on Err only whole authenticated chunks
//! were written; on Ok the count matches what was written.
#![no_main]

use coffer_core::format::CHUNK_SIZE;
use coffer_core::stream;
use coffer_fuzz::{stream_header, stream_key};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut out = Vec::new();
    match stream::decrypt(&stream_key(), &stream_header(), data, &mut out) {
        Ok(n) => assert_eq!(n, out.len() as u64),
        Err(_) => assert_eq!(
            out.len() % CHUNK_SIZE,
            0,
            "a failed decryption wrote a partial chunk"
        ),
    }
});
