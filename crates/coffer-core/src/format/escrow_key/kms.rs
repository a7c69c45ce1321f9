//! The KMS/HSM escrow slot (`"kind": "kms_escrow"` in `vault.json`,
//! docs/FORMAT.md §3.1.1): the master key sealed under a random 32-byte
//! slot key, and that slot key encrypted with RSA-OAEP-SHA-256 to the
//! organisation key the policy publishes.
//!
//! Why two layers rather than OAEP of the master key with a label: transit,
//! AWS, Google and Azure decrypt OAEP only with the empty label, so the
//! binding of a slot to its vault, its id and the key it names must come
//! from somewhere else. The AES-256-GCM layer's associated data carries it,
//! and its tag tells a wrong unwrap from a right one.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::crypto::primitives::{self, random_array};
use crate::crypto::rsa_oaep::{MODULUS_BYTES, OrgRsaKey};
use crate::crypto::secret::Key32;
use crate::error::{Error, Result};

/// Longest key name or provider name a slot or policy carries.
pub const MAX_NAME_LEN: usize = 256;
const AAD_KMS_SLOT: &[u8] = b"coffer/v1/slot";
const KIND: &[u8] = b"kms_escrow";

/// Where an organisation key lives; shown to users, used by no crypto.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KmsProvider {
    /// OpenBao transit secrets engine.
    OpenbaoTransit,
    /// HashiCorp Vault transit secrets engine.
    VaultTransit,
    /// AWS KMS.
    AwsKms,
    /// Google Cloud KMS.
    GcpKms,
    /// Azure Key Vault (or Managed HSM).
    AzureKeyVault,
    /// A PKCS#11 token or HSM.
    Pkcs11,
}

impl KmsProvider {
    /// The name as written in policy and config.
    pub fn as_str(self) -> &'static str {
        match self {
            KmsProvider::OpenbaoTransit => "openbao_transit",
            KmsProvider::VaultTransit => "vault_transit",
            KmsProvider::AwsKms => "aws_kms",
            KmsProvider::GcpKms => "gcp_kms",
            KmsProvider::AzureKeyVault => "azure_key_vault",
            KmsProvider::Pkcs11 => "pkcs11",
        }
    }
}

/// The organisation key as the policy publishes it: checked (its
/// fingerprint matches) before a vault ever enrols to it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrgKmsKey {
    /// Where it lives.
    pub provider: KmsProvider,
    /// Its name there (transit key name, PKCS#11 label, KMS key id).
    pub name: String,
    /// Its version there (transit version; 1 where the KMS has none).
    pub version: u32,
    /// The public key.
    pub key: OrgRsaKey,
}

/// One `kms_escrow` slot as stored in `vault.json`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KmsSlot {
    /// Slot id (16 bytes, base64).
    #[serde(with = "b64_fixed")]
    pub id: [u8; 16],
    /// Seconds since the epoch.
    pub created: i64,
    /// Where the organisation key lives.
    pub provider: KmsProvider,
    /// The organisation key's name in the KMS/HSM.
    pub key_name: String,
    /// The organisation key's version.
    pub key_version: u32,
    /// SHA-256 of the organisation key's SubjectPublicKeyInfo DER.
    #[serde(with = "b64_fixed")]
    pub fingerprint: [u8; 32],
    /// RSA-OAEP-SHA-256 of the 32-byte slot key (384 or 512 bytes).
    #[serde(with = "b64_oaep")]
    pub oaep: Vec<u8>,
    /// AES-GCM nonce.
    #[serde(with = "b64_fixed")]
    pub nonce: [u8; 12],
    /// AES-256-GCM of the master key under the slot key.
    #[serde(with = "b64_fixed")]
    pub wrapped: [u8; 48],
}

/// What a listing shows of a KMS escrow slot: which key, which version,
/// where it lives. Nothing secret.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct KmsKeyInfo {
    /// The organisation key's name in the KMS/HSM.
    pub key: String,
    /// Its version.
    pub version: u32,
    /// Where it lives.
    pub provider: KmsProvider,
}

impl KmsSlot {
    /// The slot's key, version and provider, for listings.
    pub fn info(&self) -> KmsKeyInfo {
        KmsKeyInfo {
            key: self.key_name.clone(),
            version: self.key_version,
            provider: self.provider,
        }
    }

    /// Seals `master` for `org`: a fresh slot key, OAEP to the org key,
    /// the master key under AES-256-GCM bound to the vault and the slot.
    pub fn seal(
        vault_id: &[u8; 16],
        id: [u8; 16],
        created: i64,
        org: &OrgKmsKey,
        master: &[u8],
    ) -> Result<Self> {
        check_name(&org.name)?;
        let slot_key = Key32::random();
        let oaep = org.key.encrypt(slot_key.expose())?;
        let mut slot = KmsSlot {
            id,
            created,
            provider: org.provider,
            key_name: org.name.clone(),
            key_version: org.version,
            fingerprint: org.key.fingerprint(),
            oaep,
            nonce: random_array(),
            wrapped: [0; 48],
        };
        let ct = primitives::seal(&slot_key, &slot.nonce, &slot.aad(vault_id), master);
        slot.wrapped = ct.try_into().expect("32 + 16 bytes");
        Ok(slot)
    }

    /// Opens the master key with the slot key the KMS/HSM returned. Every
    /// failure is [`Error::DecryptionFailed`].
    pub fn open(&self, vault_id: &[u8; 16], slot_key: &Key32) -> Result<Zeroizing<Vec<u8>>> {
        primitives::open(slot_key, &self.nonce, &self.aad(vault_id), &self.wrapped)
            .map_err(|_| Error::DecryptionFailed)
    }

    /// Whether the slot is enrolled to `org` (same key, same version).
    pub fn is_for(&self, org: &OrgKmsKey) -> bool {
        self.fingerprint == org.key.fingerprint()
            && self.key_version == org.version
            && self.key_name == org.name
    }

    /// The slot's name in listings: `key_name v<version>`.
    pub fn describe(&self) -> String {
        format!(
            "{} v{} ({})",
            self.key_name,
            self.key_version,
            self.provider.as_str()
        )
    }

    /// Structural checks on a slot read from disk.
    pub fn validate(&self) -> Result<()> {
        check_name(&self.key_name).map_err(|_| Error::corrupt("vault config", "bad key name"))?;
        if self.key_version == 0 {
            return Err(Error::corrupt("vault config", "key version 0"));
        }
        Ok(())
    }

    /// AAD: label ‖ vault id ‖ slot id ‖ "kms_escrow" ‖ fingerprint ‖
    /// key version (u32 BE) ‖ key name, so a slot moved to another vault,
    /// or relabelled as enrolled to another key, fails to open.
    fn aad(&self, vault_id: &[u8; 16]) -> Vec<u8> {
        [
            AAD_KMS_SLOT,
            vault_id,
            &self.id,
            KIND,
            &self.fingerprint,
            &self.key_version.to_be_bytes(),
            self.key_name.as_bytes(),
        ]
        .concat()
    }
}

/// Key names: 1 to [`MAX_NAME_LEN`] bytes, no control characters.
pub fn check_name(name: &str) -> Result<()> {
    if name.is_empty() || name.len() > MAX_NAME_LEN || name.chars().any(char::is_control) {
        return Err(Error::Invalid(format!(
            "a key name is 1 to {MAX_NAME_LEN} printable characters"
        )));
    }
    Ok(())
}

mod b64_fixed {
    use super::*;

    pub fn serialize<S: serde::Serializer, const N: usize>(
        v: &[u8; N],
        s: S,
    ) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(&STANDARD.encode(v))
    }

    pub fn deserialize<'de, D: serde::Deserializer<'de>, const N: usize>(
        d: D,
    ) -> std::result::Result<[u8; N], D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        if s.len() > 4 * N.div_ceil(3) {
            return Err(serde::de::Error::custom(format!(
                "expected {N} bytes of base64"
            )));
        }
        STANDARD
            .decode(s.as_bytes())
            .ok()
            .and_then(|v| v.try_into().ok())
            .ok_or_else(|| serde::de::Error::custom(format!("expected {N} bytes of base64")))
    }
}

mod b64_oaep {
    use super::*;

    pub fn serialize<S: serde::Serializer>(v: &[u8], s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(&STANDARD.encode(v))
    }

    pub fn deserialize<'de, D: serde::Deserializer<'de>>(
        d: D,
    ) -> std::result::Result<Vec<u8>, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        let max = MODULUS_BYTES.iter().max().copied().unwrap_or(0);
        let bad = || serde::de::Error::custom("expected a 3072- or 4096-bit RSA ciphertext");
        if s.len() > 4 * max.div_ceil(3) {
            return Err(bad());
        }
        let v = STANDARD.decode(s.as_bytes()).map_err(|_| bad())?;
        if !MODULUS_BYTES.contains(&v.len()) {
            return Err(bad());
        }
        Ok(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::rsa_oaep::tests::test_key;
    use rsa::sha2::Sha256;

    fn org(version: u32) -> (rsa::PrivateKey, OrgKmsKey) {
        let (sk, key) = test_key();
        (
            sk,
            OrgKmsKey {
                provider: KmsProvider::OpenbaoTransit,
                name: "coffer-escrow".into(),
                version,
                key,
            },
        )
    }

    #[test]
    fn seal_unwrap_open_and_every_binding() {
        let (sk, org) = org(2);
        let vid = [1u8; 16];
        let master = [9u8; 32];
        let slot = KmsSlot::seal(&vid, [2; 16], 5, &org, &master).unwrap();
        assert!(slot.is_for(&org));
        let json = serde_json::to_string(&slot).unwrap();
        let back: KmsSlot = serde_json::from_str(&json).unwrap();
        assert_eq!(back, slot);
        // What the KMS does: OAEP-SHA-256 decrypt with the private key.
        let k = sk.oaep_decrypt::<Sha256>(&slot.oaep).unwrap();
        let k = Key32::from_slice(&k).unwrap();
        assert_eq!(&slot.open(&vid, &k).unwrap()[..], &master);
        // Moved to another vault, relabelled to another key or version:
        // the tag no longer matches.
        assert!(slot.open(&[3; 16], &k).is_err());
        for tweak in [
            |s: &mut KmsSlot| s.key_version = 3,
            |s: &mut KmsSlot| s.key_name = "other".into(),
            |s: &mut KmsSlot| s.fingerprint[0] ^= 1,
            |s: &mut KmsSlot| s.id[0] ^= 1,
            |s: &mut KmsSlot| s.wrapped[0] ^= 1,
        ] {
            let mut s = slot.clone();
            tweak(&mut s);
            assert!(s.open(&vid, &k).is_err());
        }
        assert!(slot.open(&vid, &Key32::random()).is_err());
        let (_, newer) = self::org(3);
        assert!(!slot.is_for(&newer));
    }

    #[test]
    fn bad_slots_are_refused_when_read() {
        let (_, org) = org(1);
        let slot = KmsSlot::seal(&[0; 16], [0; 16], 0, &org, &[0; 32]).unwrap();
        let mut v = serde_json::to_value(&slot).unwrap();
        v["oaep"] = STANDARD.encode([0u8; 100]).into();
        assert!(serde_json::from_value::<KmsSlot>(v).is_err());
        let mut v = serde_json::to_value(&slot).unwrap();
        v["extra"] = 1.into();
        assert!(serde_json::from_value::<KmsSlot>(v).is_err());
        let mut v = serde_json::to_value(&slot).unwrap();
        v["fingerprint"] = "AAAA".into();
        assert!(serde_json::from_value::<KmsSlot>(v).is_err());
        let mut bad = slot.clone();
        bad.key_name = String::new();
        assert!(bad.validate().is_err());
        bad.key_name = "x\n".into();
        assert!(bad.validate().is_err());
        assert!(slot.validate().is_ok());
    }
}
