//! What can go wrong between IT's machine and the KMS/HSM, one variant per
//! thing IT does differently about it.

/// A KMS/HSM failure. Messages name no secret (token, PIN, key material).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KmsError {
    /// The token, or the PIN, was refused.
    #[error("the KMS/HSM refused the credential (token or PIN)")]
    Denied,
    /// Nothing answered: server down, wrong address or port, no network.
    #[error("the KMS could not be reached at {0}")]
    Unreachable(String),
    /// The TLS handshake failed: the certificate is not for that name,
    /// not signed by a trusted CA, or expired.
    #[error("TLS to {url} failed: {why}")]
    Tls {
        /// Where.
        url: String,
        /// What the TLS library said.
        why: String,
    },
    /// No key of that name (or version) at the KMS/HSM.
    #[error("no key {0} at the KMS/HSM")]
    KeyNotFound(String),
    /// The key exists but not at that version.
    #[error("the key has no version {0}")]
    NoSuchVersion(u32),
    /// The vault's slot was made for another key.
    #[error("this vault's KMS escrow slot is for another key ({slot}); the KMS/HSM key is {store}")]
    OtherKey {
        /// The slot's key name, version and fingerprint.
        slot: String,
        /// The store key's fingerprint.
        store: String,
    },
    /// The vault has no KMS escrow slot.
    #[error("this vault has no KMS escrow slot")]
    NoSlot,
    /// The KMS/HSM could not decrypt the slot (damaged slot).
    #[error("the KMS/HSM could not decrypt this vault's slot")]
    DecryptFailed,
    /// The PKCS#11 module, or the token, could not be found or loaded.
    #[error("PKCS#11: {0}")]
    Token(String),
    /// An answer the protocol does not allow.
    #[error("unexpected answer from the KMS: {0}")]
    Protocol(String),
    /// The request cannot be made as given (bad URL, unreadable CA file).
    #[error("{0}")]
    Config(String),
}
