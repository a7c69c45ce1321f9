//! `object::read_prefix` over a byte slice (the front of an `.obj` file):
//! never panics, and what it accepts is `header ‖ BE32 len ‖ record` with
//! the chunk stream starting right after.
#![no_main]

use coffer_core::format::HEADER_LEN;
use coffer_core::object::read_prefix;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(p) = read_prefix(data) {
        let off = usize::try_from(p.stream_offset).expect("offset fits usize");
        assert!(off <= data.len(), "stream offset past the input");
        let rec = p.record.to_bytes();
        assert_eq!(off, HEADER_LEN + 4 + rec.len());
        assert_eq!(&data[..HEADER_LEN], &p.header.to_bytes()[..]);
        assert_eq!(
            &data[HEADER_LEN..HEADER_LEN + 4],
            &(rec.len() as u32).to_be_bytes()
        );
        assert_eq!(&data[HEADER_LEN + 4..off], &rec[..], "record round trip");
    }
});
