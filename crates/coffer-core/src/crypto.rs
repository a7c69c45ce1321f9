//! The crypto room: the primitives everything is built from, secret types,
//! passphrase key derivation and HPKE key wrapping. It knows nothing of the
//! on-disk format; `keys` and `stream` (which derive and encrypt per the
//! format) build on it and on [`crate::format`].
//!
//! Inside, dependencies run one way: `random` ← `secret` ← `primitives`
//! ← `kdf`, `wrap`; `rsa_oaep` (encryption to an organisation key in a
//! KMS/HSM) stands alone.

pub mod kdf;
pub mod primitives;
pub mod random;
pub mod rsa_oaep;
pub mod secret;
pub mod wrap;
