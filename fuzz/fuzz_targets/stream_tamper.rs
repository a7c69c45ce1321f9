//! Encrypts fuzzer-chosen plaintext (0 ..= 3 chunks + 1 byte) with a fixed
//! key and header, applies one fuzzer-chosen mutation (flip a byte of
//! header ‖ ciphertext, truncate, insert or delete a byte; see
//! `coffer_fuzz::Tamper`), and decrypts. Any real change must be
//! `DecryptionFailed` with no plaintext released beyond whole authenticated
//! chunks of the original; a no-op must decrypt to the original plaintext.
#![no_main]

use coffer_core::Error;
use coffer_core::format::{CHUNK_SIZE, stream_len};
use coffer_core::stream;
use coffer_fuzz::{Tamper, stream_header, stream_key};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some(t) = Tamper::parse(data) else {
        return;
    };
    let key = stream_key();
    let header = stream_header();
    let pt = t.plaintext();
    let mut ct = Vec::new();
    let n = stream::encrypt(&key, &header, &pt[..], &mut ct).expect("encrypt into a Vec");
    assert_eq!(n, pt.len() as u64);
    assert_eq!(ct.len() as u64, stream_len(n));

    let mut h = header;
    let changed = t.apply(&mut h, &mut ct);
    let mut out = Vec::new();
    let res = stream::decrypt(&key, &h, &ct[..], &mut out);
    if changed {
        match res {
            Err(Error::DecryptionFailed) => {}
            Err(e) => panic!("tampering gave {e:?}, not DecryptionFailed"),
            Ok(_) => panic!("tampered stream decrypted ({t:?})"),
        }
        assert_eq!(out.len() % CHUNK_SIZE, 0, "partial chunk released");
        assert!(
            pt.starts_with(&out),
            "released plaintext is not the original's"
        );
    } else {
        assert_eq!(res.expect("untouched stream decrypts"), pt.len() as u64);
        assert!(out == pt, "round trip changed the plaintext");
    }
});
