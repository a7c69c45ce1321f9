//! `recovery::decode` over arbitrary strings (what a user types): never
//! panics, and an accepted key re-encodes to a string that decodes to it.
#![no_main]

use coffer_core::recovery;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(k) = recovery::decode(s) {
        let again = recovery::decode(&recovery::encode(&k)).expect("own encoding decodes");
        assert_eq!(again.expose(), k.expose(), "recovery key round trip");
    }
});
