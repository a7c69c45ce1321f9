//! What an attacker who kept an older copy of `vault.json`, and a
//! credential it accepted, can still do after each response
//! (docs/THREAT_MODEL.md, "what each response revokes"): they open the old
//! copy, then try the keys it yields on the vault as it is now.

use std::path::Path;

use super::tests::{SIZES, setup};
use super::*;
use crate::config::{Credential, NewSlot, SlotKind, UnlockedKeys, VaultConfig};
use crate::vault::{AddOptions, AddSource};

fn config_bytes(v: &Vault) -> Vec<u8> {
    fs::read(v.dir().join(crate::vault::CONFIG_FILE)).unwrap()
}

/// The attacker's keys: the old copy opened with the old passphrase.
fn old_keys(old_config: &[u8]) -> UnlockedKeys {
    let old = VaultConfig::parse(old_config).unwrap();
    old.unlock(&Credential::Passphrase(&Passphrase::from("pw")))
        .unwrap()
        .0
}

/// The current config with the old copy's slots and writer key put back
/// (and its MAC stripped): opening it is opening today's key versions with
/// the master key the old copy yields.
fn current_versions_under_old_slots(v: &Vault, old_config: &[u8]) -> Result<UnlockedKeys> {
    let old = VaultConfig::parse(old_config).unwrap();
    let mut cur = VaultConfig::parse(&config_bytes(v)).unwrap();
    cur.slots = old.slots;
    cur.writer_key = None;
    cur.mac = None;
    cur.version = crate::config::CONFIG_VERSION_UNAUTHENTICATED;
    cur.unlock(&Credential::Passphrase(&Passphrase::from("pw")))
        .map(|(k, _)| k)
}

/// Whether `keys` unwrap the DEK of the object `id` as its record in
/// force stands, or as its embedded record stands.
fn unwraps(v: &Vault, keys: &UnlockedKeys, id: &FileId, embedded: bool) -> bool {
    let o = v.read_object(id).unwrap();
    let record = if embedded {
        let bytes = fs::read(v.object_path(id)).unwrap();
        object::read_prefix(&bytes[..]).unwrap().record
    } else {
        o.record
    };
    object::unwrap(keys, v.config().vault_id(), &o.header, &record).is_ok()
}

fn add_one(v: &Vault, dir: &Path, name: &str) -> FileId {
    let p = dir.join(name);
    fs::write(&p, b"written after the response").unwrap();
    v.add(
        &[AddSource::for_file(&p, name).unwrap()],
        AddOptions::default(),
        &|_| {},
    )
    .unwrap();
    v.entries()
        .unwrap()
        .entries
        .into_iter()
        .find(|e| e.path == name)
        .unwrap()
        .id
}

fn new_pass() -> Passphrase {
    Passphrase::from("a new passphrase")
}

fn respond(v: &mut Vault, kind: RotationKind, keep_passphrase: bool) -> Result<RotationOutcome> {
    let pass = if keep_passphrase {
        Passphrase::from("pw")
    } else {
        new_pass()
    };
    v.rotate_small_batches(
        kind,
        Some(Reenrol {
            passphrase: &pass,
            kdf: Argon2Params::FLOOR,
            keep_passphrase,
        }),
        &|_| {},
    )
}

#[test]
fn after_passwd_an_old_copy_still_opens_everything_as_documented() {
    let d = tempfile::tempdir().unwrap();
    let (mut v, _, _) = setup(d.path());
    let old = config_bytes(&v);
    v.replace_slots(
        SlotKind::Passphrase,
        NewSlot::Passphrase(&new_pass(), Argon2Params::FLOOR),
    )
    .unwrap();
    // The old passphrase no longer opens this config...
    assert!(matches!(
        Vault::open(v.dir())
            .unwrap()
            .unlock(&Credential::Passphrase(&Passphrase::from("pw"))),
        Err(Error::WrongCredential)
    ));
    // ...but the old copy's master key opens today's key versions, and so
    // every file, including one added now: a slot change is not revocation.
    let id = add_one(&v, d.path(), "after");
    let keys = current_versions_under_old_slots(&v, &old).unwrap();
    assert!(unwraps(&v, &keys, &id, false));
}

#[test]
fn after_a_rewrap_an_old_copy_still_opens_everything_as_documented() {
    let d = tempfile::tempdir().unwrap();
    let (mut v, _, _) = setup(d.path());
    let old = config_bytes(&v);
    let before = v.object_ids().unwrap();
    v.rotate_small_batches(RotationKind::Rewrap, None, &|_| {})
        .unwrap();
    let id = add_one(&v, d.path(), "after");
    let keys = current_versions_under_old_slots(&v, &old).unwrap();
    assert!(unwraps(&v, &keys, &id, false));
    // And the superseded embedded records of the files that were there
    // still open with the old copy's own key version (FORMAT.md §10).
    for b in &before {
        assert!(unwraps(&v, &old_keys(&old), b, true));
    }
}

#[test]
fn after_the_exposed_credential_response_an_old_copy_opens_nothing_new() {
    let d = tempfile::tempdir().unwrap();
    let (mut v, contents, _) = setup(d.path());
    let inbox = d.path().join("inbox");
    fs::create_dir(&inbox).unwrap();
    v.register_protected(&inbox).unwrap();
    let old = config_bytes(&v);
    let before: Vec<FileId> = v.object_ids().unwrap();
    let out = respond(&mut v, RotationKind::Rekey, false).unwrap();
    // The protected-folder list moved to the new writer key with the rest.
    assert_eq!(v.protected_folders().unwrap().len(), 1);
    assert!(!v.dir().join("protected.next").exists());
    assert_eq!(out.report.destroyed_versions, vec![1]);
    assert!(out.recovery_key.is_some());
    let id = add_one(&v, d.path(), "after");
    // The old master key opens none of today's key versions.
    assert!(matches!(
        current_versions_under_old_slots(&v, &old),
        Err(Error::Corrupt { .. })
    ));
    // The old copy's own keys unwrap no record in force, and nothing
    // added after the response.
    let attacker = old_keys(&old);
    assert!(!unwraps(&v, &attacker, &id, false));
    for b in &before {
        assert!(!unwraps(&v, &attacker, b, false));
        // What the documents say stays exposed: the embedded record of a
        // file that existed when the old copy was taken (FORMAT.md §10).
        assert!(unwraps(&v, &attacker, b, true));
    }
    // The old writer key signs nothing the vault accepts now.
    let cur = VaultConfig::parse(&config_bytes(&v)).unwrap();
    assert!(cur.verify(attacker.writer_key().unwrap()).is_err());
    // The old passphrase and recovery key are gone; the new ones work, and
    // every file reads.
    let mut fresh = Vault::open(v.dir()).unwrap();
    assert!(
        fresh
            .unlock(&Credential::Passphrase(&Passphrase::from("pw")))
            .is_err()
    );
    fresh.unlock(&Credential::Passphrase(&new_pass())).unwrap();
    assert!(fresh.check_integrity().unwrap().ok());
    assert_eq!(fresh.protected_folders().unwrap().len(), 1);
    for e in fresh.entries().unwrap().entries {
        let mut out = Vec::new();
        fresh.decrypt_to(&e.id, &mut out).unwrap();
        if e.path != "after" {
            let i: usize = e.path[1..].parse().unwrap();
            assert_eq!(out, contents[i]);
        }
    }
    assert_eq!(fresh.entries().unwrap().entries.len(), SIZES.len() + 1);
}

#[test]
fn the_compromise_response_leaves_an_old_copy_nothing_to_open() {
    let d = tempfile::tempdir().unwrap();
    let (mut v, _, _) = setup(d.path());
    let old = config_bytes(&v);
    respond(&mut v, RotationKind::Reencrypt, false).unwrap();
    let attacker = old_keys(&old);
    for id in v.object_ids().unwrap() {
        assert!(!unwraps(&v, &attacker, &id, false));
        assert!(!unwraps(&v, &attacker, &id, true));
    }
    assert!(current_versions_under_old_slots(&v, &old).is_err());
}

#[test]
fn the_passphrase_in_use_is_refused_unless_said_not_exposed() {
    let d = tempfile::tempdir().unwrap();
    let (mut v, _, _) = setup(d.path());
    let before = config_bytes(&v);
    for kind in [RotationKind::Rekey, RotationKind::Reencrypt] {
        let r = v.rotate_small_batches(
            kind,
            Some(Reenrol {
                passphrase: &Passphrase::from("pw"),
                kdf: Argon2Params::FLOOR,
                keep_passphrase: false,
            }),
            &|_| {},
        );
        assert!(matches!(r, Err(Error::Invalid(_))), "{:?}", r.err());
        assert_eq!(config_bytes(&v), before, "nothing changed");
    }
    // Said not exposed (only the recovery key was): kept, and the old
    // recovery key stops working.
    respond(&mut v, RotationKind::Rekey, true).unwrap();
    let mut fresh = Vault::open(v.dir()).unwrap();
    fresh
        .unlock(&Credential::Passphrase(&Passphrase::from("pw")))
        .unwrap();
}

#[test]
fn a_crash_between_the_new_manifest_and_the_new_config_is_no_alarm() {
    let d = tempfile::tempdir().unwrap();
    let (v, _, _) = setup(d.path());
    let inbox = d.path().join("inbox");
    fs::create_dir(&inbox).unwrap();
    v.register_protected(&inbox).unwrap();
    // The first step of a writer-key change, then a "crash": the staged
    // manifest is under a key no config holds.
    let mut keys = v.keys().unwrap().try_clone().unwrap();
    let mut cfg = v.config().clone();
    cfg.replace_master(&mut keys);
    let m = v.manifest_to_carry_over().unwrap();
    v.stage_manifest(&m, &keys).unwrap();
    drop(v);
    let v = super::tests::unlocked(d.path(), "pw").unwrap();
    assert!(v.check_integrity().unwrap().ok());
    assert!(!v.dir().join("manifest.next").exists(), "settled at unlock");
    assert_eq!(v.protected_folders().unwrap().len(), 1);
    assert!(
        !v.dir().join("protected.next").exists(),
        "settled at unlock"
    );
    // The other side: the config saved, the rename not done.
    let mut keys = v.keys().unwrap().try_clone().unwrap();
    let mut cfg = v.config().clone();
    cfg.replace_master(&mut keys);
    cfg.add_slot(&keys, NewSlot::Passphrase(&new_pass(), Argon2Params::FLOOR))
        .unwrap();
    cfg.authenticate(&keys);
    let m = v.manifest_to_carry_over().unwrap();
    v.stage_manifest(&m, &keys).unwrap();
    v.stage_protected(&keys).unwrap();
    fs::write(v.dir().join(crate::vault::CONFIG_FILE), cfg.to_bytes()).unwrap();
    drop(v);
    let mut v = Vault::open(&d.path().join("v")).unwrap();
    v.unlock(&Credential::Passphrase(&new_pass())).unwrap();
    let r = v.check_integrity().unwrap();
    assert!(r.ok(), "{:?}", r.problems);
    assert!(!v.dir().join("manifest.next").exists());
    assert_eq!(v.protected_folders().unwrap().len(), 1);
    assert!(!v.dir().join("protected.next").exists());
}
