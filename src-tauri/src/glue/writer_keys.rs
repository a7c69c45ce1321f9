//! The vault's writer key as this run of the app holds it (it decrypts
//! nothing; docs/FORMAT.md §4.5), and how a change of it — a response to an
//! exposed credential or a compromise replaces it — reaches every handle
//! that works while locked (the watcher, the working area's saves, locked
//! commands) and the OS keychain, without a false "config tampered".
//!
//! While a rotation writes the config that holds a new writer key, the app
//! keeps that key *staged* beside the one in force: a handle that reads the
//! new config meanwhile finds it through its [`WriterKeySource`] instead of
//! calling the config forged. Once the config is written the new key is the
//! one in force. The OS keychain follows on a thread of its own, in the
//! same order (staged, then kept): the app never waits on the keychain.

use std::sync::mpsc;
use std::sync::{Arc, Mutex};

use coffer_core::config::{RotationKind, WriterKey};
use coffer_core::vault::{NewCredentials, Reenrol, Vault, WriterKeySource};

use crate::sync::guard;

#[derive(Default)]
struct Held {
    current: Option<WriterKey>,
    staged: Option<WriterKey>,
}

/// The writer keys in the app's memory: the one in force, and one a
/// rotation is putting in force. Clones share the same keys.
#[derive(Clone, Default)]
pub(crate) struct WriterKeys(Arc<Mutex<Held>>);

fn same(a: &WriterKey, b: &WriterKey) -> bool {
    a.expose() == b.expose()
}

impl WriterKeys {
    /// The key in force.
    pub(crate) fn current(&self) -> Option<WriterKey> {
        guard(&self.0).current.clone()
    }

    /// `k` is the key in force (an unlock yielded it, or a rotation put it
    /// in force); any staged key is done with.
    pub(crate) fn set(&self, k: WriterKey) {
        let mut h = guard(&self.0);
        h.current = Some(k);
        h.staged = None;
    }

    /// Keeps `k` (fetched from the OS keychain) unless a key is held.
    pub(crate) fn remember(&self, k: WriterKey) {
        guard(&self.0).current.get_or_insert(k);
    }

    /// `k` is about to come into force: offered beside the current one.
    pub(crate) fn stage(&self, k: WriterKey) {
        guard(&self.0).staged = Some(k);
    }

    /// The staged key never came into force (the rotation did not start).
    pub(crate) fn unstage(&self) {
        guard(&self.0).staged = None;
    }

    /// The key in force, then a staged one.
    pub(crate) fn candidates(&self) -> Vec<WriterKey> {
        let h = guard(&self.0);
        h.current.iter().chain(h.staged.iter()).cloned().collect()
    }

    /// A source reading only the app's memory: for command threads, which
    /// never wait on the OS keychain.
    pub(crate) fn source(&self) -> WriterKeySource {
        let me = self.clone();
        Arc::new(move || me.candidates())
    }

    /// The app's memory, then what the OS keychain keeps for the vault
    /// `vault_id` (another process, `coffer passwd --exposed`, may have
    /// replaced the keys). The core calls a source only when the key a
    /// handle holds stops verifying, so the keychain is read then, on the
    /// thread of the handle (the watcher's), never on a command's.
    pub(crate) fn source_with_keychain(&self, vault_id: String) -> WriterKeySource {
        let me = self.clone();
        Arc::new(move || {
            let mut keys = me.candidates();
            for k in coffer_keychain::writer_key_candidates(&vault_id) {
                if !keys.iter().any(|h| same(h, &k)) {
                    keys.push(k);
                }
            }
            keys
        })
    }
}

/// What the OS keychain is asked to do with a writer key (the keychain
/// itself in the app; a recorder in tests). Failures are ignored: without
/// the keychain's copy, a restart while locked waits for the next unlock.
#[derive(Clone, Copy)]
pub(crate) struct KeychainOps {
    /// Offers a key about to come into force.
    pub stage: fn(&str, &WriterKey),
    /// Keeps the key in force (and drops a staged one).
    pub keep: fn(&str, &WriterKey),
}

fn os_stage(id: &str, k: &WriterKey) {
    let _ = coffer_keychain::stage_writer_key(id, k);
}

fn os_keep(id: &str, k: &WriterKey) {
    let _ = coffer_keychain::keep_writer_key_for(id, k);
}

/// This computer's keychain.
pub(crate) const OS_KEYCHAIN: KeychainOps = KeychainOps {
    stage: os_stage,
    keep: os_keep,
};

/// The keychain's copy of one change of writer key, made on a thread of
/// its own and in order: the staged key first, then the key in force.
pub(crate) struct KeychainCopy {
    vault_id: String,
    ops: KeychainOps,
    /// To the thread that staged a key: the key to keep once in force.
    then_keep: Option<mpsc::Sender<WriterKey>>,
}

impl KeychainCopy {
    pub(crate) fn new(vault_id: String, ops: KeychainOps) -> Self {
        KeychainCopy {
            vault_id,
            ops,
            then_keep: None,
        }
    }

    /// Stages `k`, off this thread.
    pub(crate) fn stage(&mut self, k: &WriterKey) {
        let (tx, rx) = mpsc::channel::<WriterKey>();
        self.then_keep = Some(tx);
        let (id, ops, k) = (self.vault_id.clone(), self.ops, k.clone());
        std::thread::spawn(move || {
            (ops.stage)(&id, &k);
            // Dropped unsent: the config never changed; the staged entry
            // is removed by the next keep.
            if let Ok(kept) = rx.recv() {
                (ops.keep)(&id, &kept);
            }
        });
    }

    /// Keeps `k`, off this thread (after the staging, if any).
    pub(crate) fn keep(self, k: &WriterKey) {
        match self.then_keep {
            Some(tx) => {
                let _ = tx.send(k.clone());
            }
            None => {
                let (id, ops, k) = (self.vault_id, self.ops, k.clone());
                std::thread::spawn(move || (ops.keep)(&id, &k));
            }
        }
    }
}

/// Starts a rotation on `v` (the session's unlocked vault) and returns the
/// new credentials. A new writer key is staged in `keys` (and the keychain)
/// before the config that holds it is written, and is the key in force in
/// `keys` when this returns; if the rotation does not start, `keys` stays
/// as it was.
pub(crate) fn begin_rotation(
    v: &mut Vault,
    keys: &WriterKeys,
    ops: KeychainOps,
    kind: RotationKind,
    reenrol: Option<Reenrol<'_>>,
) -> coffer_core::Result<NewCredentials> {
    let mut os = KeychainCopy::new(coffer_keychain::vault_id(v), ops);
    let begun = v.begin_rotation_staging(kind, reenrol, &mut |w| {
        keys.stage(w.clone());
        os.stage(w);
    });
    let creds = match begun {
        Ok((_, creds)) => creds,
        Err(e) => {
            keys.unstage();
            return Err(e);
        }
    };
    match v.unlocked_writer_key() {
        Some(k) if !keys.current().is_some_and(|c| same(&c, k)) => {
            keys.set(k.clone());
            os.keep(k);
        }
        _ => keys.unstage(),
    }
    Ok(creds)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(b: u8) -> WriterKey {
        WriterKey::from_bytes([b; 32])
    }

    fn bytes(keys: &[WriterKey]) -> Vec<u8> {
        keys.iter().map(|k| k.expose()[0]).collect()
    }

    #[test]
    fn a_staged_key_is_offered_beside_the_one_in_force_until_it_is_in_force() {
        let keys = WriterKeys::default();
        assert!(keys.candidates().is_empty());
        keys.remember(key(1));
        keys.remember(key(9));
        assert_eq!(bytes(&keys.candidates()), [1]);
        keys.stage(key(2));
        let src = keys.source();
        assert_eq!(bytes(&src()), [1, 2]);
        keys.set(key(2));
        assert_eq!(bytes(&src()), [2]);
        keys.stage(key(3));
        keys.unstage();
        assert_eq!(bytes(&keys.candidates()), [2]);
        assert_eq!(keys.current().map(|k| k.expose()[0]), Some(2));
    }

    /// What the keychain was asked, by vault: (step, first byte of key).
    static ASKED: Mutex<Vec<(String, &'static str, u8)>> = Mutex::new(Vec::new());

    const RECORDER: KeychainOps = KeychainOps {
        stage: |id, k| guard(&ASKED).push((id.to_owned(), "stage", k.expose()[0])),
        keep: |id, k| guard(&ASKED).push((id.to_owned(), "keep", k.expose()[0])),
    };

    fn asked(id: &str) -> Vec<(&'static str, u8)> {
        guard(&ASKED)
            .iter()
            .filter(|(v, ..)| v == id)
            .map(|(_, s, k)| (*s, *k))
            .collect()
    }

    struct Fixture {
        _tmp: tempfile::TempDir,
        dir: std::path::PathBuf,
        vault: Vault,
        keys: WriterKeys,
    }

    fn fixture() -> Fixture {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("vault");
        let vault = Vault::create(
            &dir,
            coffer_core::vault::CreateOptions {
                passphrase: &Passphrase::from("the passphrase in use"),
                kdf: Argon2Params::FLOOR,
                keychain_secret: None,
                escrow: None,
            },
        )
        .unwrap()
        .vault;
        let keys = WriterKeys::default();
        keys.set(vault.unlocked_writer_key().unwrap().clone());
        Fixture {
            _tmp: tmp,
            dir,
            vault,
            keys,
        }
    }

    use coffer_core::kdf::Argon2Params;
    use coffer_core::secret::Passphrase;

    fn tampering_recorded(dir: &std::path::Path) -> bool {
        std::fs::read_to_string(dir.join("audit").join("log.jsonl"))
            .unwrap()
            .contains("config_tampered")
    }

    #[test]
    fn a_rekey_puts_the_new_writer_key_in_force_in_memory_then_in_the_keychain() {
        let mut f = fixture();
        let old = f.keys.current().unwrap();
        // A handle working while locked on the app's memory, as the
        // watcher and the working area do.
        let mut locked = Vault::open(&f.dir).unwrap();
        locked.set_writer_key_source(f.keys.source());
        locked.set_writer_key(old.clone()).unwrap();
        let id = coffer_keychain::vault_id(&f.vault);

        let new = Passphrase::from("a different passphrase");
        let creds = begin_rotation(
            &mut f.vault,
            &f.keys,
            RECORDER,
            RotationKind::Rekey,
            Some(Reenrol {
                passphrase: &new,
                kdf: Argon2Params::FLOOR,
                keep_passphrase: false,
            }),
        )
        .unwrap();
        assert!(creds.recovery_key.is_some());
        let now = f.keys.current().unwrap();
        assert!(!same(&now, &old));
        assert!(same(&now, f.vault.unlocked_writer_key().unwrap()));
        assert_eq!(f.keys.candidates().len(), 1, "nothing left staged");

        // The keychain: the new key staged before the config changed, then
        // kept; on a thread of its own.
        let want = vec![("stage", now.expose()[0]), ("keep", now.expose()[0])];
        let t = std::time::Instant::now();
        while asked(&id) != want && t.elapsed() < std::time::Duration::from_secs(10) {
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        assert_eq!(asked(&id), want);

        // The locked handle takes the new key from the app's memory: it
        // adds, and nobody calls the new config forged.
        assert!(locked.refresh_writer_key_if_replaced());
        let file = f.dir.parent().unwrap().join("letter.txt");
        std::fs::write(&file, "after the rekey").unwrap();
        let out = locked
            .add(
                &[coffer_core::vault::AddSource::for_file(&file, "Letters/letter.txt").unwrap()],
                coffer_core::vault::AddOptions {
                    remove_plaintext: false,
                    by: coffer_core::vault::Actor::App,
                },
                &|_| {},
            )
            .unwrap();
        assert!(matches!(
            out[0],
            coffer_core::vault::AddOutcome::Added { .. }
        ));
        assert!(!tampering_recorded(&f.dir));
    }

    #[test]
    fn a_refused_start_leaves_the_keys_as_they_were() {
        let mut f = fixture();
        let old = f.keys.current().unwrap();
        let id = coffer_keychain::vault_id(&f.vault);
        let same_pass = Passphrase::from("the passphrase in use");
        let r = begin_rotation(
            &mut f.vault,
            &f.keys,
            RECORDER,
            RotationKind::Rekey,
            Some(Reenrol {
                passphrase: &same_pass,
                kdf: Argon2Params::FLOOR,
                keep_passphrase: false,
            }),
        );
        assert!(matches!(r, Err(coffer_core::Error::Invalid(_))));
        assert_eq!(f.keys.candidates().len(), 1);
        assert!(same(&f.keys.current().unwrap(), &old));
        assert!(f.vault.config().rotation.is_none());
        std::thread::sleep(std::time::Duration::from_millis(50));
        assert!(asked(&id).is_empty());
    }

    #[test]
    fn a_rewrap_keeps_the_writer_key_and_asks_the_keychain_nothing() {
        let mut f = fixture();
        let old = f.keys.current().unwrap();
        let id = coffer_keychain::vault_id(&f.vault);
        let creds =
            begin_rotation(&mut f.vault, &f.keys, RECORDER, RotationKind::Rewrap, None).unwrap();
        assert!(creds.recovery_key.is_none());
        assert!(same(&f.keys.current().unwrap(), &old));
        std::thread::sleep(std::time::Duration::from_millis(50));
        assert!(asked(&id).is_empty());
    }
}
