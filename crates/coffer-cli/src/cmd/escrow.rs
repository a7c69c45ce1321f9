//! Organisation escrow keys: `coffer escrow keygen`, and reading the
//! public key (`init --escrow`, `slots add escrow`) and the private key
//! file (`recover --escrow-key`); for a key in a KMS/HSM, `coffer escrow
//! kms-key` (the policy block) and `coffer escrow recover`.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

use coffer_core::config::{Credential, NewSlot, Slot, SlotKind};
use coffer_core::crypto::rsa_oaep::fingerprint_text;
use coffer_core::escrow_key;
use coffer_core::escrow_key::kms::{KmsProvider, KmsSlot, OrgKmsKey};
use coffer_core::kdf::Argon2Params;
use coffer_core::secret::Key32;
use coffer_core::wrap::{PrivateKey, PublicKey};
use coffer_kms::pkcs11::{Pkcs11Options, Pkcs11Store};
use coffer_kms::transit::{Transit, TransitOptions};
use coffer_kms::{KmsError, OrgKeyStore};
use serde_json::json;
use zeroize::Zeroizing;

use crate::cli::KmsArgs;
use crate::creds;
use crate::ctx::Ctx;
use crate::exit::{self, Failure};
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
    escrow_key::public_from_text(&text).map_err(|_| {
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
    let public = escrow_key::encode_public(&pk);
    let body = escrow_key::encode_key_file(&sk, &pk);
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

/// The private key in a key file written by `escrow keygen`.
fn escrow_private_key_from_text(text: &str) -> Result<PrivateKey, Failure> {
    let line = escrow_key::find_private(text).ok_or_else(|| {
        Failure::usage(
            "that file holds no Coffer escrow private key",
            Some("use the file written by `coffer escrow keygen`"),
        )
    })?;
    escrow_key::parse_private(line)
        .map_err(|_| Failure::usage("the escrow key file is damaged", None))
}

/// The organisation key store `--transit` or `--pkcs11-module` names,
/// with its provider name for the policy.
fn kms_store(kms: &KmsArgs) -> Result<(Box<dyn OrgKeyStore>, KmsProvider), Failure> {
    if let Some(url) = &kms.transit {
        let key = kms
            .key
            .clone()
            .ok_or_else(|| Failure::usage("--transit needs --key NAME", None))?;
        let token = transit_token(kms.token_file.as_deref())?;
        let ca_file = kms.ca_cert.clone().or_else(|| {
            ["BAO_CACERT", "VAULT_CACERT"]
                .iter()
                .find_map(|v| std::env::var_os(v).map(PathBuf::from))
        });
        let t = Transit::new(TransitOptions {
            url: url.clone(),
            mount: kms.mount.clone(),
            key,
            token,
            ca_file,
        })
        .map_err(kms_failure)?;
        let provider = if kms.hashicorp {
            KmsProvider::VaultTransit
        } else {
            KmsProvider::OpenbaoTransit
        };
        return Ok((Box::new(t), provider));
    }
    let (Some(module), Some(token_label), Some(key_label)) =
        (&kms.pkcs11_module, &kms.token_label, &kms.key_label)
    else {
        return Err(Failure::usage(
            "name the key: --transit URL --key NAME, or --pkcs11-module SO --token-label L --key-label K",
            None,
        ));
    };
    let pin = match std::env::var("COFFER_PKCS11_PIN") {
        Ok(p) => Zeroizing::new(p),
        Err(_) if std::io::stdin().is_terminal() => Zeroizing::new(
            rpassword::prompt_password(format!("PIN of token {token_label}: "))
                .map_err(|e| Failure::usage(format!("could not read the PIN: {e}"), None))?,
        ),
        Err(_) => {
            return Err(Failure::usage(
                "the token's PIN is needed but there is no terminal to ask on",
                Some("set COFFER_PKCS11_PIN for scripts"),
            ));
        }
    };
    let store = Pkcs11Store::open(Pkcs11Options {
        module: module.clone(),
        token_label: token_label.clone(),
        key_label: key_label.clone(),
        pin,
    })
    .map_err(kms_failure)?;
    Ok((Box::new(store), KmsProvider::Pkcs11))
}

/// The transit token: --token-file, else BAO_TOKEN, else VAULT_TOKEN.
fn transit_token(file: Option<&Path>) -> Result<Zeroizing<String>, Failure> {
    if let Some(path) = file {
        let text = read_small_text(path, MAX_KEY_FILE_LEN, "reading the token file")?;
        let t = text.trim();
        if t.is_empty() {
            return Err(Failure::usage("the token file is empty", None));
        }
        return Ok(Zeroizing::new(t.to_owned()));
    }
    ["BAO_TOKEN", "VAULT_TOKEN"]
        .iter()
        .find_map(|v| std::env::var(v).ok().filter(|t| !t.is_empty()))
        .map(Zeroizing::new)
        .ok_or_else(|| {
            Failure::usage(
                "no token for the transit server",
                Some("set BAO_TOKEN or VAULT_TOKEN, or pass --token-file FILE"),
            )
        })
}

/// `coffer escrow kms-key`: the `[escrow.kms]` block for the policy.
pub fn kms_key(ctx: &Ctx, kms: &KmsArgs, version: Option<u32>) -> Result<(), Failure> {
    if kms.slot_key_stdin {
        return Err(Failure::usage(
            "--slot-key-stdin belongs to `coffer escrow recover`",
            None,
        ));
    }
    let (store, provider) = kms_store(kms)?;
    let version = match version {
        Some(0) => return Err(Failure::usage("key versions start at 1", None)),
        Some(v) => v,
        None => store.latest_version().map_err(kms_failure)?.unwrap_or(1),
    };
    let key = store.public_key(version).map_err(kms_failure)?;
    let fp = fingerprint_text(&key.fingerprint());
    let pem = key.to_pem();
    let name = store.key_name();
    ctx.say(
        format!(
            "# RSA {} bits. Paste into the organisation policy, under [escrow].\n[escrow.kms]\nprovider = \"{}\"\nkey = \"{name}\"\nversion = {version}\nfingerprint = \"{fp}\"\npublic_key = \"\"\"\n{}\"\"\"",
            key.bits(),
            provider.as_str(),
            pem
        ),
        json!({"provider": provider, "key": name, "version": version,
               "fingerprint": fp, "public_key": pem, "bits": key.bits()}),
    );
    Ok(())
}

/// `coffer escrow recover`: the KMS/HSM unwraps the vault's slot key, the
/// vault is unlocked with it (audited as a recovery) and gets a new
/// passphrase. Everything before the unlock only reads the vault.
pub fn kms_recover(ctx: &Ctx, kms: &KmsArgs, kdf: Argon2Params) -> Result<(), Failure> {
    let mut v = ctx.open()?;
    let slots: Vec<KmsSlot> = v
        .config()
        .slots
        .iter()
        .filter_map(|s| match s {
            Slot::KmsEscrow(k) => Some(k.clone()),
            _ => None,
        })
        .collect();
    let vault_id = *v.config().vault_id();
    let policy_key = v.policy().policy.kms_escrow_key().map(|k| k.key);
    let unwrapped = || -> Result<_, Failure> {
        if slots.is_empty() {
            return Err(kms_failure(KmsError::NoSlot));
        }
        if kms.slot_key_stdin {
            let (slot_key, slot) = slot_key_from_stdin(&slots, &vault_id)?;
            // Without the KMS, the public key to reseal with is the policy's.
            let public_key = policy_key
                .as_ref()
                .filter(|k| k.fingerprint() == slot.fingerprint)
                .cloned();
            return Ok((slot_key, slot, public_key));
        }
        let (store, _) = kms_store(kms)?;
        let u = coffer_kms::unwrap_slot(store.as_ref(), &slots).map_err(kms_failure)?;
        Ok((u.slot_key, u.slot, Some(u.public_key)))
    };
    // Up to here the vault was only read: say so, whatever failed.
    let (slot_key, slot, public_key) = unwrapped().map_err(|mut f| {
        if !f.message.contains(UNCHANGED) {
            f.message.push_str(UNCHANGED);
        }
        f
    })?;
    let used = slot.describe();
    v.unlock(&Credential::KmsEscrow(&slot_key))?;
    let p = creds::new_passphrase(&ctx.cred, "COFFER_NEW_PASSPHRASE")?;
    v.replace_slots(SlotKind::Passphrase, NewSlot::Passphrase(&p, kdf))?;
    // The slot key has been on this machine (and, with --slot-key-stdin, in
    // a pipe): a fresh slot for the same key makes it worthless.
    let resealed = match public_key {
        Some(key) => {
            v.reseal_kms_slot(
                &slot.id,
                &OrgKmsKey {
                    provider: slot.provider,
                    name: slot.key_name.clone(),
                    version: slot.key_version,
                    key,
                },
            )?;
            true
        }
        None => false,
    };
    let note = if resealed {
        "The escrow slot was resealed, so the unwrapped slot key opens nothing any more."
    } else {
        "The escrow slot could not be resealed here (this machine's policy does not publish its key): to make the unwrapped slot key worthless, publish a new key version; the vault re-enrols at its next unlock."
    };
    ctx.say(
        format!("Recovered through {used}: the vault has a new passphrase. The recovery is in the vault's audit trail and in the KMS/HSM's own log. {note}"),
        json!({"recovered": true, "method": "kms_escrow", "key": slot.key_name,
               "key_version": slot.key_version, "provider": slot.provider,
               "resealed": resealed}),
    );
    Ok(())
}

/// `coffer escrow slot`: what a KMS must decrypt, for the KMSs Coffer does
/// not reach itself (AWS, Google, Azure): no unlock, nothing secret.
pub fn kms_slots(ctx: &Ctx) -> Result<(), Failure> {
    use base64::Engine as _;
    let v = ctx.open()?;
    let slots: Vec<serde_json::Value> = v
        .config()
        .slots
        .iter()
        .filter_map(|s| match s {
            Slot::KmsEscrow(k) => Some(json!({
                "slot": s.id_hex(), "provider": k.provider, "key": k.key_name,
                "key_version": k.key_version, "fingerprint": fingerprint_text(&k.fingerprint),
                "oaep": base64::engine::general_purpose::STANDARD.encode(&k.oaep),
            })),
            _ => None,
        })
        .collect();
    if slots.is_empty() {
        return Err(kms_failure(KmsError::NoSlot));
    }
    let human: Vec<String> = slots
        .iter()
        .map(|s| {
            format!(
                "slot {} — {} v{} ({}, {})
RSA-OAEP-SHA-256 ciphertext (base64):
{}",
                s["slot"].as_str().unwrap_or_default(),
                s["key"].as_str().unwrap_or_default(),
                s["key_version"],
                s["provider"].as_str().unwrap_or_default(),
                s["fingerprint"].as_str().unwrap_or_default(),
                s["oaep"].as_str().unwrap_or_default()
            )
        })
        .collect();
    ctx.say(human.join("\n\n"), json!({ "slots": slots }));
    Ok(())
}

/// The slot key IT's own KMS tool decrypted, one base64 line on stdin;
/// a key that opens none of the vault's KMS slots is a wrong credential.
fn slot_key_from_stdin<'a>(
    slots: &'a [KmsSlot],
    vault_id: &[u8; 16],
) -> Result<(Key32, &'a KmsSlot), Failure> {
    use base64::Engine as _;
    use std::io::BufRead;
    let mut line = Zeroizing::new(String::new());
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| Failure::usage(format!("could not read standard input: {e}"), None))?;
    let bytes = Zeroizing::new(
        base64::engine::general_purpose::STANDARD
            .decode(line.trim())
            .map_err(|_| Failure::usage("the slot key is not base64", None))?,
    );
    let key = Key32::from_slice(&bytes)
        .ok_or_else(|| Failure::usage("the slot key is not 32 bytes", None))?;
    // Which slot it opens, before the vault is touched.
    let slot = slots
        .iter()
        .find(|s| s.open(vault_id, &key).is_ok())
        .ok_or_else(|| Failure::from(coffer_core::Error::WrongCredential))?;
    Ok((key, slot))
}

/// What every KMS/HSM failure adds: none of them touches the vault.
const UNCHANGED: &str = "; nothing was changed on the vault";

/// A KMS/HSM failure as the CLI reports it; docs/CLI.md lists the kinds.
pub fn kms_failure(e: KmsError) -> Failure {
    let (code, kind, hint) = match &e {
        KmsError::Denied => (
            exit::WRONG_CREDENTIAL,
            "kms_denied",
            "check the token (BAO_TOKEN, VAULT_TOKEN or --token-file) or the PIN; a transit token needs read on <mount>/keys/<key> and update on <mount>/decrypt/<key>",
        ),
        KmsError::Unreachable(_) => (
            exit::KMS_UNAVAILABLE,
            "kms_unreachable",
            "check that the server is running and the URL and port are right",
        ),
        KmsError::Tls { .. } => (
            exit::KMS_UNAVAILABLE,
            "kms_tls",
            "the server's certificate is not valid for that host name or not signed by a trusted CA: use the name its certificate carries, or --ca-cert FILE for a private CA (verification is never switched off)",
        ),
        KmsError::KeyNotFound(_) | KmsError::NoSuchVersion(_) => (
            exit::NOT_FOUND,
            "kms_key_not_found",
            "check the key's name (and mount), or the token's key label",
        ),
        KmsError::OtherKey { .. } => (
            exit::WRONG_CREDENTIAL,
            "kms_other_key",
            "this vault was enrolled to another organisation key: recover it with that key, or with the vault's recovery key",
        ),
        KmsError::NoSlot => (
            exit::NOT_FOUND,
            "no_kms_slot",
            "this vault holds no KMS escrow slot; it enrols at its next unlock under a policy with [escrow.kms]",
        ),
        KmsError::DecryptFailed => (
            exit::INTEGRITY,
            "integrity",
            "the KMS/HSM could not decrypt the slot: it is damaged; use the vault's recovery key",
        ),
        KmsError::Token(_) => (
            exit::KMS_UNAVAILABLE,
            "kms_token",
            "check the module path and the token's label (`pkcs11-tool --module SO -L` lists them)",
        ),
        KmsError::Protocol(_) => (
            exit::FAILURE,
            "kms_protocol",
            "check the URL: it should be the OpenBao/Vault server's address",
        ),
        KmsError::Config(_) => (exit::USAGE, "usage", "see `coffer escrow recover --help`"),
        _ => (exit::FAILURE, "failure", "see docs/CLI.md"),
    };
    Failure {
        code,
        kind,
        message: format!("{e}{UNCHANGED}"),
        hint: Some(hint.to_owned()),
    }
}
