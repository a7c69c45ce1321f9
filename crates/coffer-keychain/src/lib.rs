//! The keychain slot's secret, kept in the OS credential store: Secret
//! Service on Linux, Keychain on macOS, Credential Manager on Windows —
//! `keyring`'s native stores, never an in-memory fallback. The CLI and the
//! desktop app share this one entry per vault, so either can unlock.
//!
//! A keychain slot in the vault and its entry in the OS store only work as
//! a pair, so they are made and removed together: [`enrol`] makes a new
//! pair, [`adopt`] stores the secret of a slot the core has just sealed
//! (at creation, or by a re-encrypting rotation), [`forget`] and
//! [`forget_slot`] remove both. Each undoes its vault half when the OS half
//! fails, so the vault never keeps a keychain slot whose secret is
//! nowhere.
#![forbid(unsafe_code)]

use coffer_core::config::{NewSlot, SlotKind, WriterKey};
use coffer_core::secret::Key32;
use coffer_core::vault::Vault;

const SERVICE: &str = "Coffer vault";

/// What can go wrong with the keychain.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeychainError {
    /// No secret stored for this vault on this computer.
    #[error("this computer's keychain holds no secret for this vault")]
    Missing,
    /// The stored entry is not a Coffer secret.
    #[error("the keychain entry for this vault is not a Coffer secret")]
    Damaged,
    /// No usable credential store (none running, locked, or refused).
    #[error("the OS keychain is not available: {0}")]
    Unavailable(String),
}

/// What can go wrong making or removing a slot and its OS entry together:
/// the vault half (policy, lock, disk, wrong state) or the OS half.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EnrolError {
    /// The vault refused or failed; the OS store was not changed.
    #[error(transparent)]
    Vault(#[from] coffer_core::Error),
    /// The OS store failed; the vault's change was undone where it could be.
    #[error(transparent)]
    Keychain(#[from] KeychainError),
}

/// Where secrets are kept: the OS store ([`OsKeychain`]) in use, another
/// in tests.
pub trait SecretStore {
    /// Saves the vault's secret, replacing any earlier one.
    fn store(&self, vault_id: &str, secret: &Key32) -> Result<(), KeychainError>;
    /// Reads the vault's secret.
    fn load(&self, vault_id: &str) -> Result<Key32, KeychainError>;
    /// Forgets the vault's secret (missing is fine).
    fn delete(&self, vault_id: &str) -> Result<(), KeychainError>;
}

/// The OS credential store.
#[derive(Clone, Copy, Debug, Default)]
pub struct OsKeychain;

impl SecretStore for OsKeychain {
    fn store(&self, vault_id: &str, secret: &Key32) -> Result<(), KeychainError> {
        store(vault_id, secret)
    }
    fn load(&self, vault_id: &str) -> Result<Key32, KeychainError> {
        load(vault_id)
    }
    fn delete(&self, vault_id: &str) -> Result<(), KeychainError> {
        delete(vault_id)
    }
}

fn entry(vault_id: &str) -> Result<keyring::Entry, KeychainError> {
    keyring::Entry::new(SERVICE, &format!("vault-{vault_id}")).map_err(unavailable)
}

fn unavailable(e: keyring::Error) -> KeychainError {
    KeychainError::Unavailable(e.to_string())
}

/// The vault's id as the OS entry names it (lowercase hex).
pub fn vault_id(v: &Vault) -> String {
    v.config()
        .vault_id()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Saves the vault's keychain secret, replacing any earlier one.
pub fn store(vault_id: &str, secret: &Key32) -> Result<(), KeychainError> {
    entry(vault_id)?
        .set_secret(secret.expose())
        .map_err(unavailable)
}

/// Reads the vault's keychain secret.
pub fn load(vault_id: &str) -> Result<Key32, KeychainError> {
    let mut bytes = entry(vault_id)?.get_secret().map_err(|e| match e {
        keyring::Error::NoEntry => KeychainError::Missing,
        other => unavailable(other),
    })?;
    let k = Key32::from_slice(&bytes);
    zeroize::Zeroize::zeroize(&mut bytes);
    k.ok_or(KeychainError::Damaged)
}

/// Forgets the vault's keychain secret (missing is fine).
pub fn delete(vault_id: &str) -> Result<(), KeychainError> {
    match entry(vault_id)?.delete_credential() {
        Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
        Err(e) => Err(unavailable(e)),
    }
}

fn writer_entry(vault_id: &str) -> Result<keyring::Entry, KeychainError> {
    keyring::Entry::new(SERVICE, &format!("writer-{vault_id}")).map_err(unavailable)
}

/// The writer key a change of keys (`passwd --exposed`, `rotate
/// --reencrypt`) is about to put in force: stored before the config that
/// holds it is written, so that a watcher working while locked finds it
/// the moment the config changes (docs/FORMAT.md §17.4), and removed once
/// it is the kept key.
fn next_writer_entry(vault_id: &str) -> Result<keyring::Entry, KeychainError> {
    keyring::Entry::new(SERVICE, &format!("writer-next-{vault_id}")).map_err(unavailable)
}

/// Keeps the vault's writer key (docs/FORMAT.md §4.5) in the OS store
/// after an unlock, so that the watcher and `coffer add` can check the
/// config and vouch for what they write while the vault is locked. Does
/// nothing when the store already holds it.
pub fn keep_writer_key(vault: &Vault) -> Result<(), KeychainError> {
    match vault.unlocked_writer_key() {
        Some(w) => keep_writer_key_for(&vault_id(vault), w),
        None => Ok(()),
    }
}

/// [`keep_writer_key`] for the vault `id` (lower-case hex), for a caller
/// that stores it from another thread.
pub fn keep_writer_key_for(id: &str, w: &WriterKey) -> Result<(), KeychainError> {
    let id = id.to_owned();
    if !load_writer_key(&id).is_ok_and(|k| k.expose() == w.expose()) {
        with_retries(|| {
            writer_entry(&id)?
                .set_secret(w.expose())
                .map_err(unavailable)
        })?;
    }
    // A staged key is either this one (now kept) or one whose config was
    // never written: neither is needed any more.
    if let Ok(e) = next_writer_entry(&id) {
        let _ = e.delete_credential();
    }
    Ok(())
}

/// Stores the writer key about to come into force (see
/// [`next_writer_entry`]). Best effort: without it a watcher running
/// meanwhile waits for the kept key instead.
pub fn stage_writer_key(id: &str, w: &WriterKey) -> Result<(), KeychainError> {
    with_retries(|| {
        next_writer_entry(id)?
            .set_secret(w.expose())
            .map_err(unavailable)
    })
}

fn read_writer_entry(e: Result<keyring::Entry, KeychainError>) -> Result<WriterKey, KeychainError> {
    let mut bytes = with_retries(|| {
        e.as_ref()
            .map_err(|e| KeychainError::Unavailable(e.to_string()))?
            .get_secret()
            .map_err(|e| match e {
                keyring::Error::NoEntry => KeychainError::Missing,
                other => unavailable(other),
            })
    })?;
    let arr: Option<[u8; 32]> = bytes.as_slice().try_into().ok();
    zeroize::Zeroize::zeroize(&mut bytes);
    arr.map(WriterKey::from_bytes).ok_or(KeychainError::Damaged)
}

/// Every writer key this computer keeps for the vault: the kept one, then
/// a staged one ([`stage_writer_key`]). For a [`coffer_core::vault::WriterKeySource`].
pub fn writer_key_candidates(vault_id: &str) -> Vec<WriterKey> {
    [writer_entry(vault_id), next_writer_entry(vault_id)]
        .into_iter()
        .filter_map(|e| read_writer_entry(e).ok())
        .collect()
}

/// A [`coffer_core::vault::WriterKeySource`] reading this computer's
/// keychain for the vault `id`.
pub fn writer_key_source(id: &str) -> coffer_core::vault::WriterKeySource {
    let id = id.to_owned();
    std::sync::Arc::new(move || writer_key_candidates(&id))
}

/// Set once a call found the credential store unavailable even after
/// trying again: later calls in this process try once, without waiting.
static STORE_DOWN: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Whether a credential store can be there at all. On Linux the Secret
/// Service lives on the session bus: with no bus address and no bus socket
/// in the runtime folder (a server, a CI job, a root shell), a call cannot
/// succeed, and waiting to try again only slows every command down (it
/// cost each `coffer add` about 1.4 s there: issue #18).
fn store_can_exist() -> bool {
    if !cfg!(target_os = "linux") {
        return true;
    }
    std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_some()
        || std::env::var_os("XDG_RUNTIME_DIR")
            .is_some_and(|d| std::path::Path::new(&d).join("bus").exists())
}

/// Runs `f` again (up to three times in all, briefly apart) while the
/// credential store answers "unavailable": a Secret Service busy with many
/// clients at once fails a call now and then, and a locked add that gives
/// up on a passing hiccup leaves files waiting for nothing. A store that
/// cannot exist, or that stayed unavailable through one such round in this
/// process, gets one try.
fn with_retries<T>(mut f: impl FnMut() -> Result<T, KeychainError>) -> Result<T, KeychainError> {
    use std::sync::atomic::Ordering;
    if STORE_DOWN.load(Ordering::Relaxed) || !store_can_exist() {
        return f();
    }
    let mut tries = 0;
    loop {
        match f() {
            Err(KeychainError::Unavailable(_)) if tries < 2 => {
                tries += 1;
                std::thread::sleep(std::time::Duration::from_millis(150 * tries));
            }
            Err(e @ KeychainError::Unavailable(_)) => {
                STORE_DOWN.store(true, Ordering::Relaxed);
                return Err(e);
            }
            r => return r,
        }
    }
}

/// The vault's writer key, as an unlock on this computer left it.
pub fn load_writer_key(vault_id: &str) -> Result<WriterKey, KeychainError> {
    read_writer_entry(writer_entry(vault_id))
}

/// Hands `vault` (opened locked) the writer key this computer keeps for
/// it, with the keychain as the source of a fresh one should another
/// process replace the keys (a staged key is taken when the kept one no
/// longer verifies). A config that fails the check is reported as
/// tampered.
pub fn arm_writer(vault: &mut Vault) -> Result<(), EnrolError> {
    let id = vault_id(vault);
    let key = load_writer_key(&id)?;
    vault.set_writer_key_source(writer_key_source(&id));
    match vault.set_writer_key(key) {
        Err(coffer_core::Error::WriterKeyUnavailable) if vault.refresh_writer_key() => Ok(()),
        r => Ok(r?),
    }
}

/// Reads the secret that unlocks `vault` with its keychain slot.
pub fn load_for(vault: &Vault) -> Result<Key32, KeychainError> {
    load(&vault_id(vault))
}

/// Enrols this computer's keychain (the vault must be unlocked): a new
/// secret, a keychain slot for it in place of any earlier one, and the
/// secret in the OS store. Returns the new slot's id. If the OS store
/// fails, the new slot is removed again and, where the store still gives
/// the earlier secret, a slot for it is put back.
pub fn enrol(vault: &mut Vault) -> Result<String, EnrolError> {
    enrol_in(&OsKeychain, vault)
}

/// [`enrol`] with the secrets kept in `store`.
pub fn enrol_in(store: &dyn SecretStore, vault: &mut Vault) -> Result<String, EnrolError> {
    let had_slot = has_keychain_slot(vault);
    let secret = Key32::random();
    let id = vault.replace_slots(SlotKind::Keychain, NewSlot::Keychain(&secret))?;
    if let Err(e) = store.store(&vault_id(vault), &secret) {
        // Best effort: the OS error is the one the user needs to see.
        let _ = vault.remove_slot(&id);
        if had_slot && let Ok(earlier) = store.load(&vault_id(vault)) {
            let _ = vault.add_slot(NewSlot::Keychain(&earlier));
        }
        return Err(e.into());
    }
    Ok(id)
}

/// Stores `secret`, which the core has just sealed into the vault's
/// keychain slot (`CreateOptions::keychain_secret`, or the
/// `keychain_secret` a re-encrypting rotation returns), in the OS store.
/// If that fails, the vault's keychain slots are removed: nothing could
/// ever unlock them.
pub fn adopt(vault: &mut Vault, secret: &Key32) -> Result<(), EnrolError> {
    adopt_in(&OsKeychain, vault, secret)
}

/// [`adopt`] with the secrets kept in `store`.
pub fn adopt_in(
    store: &dyn SecretStore,
    vault: &mut Vault,
    secret: &Key32,
) -> Result<(), EnrolError> {
    if let Err(e) = store.store(&vault_id(vault), secret) {
        let _ = remove_keychain_slots(vault);
        return Err(e.into());
    }
    Ok(())
}

/// Stops unlocking with this computer's keychain: removes every keychain
/// slot (the vault must be unlocked), then the OS entry. Returns the
/// removed slots' ids. The slots go first: an OS entry left behind unlocks
/// nothing, a slot left behind would be a way in without its key.
pub fn forget(vault: &mut Vault) -> Result<Vec<String>, EnrolError> {
    forget_in(&OsKeychain, vault)
}

/// [`forget`] with the secrets kept in `store`.
pub fn forget_in(store: &dyn SecretStore, vault: &mut Vault) -> Result<Vec<String>, EnrolError> {
    let ids = remove_keychain_slots(vault)?;
    store.delete(&vault_id(vault))?;
    Ok(ids)
}

/// Removes the slot `id` (the vault must be unlocked) and, when it was a
/// keychain slot, the OS entry too. Returns the removed slot's kind.
pub fn forget_slot(vault: &mut Vault, id: &str) -> Result<SlotKind, EnrolError> {
    forget_slot_in(&OsKeychain, vault, id)
}

/// [`forget_slot`] with the secrets kept in `store`.
pub fn forget_slot_in(
    store: &dyn SecretStore,
    vault: &mut Vault,
    id: &str,
) -> Result<SlotKind, EnrolError> {
    let kind = vault.remove_slot(id)?;
    if kind == SlotKind::Keychain {
        store.delete(&vault_id(vault))?;
    }
    Ok(kind)
}

fn has_keychain_slot(vault: &Vault) -> bool {
    vault
        .config()
        .slots
        .iter()
        .any(|s| s.kind() == SlotKind::Keychain)
}

fn remove_keychain_slots(vault: &mut Vault) -> Result<Vec<String>, coffer_core::Error> {
    let ids: Vec<String> = vault
        .config()
        .slots
        .iter()
        .filter(|s| s.kind() == SlotKind::Keychain)
        .map(|s| s.id_hex())
        .collect();
    for id in &ids {
        vault.remove_slot(id)?;
    }
    Ok(ids)
}

#[cfg(test)]
mod tests;
