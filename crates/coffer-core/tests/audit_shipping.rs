//! Shipping the audit trail leaves the vault's writer lock: records go to
//! the sinks after the lock is released, so a syslog host that never
//! answers keeps only the shipper waiting, never another writer; and what
//! a handle wrote is shipped by the time it is dropped.

mod common;

use std::fs;
use std::net::TcpListener;
use std::sync::mpsc;
use std::time::Duration;

use coffer_core::audit::parse_records;
use coffer_core::fsutil::WriterLock;
use coffer_core::sink::{self, Sink};
use coffer_core::vault::Vault;

use common::new_vault;

#[test]
fn a_syslog_host_that_never_answers_does_not_hold_the_writer_lock() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path().join("vault");
    let writer_key = new_vault(&dir).unlocked_writer_key().cloned().unwrap();
    // The kernel completes the handshake for it, but it never reads or
    // hangs up: a shipper sending to it waits (up to its timeouts).
    let host = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("tcp://{}", host.local_addr().unwrap());
    sink::save(&dir, &[Sink::Syslog { url }]).unwrap();
    let folder = d.path().join("docs");
    fs::create_dir(&folder).unwrap();
    let vault_dir = dir.clone();
    let writer = std::thread::spawn(move || {
        let mut v = Vault::open(&vault_dir).unwrap();
        v.set_writer_key(writer_key).unwrap();
        // Appends under the writer lock, then ships.
        v.register_protected(&folder).unwrap();
    });
    // Wait for the shipper's connection itself, not for a guessed time.
    let (connected, accepted) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = connected.send(host.accept().map(|(c, _)| c));
    });
    let conn = accepted
        .recv_timeout(Duration::from_secs(20))
        .expect("nothing was shipped")
        .unwrap();
    // The shipper is connected, so it is shipping now: the lock is free.
    let lock = WriterLock::acquire(&dir.join("lock"), Duration::ZERO);
    assert!(
        lock.is_ok(),
        "another writer must not wait for the syslog host"
    );
    drop(lock);
    drop(conn);
    writer.join().unwrap();
}

#[test]
fn what_a_handle_wrote_is_shipped_when_it_is_dropped() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path().join("vault");
    let share = d.path().join("share");
    fs::create_dir(&share).unwrap();
    let v = new_vault(&dir);
    sink::save(
        &dir,
        &[Sink::Directory {
            path: share.clone(),
        }],
    )
    .unwrap();
    let id = v.audit().identity().clone();
    let copy = share.join(sink::copy_name(&id.device, &id.vault));
    assert!(!copy.exists());
    // Dropping an unlocked handle records the lock, then ships it all.
    drop(v);
    let shipped = fs::read(&copy).unwrap();
    assert_eq!(shipped, fs::read(dir.join("audit/log.jsonl")).unwrap());
    let last = parse_records(&shipped).pop().unwrap();
    assert_eq!(last.event, "lock");
}

/// Adds 1,000 small files (two batches) to a fresh vault at `dir`; how long
/// `Vault::add` took, and how long dropping the handle then took.
fn add_1000(
    dir: &std::path::Path,
    files: &std::path::Path,
    sinks: &[Sink],
) -> (Duration, Duration) {
    use coffer_core::vault::{AddOptions, AddSource};
    let writer_key = new_vault(dir).unlocked_writer_key().cloned().unwrap();
    sink::save(dir, sinks).unwrap();
    let sources: Vec<AddSource> = (0..1000)
        .map(|i| AddSource::for_file(&files.join(format!("f{i:04}")), &format!("f{i:04}")).unwrap())
        .collect();
    let mut v = Vault::open(dir).unwrap();
    // A locked writer, as the watcher is: with the key the keychain keeps.
    v.set_writer_key(writer_key).unwrap();
    let t = std::time::Instant::now();
    let out = v.add(&sources, AddOptions::default(), &|_| {}).unwrap();
    let took = t.elapsed();
    assert_eq!(out.len(), 1000);
    let t = std::time::Instant::now();
    drop(v);
    (took, t.elapsed())
}

#[test]
fn adding_1000_files_with_a_syslog_host_that_never_answers_takes_no_longer_than_with_no_sink() {
    let d = tempfile::tempdir().unwrap();
    let files = d.path().join("files");
    fs::create_dir(&files).unwrap();
    for i in 0..1000 {
        fs::write(files.join(format!("f{i:04}")), format!("record {i}")).unwrap();
    }
    // Accepts (the kernel completes the handshake) and never reads or
    // answers: each shipment waits out its timeout (3 s).
    let host = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("tcp://{}", host.local_addr().unwrap());
    let (none, _) = add_1000(&d.path().join("a"), &files, &[]);
    let (dead, dropping) = add_1000(&d.path().join("b"), &files, &[Sink::Syslog { url }]);
    eprintln!("no sink: {none:?}; dead syslog host: {dead:?} (then {dropping:?} to drop)");
    // Generous, yet below the 6 s two batches would wait if each shipped
    // inline: the batches never wait on the sink; only noise separates them.
    assert!(
        dead <= none * 3 / 2 + Duration::from_secs(2),
        "a dead sink slowed adding: {dead:?} against {none:?}"
    );
    // What is left ships when the handle goes, within one timeout or two.
    assert!(dropping < Duration::from_secs(10), "{dropping:?}");
    drop(host);
}
