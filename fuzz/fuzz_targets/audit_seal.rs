//! A shipped copy and a collector's receipts from anywhere: seal
//! verification (with a key and without), receipt parsing, the copy check
//! against receipts and the incident report ordered by arrival never
//! panic, and the report renders as valid JSON. The first line of the
//! input is taken as the receipts file, the rest as the copy.
#![no_main]

use coffer_core::audit::{AuditKeys, verify_seals};
use coffer_core::secret::Key32;
use coffer_report::receipts::{Arrivals, check_copy, parse_receipts};
use coffer_report::{IncidentOptions, ReportFormat, incident_report_with, parse_records};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let split = data.iter().position(|b| *b == 0).unwrap_or(0);
    let (receipts, copy) = data.split_at(split);
    let receipts = parse_receipts(receipts);
    let keyed = AuditKeys::none().with_key("d", 1, Key32::from_bytes([7; 32]));
    let a = verify_seals(copy, None, &keyed);
    let b = verify_seals(copy, None, &AuditKeys::none());
    // Without a key nothing verifies; with one, no more than the records.
    assert_eq!(b.sealed_ok, 0);
    assert!(a.sealed_ok as usize <= copy.split(|c| *c == b'\n').count());
    let _ = check_copy(copy, &receipts);
    let records = parse_records(copy);
    let lost_at = jiff::Timestamp::from_second(1_800_000_000).expect("in range");
    let opts = IncidentOptions::default()
        .keys(keyed)
        .arrivals(Arrivals::new(receipts, None));
    let rep = incident_report_with(&records, copy, "d", lost_at, &opts);
    let json = rep.render(ReportFormat::Json).expect("json");
    serde_json::from_slice::<serde_json::Value>(&json).expect("valid JSON");
});
