//! What every command starts from: the vault folder, JSON or not, how to
//! unlock, and the progress bar and one-line answers they share.

use std::io::IsTerminal;
use std::path::PathBuf;

use coffer_core::config::{Credential, SlotKind};
use coffer_core::vault::Vault;
use indicatif::{ProgressBar, ProgressStyle};

use crate::creds::{self, CredFlags};
use crate::exit::Failure;
use crate::keychain;

/// The vault when neither --vault nor COFFER_VAULT names one.
pub fn default_vault_dir() -> PathBuf {
    dirs::data_dir()
        .unwrap_or_else(|| PathBuf::from("."))
        .join("coffer")
        .join("vault")
}

/// The global options every command runs with.
pub struct Ctx {
    pub dir: PathBuf,
    pub json: bool,
    pub cred: CredFlags,
}

impl Ctx {
    /// The vault, locked; a missing one is named in the message.
    pub fn open(&self) -> Result<Vault, Failure> {
        Vault::open(&self.dir).map_err(|e| {
            let mut f = Failure::from(e);
            if f.kind == "not_found" {
                f.message = format!("no vault at {}", self.dir.display());
            }
            f
        })
    }

    /// The vault, locked, with the writer key this computer keeps for it
    /// (OS keychain), so that files can be added while it is locked. When
    /// there is none, adding fails with `writer_key_unavailable` and its
    /// hint; a config that fails the check is `tampered`.
    pub fn open_for_writing(&self) -> Result<Vault, Failure> {
        let mut v = self.open()?;
        match coffer_keychain::arm_writer(&mut v) {
            Ok(()) => Ok(v),
            // No key kept here: a credential at hand (flags, the
            // environment, or a terminal to ask on) unlocks instead, which
            // authenticates the config just as well.
            Err(coffer_keychain::EnrolError::Keychain(_)) if self.credential_at_hand() => {
                if std::env::var_os("COFFER_PASSPHRASE").is_none() && !self.json {
                    eprintln!(
                        "This computer keeps no key to check the vault's settings with while it is locked; unlock it to go on."
                    );
                }
                self.unlock(&mut v)?;
                Ok(v)
            }
            Err(coffer_keychain::EnrolError::Keychain(_)) => Ok(v),
            Err(coffer_keychain::EnrolError::Vault(e)) => Err(e.into()),
            Err(other) => Err(coffer_core::Error::Invalid(other.to_string()).into()),
        }
    }

    fn credential_at_hand(&self) -> bool {
        self.cred.keychain
            || self.cred.recovery_key
            || self.cred.passphrase_stdin
            || std::env::var_os("COFFER_PASSPHRASE").is_some()
            || std::io::stdin().is_terminal()
    }

    /// The vault, unlocked as the credential flags ask.
    pub fn unlocked(&self) -> Result<Vault, Failure> {
        let mut v = self.open()?;
        self.unlock(&mut v)?;
        Ok(v)
    }

    /// Unlocks `v` with the keychain, the recovery key or the passphrase,
    /// then keeps the vault's writer key in the OS keychain (best effort:
    /// without it, only adding while locked is refused, with a hint) and
    /// warns about what the comparison with the manifest found.
    pub fn unlock(&self, v: &mut Vault) -> Result<SlotKind, Failure> {
        let vid = vault_id_hex(v);
        let kind = if self.cred.keychain {
            let s = keychain::load(&vid)?;
            v.unlock(&Credential::Keychain(&s))?
        } else if self.cred.recovery_key {
            let k = creds::recovery_key()?;
            v.unlock(&Credential::Recovery(&k))?
        } else {
            let p = creds::passphrase(&self.cred)?;
            v.unlock(&Credential::Passphrase(&p))?
        };
        let _ = coffer_keychain::keep_writer_key(v);
        if !self.json
            && let Some(report) = v.integrity_at_unlock()
        {
            crate::show::warn_integrity(report);
        }
        Ok(kind)
    }

    /// A progress bar on a terminal, none for scripts or --json.
    pub fn progress(&self, len: u64, what: &str) -> ProgressBar {
        if self.json || !std::io::stderr().is_terminal() {
            return ProgressBar::hidden();
        }
        let pb = ProgressBar::new(len);
        pb.set_style(
            ProgressStyle::with_template(
                "{msg} [{bar:30}] {pos}/{len} files, {elapsed}, ETA {eta}",
            )
            .expect("valid template")
            .progress_chars("=> "),
        );
        pb.set_message(what.to_owned());
        pb
    }

    /// Prints the one-line answer, or its JSON form with --json.
    pub fn say(&self, human: impl std::fmt::Display, machine: serde_json::Value) {
        if self.json {
            println!("{machine}");
        } else {
            println!("{human}");
        }
    }
}

/// The vault id as shown to users and as the keychain entry names it.
pub fn vault_id_hex(v: &Vault) -> String {
    let id = v.config().vault_id();
    id.iter().map(|b| format!("{b:02x}")).collect()
}
