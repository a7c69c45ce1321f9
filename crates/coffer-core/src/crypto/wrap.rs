//! Public-key wrapping with HPKE (RFC 9180), base mode,
//! DHKEM(X25519, HKDF-SHA256) / HKDF-SHA256 / AES-256-GCM — suite
//! (0x0020, 0x0001, 0x0002). Used for per-file DEKs (to the vault key) and
//! for the organisation escrow slot (to the org key).

use hpke::aead::AesGcm256;
use hpke::kdf::HkdfSha256;
use hpke::kem::X25519HkdfSha256;
use hpke::{Deserializable, Kem, OpModeR, OpModeS, Serializable};
use zeroize::Zeroizing;

use crate::crypto::secret::Key32;
use crate::error::{Error, Result};

type KemT = X25519HkdfSha256;

/// X25519 public key / HPKE `enc` length.
pub const ENC_LEN: usize = 32;

/// An X25519 public key (the clear half of a vault key version or an org key).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct PublicKey(pub [u8; 32]);

/// An X25519 private key. Zeroized on drop; never printed.
pub struct PrivateKey(<KemT as Kem>::PrivateKey);

impl std::fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PrivateKey(<redacted>)")
    }
}

impl PrivateKey {
    /// The raw scalar, for sealing into the config. Keep it short-lived.
    pub fn to_secret_bytes(&self) -> Key32 {
        let mut b: [u8; 32] = self.0.to_bytes().into();
        let k = Key32::from_bytes(b);
        zeroize::Zeroize::zeroize(&mut b);
        k
    }

    /// Rebuilds a private key from its raw scalar.
    pub fn from_secret_bytes(k: &Key32) -> Result<Self> {
        <KemT as Kem>::PrivateKey::from_bytes(k.expose())
            .map(PrivateKey)
            .map_err(|_| Error::DecryptionFailed)
    }

    /// The matching public key.
    pub fn public_key(&self) -> PublicKey {
        PublicKey(KemT::sk_to_pk(&self.0).to_bytes().into())
    }
}

/// A fresh key pair from the OS random source.
pub fn generate_keypair() -> (PrivateKey, PublicKey) {
    let (sk, pk) = KemT::gen_keypair();
    (PrivateKey(sk), PublicKey(pk.to_bytes().into()))
}

/// HPKE single-shot seal of `plaintext` to `recipient`: returns
/// `(enc, ciphertext‖tag)`.
pub fn seal(
    recipient: &PublicKey,
    info: &[u8],
    aad: &[u8],
    plaintext: &[u8],
) -> Result<([u8; ENC_LEN], Vec<u8>)> {
    let pk = <KemT as Kem>::PublicKey::from_bytes(&recipient.0)
        .map_err(|_| Error::Invalid("not a valid X25519 public key".into()))?;
    let (enc, ct) = hpke::single_shot_seal::<AesGcm256, HkdfSha256, KemT>(
        &OpModeS::Base,
        &pk,
        info,
        plaintext,
        aad,
    )
    .map_err(|_| Error::Invalid("not a valid X25519 public key".into()))?;
    Ok((enc.to_bytes().into(), ct))
}

/// HPKE single-shot open. Every failure is [`Error::DecryptionFailed`].
pub fn open(
    recipient: &PrivateKey,
    enc: &[u8; ENC_LEN],
    info: &[u8],
    aad: &[u8],
    ciphertext: &[u8],
) -> Result<Zeroizing<Vec<u8>>> {
    let enc = <KemT as Kem>::EncappedKey::from_bytes(enc).map_err(|_| Error::DecryptionFailed)?;
    hpke::single_shot_open::<AesGcm256, HkdfSha256, KemT>(
        &OpModeR::Base,
        &recipient.0,
        &enc,
        info,
        ciphertext,
        aad,
    )
    .map(Zeroizing::new)
    .map_err(|_| Error::DecryptionFailed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_open_and_wrong_key() {
        let (sk, pk) = generate_keypair();
        assert_eq!(sk.public_key(), pk);
        let (enc, ct) = seal(&pk, b"info", b"aad", b"dek bytes").unwrap();
        assert_eq!(
            &open(&sk, &enc, b"info", b"aad", &ct).unwrap()[..],
            b"dek bytes"
        );
        let (other, _) = generate_keypair();
        assert!(open(&other, &enc, b"info", b"aad", &ct).is_err());
        assert!(open(&sk, &enc, b"info", b"aaD", &ct).is_err());
        assert!(open(&sk, &enc, b"inf0", b"aad", &ct).is_err());
        let sk2 = PrivateKey::from_secret_bytes(&sk.to_secret_bytes()).unwrap();
        assert_eq!(sk2.public_key(), pk);
    }
}
