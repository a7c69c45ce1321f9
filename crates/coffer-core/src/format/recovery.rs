//! The recovery key as humans see it: 32 random bytes plus a 3-byte
//! SHA-256 checksum, in RFC 4648 base32 (56 characters), in 7 groups of 8.

use data_encoding::BASE32_NOPAD;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::crypto::secret::Key32;
use crate::error::{Error, Result};

const CHECK_LEN: usize = 3;

/// Formats a recovery key for printing.
pub fn encode(key: &Key32) -> Zeroizing<String> {
    let mut raw = Zeroizing::new(Vec::with_capacity(32 + CHECK_LEN));
    raw.extend_from_slice(key.expose());
    raw.extend_from_slice(&Sha256::digest(key.expose())[..CHECK_LEN]);
    let s = Zeroizing::new(BASE32_NOPAD.encode(&raw));
    let mut out = Zeroizing::new(String::with_capacity(64));
    for (i, c) in s.chars().enumerate() {
        if i > 0 && i % 8 == 0 {
            out.push('-');
        }
        out.push(c);
    }
    out
}

/// Parses a typed recovery key: case, spaces and dashes do not matter, and
/// the digits 0, 1 and 8 are read as the letters O, I and B they resemble.
/// A typo is caught by the checksum and reported as such.
pub fn decode(typed: &str) -> Result<Key32> {
    let cleaned: Zeroizing<String> = Zeroizing::new(
        typed
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '-')
            .map(|c| match c.to_ascii_uppercase() {
                '0' => 'O',
                '1' => 'I',
                '8' => 'B',
                u => u,
            })
            .collect(),
    );
    let typo =
        || Error::Invalid("that recovery key has a typo: check each group of 8 characters".into());
    let raw = Zeroizing::new(
        BASE32_NOPAD
            .decode(cleaned.as_bytes())
            .map_err(|_| typo())?,
    );
    if raw.len() != 32 + CHECK_LEN {
        return Err(typo());
    }
    let (key, check) = raw.split_at(32);
    if !crate::crypto::primitives::ct_eq(&Sha256::digest(key)[..CHECK_LEN], check) {
        return Err(typo());
    }
    Ok(Key32::from_slice(key).expect("32 bytes"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_typos() {
        let k = Key32::random();
        let s = encode(&k);
        assert_eq!(s.len(), 56 + 6);
        assert_eq!(decode(&s).unwrap().expose(), k.expose());
        assert_eq!(
            decode(&s.to_lowercase().replace('-', " "))
                .unwrap()
                .expose(),
            k.expose()
        );
        let mut typo: Vec<char> = s.chars().collect();
        typo[3] = if typo[3] == 'A' { 'B' } else { 'A' };
        let typo: String = typo.into_iter().collect();
        assert!(matches!(decode(&typo), Err(Error::Invalid(_))));
        assert!(decode("short").is_err());
    }
}
