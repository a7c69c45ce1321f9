//! The policy file's sections and what each setting means for Coffer.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::config::SlotKind;
use crate::crypto::kdf::Argon2Params;
use crate::sink::Sink;

/// Minimum Argon2id parameters for passphrase slots.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KdfPolicy {
    /// Memory in MiB.
    pub min_memory_mib: u32,
    /// Passes.
    pub min_time: u32,
    /// Lanes.
    pub min_lanes: u32,
}

/// Which unlock methods may be used.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UnlockPolicy {
    /// Allowed slot kinds; the others are refused at unlock and enrolment.
    pub allowed: Vec<SlotKind>,
}

/// The organisation's escrow key: a file-based X25519 key, a key in a
/// KMS/HSM, or both.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EscrowPolicy {
    /// `coffer-escrow-public:BASE64` as printed by `coffer escrow keygen`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_key: Option<String>,
    /// Whether every vault must carry an escrow slot (added at next unlock).
    #[serde(default)]
    pub required: bool,
    /// The organisation key in a KMS or HSM (`[escrow.kms]`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kms: Option<KmsEscrowPolicy>,
}

/// `[escrow.kms]`: the public half of an RSA key that never leaves a KMS
/// or HSM. Vaults enrol to it offline at creation and at every unlock
/// where they are not yet enrolled to this key and version.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KmsEscrowPolicy {
    /// Where the key lives (shown to users; IT's recovery command names it).
    pub provider: crate::format::escrow_key::kms::KmsProvider,
    /// The key's name there: transit key name, PKCS#11 label, KMS key id.
    pub key: String,
    /// The key's version there (1 where the KMS has none).
    pub version: u32,
    /// `sha256:HEX` of the key's SubjectPublicKeyInfo DER.
    pub fingerprint: String,
    /// The key as `-----BEGIN PUBLIC KEY-----` PEM (RSA 3072 or 4096).
    pub public_key: String,
}

impl KmsEscrowPolicy {
    /// The key, once its fingerprint is checked. Every failure is
    /// [`crate::Error::PolicyInvalid`] with what is wrong.
    pub fn org_key(&self) -> crate::Result<crate::format::escrow_key::kms::OrgKmsKey> {
        use crate::crypto::rsa_oaep::{OrgRsaKey, fingerprint_text, parse_fingerprint};
        let bad = |why: String| crate::Error::policy_invalid(format!("[escrow.kms] {why}"));
        crate::format::escrow_key::kms::check_name(&self.key).map_err(|e| bad(e.to_string()))?;
        if self.version == 0 {
            return Err(bad("version starts at 1".into()));
        }
        let key = OrgRsaKey::from_pem(&self.public_key).map_err(|e| bad(e.to_string()))?;
        let want = parse_fingerprint(&self.fingerprint)
            .ok_or_else(|| bad("fingerprint is not sha256: and 64 hex digits".into()))?;
        if key.fingerprint() != want {
            return Err(bad(format!(
                "public_key does not match its fingerprint (the key's is {})",
                fingerprint_text(&key.fingerprint())
            )));
        }
        Ok(crate::format::escrow_key::kms::OrgKmsKey {
            provider: self.provider,
            name: self.key.clone(),
            version: self.version,
            key,
        })
    }
}

/// Folders that must be protected.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FolderPolicy {
    /// Absolute paths; `~/` means the user's home folder.
    #[serde(default)]
    pub mandatory: Vec<String>,
    /// How long a temporary-looking file (`~$x.docx`, `x~`, `.swp`, a
    /// partial download) must be left unwritten before it is encrypted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temporary_quiet_seconds: Option<u64>,
}

/// Auto-lock.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LockPolicy {
    /// The longest idle time before the app locks itself.
    pub max_auto_lock_minutes: u32,
}

/// Scheduled rotation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RotationPolicy {
    /// Days between vault key rotations.
    pub period_days: u32,
}

/// Where the audit trail goes.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditPolicy {
    /// Sinks every vault ships to (in addition to the user's own).
    #[serde(default)]
    pub sinks: Vec<Sink>,
}

/// Device requirements.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DevicePolicy {
    /// Full-disk encryption must be on.
    #[serde(default)]
    pub require_disk_encryption: bool,
}

/// Where files may be extracted to.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExtractPolicy {
    /// If set, extraction only below these folders.
    #[serde(default)]
    pub allowed_destinations: Vec<String>,
    /// Never below these folders (e.g. removable media).
    #[serde(default)]
    pub forbidden_destinations: Vec<String>,
}

/// The whole policy file. Every section is optional.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    /// Minimum KDF parameters.
    pub kdf: Option<KdfPolicy>,
    /// Allowed unlock methods.
    pub unlock: Option<UnlockPolicy>,
    /// Organisation escrow.
    pub escrow: Option<EscrowPolicy>,
    /// Mandatory protected folders.
    #[serde(default)]
    pub folders: FolderPolicy,
    /// Auto-lock ceiling.
    pub lock: Option<LockPolicy>,
    /// Rotation period.
    pub rotation: Option<RotationPolicy>,
    /// Audit sinks.
    #[serde(default)]
    pub audit: AuditPolicy,
    /// Device requirements.
    #[serde(default)]
    pub device: DevicePolicy,
    /// Extraction destinations.
    #[serde(default)]
    pub extract: ExtractPolicy,
}

impl Policy {
    /// How long temporary-looking files wait before they are encrypted.
    pub fn temporary_quiet(&self) -> std::time::Duration {
        self.folders.temporary_quiet_seconds.map_or(
            crate::plaintext::DEFAULT_TEMPORARY_QUIET,
            std::time::Duration::from_secs,
        )
    }

    /// The KDF floor: the policy's, never below Coffer's own.
    pub fn kdf_floor(&self) -> Argon2Params {
        self.kdf.map_or(Argon2Params::FLOOR, |k| k.params())
    }

    /// The parameters for a new passphrase slot: Coffer's defaults, raised
    /// to the floor where the policy asks for more.
    pub fn kdf_default(&self) -> Argon2Params {
        Argon2Params::DEFAULT.raised_to(&self.kdf_floor())
    }

    /// Whether a slot kind may be used.
    pub fn allows(&self, kind: SlotKind) -> bool {
        self.unlock
            .as_ref()
            .is_none_or(|u| u.allowed.contains(&kind))
    }

    /// The escrow public key, if set.
    pub fn escrow_key(&self) -> Option<crate::crypto::wrap::PublicKey> {
        self.escrow
            .as_ref()
            .and_then(|e| e.public_key.as_deref())
            .and_then(|k| crate::format::escrow_key::parse_public(k).ok())
    }

    /// The organisation key in a KMS/HSM, if the policy names one (checked
    /// when the policy was parsed).
    pub fn kms_escrow_key(&self) -> Option<crate::format::escrow_key::kms::OrgKmsKey> {
        self.escrow
            .as_ref()
            .and_then(|e| e.kms.as_ref())
            .and_then(|k| k.org_key().ok())
    }

    /// Mandatory folders, with `~/` expanded against `home`.
    pub fn mandatory_folders(&self, home: &Path) -> Vec<PathBuf> {
        self.folders
            .mandatory
            .iter()
            .map(|f| expand(f, home))
            .collect()
    }
}

impl KdfPolicy {
    /// As Argon2id parameters.
    pub fn params(&self) -> Argon2Params {
        Argon2Params {
            m_kib: self.min_memory_mib.saturating_mul(1024),
            t: self.min_time,
            p: self.min_lanes,
        }
    }
}

/// `~/…` expanded against `home`; any other path as it is.
pub(super) fn expand(f: &str, home: &Path) -> PathBuf {
    match f.strip_prefix("~/") {
        Some(rest) => home.join(rest),
        None => PathBuf::from(f),
    }
}

#[cfg(test)]
mod kms_tests {
    use crate::crypto::rsa_oaep::{fingerprint_text, tests::test_key};
    use crate::error::Error;
    use crate::policy::Policy;

    fn policy(provider: &str, version: u32, fp: &str, pem: &str) -> String {
        format!(
            "[escrow]\nrequired = true\n[escrow.kms]\nprovider = \"{provider}\"\nkey = \"coffer-escrow\"\nversion = {version}\nfingerprint = \"{fp}\"\npublic_key = \"\"\"\n{pem}\"\"\"\n"
        )
    }

    fn invalid(text: &str, needle: &str) {
        match Policy::parse(text) {
            Err(Error::PolicyInvalid { why }) => assert!(why.contains(needle), "{why}"),
            other => panic!("expected an invalid policy ({needle}), got {other:?}"),
        }
    }

    #[test]
    fn a_kms_key_is_checked_against_its_fingerprint() {
        let (_, key) = test_key();
        let fp = fingerprint_text(&key.fingerprint());
        let pem = key.to_pem();
        let text = policy("openbao_transit", 3, &fp, &pem);
        let p = Policy::parse(&text).unwrap_or_else(|e| panic!("{text}\n{e}"));
        let org = p.kms_escrow_key().unwrap();
        assert_eq!((org.name.as_str(), org.version), ("coffer-escrow", 3));
        assert_eq!(org.key.fingerprint(), key.fingerprint());
        assert!(p.escrow_key().is_none(), "no file-based key named");
        // Upper-case hex and colons, as some tools print it.
        let loud = fp.to_uppercase().replace("SHA256:", "sha256:");
        assert!(Policy::parse(&policy("pkcs11", 1, &loud, &pem)).is_ok());

        let mut other = key.fingerprint();
        other[31] ^= 1;
        invalid(
            &policy("openbao_transit", 1, &fingerprint_text(&other), &pem),
            "does not match its fingerprint",
        );
        invalid(
            &policy("openbao_transit", 1, "sha256:00", &pem),
            "fingerprint",
        );
        invalid(&policy("openbao_transit", 0, &fp, &pem), "version");
        invalid(&policy("aws", 1, &fp, &pem), "provider");
        invalid(
            &policy(
                "openbao_transit",
                1,
                &fp,
                "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n",
            ),
            "RSA",
        );
        // RSA 2048: below the 3072 bits Coffer requires.
        let small = "-----BEGIN PUBLIC KEY-----\nMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAxcVdqIOJBu75ieq4cpHr\n/T2OETqlfE9aiYU6Ld+lLm3FURrR8Rdb3SRz6wu/WXOQLsdB6NWAVH/T8vR5lRig\n5vzdQ4EIMlT/PbmlWn3Oowe/ZI2HFZmmCiPQ0I35Gfa6lB+aeGsG+oe5ToZVzWZx\nnv7Wm8DzcNq+7helc+p5jVaTXi35lnmBRCa8o8hPr+SrRcZEqo719mDoN+EZyWxE\nfp5ayO9/q6sjxAYB3lFEQdoZGf+Hi4T0iI8XlGvAor4/m/8AcEkeAHWb57EWEYIX\n9WOiNEDU4B4D4ebTytQx5PtUCXO8QJ+MoK0WAWjK0gStJP2/lqWc4ci43cgAXXqN\n3QIDAQAB\n-----END PUBLIC KEY-----\n";
        invalid(&policy("openbao_transit", 1, &fp, small), "3072 or 4096");
        invalid(
            "[escrow]\nrequired = true\n",
            "public_key or an [escrow.kms]",
        );
        let plain = policy("openbao_transit", 1, &fp, &pem).replace("required = true", "");
        invalid(
            &format!("[unlock]\nallowed = [\"passphrase\"]\n{plain}"),
            "needs \"escrow\" in [unlock] allowed",
        );
    }
}
