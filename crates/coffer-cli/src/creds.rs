//! Where credentials come from: the environment (scripts), standard input,
//! the terminal (no echo), or the OS keychain.

use std::io::{BufRead, IsTerminal};

use coffer_core::secret::{Key32, Passphrase};
use zeroize::Zeroizing;

use crate::exit::Failure;

/// How the user asked to unlock.
#[derive(Clone, Copy, Debug, Default)]
pub struct CredFlags {
    pub passphrase_stdin: bool,
    pub keychain: bool,
    pub recovery_key: bool,
}

fn read_stdin_line() -> Result<Zeroizing<String>, Failure> {
    let mut line = Zeroizing::new(String::new());
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| Failure::usage(format!("could not read standard input: {e}"), None))?;
    let trimmed = Zeroizing::new(line.trim_end_matches(['\r', '\n']).to_owned());
    Ok(trimmed)
}

fn prompt(label: &str) -> Result<Zeroizing<String>, Failure> {
    prompt_or(
        label,
        "set COFFER_PASSPHRASE, or pass --passphrase-stdin and pipe it in",
    )
}

/// Asks on the terminal; without one, fails with `hint`.
fn prompt_or(label: &str, hint: &str) -> Result<Zeroizing<String>, Failure> {
    if !std::io::stdin().is_terminal() {
        return Err(Failure::usage(
            format!("{label} needed but there is no terminal to ask on"),
            Some(hint),
        ));
    }
    rpassword::prompt_password(format!("{label}: "))
        .map(Zeroizing::new)
        .map_err(|e| Failure::usage(format!("could not read the {label}: {e}"), None))
}

/// The passphrase to unlock with.
pub fn passphrase(flags: &CredFlags) -> Result<Passphrase, Failure> {
    if let Ok(p) = std::env::var("COFFER_PASSPHRASE") {
        return Ok(Passphrase::new(p));
    }
    let s = if flags.passphrase_stdin {
        read_stdin_line()?
    } else {
        prompt("Passphrase")?
    };
    Ok(Passphrase::new(s.to_string()))
}

/// A new passphrase: from the environment / stdin, or typed twice.
pub fn new_passphrase(flags: &CredFlags, env: &str) -> Result<Passphrase, Failure> {
    new_passphrase_or(
        flags,
        env,
        &format!("set {env}, or pass --passphrase-stdin and pipe it in"),
    )
}

/// The new passphrase a response to an exposed credential or a
/// compromise enrols: never silently the one in use, so a script must
/// give it (COFFER_NEW_PASSPHRASE) or say the old one was not exposed.
pub fn new_passphrase_for_response(flags: &CredFlags) -> Result<Passphrase, Failure> {
    new_passphrase_or(
        flags,
        "COFFER_NEW_PASSPHRASE",
        "the passphrase in use may be known to someone else, so a new one is needed: set \
         COFFER_NEW_PASSPHRASE, or pass --keep-passphrase if it was not exposed",
    )
}

fn new_passphrase_or(flags: &CredFlags, env: &str, hint: &str) -> Result<Passphrase, Failure> {
    if let Ok(p) = std::env::var(env) {
        return Ok(Passphrase::new(p));
    }
    if flags.passphrase_stdin {
        return Ok(Passphrase::new(read_stdin_line()?.to_string()));
    }
    let a = prompt_or("New passphrase", hint)?;
    let b = prompt_or("Repeat the new passphrase", hint)?;
    if *a != *b {
        return Err(Failure::usage(
            "the two passphrases differ",
            Some("try again"),
        ));
    }
    Ok(Passphrase::new(a.to_string()))
}

/// The recovery key, from COFFER_RECOVERY_KEY or typed.
pub fn recovery_key() -> Result<Key32, Failure> {
    let s = match std::env::var("COFFER_RECOVERY_KEY") {
        Ok(s) => Zeroizing::new(s),
        Err(_) => prompt("Recovery key")?,
    };
    coffer_core::recovery::decode(&s).map_err(Failure::from)
}
