//! A rotation that meets an object it cannot read or unwrap stops with
//! `RotationBlocked` before destroying any key version; once the object is
//! quarantined it finishes.

use std::path::Path;

use super::tests::{SIZES, setup, unlocked};
use super::*;
use crate::format::HEADER_LEN;

/// Where the embedded key record starts: header, then its length.
const RECORD: usize = HEADER_LEN + 4;
/// The record's key version (after its format byte).
const KEY_VERSION: usize = RECORD + 1;
/// Inside the wrapped DEK (after the key version and HPKE `enc`).
const WRAPPED_DEK: usize = KEY_VERSION + 4 + 32 + 3;

#[derive(Clone, Copy, Debug)]
enum Damage {
    /// A flipped byte in the header's magic.
    Header,
    /// Cut inside the key record.
    Truncated,
    /// Another vault's object under this object's name.
    Foreign,
    /// A key record under a key version the vault never had.
    UnknownKeyVersion,
    /// A flipped byte in the wrapped DEK: it parses, but does not unwrap.
    WrappedDek,
    /// A flipped byte in a chunk: of the two depths, only re-encryption
    /// reads the chunks.
    Chunk,
}

/// Object id of each file `f{i}`, by `i`.
fn ids_by_index(v: &Vault) -> Vec<FileId> {
    let mut ids = vec![None; SIZES.len()];
    for e in v.entries().unwrap().entries {
        let i: usize = e.path[1..].parse().unwrap();
        ids[i] = Some(e.id);
    }
    ids.into_iter().map(Option::unwrap).collect()
}

fn damage(v: &Vault, dir: &Path, id: &FileId, how: Damage) {
    let path = v.object_path(id);
    let mut b = fs::read(&path).unwrap();
    match how {
        Damage::Header => b[2] ^= 0x40,
        Damage::Truncated => b.truncate(RECORD + 20),
        Damage::Foreign => {
            fs::create_dir_all(dir.join("other")).unwrap();
            let (other, _, _) = setup(&dir.join("other"));
            let oid = other.object_ids().unwrap()[0];
            b = fs::read(other.object_path(&oid)).unwrap();
        }
        Damage::UnknownKeyVersion => {
            b[KEY_VERSION..KEY_VERSION + 4].copy_from_slice(&9u32.to_be_bytes())
        }
        Damage::WrappedDek => b[WRAPPED_DEK] ^= 0x01,
        Damage::Chunk => {
            // The last chunk's tag: every object has a last chunk.
            let n = b.len();
            b[n - 1] ^= 0x01;
        }
    }
    fs::write(&path, b).unwrap();
}

fn reenrol(pass: &Passphrase) -> Option<Reenrol<'_>> {
    Some(Reenrol {
        passphrase: pass,
        kdf: Argon2Params::FLOOR,
        keep_passphrase: true,
    })
}

fn blocked_ids(r: Result<RotationOutcome>) -> Vec<(String, String)> {
    match r {
        Err(Error::RotationBlocked { objects }) => objects,
        Err(e) => panic!("expected RotationBlocked, got {e}"),
        Ok(_) => panic!("expected RotationBlocked, the rotation finished"),
    }
}

/// Damages file `victim` (by default the first object a scan finds, so
/// that two good ones share its batch), rotates (blocked), quarantines it,
/// rotates again (finished). `started`: whether the blocked rotation had
/// begun (and so stays recorded) or was refused before any change.
fn blocked_then_quarantined(kind: RotationKind, how: Damage, victim: Option<usize>, started: bool) {
    let d = tempfile::tempdir().unwrap();
    let (mut v, contents, _) = setup(d.path());
    let ids = ids_by_index(&v);
    let first = v.object_ids().unwrap()[0];
    let victim = victim.unwrap_or_else(|| ids.iter().position(|id| *id == first).unwrap());
    let bad = ids[victim];
    damage(&v, d.path(), &bad, how);
    let pass = Passphrase::from("pw");
    let ctx = format!("{kind:?}, {how:?}");

    let r = v.rotate_small_batches(kind, reenrol(&pass), &|_| {});
    let msg = r.as_ref().err().map(|e| e.to_string()).unwrap_or_default();
    let objects = blocked_ids(r);
    assert_eq!(objects.len(), 1, "{ctx}: {objects:?}");
    assert_eq!(objects[0].0, bad.to_hex(), "{ctx}");
    let dir = d.path().to_string_lossy().into_owned();
    for text in [&objects[0].1, &msg] {
        assert!(!text.contains(&dir), "{ctx}: a path in {text}");
    }
    assert!(
        msg.contains("no key version was destroyed") && msg.contains(&bad.to_hex()),
        "{msg}"
    );
    let log = fs::read_to_string(v.audit().path()).unwrap();
    let failure = log.lines().rfind(|l| l.contains("\"integrity_failure\""));
    assert!(
        failure.is_some_and(|l| l.contains(&bad.to_hex())),
        "{ctx}: {log}"
    );

    // Nothing destroyed: a fresh handle still holds version 1, and every
    // other file decrypts.
    let fresh = unlocked(d.path(), "pw").unwrap();
    let versions: Vec<u32> = fresh
        .config()
        .key_versions
        .iter()
        .map(|k| k.version)
        .collect();
    assert!(versions.contains(&1), "{ctx}: {versions:?}");
    assert_eq!(fresh.config().rotation.is_some(), started, "{ctx}");
    assert_eq!(versions.len(), if started { 2 } else { 1 }, "{ctx}");
    for (i, id) in ids.iter().enumerate().filter(|(i, _)| *i != victim) {
        let mut out = Vec::new();
        fresh.decrypt_to(id, &mut out).unwrap();
        assert_eq!(out, contents[i], "{ctx}: f{i}");
        if started {
            // The objects it could move were moved, its batch-mates included.
            assert_eq!(
                fresh.read_object(id).unwrap().record.key_version,
                2,
                "{ctx}: f{i}"
            );
        }
    }

    // Running it again is blocked again, and still destroys nothing.
    let again = blocked_ids(v.rotate_small_batches(kind, reenrol(&pass), &|_| {}));
    assert_eq!(again[0].0, bad.to_hex(), "{ctx}");
    let fresh = unlocked(d.path(), "pw").unwrap();
    assert!(
        fresh.config().key_versions.iter().any(|k| k.version == 1),
        "{ctx}"
    );

    // Set aside, the rotation finishes.
    let q = v.quarantine(&[bad]).unwrap();
    assert_eq!(q.len(), 1);
    assert_eq!(q[0].id, bad.to_hex());
    assert_eq!(v.quarantined().unwrap(), q, "{ctx}");
    assert!(!v.object_ids().unwrap().contains(&bad), "{ctx}");
    assert!(
        d.path().join("v/quarantine").join(&q[0].file).is_file(),
        "{ctx}"
    );
    let out = v
        .rotate_small_batches(kind, reenrol(&pass), &|_| {})
        .unwrap();
    assert_eq!(out.report.resumed, started, "{ctx}");
    assert_eq!(out.report.destroyed_versions, vec![1], "{ctx}");

    let fresh = unlocked(d.path(), "pw").unwrap();
    assert_eq!(fresh.config().key_versions.len(), 1, "{ctx}");
    assert!(fresh.config().rotation.is_none(), "{ctx}");
    let target = fresh.config().current_key_version;
    assert_eq!(target, 2, "{ctx}");
    let listing = fresh.entries().unwrap();
    assert!(
        listing.unreadable.is_empty(),
        "{ctx}: {:?}",
        listing.unreadable
    );
    assert_eq!(listing.entries.len(), SIZES.len() - 1, "{ctx}");
    for e in &listing.entries {
        let i: usize = e.path[1..].parse().unwrap();
        let mut out = Vec::new();
        fresh.decrypt_to(&e.id, &mut out).unwrap();
        assert_eq!(out, contents[i], "{ctx}: f{i}");
        assert_eq!(fresh.read_object(&e.id).unwrap().record.key_version, target);
    }
    let report = fresh.verify(&|_| {}).unwrap();
    assert!(report.ok(), "{ctx}: {:?}", report.failures);
    assert_eq!(report.objects, SIZES.len() as u64 - 1);
    assert_eq!(report.quarantined, q, "{ctx}");
}

#[test]
fn rewrap_is_not_started_over_a_corrupt_header() {
    blocked_then_quarantined(RotationKind::Rewrap, Damage::Header, None, false);
}

#[test]
fn rewrap_is_not_started_over_a_truncated_object() {
    blocked_then_quarantined(RotationKind::Rewrap, Damage::Truncated, None, false);
}

#[test]
fn rewrap_is_not_started_over_another_vaults_object() {
    blocked_then_quarantined(RotationKind::Rewrap, Damage::Foreign, None, false);
}

#[test]
fn rewrap_is_not_started_over_a_key_version_the_vault_lacks() {
    blocked_then_quarantined(RotationKind::Rewrap, Damage::UnknownKeyVersion, None, false);
}

#[test]
fn rewrap_stops_at_a_key_that_does_not_unwrap_and_resumes_after_quarantine() {
    // Two good objects share the damaged one's batch; they are committed.
    blocked_then_quarantined(RotationKind::Rewrap, Damage::WrappedDek, None, true);
}

#[test]
fn reencrypt_unwraps_every_key_before_it_starts() {
    blocked_then_quarantined(RotationKind::Reencrypt, Damage::WrappedDek, None, false);
}

#[test]
fn reencrypt_stops_at_a_damaged_chunk_and_resumes_after_quarantine() {
    blocked_then_quarantined(RotationKind::Reencrypt, Damage::Chunk, None, true);
}

#[test]
fn a_truncated_chunk_stream_does_not_block_a_rewrap() {
    // Rewrapping moves the key, not the contents: the key still moves, and
    // verify goes on reporting the damage.
    let d = tempfile::tempdir().unwrap();
    let (mut v, _, _) = setup(d.path());
    let bad = ids_by_index(&v)[5];
    let p = v.object_path(&bad);
    let len = fs::metadata(&p).unwrap().len();
    File::options()
        .write(true)
        .open(&p)
        .unwrap()
        .set_len(len - 100)
        .unwrap();
    let out = v
        .rotate_small_batches(RotationKind::Rewrap, None, &|_| {})
        .unwrap();
    assert_eq!(out.report.destroyed_versions, vec![1]);
    assert_eq!(v.read_object(&bad).unwrap().record.key_version, 2);
    let r = v.verify(&|_| {}).unwrap();
    assert_eq!(r.failures.len(), 1);
    assert_eq!(r.failures[0].0, bad.to_hex());
}

#[test]
fn quarantine_refuses_objects_that_verify() {
    let d = tempfile::tempdir().unwrap();
    let (v, _, _) = setup(d.path());
    let ids = ids_by_index(&v);
    damage(&v, d.path(), &ids[1], Damage::Header);
    // One healthy id among the damaged: nothing moves.
    let r = v.quarantine(&[ids[1], ids[2]]);
    assert!(
        matches!(r, Err(Error::Invalid(ref m)) if m.contains(&ids[2].to_hex())),
        "{r:?}"
    );
    assert_eq!(v.object_ids().unwrap().len(), SIZES.len());
    assert!(v.quarantined().unwrap().is_empty());
    let missing = FileId::random();
    assert!(matches!(v.quarantine(&[missing]), Err(Error::NotFound(_))));

    // Locked, the check is structural: chunk damage is not enough.
    damage(&v, d.path(), &ids[5], Damage::Chunk);
    let mut locked = Vault::open(&d.path().join("v")).unwrap();
    // Moving an object out needs the writer key: the manifest must be
    // told, or the object would read as deleted behind the vault's back.
    assert!(matches!(
        locked.quarantine(&[ids[1]]),
        Err(Error::WriterKeyUnavailable)
    ));
    locked
        .set_writer_key(v.keys().unwrap().writer_key().unwrap().clone())
        .unwrap();
    assert!(matches!(
        locked.quarantine(&[ids[5]]),
        Err(Error::Invalid(_))
    ));
    assert_eq!(locked.quarantine(&[ids[1]]).unwrap().len(), 1);
    // Unlocked, every chunk is checked.
    assert_eq!(v.quarantine(&[ids[5]]).unwrap().len(), 1);
    let q = v.quarantined().unwrap();
    assert_eq!(q.len(), 2);
    assert!(q.iter().all(|o| ids.iter().any(|id| id.to_hex() == o.id)));
}

#[test]
fn quarantining_an_id_again_keeps_both_copies() {
    let d = tempfile::tempdir().unwrap();
    let (v, _, _) = setup(d.path());
    let id = ids_by_index(&v)[1];
    let original = fs::read(v.object_path(&id)).unwrap();
    damage(&v, d.path(), &id, Damage::Header);
    v.quarantine(&[id]).unwrap();
    // Restored from a backup, damaged again, set aside again.
    fs::write(v.object_path(&id), &original).unwrap();
    damage(&v, d.path(), &id, Damage::Truncated);
    let second = v.quarantine(&[id]).unwrap();
    assert_eq!(second[0].file, format!("{}-2.obj", id.to_hex()));
    let all = v.quarantined().unwrap();
    assert_eq!(all.len(), 2);
    assert!(all.iter().all(|q| q.id == id.to_hex()));
}
