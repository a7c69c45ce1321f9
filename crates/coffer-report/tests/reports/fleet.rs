//! The fleet view from copies shipped to a share.

use coffer_core::audit::{AuditEvent, AuditLog, Identity};
use coffer_core::sink::{self, Sink};
use coffer_report::fleet::summarize;

#[test]
fn devices_are_summarised_from_their_shipped_status() {
    let d = tempfile::tempdir().unwrap();
    let share = d.path().join("share");
    std::fs::create_dir(&share).unwrap();
    let vault = d.path().join("v");
    let log = AuditLog::new(&vault, Identity::current(&[9; 16]));
    sink::save(
        &vault,
        &[Sink::Directory {
            path: share.clone(),
        }],
    )
    .unwrap();
    let mut st = serde_json::Map::new();
    st.insert("policy_compliant".into(), false.into());
    st.insert(
        "policy_problems".into(),
        vec!["full-disk encryption: Off"].into(),
    );
    st.insert("disk_encryption".into(), "off".into());
    st.insert("key_version".into(), 2.into());
    log.append(&[AuditEvent::VaultCreated, AuditEvent::Status(st)])
        .unwrap();
    log.ship_pending();
    let s = summarize(&share).unwrap();
    assert_eq!(s.len(), 1);
    assert_eq!(s[0].compliant, Some(false));
    assert_eq!(s[0].problems, vec!["full-disk encryption: Off"]);
    assert_eq!(s[0].key_version, Some(2));
    assert!(s[0].chain_ok);
}
