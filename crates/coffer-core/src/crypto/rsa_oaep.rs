//! RSA-OAEP encryption to an organisation key that lives in a KMS or an
//! HSM: RSAES-OAEP (RFC 8017 §7.1) with SHA-256, MGF1-SHA-256 and the
//! empty label, to a 3072- or 4096-bit key with public exponent 65537.
//! That is the one asymmetric scheme OpenBao/Vault transit, AWS KMS,
//! Google Cloud KMS, Azure Key Vault and PKCS#11 tokens all decrypt with a
//! key that never leaves them (docs/FORMAT.md §3.1.1 weighs the others).
//!
//! Only encryption lives here: a laptop never holds, parses or uses an RSA
//! private key. The `rsa` crate's timing weakness (RUSTSEC-2023-0071,
//! "Marvin") concerns private-key operations, which Coffer never performs.

use rsa::pkcs8::{DecodePublicKey, EncodePublicKey};
use rsa::traits::PublicKeyParts;
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

/// Largest PEM text accepted for a public key (a 4096-bit SPKI is ~800).
pub const MAX_PEM_LEN: usize = 8 * 1024;
/// Key sizes accepted, in bytes of modulus (3072 and 4096 bits).
pub const MODULUS_BYTES: [usize; 2] = [384, 512];
/// The only public exponent accepted (what every KMS generates).
const EXPONENT: u32 = 65537;

/// An organisation RSA public key, as its SubjectPublicKeyInfo.
#[derive(Clone, PartialEq, Eq)]
pub struct OrgRsaKey {
    key: rsa::PublicKey,
    spki_der: Vec<u8>,
}

impl std::fmt::Debug for OrgRsaKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "OrgRsaKey({})", fingerprint_text(&self.fingerprint()))
    }
}

impl OrgRsaKey {
    /// Parses `-----BEGIN PUBLIC KEY-----` text (SPKI, as transit, the
    /// cloud KMSs and `pkcs11-tool --read-object` give it).
    pub fn from_pem(pem: &str) -> Result<Self> {
        if pem.len() > MAX_PEM_LEN {
            return Err(not_a_key("the text is too long"));
        }
        let key = rsa::PublicKey::from_public_key_pem(pem.trim())
            .map_err(|_| not_a_key("not an RSA SubjectPublicKeyInfo in PEM"))?;
        Self::checked(key)
    }

    /// Parses SPKI DER.
    pub fn from_der(der: &[u8]) -> Result<Self> {
        if der.len() > MAX_PEM_LEN {
            return Err(not_a_key("the key is too long"));
        }
        let key = rsa::PublicKey::from_public_key_der(der)
            .map_err(|_| not_a_key("not an RSA SubjectPublicKeyInfo"))?;
        Self::checked(key)
    }

    fn checked(key: rsa::PublicKey) -> Result<Self> {
        if !MODULUS_BYTES.contains(&key.size()) {
            return Err(not_a_key("the key must be RSA 3072 or 4096 bits"));
        }
        let e = key.e().to_be_bytes();
        let e_trimmed: Vec<u8> = e.iter().copied().skip_while(|b| *b == 0).collect();
        if e_trimmed != EXPONENT.to_be_bytes()[1..] {
            return Err(not_a_key("the public exponent must be 65537"));
        }
        // The fingerprint is over the canonical DER, so PEM line breaks or
        // a re-encoding by another tool never change it.
        let spki_der = key
            .to_public_key_der()
            .map_err(|_| not_a_key("the key cannot be encoded"))?
            .as_bytes()
            .to_vec();
        Ok(OrgRsaKey { key, spki_der })
    }

    /// SHA-256 of the SubjectPublicKeyInfo DER.
    pub fn fingerprint(&self) -> [u8; 32] {
        Sha256::digest(&self.spki_der).into()
    }

    /// The SubjectPublicKeyInfo DER.
    pub fn spki_der(&self) -> &[u8] {
        &self.spki_der
    }

    /// The SubjectPublicKeyInfo as PEM.
    pub fn to_pem(&self) -> String {
        self.key
            .to_public_key_pem(rsa::pkcs8::LineEnding::LF)
            .expect("a parsed key encodes")
    }

    /// Modulus size in bits (3072 or 4096).
    pub fn bits(&self) -> usize {
        self.key.size() * 8
    }

    /// Length of every ciphertext to this key.
    pub fn ciphertext_len(&self) -> usize {
        self.key.size()
    }

    /// RSAES-OAEP-ENCRYPT with SHA-256, MGF1-SHA-256, empty label; random
    /// seed from the OS.
    pub fn encrypt(&self, plaintext: &[u8]) -> Result<Vec<u8>> {
        self.key
            .oaep_encrypt::<Sha256>(plaintext)
            .map_err(|_| Error::Invalid("RSA-OAEP encryption failed".into()))
    }
}

/// `sha256:` and 64 lowercase hex digits, as the policy writes it.
pub fn fingerprint_text(fp: &[u8; 32]) -> String {
    format!("sha256:{}", data_encoding::HEXLOWER.encode(fp))
}

/// Parses [`fingerprint_text`]'s form (upper case and `:` between bytes,
/// as some tools print it, are accepted).
pub fn parse_fingerprint(s: &str) -> Option<[u8; 32]> {
    let hex: String = s
        .trim()
        .strip_prefix("sha256:")
        .or_else(|| s.trim().strip_prefix("SHA256:"))?
        .chars()
        .filter(|c| *c != ':')
        .collect::<String>()
        .to_ascii_lowercase();
    if hex.len() != 64 {
        return None;
    }
    data_encoding::HEXLOWER
        .decode(hex.as_bytes())
        .ok()?
        .try_into()
        .ok()
}

fn not_a_key(why: &str) -> Error {
    Error::Invalid(format!("organisation RSA public key: {why}"))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use rsa::pkcs8::DecodePrivateKey;

    /// A 3072-bit test key (made with `openssl genpkey`; test only).
    pub(crate) const TEST_PRIVATE_PEM: &str = include_str!("testdata/org-rsa-3072.pem");

    pub(crate) fn test_key() -> (rsa::PrivateKey, OrgRsaKey) {
        let sk = rsa::PrivateKey::from_pkcs8_pem(TEST_PRIVATE_PEM).unwrap();
        let pem = sk
            .to_public_key()
            .to_public_key_pem(rsa::pkcs8::LineEnding::LF)
            .unwrap();
        (sk, OrgRsaKey::from_pem(&pem).unwrap())
    }

    #[test]
    fn oaep_sha256_round_trips_and_is_randomised() {
        let (sk, pk) = test_key();
        assert_eq!(pk.bits(), 3072);
        let a = pk.encrypt(&[7u8; 32]).unwrap();
        let b = pk.encrypt(&[7u8; 32]).unwrap();
        assert_eq!(a.len(), 384);
        assert_ne!(a, b);
        assert_eq!(sk.oaep_decrypt::<Sha256>(&a).unwrap(), vec![7u8; 32]);
        let mut bad = a.clone();
        bad[10] ^= 1;
        assert!(sk.oaep_decrypt::<Sha256>(&bad).is_err());
    }

    #[test]
    fn fingerprint_is_over_the_der_and_reads_back() {
        let (_, pk) = test_key();
        let pem = pk.to_pem();
        let again = OrgRsaKey::from_pem(&format!("\n  {pem}  \n")).unwrap();
        assert_eq!(OrgRsaKey::from_der(pk.spki_der()).unwrap(), pk);
        assert_eq!(again.fingerprint(), pk.fingerprint());
        let text = fingerprint_text(&pk.fingerprint());
        assert_eq!(parse_fingerprint(&text), Some(pk.fingerprint()));
        assert_eq!(
            parse_fingerprint(&text.to_uppercase().replace("SHA256:", "sha256:")),
            Some(pk.fingerprint())
        );
        assert_eq!(parse_fingerprint("sha256:abcd"), None);
        assert_eq!(parse_fingerprint(&text[7..]), None);
    }

    #[test]
    fn small_keys_and_junk_are_refused() {
        // RSA 2048: below the 3072 bits Coffer requires.
        let small = "-----BEGIN PUBLIC KEY-----\nMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAxcVdqIOJBu75ieq4cpHr\n/T2OETqlfE9aiYU6Ld+lLm3FURrR8Rdb3SRz6wu/WXOQLsdB6NWAVH/T8vR5lRig\n5vzdQ4EIMlT/PbmlWn3Oowe/ZI2HFZmmCiPQ0I35Gfa6lB+aeGsG+oe5ToZVzWZx\nnv7Wm8DzcNq+7helc+p5jVaTXi35lnmBRCa8o8hPr+SrRcZEqo719mDoN+EZyWxE\nfp5ayO9/q6sjxAYB3lFEQdoZGf+Hi4T0iI8XlGvAor4/m/8AcEkeAHWb57EWEYIX\n9WOiNEDU4B4D4ebTytQx5PtUCXO8QJ+MoK0WAWjK0gStJP2/lqWc4ci43cgAXXqN\n3QIDAQAB\n-----END PUBLIC KEY-----\n";
        assert!(OrgRsaKey::from_pem(small).is_err());
        assert!(OrgRsaKey::from_pem("not a key").is_err());
        assert!(OrgRsaKey::from_pem(&"A".repeat(MAX_PEM_LEN + 1)).is_err());
        assert!(OrgRsaKey::from_der(&[0x30, 0x03, 0x02, 0x01, 0x00]).is_err());
    }
}
