//! The few primitives everything else is built from: OS randomness,
//! HKDF-SHA256, single-message AES-256-GCM, constant-time comparison.
//! No protocol logic lives here.

use aes_gcm::aead::{AeadInOut, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use hkdf::Hkdf;
use sha2::Sha256;
use subtle::ConstantTimeEq;

use crate::crypto::secret::Key32;
use crate::error::{Error, Result};

/// AES-GCM tag length in bytes.
pub const TAG_LEN: usize = 16;
/// AES-GCM nonce length in bytes.
pub const NONCE_LEN: usize = 12;

pub use super::random::{fill_random, random_array};

/// HKDF-SHA256 (RFC 5869): Extract with `salt`, then Expand with the
/// concatenation of `info` parts into a 32-byte key.
pub fn hkdf32(salt: &[u8], ikm: &[u8], info: &[&[u8]]) -> Key32 {
    let hk = Hkdf::<Sha256>::new(Some(salt), ikm);
    let mut out = [0u8; 32];
    hk.expand_multi_info(info, &mut out)
        .expect("32 bytes is a valid HKDF-SHA256 output length");
    Key32::from_bytes(out)
}

/// AES-256-GCM seal of one message: returns `ciphertext || tag`.
pub fn seal(key: &Key32, nonce: &[u8; NONCE_LEN], aad: &[u8], plaintext: &[u8]) -> Vec<u8> {
    let cipher = Aes256Gcm::new(key.expose().into());
    let mut buf = Vec::with_capacity(plaintext.len() + TAG_LEN);
    buf.extend_from_slice(plaintext);
    cipher
        .encrypt_in_place(&Nonce::from(*nonce), aad, &mut buf)
        .expect("AES-GCM sealing only fails on messages over 64 GiB");
    buf
}

/// AES-256-GCM open of `ciphertext || tag`. Any failure is
/// [`Error::DecryptionFailed`].
pub fn open(
    key: &Key32,
    nonce: &[u8; NONCE_LEN],
    aad: &[u8],
    ciphertext: &[u8],
) -> Result<zeroize::Zeroizing<Vec<u8>>> {
    if ciphertext.len() < TAG_LEN {
        return Err(Error::DecryptionFailed);
    }
    let cipher = Aes256Gcm::new(key.expose().into());
    let mut buf = zeroize::Zeroizing::new(ciphertext.to_vec());
    cipher
        .decrypt_in_place(&Nonce::from(*nonce), aad, &mut *buf)
        .map_err(|_| Error::DecryptionFailed)?;
    Ok(buf)
}

/// HMAC-SHA256 (RFC 2104) over the concatenation of `parts`.
pub fn hmac32(key: &Key32, parts: &[&[u8]]) -> [u8; 32] {
    use hmac::{KeyInit as _, Mac};
    let mut mac =
        hmac::Hmac::<Sha256>::new_from_slice(key.expose()).expect("HMAC takes a key of any length");
    for p in parts {
        mac.update(p);
    }
    mac.finalize().into_bytes().into()
}

/// Constant-time equality of two byte strings.
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.ct_eq(b).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_open_round_trip_and_tamper() {
        let key = Key32::random();
        let nonce = random_array();
        let ct = seal(&key, &nonce, b"aad", b"hello");
        assert_eq!(&open(&key, &nonce, b"aad", &ct).unwrap()[..], b"hello");
        assert!(matches!(
            open(&key, &nonce, b"aaD", &ct),
            Err(Error::DecryptionFailed)
        ));
        let mut bad = ct.clone();
        bad[0] ^= 1;
        assert!(open(&key, &nonce, b"aad", &bad).is_err());
        assert!(open(&key, &nonce, b"aad", &ct[..10]).is_err());
    }

    #[test]
    fn hkdf_rfc5869_case_1() {
        // RFC 5869 A.1, truncated to our 32-byte output.
        let ikm = [0x0bu8; 22];
        let salt = hex_lit("000102030405060708090a0b0c");
        let info = hex_lit("f0f1f2f3f4f5f6f7f8f9");
        let okm = hkdf32(&salt, &ikm, &[&info[..5], &info[5..]]);
        assert_eq!(
            okm.expose().to_vec(),
            hex_lit("3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf")
        );
    }

    fn hex_lit(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }
}
