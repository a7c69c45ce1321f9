//! Coffer's engine: the on-disk format, the crypto, key slots and the vault
//! store. No user interface, no async runtime: the CLI and the desktop app
//! are thin layers over this crate.
//!
//! Dependencies run one way: `crypto` (random, secret, primitives, kdf,
//! wrap) → `format` (header, records, index, recovery-key and escrow-key
//! text) → `keys`/`stream` → `config` (slots) → `object` → `vault`, with
//! `policy` beside the vault and `error` at the bottom.
#![forbid(unsafe_code)]

pub mod audit;
pub mod beneath;
pub mod config;
pub mod crypto;
pub mod error;
pub mod format;
pub mod fsutil;
pub mod keys;
pub mod object;
pub mod own_folders;
pub mod own_kind;
pub mod paths;
pub mod plaintext;
pub mod policy;
pub mod posture;
pub mod stream;
pub mod vault;
pub mod watch;

pub use audit::sink;
pub use error::{Error, ErrorKind, Result};

// The crypto and format rooms' modules keep their historical paths
// (`coffer_core::primitives`, `coffer_core::recovery`, ...).
pub use crypto::{kdf, primitives, secret, wrap};
pub use format::{escrow_key, recovery};
