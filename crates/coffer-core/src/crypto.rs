//! The crypto room: the primitives everything is built from, secret types,
//! passphrase key derivation and HPKE key wrapping. It knows nothing of the
//! on-disk format; `keys` and `stream` (which derive and encrypt per the
//! format) build on it and on [`crate::format`].
//!
//! Inside, dependencies run one way: `random` ← `secret` ← `primitives`
//! ← `kdf`, `wrap`.

pub mod kdf;
pub mod primitives;
pub mod random;
pub mod secret;
pub mod wrap;
