//! Organisation policy: what IT sets and the user cannot weaken.
//!
//! Read from the system location only — Linux `/etc/coffer/policy.toml`,
//! macOS `/Library/Managed Preferences/org.coffer.policy.toml` (the TOML is
//! deployed by the MDM profile), Windows `%ProgramData%\Coffer\policy.toml`
//! — and refused unless it is owned by the administrator and writable by
//! no one else. `COFFER_POLICY_FILE` names another file under the same
//! rules, and only where no system policy exists (installs in a
//! non-standard prefix, tests), so it can never replace or weaken one.
//! docs/POLICY.md documents every setting; docs/policy.schema.json is its
//! JSON Schema.
//!
//! Rooms: `settings` (the file's sections and what they mean),
//! `parse` (reading and validating the text), `location` (where the file
//! is and when it is trusted), `enforce` (what it refuses and what an
//! unlock changes), `compliance` (how a device measures up).

use std::path::PathBuf;

mod compliance;
mod enforce;
mod location;
mod parse;
mod settings;
#[cfg(test)]
mod tests;

pub use compliance::{ComplianceCheck, Facts, Rule, Shipping};
pub use enforce::resolve;
pub use location::{MAX_POLICY_LEN, load, load_from, system_path};
pub use parse::{MAX_TEMPORARY_QUIET_SECONDS, parse_public_key, public_key_from_text};
pub use settings::{
    AuditPolicy, DevicePolicy, EscrowPolicy, ExtractPolicy, FolderPolicy, KdfPolicy, LockPolicy,
    Policy, RotationPolicy, UnlockPolicy,
};

/// A policy and where it came from.
#[derive(Clone, Debug)]
pub struct Effective {
    /// The settings.
    pub policy: Policy,
    /// The file they were read from, or `None` for no policy.
    pub source: Option<PathBuf>,
}

impl Effective {
    /// No organisation policy: Coffer's defaults apply.
    pub fn none() -> Self {
        Effective {
            policy: Policy::default(),
            source: None,
        }
    }

    /// Says who set a rule, for messages.
    pub fn by(&self) -> String {
        match &self.source {
            Some(p) => format!("your organisation's policy ({})", p.display()),
            None => "Coffer's defaults".into(),
        }
    }
}
