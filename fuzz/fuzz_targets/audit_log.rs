//! An audit log from anywhere (a vault's `log.jsonl`, or a shipped copy an
//! auditor received from a device that may be compromised): chain
//! verification, record parsing and both reports never panic, and what
//! they render is well-formed.
#![no_main]

use coffer_core::audit::verify_chain;
use coffer_report::{self as report, AccessQuery, ReportFormat};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let chain = verify_chain(data, None);
    let records = report::parse_records(data);
    let access = report::access_report(&records, &AccessQuery::default(), &chain, None);
    assert!(access.rows.len() >= records.len().min(access.rows.len()));
    let csv = access.render(ReportFormat::Csv);
    assert!(std::str::from_utf8(&csv).is_ok());
    let _ = access.render(ReportFormat::Html);
    let lost_at = jiff::Timestamp::from_second(1_800_000_000).expect("in range");
    let incident = report::incident_report(&records, data, "fuzz-device", lost_at);
    let json = incident.render(ReportFormat::Json).expect("json");
    serde_json::from_slice::<serde_json::Value>(&json).expect("valid JSON");
});
