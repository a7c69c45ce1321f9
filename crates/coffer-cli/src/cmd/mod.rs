//! One file per command family; [`run`] sends each command to its own.

pub mod add;
pub mod audit;
pub mod escrow;
pub mod files;
pub mod init;
pub mod man;
pub mod policy;
pub mod protect;
pub mod rotate;
pub mod slots;
pub mod status;
pub mod verify;

use crate::cli::{Cli, Command, EscrowCmd};
use crate::creds::CredFlags;
use crate::ctx::{Ctx, default_vault_dir};
use crate::demo;
use crate::exit::Failure;
use coffer_core::config::RotationKind;

/// Runs the command `cli` names.
pub fn run(cli: Cli) -> Result<(), Failure> {
    let ctx = Ctx {
        dir: cli.vault.clone().unwrap_or_else(default_vault_dir),
        json: cli.json,
        cred: CredFlags {
            passphrase_stdin: cli.cred.passphrase_stdin,
            keychain: cli.cred.keychain,
            recovery_key: cli.cred.recovery_key,
        },
    };
    match cli.command {
        Command::Init {
            with_keychain,
            escrow,
            kdf,
        } => init::init(&ctx, with_keychain, escrow.as_deref(), kdf.params()),
        Command::Add {
            paths,
            to,
            remove_plaintext,
        } => add::add(&ctx, &paths, &to, remove_plaintext),
        Command::Protect { dir } => protect::protect(&ctx, &dir),
        Command::Watch => protect::watch(&ctx),
        Command::Unprotect { dir } => protect::unprotect(&ctx, &dir),
        Command::Ls { prefix, long } => files::ls(&ctx, prefix.as_deref(), long),
        Command::Versions { path } => files::versions(&ctx, &path),
        Command::Cat { path, version } => files::cat(&ctx, &path, version),
        Command::Extract { paths, to, version } => files::extract(&ctx, &paths, &to, version),
        Command::Rm { paths } => files::rm(&ctx, &paths),
        Command::Verify {
            structure_only,
            quarantine,
        } => verify::verify(&ctx, structure_only, quarantine),
        Command::Status { record } => status::status(&ctx, record),
        Command::Inspect { object } => status::inspect(&ctx, &object),
        Command::Slots { action } => slots::slots(&ctx, action),
        Command::Passwd {
            exposed: true,
            keep_passphrase,
            kdf,
        } => rotate::respond(&ctx, RotationKind::Rekey, keep_passphrase, kdf.params()),
        Command::Passwd { kdf, .. } => slots::passwd(&ctx, kdf.params()),
        Command::Recover { escrow_key, kdf } => {
            slots::recover(&ctx, escrow_key.as_deref(), kdf.params())
        }
        Command::Escrow { action } => match action {
            EscrowCmd::Keygen { out } => escrow::keygen(&ctx, &out),
            EscrowCmd::KmsKey { kms, version } => escrow::kms_key(&ctx, &kms, version),
            EscrowCmd::Slot => escrow::kms_slots(&ctx),
            EscrowCmd::Recover { kms, kdf } => escrow::kms_recover(&ctx, &kms, kdf.params()),
        },
        Command::Rotate {
            reencrypt,
            keep_passphrase,
            kdf,
        } => rotate::respond(
            &ctx,
            if reencrypt {
                RotationKind::Reencrypt
            } else {
                RotationKind::Rewrap
            },
            keep_passphrase,
            kdf.params(),
        ),
        Command::Audit { action } => audit::audit(&ctx, action),
        Command::Policy { action } => policy::policy(&ctx, action),
        Command::Repair { accept_as_is, .. } => verify::repair(&ctx, accept_as_is),
        Command::Demo { dir } => demo::run(dir),
        Command::Man { out } => man::man(&out),
    }
}
