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

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::config::SlotKind;
use crate::error::{Error, Result};
use crate::kdf::Argon2Params;
use crate::sink::Sink;

/// Largest policy file read (bigger ones are refused before reading).
pub const MAX_POLICY_LEN: u64 = 256 << 10;

/// The system policy location on this OS.
pub fn system_path() -> PathBuf {
    #[cfg(target_os = "macos")]
    return PathBuf::from("/Library/Managed Preferences/org.coffer.policy.toml");
    #[cfg(windows)]
    return PathBuf::from(
        std::env::var("ProgramData").unwrap_or_else(|_| r"C:\ProgramData".into()),
    )
    .join("Coffer")
    .join("policy.toml");
    #[cfg(not(any(target_os = "macos", windows)))]
    PathBuf::from("/etc/coffer/policy.toml")
}

/// Minimum Argon2id parameters for passphrase slots.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KdfPolicy {
    /// Memory in MiB.
    pub min_memory_mib: u32,
    /// Passes.
    pub min_time: u32,
    /// Lanes.
    pub min_lanes: u32,
}

/// Which unlock methods may be used.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UnlockPolicy {
    /// Allowed slot kinds; the others are refused at unlock and enrolment.
    pub allowed: Vec<SlotKind>,
}

/// The organisation's escrow key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EscrowPolicy {
    /// `coffer-escrow-public:BASE64` as printed by `coffer escrow keygen`.
    pub public_key: String,
    /// Whether every vault must carry an escrow slot (added at next unlock).
    #[serde(default)]
    pub required: bool,
}

/// Folders that must be protected.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FolderPolicy {
    /// Absolute paths; `~/` means the user's home folder.
    #[serde(default)]
    pub mandatory: Vec<String>,
    /// How long a temporary-looking file (`~$x.docx`, `x~`, `.swp`, a
    /// partial download) must be left unwritten before it is encrypted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temporary_quiet_seconds: Option<u64>,
}

/// Auto-lock.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LockPolicy {
    /// The longest idle time before the app locks itself.
    pub max_auto_lock_minutes: u32,
}

/// Scheduled rotation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RotationPolicy {
    /// Days between vault key rotations.
    pub period_days: u32,
}

/// Where the audit trail goes.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditPolicy {
    /// Sinks every vault ships to (in addition to the user's own).
    #[serde(default)]
    pub sinks: Vec<Sink>,
}

/// Device requirements.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DevicePolicy {
    /// Full-disk encryption must be on.
    #[serde(default)]
    pub require_disk_encryption: bool,
}

/// Where files may be extracted to.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExtractPolicy {
    /// If set, extraction only below these folders.
    #[serde(default)]
    pub allowed_destinations: Vec<String>,
    /// Never below these folders (e.g. removable media).
    #[serde(default)]
    pub forbidden_destinations: Vec<String>,
}

/// The whole policy file. Every section is optional.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    /// Minimum KDF parameters.
    pub kdf: Option<KdfPolicy>,
    /// Allowed unlock methods.
    pub unlock: Option<UnlockPolicy>,
    /// Organisation escrow.
    pub escrow: Option<EscrowPolicy>,
    /// Mandatory protected folders.
    #[serde(default)]
    pub folders: FolderPolicy,
    /// Auto-lock ceiling.
    pub lock: Option<LockPolicy>,
    /// Rotation period.
    pub rotation: Option<RotationPolicy>,
    /// Audit sinks.
    #[serde(default)]
    pub audit: AuditPolicy,
    /// Device requirements.
    #[serde(default)]
    pub device: DevicePolicy,
    /// Extraction destinations.
    #[serde(default)]
    pub extract: ExtractPolicy,
}

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

    /// Refuses Argon2id parameters below the floor. Below Coffer's own
    /// floor it is a parameter error; below an organisation's, the
    /// organisation's policy refuses them.
    pub fn check_kdf(&self, k: &Argon2Params) -> Result<()> {
        let floor = self.policy.kdf_floor();
        if k.at_least(&floor) {
            return Ok(());
        }
        let why = format!(
            "m={} MiB, t={}, p={} are below the minimum of m={} MiB, t={}, p={} set by {}",
            k.m_kib / 1024,
            k.t,
            k.p,
            floor.m_kib / 1024,
            floor.t,
            floor.p,
            self.by()
        );
        Err(match self.source {
            Some(_) => Error::KdfBelowPolicy(why),
            None => Error::KdfParams(why),
        })
    }

    /// The refusal of something this policy does not allow: `what` says
    /// what ("a keychain slot is not allowed"), the message adds whose rule.
    pub fn forbids(&self, what: impl std::fmt::Display) -> Error {
        Error::PolicyForbids(format!("{what} by {}", self.by()))
    }

    /// Says who set a rule, for messages.
    pub fn by(&self) -> String {
        match &self.source {
            Some(p) => format!("your organisation's policy ({})", p.display()),
            None => "Coffer's defaults".into(),
        }
    }
}

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
            parse_public_key(&e.public_key)?;
        }
        if let (Some(e), Some(u)) = (&self.escrow, &self.unlock)
            && e.required
            && !u.allowed.contains(&SlotKind::Escrow)
        {
            // The slot added at each unlock would be refused, and so the unlock.
            return bad("[escrow] required = true needs \"escrow\" in [unlock] allowed".into());
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

    /// How long temporary-looking files wait before they are encrypted.
    pub fn temporary_quiet(&self) -> std::time::Duration {
        self.folders.temporary_quiet_seconds.map_or(
            crate::plaintext::DEFAULT_TEMPORARY_QUIET,
            std::time::Duration::from_secs,
        )
    }

    /// The KDF floor: the policy's, never below Coffer's own.
    pub fn kdf_floor(&self) -> Argon2Params {
        self.kdf.map_or(Argon2Params::FLOOR, |k| k.params())
    }

    /// The parameters for a new passphrase slot: Coffer's defaults, raised
    /// to the floor where the policy asks for more.
    pub fn kdf_default(&self) -> Argon2Params {
        Argon2Params::DEFAULT.raised_to(&self.kdf_floor())
    }

    /// Whether a slot kind may be used.
    pub fn allows(&self, kind: SlotKind) -> bool {
        self.unlock
            .as_ref()
            .is_none_or(|u| u.allowed.contains(&kind))
    }

    /// The escrow public key, if set.
    pub fn escrow_key(&self) -> Option<crate::wrap::PublicKey> {
        self.escrow
            .as_ref()
            .and_then(|e| parse_public_key(&e.public_key).ok())
    }

    /// Mandatory folders, with `~/` expanded against `home`.
    pub fn mandatory_folders(&self, home: &Path) -> Vec<PathBuf> {
        self.folders
            .mandatory
            .iter()
            .map(|f| expand(f, home))
            .collect()
    }

    /// Refuses an extraction destination the policy rules out. `dest` and
    /// the policy's folders are judged by where they really are (see
    /// [`resolve`]): a `..` or a symlinked folder cannot carry a file out
    /// of an allowed folder or into a forbidden one.
    pub fn check_extract(&self, dest: &Path, home: &Path) -> std::result::Result<(), String> {
        let ex = &self.extract;
        if ex.forbidden_destinations.is_empty() && ex.allowed_destinations.is_empty() {
            return Ok(());
        }
        // The message names no part of `dest`: it ends in a protected file's name.
        let dest =
            resolve(dest).map_err(|e| format!("the destination folder cannot be checked ({e})"))?;
        let folder = |f: &str| {
            let raw = expand(f, home);
            resolve(&raw).unwrap_or(raw)
        };
        for f in &ex.forbidden_destinations {
            if dest.starts_with(folder(f)) {
                return Err(format!("extracting below {f} is not allowed"));
            }
        }
        let allowed = &ex.allowed_destinations;
        if !allowed.is_empty() && !allowed.iter().any(|a| dest.starts_with(folder(a))) {
            return Err(format!(
                "files may only be extracted below {}",
                allowed.join(", ")
            ));
        }
        Ok(())
    }
}

/// Where `path` is, or would be once created: made absolute, its longest
/// existing ancestor canonicalized (symlinks followed, `..` resolved as
/// the OS does), and the part that does not exist yet appended with its
/// `.` and `..` applied lexically (there is nothing on disk for them to
/// pass through; folders created for it are real folders). An ancestor
/// that exists but cannot be resolved (a dangling symlink, a folder that
/// cannot be read) is an error.
pub fn resolve(path: &Path) -> std::io::Result<PathBuf> {
    use std::path::Component;
    let abs = std::path::absolute(path)?;
    for ancestor in abs.ancestors() {
        match std::fs::canonicalize(ancestor) {
            Ok(mut real) => {
                let rest = abs.strip_prefix(ancestor).expect("an ancestor of abs");
                for c in rest.components() {
                    match c {
                        Component::ParentDir => {
                            real.pop();
                        }
                        Component::Normal(n) => real.push(n),
                        _ => {}
                    }
                }
                return Ok(real);
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                if std::fs::symlink_metadata(ancestor).is_ok() {
                    // It exists, so it is a symlink to nothing.
                    return Err(std::io::Error::new(
                        std::io::ErrorKind::NotFound,
                        "a folder on the way is a symlink to nothing",
                    ));
                }
            }
            Err(e) => return Err(e),
        }
    }
    Err(std::io::Error::new(
        std::io::ErrorKind::NotFound,
        "no folder on the way exists",
    ))
}

impl KdfPolicy {
    /// As Argon2id parameters.
    pub fn params(&self) -> Argon2Params {
        Argon2Params {
            m_kib: self.min_memory_mib.saturating_mul(1024),
            t: self.min_time,
            p: self.min_lanes,
        }
    }
}

/// An absolute path, or `~/…` below the user's home folder.
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

fn user_path(f: &str) -> bool {
    f.starts_with('/') || f.starts_with("~/") || Path::new(f).is_absolute()
}

fn expand(f: &str, home: &Path) -> PathBuf {
    match f.strip_prefix("~/") {
        Some(rest) => home.join(rest),
        None => PathBuf::from(f),
    }
}

/// The organisation public key in `text`: the line printed by `coffer
/// escrow keygen`, or a key file it wrote. Such a file holds the private
/// line too; only the public line is ever taken.
pub fn public_key_from_text(text: &str) -> Result<crate::wrap::PublicKey> {
    let line = text
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with("coffer-escrow-public:"))
        .or_else(|| {
            text.lines()
                .map(str::trim)
                .find(|l| !l.is_empty() && !l.starts_with('#') && !l.contains("private"))
        })
        .unwrap_or("");
    parse_public_key(line)
}

/// Parses `coffer-escrow-public:BASE64` (or bare base64).
pub fn parse_public_key(s: &str) -> Result<crate::wrap::PublicKey> {
    use base64::Engine as _;
    let b64 = s.trim().trim_start_matches("coffer-escrow-public:");
    base64::engine::general_purpose::STANDARD
        .decode(b64)
        .ok()
        .and_then(|b| <[u8; 32]>::try_from(b).ok())
        .map(crate::wrap::PublicKey)
        .ok_or_else(|| Error::policy_invalid("escrow public_key is not a Coffer escrow public key"))
}

/// Loads the effective policy: the system file if present, else
/// `COFFER_POLICY_FILE` if set, else none.
pub fn load() -> Result<Effective> {
    let system = system_path();
    let path = if system.exists() {
        system
    } else if let Some(p) = std::env::var_os("COFFER_POLICY_FILE") {
        PathBuf::from(p)
    } else {
        return Ok(Effective::none());
    };
    load_from(&path)
}

/// Loads a policy file, refusing one the user could have written.
pub fn load_from(path: &Path) -> Result<Effective> {
    check_protected(path)?;
    let bytes =
        crate::fsutil::read_bounded(path, MAX_POLICY_LEN, "policy").map_err(|e| match e {
            Error::Corrupt { why, .. } => Error::PolicyInvalid { why },
            other => other,
        })?;
    let text = String::from_utf8(bytes).map_err(|_| Error::policy_invalid("file is not UTF-8"))?;
    Ok(Effective {
        policy: Policy::parse(&text)?,
        source: Some(path.to_path_buf()),
    })
}

/// The file and its folder must belong to the administrator and be
/// writable by no one else; otherwise a user could weaken the policy.
fn check_protected(path: &Path) -> Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let mut p = Some(path);
        while let Some(cur) = p {
            let m = std::fs::metadata(cur).map_err(|e| Error::Io {
                context: "reading the organisation policy",
                source: e,
            })?;
            if m.uid() != 0 || m.mode() & 0o022 != 0 {
                return Err(Error::PolicyUntrusted {
                    path: path.to_path_buf(),
                });
            }
            // The file and its own folder are what a user could swap.
            p = if cur == path { cur.parent() } else { None };
        }
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const FULL: &str = r#"
[kdf]
min_memory_mib = 256
min_time = 3
min_lanes = 4

[unlock]
allowed = ["passphrase", "recovery", "escrow"]

[folders]
mandatory = ["~/Scans"]

[lock]
max_auto_lock_minutes = 15

[rotation]
period_days = 90

[[audit.sinks]]
kind = "directory"
path = "/mnt/audit"

[device]
require_disk_encryption = true

[extract]
forbidden_destinations = ["/media"]
"#;

    #[test]
    fn full_policy_parses() {
        let p = Policy::parse(FULL).unwrap();
        assert_eq!(p.kdf_floor(), Argon2Params::DEFAULT);
        assert!(!p.allows(SlotKind::Keychain));
        assert!(p.allows(SlotKind::Passphrase));
        assert_eq!(
            p.mandatory_folders(Path::new("/home/a")),
            vec![PathBuf::from("/home/a/Scans")]
        );
        assert!(
            p.check_extract(Path::new("/media/usb/x"), Path::new("/h"))
                .is_err()
        );
        assert!(
            p.check_extract(Path::new("/home/a/x"), Path::new("/h"))
                .is_ok()
        );
    }

    #[test]
    fn bad_policies_are_refused_with_a_reason() {
        for (text, why) in [
            (
                "[kdf]\nmin_memory_mib = 1\nmin_time = 1\nmin_lanes = 1\n",
                "below",
            ),
            (
                "[unlock]\nallowed = [\"recovery\"]\n",
                "passphrase or keychain",
            ),
            ("[lock]\nmax_auto_lock_minutes = \"ten\"\n", "invalid type"),
            ("[surprise]\nx = 1\n", "unknown field"),
            ("[escrow]\npublic_key = \"nope\"\n", "escrow"),
            ("[folders]\nmandatory = [\"relative/dir\"]\n", "absolute"),
            (
                "[folders]\nmandatory = [\"~/\"]\n",
                "contain Coffer's own folder",
            ),
            (
                "[folders]\nmandatory = [\"/\"]\n",
                "contain Coffer's own folder",
            ),
            (
                "[folders]\nmandatory = [\"/home\"]\n",
                "contain Coffer's own folder",
            ),
            (
                "[folders]\nmandatory = [\"~/.local\"]\n",
                "contain Coffer's own folder",
            ),
            (
                "[folders]\nmandatory = [\"~/.local/share/coffer/vault/x\"]\n",
                "inside Coffer's own folder",
            ),
            ("[folders]\nmandatory = [\"~/Documents/../\"]\n", "\"..\""),
            ("[folders]\ntemporary_quiet_seconds = 100000\n", "at most"),
            (
                "[extract]\nallowed_destinations = [\"Desktop\"]\n",
                "absolute",
            ),
            (
                "[[audit.sinks]]\nkind = \"directory\"\npath = \"audit\"\n",
                "absolute",
            ),
            (
                "[[audit.sinks]]\nkind = \"syslog\"\nurl = \"logs.example:514\"\n",
                "syslog address",
            ),
            (
                "[[audit.sinks]]\nkind = \"email\"\nto = \"it@example.org\"\n",
                "unknown variant",
            ),
            (
                "[escrow]\npublic_key = \"MoVbMU08A7PE3xUloUc4IZP1r8CGnbXFHxNjD+kr/s0=\"\nrequired = true\n\
                 [unlock]\nallowed = [\"passphrase\"]\n",
                "needs \"escrow\"",
            ),
        ] {
            let err = Policy::parse(text).unwrap_err().to_string();
            assert!(err.contains(why), "{text:?}: {err}");
        }
    }

    fn extract_policy(allowed: &[&Path], forbidden: &[&Path]) -> Policy {
        let s = |v: &[&Path]| v.iter().map(|p| p.display().to_string()).collect();
        Policy {
            extract: ExtractPolicy {
                allowed_destinations: s(allowed),
                forbidden_destinations: s(forbidden),
            },
            ..Policy::default()
        }
    }

    #[test]
    fn extraction_is_judged_by_where_the_file_really_lands() {
        let d = tempfile::tempdir().unwrap();
        let root = d.path();
        let (ok, no) = (root.join("Allowed"), root.join("Forbidden"));
        std::fs::create_dir_all(ok.join("sub")).unwrap();
        std::fs::create_dir_all(&no).unwrap();
        let home = Path::new("/nonexistent-home");
        let p = extract_policy(&[&ok], &[&no]);
        assert_eq!(p.check_extract(&ok.join("x"), home), Ok(()));
        assert_eq!(p.check_extract(&ok.join("new/deeper/x"), home), Ok(()));
        assert_eq!(p.check_extract(&ok.join("sub/../x"), home), Ok(()));
        // `..` out of the allowed folder, existing or not on the way.
        for dest in [
            ok.join("../Forbidden/x"),
            ok.join("sub/../../Forbidden/x"),
            ok.join("new/../../Forbidden/x"),
            ok.join("new/../../elsewhere/x"),
        ] {
            assert!(p.check_extract(&dest, home).is_err(), "{dest:?}");
        }
        let only_forbid = extract_policy(&[], &[&no]);
        assert!(
            only_forbid
                .check_extract(&ok.join("../Forbidden/new/x"), home)
                .is_err()
        );
        assert_eq!(only_forbid.check_extract(&ok.join("x"), home), Ok(()));
        #[cfg(unix)]
        {
            use std::os::unix::fs::symlink;
            // A symlink inside the allowed folder pointing into the forbidden one.
            symlink(&no, ok.join("link")).unwrap();
            for dest in [ok.join("link/x"), ok.join("link/new/x")] {
                let err = p.check_extract(&dest, home).unwrap_err();
                assert!(err.contains("not allowed"), "{err}");
                let err = only_forbid.check_extract(&dest, home).unwrap_err();
                assert!(err.contains("not allowed"), "{err}");
            }
            // A dangling symlink on the way is refused, not judged by its name.
            symlink(root.join("gone"), ok.join("dangling")).unwrap();
            assert!(p.check_extract(&ok.join("dangling/x"), home).is_err());
            // The policy's own folders are resolved too: an allowed folder
            // named through a symlink, a forbidden one reached through one.
            symlink(&ok, root.join("AllowedLink")).unwrap();
            symlink(&no, root.join("ForbiddenLink")).unwrap();
            let via = extract_policy(&[&root.join("AllowedLink")], &[&root.join("ForbiddenLink")]);
            assert_eq!(via.check_extract(&ok.join("x"), home), Ok(()));
            assert!(via.check_extract(&no.join("x"), home).is_err());
            assert!(via.check_extract(&root.join("x"), home).is_err());
        }
    }

    #[test]
    fn resolve_applies_the_missing_tail_lexically() {
        let d = tempfile::tempdir().unwrap();
        let real = std::fs::canonicalize(d.path()).unwrap();
        assert_eq!(
            resolve(&d.path().join("a/./b/../c")).unwrap(),
            real.join("a/c")
        );
        assert_eq!(
            resolve(&d.path().join("a/../../x")).unwrap(),
            real.parent().unwrap().join("x")
        );
    }

    #[test]
    fn user_writable_policy_is_refused() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("policy.toml");
        std::fs::write(&p, FULL).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o666)).unwrap();
            let err = load_from(&p).unwrap_err().to_string();
            assert!(err.contains("writable"), "{err}");
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).unwrap();
            std::fs::set_permissions(d.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
            // Tests run as root in CI; elsewhere the file is not root's.
            if rustix::process::getuid().is_root() {
                assert!(load_from(&p).is_ok());
            } else {
                assert!(load_from(&p).is_err());
            }
        }
    }
}
