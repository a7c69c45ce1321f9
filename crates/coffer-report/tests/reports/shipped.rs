//! Reports from a real log, shipped to a directory sink by the engine.

use std::fs;

use coffer_core::Error;
use coffer_core::audit::{self, AuditEvent, AuditLog, Identity};
use coffer_core::sink::{self, Sink};
use coffer_report::{
    AccessQuery, Verdict, access_report, incident_report, load_shipped, load_shipped_copies,
    parse_records,
};
use jiff::Timestamp;
use serde_json::Value;

use crate::fixtures::{ID_A, status};

#[test]
fn report_from_a_real_log_shipped_to_a_directory_sink() {
    let d = tempfile::tempdir().unwrap();
    let vault = d.path().join("v");
    let share = d.path().join("share");
    fs::create_dir(&share).unwrap();
    sink::save(
        &vault,
        &[Sink::Directory {
            path: share.clone(),
        }],
    )
    .unwrap();
    let id = Identity::current(&[7; 16]);
    let log = AuditLog::new(&vault, id.clone());
    let st = match status(3, 1, "2026-03-01T08:00:00Z", "on", false) {
        Value::Object(m) => m,
        _ => unreachable!(),
    };
    log.append(&[AuditEvent::VaultCreated, AuditEvent::Status(st)])
        .unwrap();
    log.append(&[AuditEvent::Locked {
        reason: "process_end".into(),
    }])
    .unwrap();
    log.append(&[AuditEvent::Unlocked {
        method: "passphrase".into(),
    }])
    .unwrap();
    log.append(&[AuditEvent::FileOpened { id: ID_A.into() }])
        .unwrap();
    log.append(&[AuditEvent::Locked {
        reason: "manual".into(),
    }])
    .unwrap();
    // Appending never ships; the writer (here the test) ships afterwards.
    log.ship_pending();

    let (records, bytes) = load_shipped(&share, &id.device).unwrap();
    // Six records and the device's enrolment of its audit key.
    assert_eq!(records.len(), 7);
    assert_eq!(bytes, fs::read(log.path()).unwrap());
    let copies = load_shipped_copies(&share, &id.device).unwrap();
    assert_eq!(copies.len(), 1);
    assert_eq!(copies[0].vault, id.vault);

    let lost = Timestamp::now()
        .checked_add(jiff::SignedDuration::from_hours(1))
        .unwrap();
    let rep = incident_report(&records, &bytes, &id.device, lost);
    assert_eq!(rep.verdict, Verdict::Holds, "{:#?}", rep.reasons);
    assert_eq!(rep.facts.last_lock_seq, Some(7));
    assert_eq!(rep.facts.escrow, Some(false));
    assert_eq!(rep.hosts, vec![id.host.clone()]);

    let chain = audit::verify_vault_log(&log).unwrap();
    let rep = access_report(
        &parse_records(&fs::read(log.path()).unwrap()),
        &AccessQuery::default(),
        &chain,
        None,
    );
    assert_eq!(rep.summary.records, 7);
    assert!(rep.chain.ok);

    // Not there, and ambiguous.
    assert!(matches!(
        load_shipped(&share, "ffffffffffffffff"),
        Err(Error::NotFound(_))
    ));
    fs::write(
        share.join(format!("{}-{}.jsonl", id.device, "00".repeat(16))),
        b"",
    )
    .unwrap();
    assert!(matches!(
        load_shipped(&share, &id.device),
        Err(Error::Invalid(_))
    ));
    assert_eq!(load_shipped_copies(&share, &id.device).unwrap().len(), 2);
    assert!(load_shipped(&share, "../x").is_err());
}
