//! The config's authentication (docs/FORMAT.md §4.5): a per-vault writer
//! key, sealed under the master key in the config and kept by the device
//! (OS keychain, or the memory of a process that unlocked), and an HMAC of
//! the config under a key derived from it.
//!
//! Why a writer key rather than a key derived from the master key alone:
//! processes that add files while locked (the watcher, `coffer add`) must
//! check the config before trusting its public key, and they hold no
//! master key. The writer key lets them verify, and vouch for what they
//! write, without being able to read anything.

use super::{B64, SealedWriterKey, UnlockedKeys, VaultConfig};
use crate::crypto::primitives::{self, ct_eq, hkdf32, hmac32, random_array};
use crate::crypto::secret::Key32;
use crate::error::{Error, Result};

const LABEL_WRITER_SEAL: &[u8] = b"coffer/v2/writer-key-seal";
const AAD_WRITER_KEY: &[u8] = b"coffer/v2/writer-key";
const LABEL_CONFIG_MAC: &[u8] = b"coffer/v2/config-mac-key";
const LABEL_ENDORSEMENT_KEY: &[u8] = b"coffer/v2/endorsement-key";
const LABEL_MANIFEST_KEY: &[u8] = b"coffer/v2/manifest-key";
const MAC_PREFIX: &[u8] = b"coffer/v2/config";

/// The per-vault writer key. It authenticates the config and endorses
/// objects written while locked; it cannot decrypt anything.
#[derive(Clone, Debug)]
pub struct WriterKey(Key32);

impl WriterKey {
    /// A writer key as kept by the OS keychain.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        WriterKey(Key32::from_bytes(bytes))
    }

    pub(super) fn from_key(key: Key32) -> Self {
        WriterKey(key)
    }

    /// The raw bytes, for the OS keychain. Keep the borrow short.
    pub fn expose(&self) -> &[u8; 32] {
        self.0.expose()
    }

    fn config_mac_key(&self, vault_id: &[u8; 16]) -> Key32 {
        hkdf32(vault_id, self.0.expose(), &[LABEL_CONFIG_MAC])
    }

    /// The key of `manifest.bin`. Derived from the writer key, not the
    /// master key, so that a compromise response (a new master key) does
    /// not have to re-key the manifest in the same instant as the config.
    pub fn manifest_key(&self, vault_id: &[u8; 16]) -> Key32 {
        hkdf32(vault_id, self.0.expose(), &[LABEL_MANIFEST_KEY])
    }

    /// The key of `endorsements.bin` entries.
    pub fn endorsement_key(&self, vault_id: &[u8; 16]) -> Key32 {
        hkdf32(vault_id, self.0.expose(), &[LABEL_ENDORSEMENT_KEY])
    }
}

fn seal_key(master: &Key32, vault_id: &[u8; 16]) -> Key32 {
    hkdf32(vault_id, master.expose(), &[LABEL_WRITER_SEAL])
}

fn aad(vault_id: &[u8; 16]) -> Vec<u8> {
    [AAD_WRITER_KEY, vault_id].concat()
}

pub(super) fn seal_writer_key(
    master: &Key32,
    vault_id: &[u8; 16],
    w: &WriterKey,
) -> SealedWriterKey {
    let nonce = random_array();
    let sealed = primitives::seal(
        &seal_key(master, vault_id),
        &nonce,
        &aad(vault_id),
        w.expose(),
    );
    SealedWriterKey {
        nonce: B64(nonce),
        sealed: B64(sealed.try_into().expect("32 + 16 bytes")),
    }
}

impl VaultConfig {
    /// Whether this config is authenticated (version 2 on).
    pub fn is_authenticated(&self) -> bool {
        self.mac.is_some()
    }

    /// The bytes the MAC covers: the config as compact JSON, members in
    /// schema order, without `mac`.
    pub fn mac_input(&self) -> Vec<u8> {
        let mut unsigned = self.clone();
        unsigned.mac = None;
        let json = serde_json::to_vec(&unsigned).expect("config serializes");
        [MAC_PREFIX, &json].concat()
    }

    fn compute_mac(&self, w: &WriterKey) -> [u8; 32] {
        hmac32(&w.config_mac_key(&self.vault_id.0), &[&self.mac_input()])
    }

    /// Checks the config against a writer key the caller trusts (from the
    /// OS keychain, or kept since an unlock). A version-1 config cannot be
    /// checked: nothing may be written to it while locked until an unlock
    /// upgrades it.
    pub fn verify(&self, w: &WriterKey) -> Result<()> {
        let Some(mac) = &self.mac else {
            return Err(Error::WriterKeyUnavailable);
        };
        if ct_eq(&self.compute_mac(w), &mac.0) {
            Ok(())
        } else {
            Err(Error::Tampered { what: "config" })
        }
    }

    /// Sets the MAC after a change. Every writer of the config holds the
    /// unlocked keys.
    pub fn authenticate(&mut self, keys: &UnlockedKeys) {
        if let Some(w) = &keys.writer {
            self.mac = Some(B64(self.compute_mac(w)));
        }
    }

    /// Upgrades a version-1 config in memory: a fresh writer key sealed
    /// under the master key, and the MAC. The caller saves it.
    pub fn upgrade(&mut self, keys: &mut UnlockedKeys) -> bool {
        if self.is_authenticated() {
            return false;
        }
        let w = WriterKey(Key32::random());
        self.writer_key = Some(seal_writer_key(&keys.master, &self.vault_id.0, &w));
        self.version = super::CONFIG_VERSION;
        keys.writer = Some(w);
        self.authenticate(keys);
        true
    }

    /// Opens the writer key with the master key and checks the MAC. A
    /// version-1 config has none (it is upgraded right after the unlock).
    pub(super) fn open_writer_key(&self, master: &Key32) -> Result<Option<WriterKey>> {
        let Some(sealed) = &self.writer_key else {
            return Ok(None);
        };
        let vid = &self.vault_id.0;
        let bytes = primitives::open(
            &seal_key(master, vid),
            &sealed.nonce.0,
            &aad(vid),
            &sealed.sealed.0,
        )
        .map_err(|_| Error::Tampered { what: "config" })?;
        let w = WriterKey(Key32::from_slice(&bytes).expect("sealed 32 bytes"));
        self.verify(&w)?;
        Ok(Some(w))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Credential, NewSlot, Slot};
    use crate::crypto::kdf::Argon2Params;
    use crate::crypto::secret::Passphrase;
    use crate::crypto::wrap;

    fn vault() -> (VaultConfig, UnlockedKeys, Passphrase) {
        let (mut cfg, keys) = VaultConfig::create();
        let pass = Passphrase::from("pw");
        cfg.add_slot(&keys, NewSlot::Passphrase(&pass, Argon2Params::FLOOR))
            .unwrap();
        cfg.authenticate(&keys);
        (cfg, keys, pass)
    }

    #[test]
    fn a_locked_reader_with_the_writer_key_catches_every_swap() {
        let (cfg, keys, _) = vault();
        let w = keys.writer_key().unwrap().clone();
        let cfg = VaultConfig::parse(&cfg.to_bytes()).unwrap();
        cfg.verify(&w).unwrap();
        let (_, evil) = wrap::generate_keypair();
        let mut swapped = cfg.clone();
        swapped.key_versions[0].public_key = B64(evil.0);
        assert!(matches!(swapped.verify(&w), Err(Error::Tampered { .. })));
        let mut escrow = cfg.clone();
        escrow.add_slot(&keys, NewSlot::Escrow(&evil)).unwrap();
        assert!(matches!(escrow.verify(&w), Err(Error::Tampered { .. })));
        // Another vault's writer key proves nothing here.
        let (_, other, _) = vault();
        assert!(cfg.verify(other.writer_key().unwrap()).is_err());
    }

    #[test]
    fn an_escrow_key_swapped_on_disk_fails_the_unlock() {
        let (mut cfg, keys, pass) = vault();
        let (_, org) = wrap::generate_keypair();
        cfg.add_slot(&keys, NewSlot::Escrow(&org)).unwrap();
        cfg.authenticate(&keys);
        let (_, evil) = wrap::generate_keypair();
        for s in &mut cfg.slots {
            if let Slot::Escrow { org_public_key, .. } = s {
                *org_public_key = B64(evil.0);
            }
        }
        assert!(matches!(
            cfg.unlock(&Credential::Passphrase(&pass)),
            Err(Error::Tampered { what: "config" })
        ));
    }

    #[test]
    fn a_version_1_config_is_upgraded_and_its_keys_stay() {
        let (mut cfg, mut keys, pass) = vault();
        cfg.version = 1;
        cfg.writer_key = None;
        cfg.mac = None;
        keys.writer = None;
        let v1 = VaultConfig::parse(&cfg.to_bytes()).unwrap();
        assert!(matches!(
            v1.verify(&WriterKey::from_bytes([0; 32])),
            Err(Error::WriterKeyUnavailable)
        ));
        let (mut k, _) = v1.unlock(&Credential::Passphrase(&pass)).unwrap();
        assert!(k.writer_key().is_none());
        let mut v2 = v1.clone();
        assert!(v2.upgrade(&mut k));
        let v2 = VaultConfig::parse(&v2.to_bytes()).unwrap();
        let (k2, _) = v2.unlock(&Credential::Passphrase(&pass)).unwrap();
        assert_eq!(
            k2.writer_key().unwrap().expose(),
            k.writer_key().unwrap().expose()
        );
        // Half an upgrade (a MAC without a writer key) is refused.
        let mut half = v2.clone();
        half.writer_key = None;
        assert!(VaultConfig::parse(&half.to_bytes()).is_err());
    }
}
