use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::path::Path;

use coffer_core::config::Credential;
use coffer_core::kdf::Argon2Params;
use coffer_core::secret::Passphrase;
use coffer_core::vault::CreateOptions;

use super::*;

/// Against the real Secret Service: scripts/test.sh runs the tests
/// inside a D-Bus session with an unlocked gnome-keyring and sets
/// COFFER_TEST_SECRET_SERVICE=1. Elsewhere there may be no keychain.
#[test]
fn round_trip_through_the_os_keychain() {
    if std::env::var_os("COFFER_TEST_SECRET_SERVICE").is_none() {
        eprintln!("skipped: no Secret Service session (run via scripts/test.sh)");
        return;
    }
    let id = format!("test-{}", std::process::id());
    let k = Key32::random();
    store(&id, &k).unwrap();
    assert_eq!(load(&id).unwrap().expose(), k.expose());
    delete(&id).unwrap();
    assert!(matches!(load(&id), Err(KeychainError::Missing)));
}

/// A store in memory whose writes and deletes can be made to fail.
#[derive(Default)]
struct FakeStore {
    secrets: RefCell<HashMap<String, Key32>>,
    refuse_store: Cell<bool>,
    refuse_delete: Cell<bool>,
}

impl SecretStore for FakeStore {
    fn store(&self, vault_id: &str, secret: &Key32) -> Result<(), KeychainError> {
        if self.refuse_store.get() {
            return Err(KeychainError::Unavailable("refused".into()));
        }
        self.secrets
            .borrow_mut()
            .insert(vault_id.to_owned(), secret.clone());
        Ok(())
    }
    fn load(&self, vault_id: &str) -> Result<Key32, KeychainError> {
        self.secrets
            .borrow()
            .get(vault_id)
            .cloned()
            .ok_or(KeychainError::Missing)
    }
    fn delete(&self, vault_id: &str) -> Result<(), KeychainError> {
        if self.refuse_delete.get() {
            return Err(KeychainError::Unavailable("refused".into()));
        }
        self.secrets.borrow_mut().remove(vault_id);
        Ok(())
    }
}

const PASS: &str = "correct horse battery staple";

fn create(dir: &Path, keychain_secret: Option<&Key32>) -> Vault {
    coffer_core::vault::Vault::create(
        dir,
        CreateOptions {
            passphrase: &Passphrase::new(PASS.into()),
            kdf: Argon2Params::FLOOR,
            keychain_secret,
            escrow: None,
        },
    )
    .unwrap()
    .vault
}

fn keychain_slots(v: &Vault) -> usize {
    v.config()
        .slots
        .iter()
        .filter(|s| s.kind() == SlotKind::Keychain)
        .count()
}

/// Whether `secret` unlocks the vault as it is on disk.
fn unlocks(dir: &Path, secret: &Key32) -> bool {
    let mut v = Vault::open(dir).unwrap();
    v.unlock(&Credential::Keychain(secret)).is_ok()
}

#[test]
fn enrol_makes_the_slot_and_the_entry_together() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("vault");
    let mut v = create(&dir, None);
    let os = FakeStore::default();
    let id = enrol_in(&os, &mut v).unwrap();
    assert_eq!(keychain_slots(&v), 1);
    assert!(v.config().slots.iter().any(|s| s.id_hex() == id));
    let secret = os.load(&vault_id(&v)).unwrap();
    assert!(unlocks(&dir, &secret));

    // Enrolling again replaces the pair: the old secret stops working.
    enrol_in(&os, &mut v).unwrap();
    assert_eq!(keychain_slots(&v), 1);
    assert!(!unlocks(&dir, &secret));
    assert!(unlocks(&dir, &os.load(&vault_id(&v)).unwrap()));
}

#[test]
fn enrol_removes_the_slot_again_when_the_os_store_fails() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("vault");
    let mut v = create(&dir, None);
    let os = FakeStore::default();
    os.refuse_store.set(true);
    let err = enrol_in(&os, &mut v).unwrap_err();
    assert!(matches!(
        err,
        EnrolError::Keychain(KeychainError::Unavailable(_))
    ));
    assert_eq!(keychain_slots(&v), 0);
    assert_eq!(keychain_slots(&Vault::open(&dir).unwrap()), 0);
    assert!(os.secrets.borrow().is_empty());
}

#[test]
fn a_failed_re_enrolment_keeps_the_earlier_secret_working() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("vault");
    let mut v = create(&dir, None);
    let os = FakeStore::default();
    enrol_in(&os, &mut v).unwrap();
    let earlier = os.load(&vault_id(&v)).unwrap();
    os.refuse_store.set(true);
    assert!(enrol_in(&os, &mut v).is_err());
    assert_eq!(keychain_slots(&v), 1);
    assert!(unlocks(&dir, &earlier));
}

#[test]
fn enrol_leaves_the_os_store_alone_when_the_vault_refuses() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("vault");
    let created = create(&dir, None);
    drop(created);
    // Locked: the vault cannot add a slot, so nothing is stored.
    let mut v = Vault::open(&dir).unwrap();
    let os = FakeStore::default();
    let err = enrol_in(&os, &mut v).unwrap_err();
    assert!(matches!(err, EnrolError::Vault(_)));
    assert!(os.secrets.borrow().is_empty());
}

#[test]
fn adopt_stores_the_sealed_secret_or_removes_its_slot() {
    let tmp = tempfile::tempdir().unwrap();
    let os = FakeStore::default();

    let dir = tmp.path().join("kept");
    let k = Key32::random();
    let mut v = create(&dir, Some(&k));
    adopt_in(&os, &mut v, &k).unwrap();
    assert_eq!(os.load(&vault_id(&v)).unwrap().expose(), k.expose());
    assert!(unlocks(&dir, &k));

    let dir = tmp.path().join("refused");
    let k = Key32::random();
    let mut v = create(&dir, Some(&k));
    os.refuse_store.set(true);
    let err = adopt_in(&os, &mut v, &k).unwrap_err();
    assert!(matches!(err, EnrolError::Keychain(_)));
    assert_eq!(keychain_slots(&Vault::open(&dir).unwrap()), 0);
    assert!(!unlocks(&dir, &k));
}

#[test]
fn forget_removes_the_slot_and_the_entry() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("vault");
    let mut v = create(&dir, None);
    let os = FakeStore::default();
    let id = enrol_in(&os, &mut v).unwrap();
    assert_eq!(forget_in(&os, &mut v).unwrap(), vec![id]);
    assert_eq!(keychain_slots(&Vault::open(&dir).unwrap()), 0);
    assert!(os.secrets.borrow().is_empty());
}

#[test]
fn forget_removes_the_slot_even_when_the_entry_stays() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("vault");
    let mut v = create(&dir, None);
    let os = FakeStore::default();
    enrol_in(&os, &mut v).unwrap();
    os.refuse_delete.set(true);
    let err = forget_in(&os, &mut v).unwrap_err();
    assert!(matches!(err, EnrolError::Keychain(_)));
    // The entry left behind unlocks nothing.
    assert_eq!(keychain_slots(&Vault::open(&dir).unwrap()), 0);
}

#[test]
fn forget_slot_touches_the_os_store_only_for_a_keychain_slot() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("vault");
    let mut v = create(&dir, None);
    let os = FakeStore::default();
    let kc = enrol_in(&os, &mut v).unwrap();
    let recovery = v
        .config()
        .slots
        .iter()
        .find(|s| s.kind() == SlotKind::Recovery)
        .map(|s| s.id_hex())
        .unwrap();
    assert_eq!(
        forget_slot_in(&os, &mut v, &recovery).unwrap(),
        SlotKind::Recovery
    );
    assert_eq!(os.secrets.borrow().len(), 1);
    assert_eq!(
        forget_slot_in(&os, &mut v, &kc).unwrap(),
        SlotKind::Keychain
    );
    assert!(os.secrets.borrow().is_empty());
}
