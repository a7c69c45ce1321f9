//! Coffer's engine: the on-disk format, the crypto, key slots and the vault
//! store. No user interface, no async runtime: the CLI and the desktop app
//! are thin layers over this crate.
//!
//! Dependencies run one way: `primitives` → `format`/`keys` → `stream` →
//! `wrap` → `config` (slots) → `object` → `vault`.
#![forbid(unsafe_code)]

pub mod audit;
pub mod beneath;
pub mod config;
pub mod error;
pub mod format;
pub mod fsutil;
pub mod kdf;
pub mod keys;
pub mod object;
pub mod own_folders;
pub mod paths;
pub mod plaintext;
pub mod policy;
pub mod posture;
pub mod primitives;
pub mod recovery;
pub mod secret;
pub mod sink;
pub mod stream;
pub mod vault;
pub mod watch;
pub mod wrap;

pub use error::{Error, Result};
