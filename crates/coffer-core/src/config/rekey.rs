//! Replacing the vault's own secrets (docs/FORMAT.md §3, "revocation"):
//! a new master key and a new writer key, so that an older copy of
//! `vault.json` and a credential it accepted yield nothing that opens the
//! key versions or signs the config made from now on.

use std::collections::BTreeMap;

use super::integrity::{WriterKey, seal_writer_key};
use super::{B64, UnlockedKeys, VaultConfig, version_aad, version_seal_key};
use crate::crypto::primitives::{self, random_array};
use crate::crypto::secret::Key32;
use crate::error::Result;

impl UnlockedKeys {
    /// A copy of these keys (each secret copied into a zeroizing type),
    /// for building a new config that is only taken once it is on disk.
    pub fn try_clone(&self) -> Result<UnlockedKeys> {
        let mut versions = BTreeMap::new();
        for (v, secrets) in &self.versions {
            versions.insert(*v, secrets.try_clone()?);
        }
        Ok(UnlockedKeys {
            master: self.master.clone(),
            versions,
            writer: self.writer.clone(),
            commit_to_add: None,
        })
    }
}

impl VaultConfig {
    /// Replaces the master key and the writer key: every key version's
    /// private key is sealed again under a fresh master, a fresh writer
    /// key is sealed under it, and every slot is dropped (they wrap the
    /// old master); the caller enrols new slots and a new key version
    /// before saving.
    ///
    /// The writer key goes with the master key because whoever opened an
    /// old copy of the config with an exposed credential also holds the
    /// old writer key, and could otherwise sign a config (a public key of
    /// theirs) that processes working while locked would trust.
    pub fn replace_master(&mut self, keys: &mut UnlockedKeys) {
        let master = Key32::random();
        let seal_key = version_seal_key(&master, &self.vault_id.0);
        for v in &mut self.key_versions {
            let sk = keys
                .versions
                .get(&v.version)
                .expect("unlocked keys hold every version");
            let nonce = random_array();
            let sealed = primitives::seal(
                &seal_key,
                &nonce,
                &version_aad(&self.vault_id.0, v.version, &v.public_key.0),
                sk.sk.to_secret_bytes().expose(),
            );
            v.nonce = B64(nonce);
            v.sealed_secret = B64(sealed.try_into().expect("32 + 16 bytes"));
        }
        keys.master = master;
        self.slots.clear();
        let w = WriterKey::from_key(Key32::random());
        self.writer_key = Some(seal_writer_key(&keys.master, &self.vault_id.0, &w));
        keys.writer = Some(w);
        self.version = super::CONFIG_VERSION;
    }
}
