//! The vault config (`vault.json`): identity, key versions and key slots.
//!
//! Key hierarchy (docs/FORMAT.md §Keys): every slot wraps the same 32-byte
//! master key; the master key seals each key version's X25519 private key;
//! key versions' public keys wrap per-file DEKs. Adding or removing a slot
//! touches only this file.
//!
//! The config is JSON because admins read it and it changes rarely; it is
//! parsed strictly (unknown fields refused, every byte string length
//! checked, KDF parameters bounded) and capped at [`MAX_CONFIG_LEN`].

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::crypto::kdf::{Argon2Params, argon2id};
use crate::crypto::primitives::{self, hkdf32, random_array};
use crate::crypto::secret::{Key32, Passphrase};
use crate::crypto::wrap::{self, PrivateKey, PublicKey};
use crate::error::{Error, Result};

/// Largest config file we read.
pub const MAX_CONFIG_LEN: usize = 1 << 20;
/// Value of the `format` field.
pub const CONFIG_FORMAT: &str = "coffer-vault";
/// Config version this build writes. Version 1 (no writer key, no MAC) is
/// still read, and upgraded at the next unlock (docs/FORMAT.md §4.5).
pub const CONFIG_VERSION: u32 = 2;
/// The config version before the config was authenticated.
pub const CONFIG_VERSION_UNAUTHENTICATED: u32 = 1;

mod integrity;
mod rekey;
mod slots;
pub use integrity::WriterKey;
pub use slots::{CommitToAdd, MAX_UNLOCK_WORK_KIB};
/// Most slots a vault may hold.
pub const MAX_SLOTS: usize = 32;
/// Most key versions a vault may hold at once.
pub const MAX_KEY_VERSIONS: usize = 16;

const LABEL_VERSION_SEAL: &[u8] = b"coffer/v1/version-seal-key";
const AAD_VERSION: &[u8] = b"coffer/v1/key-version";
const AAD_SLOT: &[u8] = b"coffer/v1/slot";
const LABEL_KEYCHAIN: &[u8] = b"coffer/v1/keychain-slot";
const LABEL_RECOVERY: &[u8] = b"coffer/v1/recovery-slot";
const INFO_ESCROW: &[u8] = b"coffer/v1/escrow-slot";
const LABEL_INDEX: &[u8] = b"coffer/v1/index-key";
/// HKDF `info` of a key version's DEK-wrap secret (docs/FORMAT.md §3.1).
pub const LABEL_DEK_WRAP_SECRET: &[u8] = b"coffer/v2/dek-wrap-secret";

/// Fixed-length bytes carried as standard base64 in JSON.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct B64<const N: usize>(pub [u8; N]);

impl<const N: usize> Serialize for B64<N> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        use base64::Engine;
        s.serialize_str(&base64::engine::general_purpose::STANDARD.encode(self.0))
    }
}

impl<'de, const N: usize> Deserialize<'de> for B64<N> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        use base64::Engine;
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        if s.len() > 4 * N.div_ceil(3) {
            return Err(serde::de::Error::custom(format!(
                "expected {N} bytes of base64"
            )));
        }
        let v = base64::engine::general_purpose::STANDARD
            .decode(s.as_bytes())
            .map_err(serde::de::Error::custom)?;
        let arr: [u8; N] = v
            .try_into()
            .map_err(|_| serde::de::Error::custom(format!("expected {N} bytes of base64")))?;
        Ok(B64(arr))
    }
}

/// One vault key version: its public key in clear, its private key sealed
/// under the master key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyVersion {
    /// Version number, from 1.
    pub version: u32,
    /// Creation time, seconds since the Unix epoch.
    pub created: i64,
    /// X25519 public key that new DEKs are wrapped to.
    pub public_key: B64<32>,
    /// Nonce of `sealed_secret`.
    pub nonce: B64<12>,
    /// AES-256-GCM of the X25519 private key under the version-seal key.
    pub sealed_secret: B64<48>,
}

/// A key slot: one way to obtain the master key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Slot {
    /// Argon2id of a passphrase.
    Passphrase {
        /// Slot id.
        id: B64<16>,
        /// Seconds since the epoch.
        created: i64,
        /// Argon2id salt.
        salt: B64<16>,
        /// Argon2id parameters.
        kdf: Argon2Params,
        /// AES-GCM nonce.
        nonce: B64<12>,
        /// AES-256-GCM of the master key.
        wrapped: B64<48>,
        /// Commits the slot to its KEK (FORMAT.md §3.1): absent only in
        /// slots written before commitments.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        commit: Option<B64<32>>,
    },
    /// A random 32-byte secret kept in the OS keychain.
    Keychain {
        /// Slot id.
        id: B64<16>,
        /// Seconds since the epoch.
        created: i64,
        /// HKDF salt.
        salt: B64<16>,
        /// AES-GCM nonce.
        nonce: B64<12>,
        /// AES-256-GCM of the master key.
        wrapped: B64<48>,
        /// Commits the slot to its KEK (FORMAT.md §3.1): absent only in
        /// slots written before commitments.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        commit: Option<B64<32>>,
    },
    /// The one-time recovery key shown at creation.
    Recovery {
        /// Slot id.
        id: B64<16>,
        /// Seconds since the epoch.
        created: i64,
        /// HKDF salt.
        salt: B64<16>,
        /// AES-GCM nonce.
        nonce: B64<12>,
        /// AES-256-GCM of the master key.
        wrapped: B64<48>,
        /// Commits the slot to its KEK (FORMAT.md §3.1): absent only in
        /// slots written before commitments.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        commit: Option<B64<32>>,
    },
    /// HPKE to the organisation's escrow public key.
    Escrow {
        /// Slot id.
        id: B64<16>,
        /// Seconds since the epoch.
        created: i64,
        /// The organisation's X25519 public key.
        org_public_key: B64<32>,
        /// HPKE encapsulated key.
        enc: B64<32>,
        /// HPKE ciphertext of the master key.
        wrapped: B64<48>,
    },
    /// RSA-OAEP to the organisation's key in a KMS/HSM; of kind
    /// [`SlotKind::Escrow`] for policy and listing.
    KmsEscrow(crate::format::escrow_key::kms::KmsSlot),
}

/// The kinds of slot, for listing and for policy.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SlotKind {
    /// Passphrase.
    Passphrase,
    /// OS keychain.
    Keychain,
    /// Recovery key.
    Recovery,
    /// Organisation escrow.
    Escrow,
}

impl SlotKind {
    /// The kind's name as written in the config.
    pub fn as_str(self) -> &'static str {
        match self {
            SlotKind::Passphrase => "passphrase",
            SlotKind::Keychain => "keychain",
            SlotKind::Recovery => "recovery",
            SlotKind::Escrow => "escrow",
        }
    }
}

impl Slot {
    /// The slot's id.
    pub fn id(&self) -> B64<16> {
        match self {
            Slot::Passphrase { id, .. }
            | Slot::Keychain { id, .. }
            | Slot::Recovery { id, .. }
            | Slot::Escrow { id, .. } => *id,
            Slot::KmsEscrow(k) => B64(k.id),
        }
    }

    /// The slot's kind.
    pub fn kind(&self) -> SlotKind {
        match self {
            Slot::Passphrase { .. } => SlotKind::Passphrase,
            Slot::Keychain { .. } => SlotKind::Keychain,
            Slot::Recovery { .. } => SlotKind::Recovery,
            Slot::Escrow { .. } | Slot::KmsEscrow(_) => SlotKind::Escrow,
        }
    }

    /// Creation time.
    pub fn created(&self) -> i64 {
        match self {
            Slot::Passphrase { created, .. }
            | Slot::Keychain { created, .. }
            | Slot::Recovery { created, .. }
            | Slot::Escrow { created, .. } => *created,
            Slot::KmsEscrow(k) => k.created,
        }
    }

    /// The slot id as hex, how users name a slot.
    pub fn id_hex(&self) -> String {
        data_encoding::HEXLOWER.encode(&self.id().0[..4])
    }
}

/// A credential that may open a slot.
pub enum Credential<'a> {
    /// A typed passphrase.
    Passphrase(&'a Passphrase),
    /// The raw secret from the OS keychain.
    Keychain(&'a Key32),
    /// The decoded recovery key.
    Recovery(&'a Key32),
    /// The organisation's escrow private key.
    Escrow(&'a PrivateKey),
    /// The slot key a KMS/HSM unwrapped from a `kms_escrow` slot.
    KmsEscrow(&'a Key32),
}

impl Credential<'_> {
    /// The slot kind this credential opens.
    pub fn kind(&self) -> SlotKind {
        match self {
            Credential::Passphrase(_) => SlotKind::Passphrase,
            Credential::Keychain(_) => SlotKind::Keychain,
            Credential::Recovery(_) => SlotKind::Recovery,
            Credential::Escrow(_) | Credential::KmsEscrow(_) => SlotKind::Escrow,
        }
    }
}

/// A credential to enrol in a new slot.
pub enum NewSlot<'a> {
    /// A passphrase with its Argon2id parameters.
    Passphrase(&'a Passphrase, Argon2Params),
    /// A keychain secret.
    Keychain(&'a Key32),
    /// A recovery key.
    Recovery(&'a Key32),
    /// An organisation's escrow public key.
    Escrow(&'a PublicKey),
    /// An organisation's key in a KMS/HSM.
    KmsEscrow(&'a crate::format::escrow_key::kms::OrgKmsKey),
}

/// The parsed `vault.json`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VaultConfig {
    /// Always [`CONFIG_FORMAT`].
    pub format: String,
    /// Always [`CONFIG_VERSION`].
    pub version: u32,
    /// Random vault identity.
    pub vault_id: B64<16>,
    /// Creation time, seconds since the epoch.
    pub created: i64,
    /// The key version new files are wrapped to.
    pub current_key_version: u32,
    /// Every key version still holding DEKs.
    pub key_versions: Vec<KeyVersion>,
    /// Ways to obtain the master key.
    pub slots: Vec<Slot>,
    /// A key rotation that has started and not finished (resumed by the
    /// next `rotate`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rotation: Option<RotationState>,
    /// The writer key, sealed under the master key (version 2 on).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub writer_key: Option<SealedWriterKey>,
    /// HMAC of everything above under a key derived from the writer key
    /// (version 2 on): what makes the config trustworthy to every reader,
    /// including one working while locked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mac: Option<B64<32>>,
}

/// The writer key, sealed under the master key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SealedWriterKey {
    /// Nonce of `sealed`.
    pub nonce: B64<12>,
    /// AES-256-GCM of the 32-byte writer key.
    pub sealed: B64<48>,
}

/// How deep a key rotation goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RotationKind {
    /// New vault key version; every DEK rewrapped; contents untouched.
    Rewrap,
    /// New master key, key version and DEKs; every file re-encrypted.
    Reencrypt,
    /// A credential was exposed: new master key, writer key and
    /// credentials, a new key version and every DEK rewrapped to it;
    /// contents untouched.
    Rekey,
}

/// A rotation in progress.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RotationState {
    /// Its depth.
    pub kind: RotationKind,
    /// When it started, seconds since the epoch.
    pub started: i64,
    /// The key version every file must end under.
    pub target_version: u32,
}

/// A key version's secrets while the vault is unlocked: its X25519 private
/// key, and the secret that the record-version-2 wraps a rotation writes
/// are derived from (docs/FORMAT.md §3.1). The latter is derived once
/// here, so the private key is used for one thing per purpose and never
/// copied per file. Both go when the version is removed.
pub(crate) struct VersionSecrets {
    sk: PrivateKey,
    dek_wrap: Key32,
}

impl VersionSecrets {
    fn new(sk: PrivateKey, vault_id: &[u8; 16]) -> Self {
        let dek_wrap = hkdf32(
            vault_id,
            sk.to_secret_bytes().expose(),
            &[LABEL_DEK_WRAP_SECRET],
        );
        VersionSecrets { sk, dek_wrap }
    }

    pub(crate) fn try_clone(&self) -> Result<Self> {
        Ok(VersionSecrets {
            sk: PrivateKey::from_secret_bytes(&self.sk.to_secret_bytes())?,
            dek_wrap: self.dek_wrap.clone(),
        })
    }
}

/// The secrets an unlock yields. Zeroized on drop.
pub struct UnlockedKeys {
    master: Key32,
    versions: BTreeMap<u32, VersionSecrets>,
    /// Absent only for a version-1 config not yet upgraded.
    writer: Option<WriterKey>,
    /// The commitment the slot that opened lacks (written before slots
    /// committed), to be added to it.
    pub(crate) commit_to_add: Option<slots::CommitToAdd>,
}

impl std::fmt::Debug for UnlockedKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UnlockedKeys")
            .field("versions", &self.versions.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl UnlockedKeys {
    /// The private key of a key version, if the vault holds it.
    pub fn version_key(&self, version: u32) -> Option<&PrivateKey> {
        self.versions.get(&version).map(|v| &v.sk)
    }

    /// The secret a key version's record-version-2 DEK wraps are derived
    /// from (docs/FORMAT.md §3.1), if the vault holds that version.
    pub fn version_wrap_secret(&self, version: u32) -> Option<&Key32> {
        self.versions.get(&version).map(|v| &v.dek_wrap)
    }

    /// Key that seals the encrypted index.
    pub fn index_key(&self, vault_id: &[u8; 16]) -> Key32 {
        hkdf32(vault_id, self.master.expose(), &[LABEL_INDEX])
    }

    /// The writer key, once the config is version 2.
    pub fn writer_key(&self) -> Option<&WriterKey> {
        self.writer.as_ref()
    }

    #[cfg(test)]
    pub(crate) fn master(&self) -> &Key32 {
        &self.master
    }
}

fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

fn slot_aad(vault_id: &[u8; 16], slot_id: &[u8; 16], kind: SlotKind) -> Vec<u8> {
    [AAD_SLOT, vault_id, slot_id, kind.as_str().as_bytes()].concat()
}

fn version_aad(vault_id: &[u8; 16], version: u32, public_key: &[u8; 32]) -> Vec<u8> {
    [AAD_VERSION, vault_id, &version.to_be_bytes(), public_key].concat()
}

fn version_seal_key(master: &Key32, vault_id: &[u8; 16]) -> Key32 {
    hkdf32(vault_id, master.expose(), &[LABEL_VERSION_SEAL])
}

impl VaultConfig {
    /// A new vault with one key version and no slots yet (add them with
    /// [`Self::add_slot`]). Returns the config and the fresh master key.
    pub fn create() -> (Self, UnlockedKeys) {
        let mut cfg = VaultConfig {
            format: CONFIG_FORMAT.into(),
            version: CONFIG_VERSION,
            vault_id: B64(random_array()),
            created: now_secs(),
            current_key_version: 0,
            key_versions: Vec::new(),
            slots: Vec::new(),
            rotation: None,
            writer_key: None,
            mac: None,
        };
        let mut keys = UnlockedKeys {
            master: Key32::random(),
            versions: BTreeMap::new(),
            writer: None,
            commit_to_add: None,
        };
        cfg.add_key_version(&mut keys);
        cfg.upgrade(&mut keys);
        (cfg, keys)
    }

    /// Adds a fresh key version, makes it current, and returns its number.
    pub fn add_key_version(&mut self, keys: &mut UnlockedKeys) -> u32 {
        let version = self
            .key_versions
            .iter()
            .map(|v| v.version)
            .max()
            .unwrap_or(0)
            + 1;
        let (sk, pk) = wrap::generate_keypair();
        let nonce = random_array();
        let sealed = primitives::seal(
            &version_seal_key(&keys.master, &self.vault_id.0),
            &nonce,
            &version_aad(&self.vault_id.0, version, &pk.0),
            sk.to_secret_bytes().expose(),
        );
        self.key_versions.push(KeyVersion {
            version,
            created: now_secs(),
            public_key: B64(pk.0),
            nonce: B64(nonce),
            sealed_secret: B64(sealed.try_into().expect("32 + 16 bytes")),
        });
        self.current_key_version = version;
        keys.versions
            .insert(version, VersionSecrets::new(sk, &self.vault_id.0));
        version
    }

    /// Forgets a key version (after every DEK it wrapped was rewrapped).
    pub fn remove_key_version(&mut self, keys: &mut UnlockedKeys, version: u32) -> Result<()> {
        if version == self.current_key_version {
            return Err(Error::Invalid(
                "cannot remove the current key version".into(),
            ));
        }
        self.key_versions.retain(|v| v.version != version);
        keys.versions.remove(&version);
        Ok(())
    }

    /// The key version new files are wrapped to.
    pub fn current_key(&self) -> &KeyVersion {
        self.key_versions
            .iter()
            .find(|v| v.version == self.current_key_version)
            .expect("validated: the current version exists")
    }

    /// The public key new files are wrapped to.
    pub fn current_public_key(&self) -> (u32, PublicKey) {
        let v = self.current_key();
        (v.version, PublicKey(v.public_key.0))
    }

    /// Enrols a credential in a new slot. Returns the slot's index.
    pub fn add_slot(&mut self, keys: &UnlockedKeys, new: NewSlot<'_>) -> Result<usize> {
        if self.slots.len() >= MAX_SLOTS {
            return Err(Error::Invalid(format!(
                "a vault holds at most {MAX_SLOTS} slots"
            )));
        }
        let vid = self.vault_id.0;
        let id: [u8; 16] = random_array();
        let created = now_secs();
        let master = keys.master.expose();
        let aes_wrap = |kek: &Key32, kind| -> (B64<12>, B64<48>) {
            let nonce = random_array();
            let ct = primitives::seal(kek, &nonce, &slot_aad(&vid, &id, kind), master);
            (B64(nonce), B64(ct.try_into().expect("48 bytes")))
        };
        let slot = match new {
            NewSlot::Passphrase(pass, kdf) => {
                kdf.check(&Argon2Params::FLOOR)?;
                let work = self.unlock_work_kib() + u64::from(kdf.m_kib) * u64::from(kdf.t);
                if work > MAX_UNLOCK_WORK_KIB {
                    return Err(Error::KdfParams(format!(
                        "memory × passes of the passphrase slots would reach {} GiB·passes, over \
                         the limit of {}: choose less memory or fewer passes",
                        work >> 20,
                        MAX_UNLOCK_WORK_KIB >> 20
                    )));
                }
                if pass.is_empty() {
                    return Err(Error::Invalid("the passphrase is empty".into()));
                }
                let salt = random_array();
                let kek = argon2id(pass, &salt, &kdf)?;
                let (nonce, wrapped) = aes_wrap(&kek, SlotKind::Passphrase);
                Slot::Passphrase {
                    id: B64(id),
                    created,
                    salt: B64(salt),
                    kdf,
                    nonce,
                    wrapped,
                    commit: Some(B64(slots::commitment(&kek, &id))),
                }
            }
            NewSlot::Keychain(secret) => {
                let salt: [u8; 16] = random_array();
                let kek = hkdf32(&salt, secret.expose(), &[LABEL_KEYCHAIN]);
                let (nonce, wrapped) = aes_wrap(&kek, SlotKind::Keychain);
                Slot::Keychain {
                    id: B64(id),
                    created,
                    salt: B64(salt),
                    nonce,
                    wrapped,
                    commit: Some(B64(slots::commitment(&kek, &id))),
                }
            }
            NewSlot::Recovery(rk) => {
                let salt: [u8; 16] = random_array();
                let kek = hkdf32(&salt, rk.expose(), &[LABEL_RECOVERY]);
                let (nonce, wrapped) = aes_wrap(&kek, SlotKind::Recovery);
                Slot::Recovery {
                    id: B64(id),
                    created,
                    salt: B64(salt),
                    nonce,
                    wrapped,
                    commit: Some(B64(slots::commitment(&kek, &id))),
                }
            }
            NewSlot::Escrow(org) => {
                let (enc, ct) = wrap::seal(
                    org,
                    &[INFO_ESCROW, &vid[..]].concat(),
                    &slot_aad(&vid, &id, SlotKind::Escrow),
                    master,
                )?;
                Slot::Escrow {
                    id: B64(id),
                    created,
                    org_public_key: B64(org.0),
                    enc: B64(enc),
                    wrapped: B64(ct.try_into().expect("48 bytes")),
                }
            }
            NewSlot::KmsEscrow(org) => Slot::KmsEscrow(
                crate::format::escrow_key::kms::KmsSlot::seal(&vid, id, created, org, master)?,
            ),
        };
        self.slots.push(slot);
        Ok(self.slots.len() - 1)
    }

    /// Removes slot `index`. The last slot that can unlock without IT (a
    /// passphrase, keychain or recovery slot) cannot be removed.
    pub fn remove_slot(&mut self, index: usize) -> Result<Slot> {
        if index >= self.slots.len() {
            return Err(Error::NotFound("slot".into()));
        }
        let user_slots = self
            .slots
            .iter()
            .filter(|s| s.kind() != SlotKind::Escrow)
            .count();
        if self.slots[index].kind() != SlotKind::Escrow && user_slots == 1 {
            return Err(Error::Invalid(
                "this is the last way to unlock the vault; add another before removing it".into(),
            ));
        }
        Ok(self.slots.remove(index))
    }

    /// Tries `cred` against every slot of its kind. Returns the unlocked
    /// keys and the index of the slot that opened, or
    /// [`Error::WrongCredential`]. Each key version's sealed private key
    /// must open and match its public key, so a config whose public keys
    /// were swapped is caught here.
    pub fn unlock(&self, cred: &Credential<'_>) -> Result<(UnlockedKeys, usize)> {
        self.unlock_committed(cred, false)
    }

    /// [`Self::unlock`]; with `require_commit` (this device has seen every
    /// slot of the vault committed), a slot of the credential's kind
    /// without a commitment makes the config tampered before any KDF runs.
    pub fn unlock_committed(
        &self,
        cred: &Credential<'_>,
        require_commit: bool,
    ) -> Result<(UnlockedKeys, usize)> {
        let opened = self.open_master(cred, require_commit)?;
        let (master, index) = (opened.master, opened.index);
        // The MAC first: a config changed behind the vault's back is named
        // as tampering before any of its keys is used.
        let writer = self.open_writer_key(&master)?;
        let seal_key = version_seal_key(&master, &self.vault_id.0);
        let mut versions = BTreeMap::new();
        for v in &self.key_versions {
            let sk = primitives::open(
                &seal_key,
                &v.nonce.0,
                &version_aad(&self.vault_id.0, v.version, &v.public_key.0),
                &v.sealed_secret.0,
            )
            .and_then(|b| {
                PrivateKey::from_secret_bytes(&Key32::from_slice(&b).expect("sealed 32 bytes"))
            })
            .map_err(|_| Error::corrupt("vault config", "a key version does not match its seal"))?;
            if sk.public_key().0 != v.public_key.0 {
                return Err(Error::corrupt(
                    "vault config",
                    "a public key does not match its private key",
                ));
            }
            versions.insert(v.version, VersionSecrets::new(sk, &self.vault_id.0));
        }
        Ok((
            UnlockedKeys {
                master,
                versions,
                writer,
                commit_to_add: opened.commit_to_add,
            },
            index,
        ))
    }

    /// Parses and validates `vault.json` bytes.
    pub fn parse(bytes: &[u8]) -> Result<Self> {
        const WHAT: &str = "vault config";
        if bytes.len() > MAX_CONFIG_LEN {
            return Err(Error::corrupt(WHAT, "file too large"));
        }
        let cfg: VaultConfig = serde_json::from_slice(bytes).map_err(|e| {
            // A newer config usually has fields this build does not know:
            // report its version, not corruption.
            let v: Option<serde_json::Value> = serde_json::from_slice(bytes).ok();
            match v.as_ref().map(|v| (&v["format"], v["version"].as_u64())) {
                Some((f, Some(n)))
                    if *f == CONFIG_FORMAT
                        && n != u64::from(CONFIG_VERSION)
                        && n != u64::from(CONFIG_VERSION_UNAUTHENTICATED) =>
                {
                    Error::UnsupportedVersion {
                        what: "vault config",
                        version: u32::try_from(n).unwrap_or(u32::MAX),
                    }
                }
                _ => Error::corrupt(WHAT, e.to_string()),
            }
        })?;
        cfg.validate()?;
        Ok(cfg)
    }

    /// Structural checks that do not need the master key.
    pub fn validate(&self) -> Result<()> {
        const WHAT: &str = "vault config";
        if self.format != CONFIG_FORMAT {
            return Err(Error::corrupt(WHAT, "not a Coffer vault config"));
        }
        match (self.version, &self.writer_key, &self.mac) {
            (CONFIG_VERSION, Some(_), Some(_)) | (CONFIG_VERSION_UNAUTHENTICATED, None, None) => {}
            (CONFIG_VERSION | CONFIG_VERSION_UNAUTHENTICATED, _, _) => {
                return Err(Error::corrupt(
                    WHAT,
                    "the writer key and MAC do not fit the config version",
                ));
            }
            (version, _, _) => {
                return Err(Error::UnsupportedVersion {
                    what: "vault config",
                    version,
                });
            }
        }
        if self.key_versions.is_empty() || self.key_versions.len() > MAX_KEY_VERSIONS {
            return Err(Error::corrupt(WHAT, "bad number of key versions"));
        }
        let mut seen = std::collections::BTreeSet::new();
        for v in &self.key_versions {
            if v.version == 0 || !seen.insert(v.version) {
                return Err(Error::corrupt(WHAT, "duplicate or zero key version"));
            }
        }
        if !seen.contains(&self.current_key_version) {
            return Err(Error::corrupt(WHAT, "current key version is missing"));
        }
        if self.slots.len() > MAX_SLOTS {
            return Err(Error::corrupt(WHAT, "too many slots"));
        }
        for s in &self.slots {
            match s {
                Slot::Passphrase { kdf, .. } => kdf.check(&Argon2Params::FLOOR)?,
                Slot::KmsEscrow(k) => k.validate()?,
                _ => {}
            }
        }
        Ok(())
    }

    /// Pretty JSON, as written to disk. A version-2 config must have been
    /// [`Self::authenticate`]d after its last change.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut v = serde_json::to_vec_pretty(self).expect("config serializes");
        v.push(b'\n');
        v
    }

    /// The AAD/info bytes DEK wrapping uses for this vault.
    pub fn vault_id(&self) -> &[u8; 16] {
        &self.vault_id.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fast() -> Argon2Params {
        Argon2Params::FLOOR
    }

    #[test]
    fn slots_unlock_and_wrong_credentials() {
        let (mut cfg, keys) = VaultConfig::create();
        let pass = Passphrase::from("correct horse");
        let rk = Key32::random();
        let kc = Key32::random();
        let (org_sk, org_pk) = wrap::generate_keypair();
        cfg.add_slot(&keys, NewSlot::Passphrase(&pass, fast()))
            .unwrap();
        cfg.add_slot(&keys, NewSlot::Recovery(&rk)).unwrap();
        cfg.add_slot(&keys, NewSlot::Keychain(&kc)).unwrap();
        cfg.add_slot(&keys, NewSlot::Escrow(&org_pk)).unwrap();
        cfg.authenticate(&keys);
        let cfg = VaultConfig::parse(&cfg.to_bytes()).unwrap();

        for cred in [
            Credential::Passphrase(&pass),
            Credential::Recovery(&rk),
            Credential::Keychain(&kc),
            Credential::Escrow(&org_sk),
        ] {
            let (k, _) = cfg.unlock(&cred).unwrap();
            assert_eq!(k.master().expose(), keys.master().expose());
            assert!(k.version_key(1).is_some());
        }
        let wrong = Passphrase::from("wrong");
        assert!(matches!(
            cfg.unlock(&Credential::Passphrase(&wrong)),
            Err(Error::WrongCredential)
        ));
        assert!(matches!(
            cfg.unlock(&Credential::Recovery(&Key32::random())),
            Err(Error::WrongCredential)
        ));
        let (other, _) = wrap::generate_keypair();
        assert!(matches!(
            cfg.unlock(&Credential::Escrow(&other)),
            Err(Error::WrongCredential)
        ));
    }

    #[test]
    fn swapped_public_key_is_caught_at_unlock() {
        let (mut cfg, keys) = VaultConfig::create();
        let pass = Passphrase::from("pw");
        cfg.add_slot(&keys, NewSlot::Passphrase(&pass, fast()))
            .unwrap();
        let (_, evil) = wrap::generate_keypair();
        cfg.authenticate(&keys);
        cfg.key_versions[0].public_key = B64(evil.0);
        // The MAC catches it before any key version is opened; without
        // the MAC, the version seal still would.
        assert!(matches!(
            cfg.unlock(&Credential::Passphrase(&pass)),
            Err(Error::Tampered { .. })
        ));
        cfg.authenticate(&keys);
        assert!(matches!(
            cfg.unlock(&Credential::Passphrase(&pass)),
            Err(Error::Corrupt { .. })
        ));
    }

    #[test]
    fn hostile_kdf_params_refused_on_read() {
        let (mut cfg, keys) = VaultConfig::create();
        cfg.add_slot(&keys, NewSlot::Passphrase(&Passphrase::from("pw"), fast()))
            .unwrap();
        if let Slot::Passphrase { kdf, .. } = &mut cfg.slots[0] {
            kdf.m_kib = u32::MAX;
        }
        assert!(matches!(
            VaultConfig::parse(&cfg.to_bytes()),
            Err(Error::KdfParams(_))
        ));
    }

    #[test]
    fn last_user_slot_cannot_be_removed() {
        let (mut cfg, keys) = VaultConfig::create();
        cfg.add_slot(&keys, NewSlot::Recovery(&Key32::random()))
            .unwrap();
        assert!(cfg.remove_slot(0).is_err());
        cfg.add_slot(&keys, NewSlot::Keychain(&Key32::random()))
            .unwrap();
        assert!(cfg.remove_slot(0).is_ok());
    }

    #[test]
    fn unknown_fields_and_bad_lengths_refused() {
        let (cfg, _) = VaultConfig::create();
        let mut v: serde_json::Value = serde_json::from_slice(&cfg.to_bytes()).unwrap();
        v["extra"] = 1.into();
        assert!(VaultConfig::parse(v.to_string().as_bytes()).is_err());
        let mut v: serde_json::Value = serde_json::from_slice(&cfg.to_bytes()).unwrap();
        v["vault_id"] = "AAAA".into();
        assert!(VaultConfig::parse(v.to_string().as_bytes()).is_err());
    }
}
