//! Secret byte strings: zeroized on drop, never printed.

use std::fmt;
use zeroize::Zeroizing;

/// A 256-bit secret key. `Debug` prints `<redacted>`; memory is wiped on drop.
#[derive(Clone)]
pub struct Key32(Zeroizing<[u8; 32]>);

impl Key32 {
    /// A fresh key from the OS random source.
    pub fn random() -> Self {
        let mut k = Zeroizing::new([0u8; 32]);
        super::random::fill_random(k.as_mut());
        Key32(k)
    }

    /// Wraps bytes that already are a key (the caller's copy should be zeroized).
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Key32(Zeroizing::new(bytes))
    }

    /// Copies a key out of a slice of exactly 32 bytes.
    pub fn from_slice(bytes: &[u8]) -> Option<Self> {
        let arr: [u8; 32] = bytes.try_into().ok()?;
        Some(Self::from_bytes(arr))
    }

    /// The key bytes. Keep the borrow short.
    pub fn expose(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Debug for Key32 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Key32(<redacted>)")
    }
}

/// A passphrase as typed. `Debug` prints `<redacted>`; wiped on drop.
pub struct Passphrase(Zeroizing<String>);

impl Passphrase {
    /// Takes ownership of the typed string.
    pub fn new(s: String) -> Self {
        Passphrase(Zeroizing::new(s))
    }

    /// The UTF-8 bytes fed to Argon2id.
    pub fn expose(&self) -> &[u8] {
        self.0.as_bytes()
    }

    /// Whether nothing was typed.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl From<&str> for Passphrase {
    fn from(s: &str) -> Self {
        Passphrase::new(s.to_owned())
    }
}

impl fmt::Debug for Passphrase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Passphrase(<redacted>)")
    }
}
