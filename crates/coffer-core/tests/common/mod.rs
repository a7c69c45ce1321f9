//! What the core's black-box tests share.

use std::path::Path;

use coffer_core::kdf::Argon2Params;
use coffer_core::secret::Passphrase;
use coffer_core::vault::{CreateOptions, Vault};

/// A new vault in `dir`, unlocked, with the cheapest passphrase derivation
/// the core accepts (these tests are not about the KDF).
pub fn new_vault(dir: &Path) -> Vault {
    Vault::create(
        dir,
        CreateOptions {
            passphrase: &Passphrase::from("pw"),
            kdf: Argon2Params::FLOOR,
            keychain_secret: None,
            escrow: None,
        },
    )
    .unwrap()
    .vault
}
