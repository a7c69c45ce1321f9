//! The organisation escrow key as text: the two lines `coffer escrow
//! keygen` prints and writes, `coffer-escrow-public:BASE64` and
//! `coffer-escrow-private:BASE64` (standard base64 of the 32-byte X25519
//! key), and the key file holding both. The KMS/HSM escrow slot, whose
//! key is never in a file, is [`kms`].

pub mod kms;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use zeroize::Zeroizing;

use crate::crypto::secret::Key32;
use crate::crypto::wrap::{PrivateKey, PublicKey};
use crate::error::{Error, Result};

/// What starts a public key line.
pub const PUBLIC_TAG: &str = "coffer-escrow-public:";
/// What starts a private key line.
pub const PRIVATE_TAG: &str = "coffer-escrow-private:";

/// `coffer-escrow-public:BASE64`.
pub fn encode_public(pk: &PublicKey) -> String {
    format!("{PUBLIC_TAG}{}", STANDARD.encode(pk.0))
}

/// `coffer-escrow-private:BASE64`. Zeroized when dropped.
pub fn encode_private(sk: &PrivateKey) -> Zeroizing<String> {
    Zeroizing::new(format!(
        "{PRIVATE_TAG}{}",
        STANDARD.encode(sk.to_secret_bytes().expose())
    ))
}

/// The key file `coffer escrow keygen` writes: a warning, the private
/// line, the public line. Zeroized when dropped.
pub fn encode_key_file(sk: &PrivateKey, pk: &PublicKey) -> Zeroizing<String> {
    Zeroizing::new(format!(
        "# Coffer organisation escrow key. SECRET: it can unlock every enrolled vault.\n# Keep it offline, never on a clinic laptop.\n{}\n{}\n",
        encode_private(sk).as_str(),
        encode_public(pk)
    ))
}

/// Parses `coffer-escrow-public:BASE64` (or bare base64).
pub fn parse_public(s: &str) -> Result<PublicKey> {
    let b64 = s.trim().trim_start_matches(PUBLIC_TAG);
    STANDARD
        .decode(b64)
        .ok()
        .and_then(|b| <[u8; 32]>::try_from(b).ok())
        .map(PublicKey)
        .ok_or_else(|| Error::corrupt("escrow public key", "not a Coffer escrow public key"))
}

/// The public key in `text`: the line printed by `coffer escrow keygen`,
/// or a key file it wrote. Such a file holds the private line too; only
/// the public line is ever taken.
pub fn public_from_text(text: &str) -> Result<PublicKey> {
    let line = text
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with(PUBLIC_TAG))
        .or_else(|| {
            text.lines()
                .map(str::trim)
                .find(|l| !l.is_empty() && !l.starts_with('#') && !l.contains("private"))
        })
        .unwrap_or("");
    parse_public(line)
}

/// The base64 of the private key line in `text`, if it has one.
pub fn find_private(text: &str) -> Option<&str> {
    text.lines()
        .find_map(|l| l.trim().strip_prefix(PRIVATE_TAG))
        .map(str::trim)
}

/// Parses the base64 [`find_private`] found.
pub fn parse_private(b64: &str) -> Result<PrivateKey> {
    let bytes = Zeroizing::new(
        STANDARD
            .decode(b64.trim())
            .map_err(|_| Error::corrupt("escrow private key", "not base64"))?,
    );
    let k = Key32::from_slice(&bytes)
        .ok_or_else(|| Error::corrupt("escrow private key", "not 32 bytes"))?;
    PrivateKey::from_secret_bytes(&k)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_file_round_trips() {
        let (sk, pk) = crate::crypto::wrap::generate_keypair();
        let file = encode_key_file(&sk, &pk);
        assert_eq!(public_from_text(&file).unwrap(), pk);
        let back = parse_private(find_private(&file).unwrap()).unwrap();
        assert_eq!(
            back.to_secret_bytes().expose(),
            sk.to_secret_bytes().expose()
        );
        assert_eq!(parse_public(&encode_public(&pk)).unwrap(), pk);
        // Bare base64 is a public key too.
        let bare = encode_public(&pk);
        assert_eq!(
            parse_public(bare.trim_start_matches(PUBLIC_TAG)).unwrap(),
            pk
        );
    }

    #[test]
    fn bad_text_is_refused() {
        assert!(parse_public("nope").is_err());
        assert!(public_from_text("# only a comment\ncoffer-escrow-private:AAAA").is_err());
        assert!(find_private("coffer-escrow-public:AAAA").is_none());
        assert!(parse_private("AAAA").is_err());
        assert!(parse_private("!!").is_err());
    }
}
