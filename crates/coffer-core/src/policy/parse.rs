//! Reading policy text: TOML into [`Policy`], then every rule a valid
//! policy keeps (a floor that hardens, folders that can be protected,
//! addresses Coffer can ship to).

use std::path::{Path, PathBuf};

use super::Policy;
use super::settings::expand;
use crate::config::SlotKind;
use crate::crypto::kdf::Argon2Params;
use crate::error::{Error, Result};
use crate::sink::Sink;

impl Policy {
    /// Parses and validates policy text.
    pub fn parse(text: &str) -> Result<Self> {
        let p: Policy = toml::from_str(text).map_err(|e| Error::policy_invalid(e.to_string()))?;
        p.validate()?;
        Ok(p)
    }

    fn validate(&self) -> Result<()> {
        let bad = |why: String| Err(Error::policy_invalid(why));
        if let Some(k) = &self.kdf {
            let params = k.params();
            // A floor below OWASP's minimum would weaken, not harden.
            if !params.at_least(&Argon2Params::FLOOR) {
                return bad(format!(
                    "[kdf] minimum is below the lowest Coffer accepts (memory ≥ {} MiB, time ≥ {}, lanes ≥ {})",
                    Argon2Params::FLOOR.m_kib / 1024,
                    Argon2Params::FLOOR.t,
                    Argon2Params::FLOOR.p
                ));
            }
            if params.check(&Argon2Params::FLOOR).is_err() {
                return bad("[kdf] minimum is above what Coffer can use".into());
            }
            // Beyond it no passphrase slot could be made (or tried).
            if u64::from(params.m_kib) * u64::from(params.t) > crate::config::MAX_UNLOCK_WORK_KIB {
                return bad(format!(
                    "[kdf] minimum memory × time is above what one unlock may spend ({} MiB·passes)",
                    crate::config::MAX_UNLOCK_WORK_KIB / 1024
                ));
            }
        }
        if let Some(u) = &self.unlock
            && !u
                .allowed
                .iter()
                .any(|k| matches!(k, SlotKind::Passphrase | SlotKind::Keychain))
        {
            return bad("[unlock] allowed must include passphrase or keychain".into());
        }
        if let Some(e) = &self.escrow {
            if e.public_key.is_none() && e.kms.is_none() {
                return bad("[escrow] needs public_key or an [escrow.kms] key".into());
            }
            if let Some(k) = &e.public_key {
                parse_public_key(k)?;
            }
            if let Some(k) = &e.kms {
                k.org_key()?;
            }
        }
        if let (Some(e), Some(u)) = (&self.escrow, &self.unlock)
            && e.required
            && !u.allowed.contains(&SlotKind::Escrow)
        {
            // The slot added at each unlock would be refused, and so the unlock.
            return bad("[escrow] required = true needs \"escrow\" in [unlock] allowed".into());
        }
        if let (Some(e), Some(u)) = (&self.escrow, &self.unlock)
            && e.kms.is_some()
            && !u.allowed.contains(&SlotKind::Escrow)
        {
            // Every unlock enrols the KMS key; the enrolment would be refused.
            return bad("[escrow.kms] needs \"escrow\" in [unlock] allowed".into());
        }
        for f in &self.folders.mandatory {
            if !user_path(f) {
                return bad(format!("[folders] {f:?} must be absolute or start with ~/"));
            }
            if let Some(why) = holds_coffer_folders(f) {
                return bad(format!(
                    "[folders] mandatory folder {f:?} {why}: protecting it would encrypt the vault into itself on every laptop; name a folder that holds only documents, such as \"~/Documents/Patients\""
                ));
            }
        }
        if self
            .folders
            .temporary_quiet_seconds
            .is_some_and(|s| s > MAX_TEMPORARY_QUIET_SECONDS)
        {
            return bad(format!(
                "[folders] temporary_quiet_seconds must be at most {MAX_TEMPORARY_QUIET_SECONDS} (a day): longer leaves documents in plaintext"
            ));
        }
        for (key, list) in [
            ("allowed_destinations", &self.extract.allowed_destinations),
            (
                "forbidden_destinations",
                &self.extract.forbidden_destinations,
            ),
        ] {
            // A relative folder would never match, silently allowing nothing
            // or forbidding nothing.
            if let Some(f) = list.iter().find(|f| !user_path(f)) {
                return bad(format!(
                    "[extract] {key}: {f:?} must be absolute or start with ~/"
                ));
            }
        }
        for s in &self.audit.sinks {
            match s {
                Sink::Directory { path } if !(path.starts_with("/") || path.is_absolute()) => {
                    return bad(format!(
                        "[audit] directory sink {} must be an absolute path",
                        path.display()
                    ));
                }
                Sink::Syslog { url } => {
                    crate::sink::check_url(url).map_err(|e| Error::policy_invalid(e.to_string()))?
                }
                Sink::Directory { .. } => {}
            }
        }
        if let Some(l) = &self.lock
            && l.max_auto_lock_minutes == 0
        {
            return bad("[lock] max_auto_lock_minutes must be at least 1".into());
        }
        if let Some(r) = &self.rotation
            && r.period_days == 0
        {
            return bad("[rotation] period_days must be at least 1".into());
        }
        Ok(())
    }
}

/// Longest quiet period policy may set for temporary-looking files.
pub const MAX_TEMPORARY_QUIET_SECONDS: u64 = 86_400;

/// Why a mandatory folder would hold (or lie inside) Coffer's own folders
/// on a typical laptop of any platform, judged on a stand-in home folder so
/// the answer does not depend on the machine that validates the policy.
fn holds_coffer_folders(f: &str) -> Option<String> {
    if Path::new(f)
        .components()
        .any(|c| matches!(c, std::path::Component::ParentDir))
    {
        return Some("contains \"..\"".into());
    }
    let home = Path::new("/home/coffer-policy-check");
    let own = [
        ".local/share/coffer",
        ".config/coffer",
        ".cache/coffer",
        "Library/Application Support/coffer",
        "Library/Caches/coffer",
        "AppData/Roaming/coffer",
        "AppData/Local/coffer",
    ];
    let trimmed = f.trim_end_matches('/');
    let m = match trimmed {
        "~" => home.to_path_buf(),
        "" => PathBuf::from("/"),
        t => expand(t, home),
    };
    for o in own {
        let o = home.join(o);
        if o.starts_with(&m) {
            return Some(format!(
                "would contain Coffer's own folder ~/{}",
                o.strip_prefix(home).unwrap_or(&o).display()
            ));
        }
        if m.starts_with(&o) {
            return Some(format!(
                "lies inside Coffer's own folder ~/{}",
                o.strip_prefix(home).unwrap_or(&o).display()
            ));
        }
    }
    let real_home = std::env::var_os("HOME").map(PathBuf::from);
    for (o, kind) in crate::own_folders::platform_folders() {
        let m = match &real_home {
            Some(h) => expand(f, h),
            None => continue,
        };
        if o.starts_with(&m) || m.starts_with(&o) {
            return Some(format!("would hold {} ({})", kind.describe(), o.display()));
        }
    }
    None
}

/// An absolute path, or `~/…` below the user's home folder.
fn user_path(f: &str) -> bool {
    f.starts_with('/') || f.starts_with("~/") || Path::new(f).is_absolute()
}

/// The organisation public key in `text`: the line printed by `coffer
/// escrow keygen`, or a key file it wrote (see [`crate::format::escrow_key`]).
pub fn public_key_from_text(text: &str) -> Result<crate::crypto::wrap::PublicKey> {
    crate::format::escrow_key::public_from_text(text).map_err(not_an_escrow_key)
}

/// Parses `coffer-escrow-public:BASE64` (or bare base64); a key that does
/// not parse makes the policy invalid.
pub fn parse_public_key(s: &str) -> Result<crate::crypto::wrap::PublicKey> {
    crate::format::escrow_key::parse_public(s).map_err(not_an_escrow_key)
}

fn not_an_escrow_key(_: Error) -> Error {
    Error::policy_invalid("escrow public_key is not a Coffer escrow public key")
}
