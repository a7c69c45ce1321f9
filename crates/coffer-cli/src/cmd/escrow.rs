//! Organisation escrow keys: `coffer escrow keygen`, and reading the
//! public key (`init --escrow`, `slots add escrow`) and the private key
//! file (`recover --escrow-key`).

use std::io::Write;
use std::path::Path;

use coffer_core::secret::Key32;
use coffer_core::wrap::{PrivateKey, PublicKey};
use serde_json::json;
use zeroize::Zeroizing;

use crate::ctx::Ctx;
use crate::exit::Failure;
use crate::userfile::{MAX_KEY_FILE_LEN, read_small_text};

/// The organisation public key from `--escrow`: the line `keygen` printed,
/// or a file holding it (read by the core's parser).
pub fn parse_pubkey(s: &str) -> Result<PublicKey, Failure> {
    let text = if Path::new(s).is_file() {
        read_small_text(
            Path::new(s),
            MAX_KEY_FILE_LEN,
            "reading the public key file",
        )?
        .to_string()
    } else {
        s.to_owned()
    };
    coffer_core::policy::public_key_from_text(&text).map_err(|_| {
        Failure::usage(
            "that is not an organisation public key",
            Some("pass the line printed by `coffer escrow keygen`, or the file holding it"),
        )
    })
}

/// The escrow private key in the file `recover --escrow-key` names.
pub fn read_escrow_private(path: &Path) -> Result<PrivateKey, Failure> {
    let text = read_small_text(path, MAX_KEY_FILE_LEN, "reading the escrow key file")?;
    escrow_private_key_from_text(&text)
}

/// `coffer escrow keygen --out FILE`: never overwrites FILE.
pub fn keygen(ctx: &Ctx, out: &Path) -> Result<(), Failure> {
    let (sk, pk) = coffer_core::wrap::generate_keypair();
    let (public, body) = escrow_key_file_text(&sk, &pk);
    let mut f = coffer_core::fsutil::create_private(out).map_err(|e| {
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            // Never overwrite: it may be the key that unlocks every vault.
            return Failure::usage(
                format!("{} already exists; it was left untouched", out.display()),
                Some("choose a new file name with --out FILE"),
            );
        }
        Failure::from(coffer_core::Error::Io {
            context: "creating the escrow key file",
            source: e,
        })
    })?;
    f.write_all(body.as_bytes())
        .and_then(|()| f.sync_all())
        .map_err(|e| {
            Failure::from(coffer_core::Error::Io {
                context: "writing the escrow key file",
                source: e,
            })
        })?;
    ctx.say(
        format!("Wrote the private key to {}.\nPublic key for `coffer init --escrow` (safe to distribute):\n{public}", out.display()),
        json!({"private_key_file": out, "public_key": public}),
    );
    Ok(())
}

// The escrow key file's text format. The core reads the public line
// (`coffer_core::policy::public_key_from_text`, also used for policy
// files) but has no writer and no reader for the private line, which only
// the CLI handles; both live here, in these two functions, until the core
// has them.
const ESCROW_PRIVATE_TAG: &str = "coffer-escrow-private:";
const ESCROW_PUBLIC_TAG: &str = "coffer-escrow-public:";

/// The key file `escrow keygen` writes, and its public line on its own.
fn escrow_key_file_text(sk: &PrivateKey, pk: &PublicKey) -> (String, Zeroizing<String>) {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD;
    let public = format!("{ESCROW_PUBLIC_TAG}{}", b64.encode(pk.0));
    let body = Zeroizing::new(format!(
        "# Coffer organisation escrow key. SECRET: it can unlock every enrolled vault.\n# Keep it offline, never on a clinic laptop.\n{ESCROW_PRIVATE_TAG}{}\n{public}\n",
        b64.encode(sk.to_secret_bytes().expose())
    ));
    (public, body)
}

/// The private key in a key file written by `escrow keygen`.
fn escrow_private_key_from_text(text: &str) -> Result<PrivateKey, Failure> {
    use base64::Engine as _;
    let line = text
        .lines()
        .find_map(|l| l.trim().strip_prefix(ESCROW_PRIVATE_TAG))
        .ok_or_else(|| {
            Failure::usage(
                "that file holds no Coffer escrow private key",
                Some("use the file written by `coffer escrow keygen`"),
            )
        })?;
    let bytes = Zeroizing::new(
        base64::engine::general_purpose::STANDARD
            .decode(line.trim())
            .map_err(|_| Failure::usage("the escrow key file is damaged", None))?,
    );
    let k = Key32::from_slice(&bytes)
        .ok_or_else(|| Failure::usage("the escrow key file is damaged", None))?;
    Ok(PrivateKey::from_secret_bytes(&k)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The file `keygen` writes reads back: the private line here, the
    /// public line (alone or in the whole file) by the core's parser.
    #[test]
    fn key_file_text_round_trips() {
        let (sk, pk) = coffer_core::wrap::generate_keypair();
        let (public, body) = escrow_key_file_text(&sk, &pk);
        let back = escrow_private_key_from_text(&body).unwrap();
        assert_eq!(
            back.to_secret_bytes().expose(),
            sk.to_secret_bytes().expose()
        );
        for text in [public.as_str(), body.as_str()] {
            assert_eq!(
                coffer_core::policy::public_key_from_text(text).unwrap().0,
                pk.0
            );
        }
        assert!(escrow_private_key_from_text(&public).is_err());
    }
}
