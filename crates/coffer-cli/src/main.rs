//! `coffer`: the command-line face of Coffer, for IT admins, support and
//! scripts. Glue only: parse, gather credentials, call coffer-core, print.
//! Exit codes and `--json` shapes are a contract (docs/CLI.md).

mod creds;
mod demo;
mod exit;
mod keychain;

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

use clap::{Args, Parser, Subcommand};
use coffer_core::config::{Credential, NewSlot, SlotKind};
use coffer_core::format::FileId;
use coffer_core::kdf::Argon2Params;
use coffer_core::secret::Key32;
use coffer_core::vault::{
    self, AddOptions, AddOutcome, AddSource, CreateOptions, Entry, Progress, Vault,
};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::json;

use crate::creds::CredFlags;
use crate::exit::Failure;

/// Coffer keeps clinic files encrypted at rest (AES-256-GCM) and proves it.
#[derive(Parser)]
#[command(name = "coffer", version, about)]
struct Cli {
    /// The vault folder (default: the platform data folder, e.g. ~/.local/share/coffer/vault).
    #[arg(long, global = true, env = "COFFER_VAULT", value_name = "DIR")]
    vault: Option<PathBuf>,
    /// Print machine-readable JSON on standard output (docs/CLI.md).
    #[arg(long, global = true)]
    json: bool,
    #[command(flatten)]
    cred: CredArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Args, Clone, Copy)]
struct CredArgs {
    /// Read the passphrase from the first line of standard input.
    #[arg(long, global = true)]
    passphrase_stdin: bool,
    /// Unlock with the secret kept in this computer's keychain.
    #[arg(long, global = true, conflicts_with = "recovery_key")]
    keychain: bool,
    /// Unlock with the recovery key (typed, or COFFER_RECOVERY_KEY).
    #[arg(long, global = true)]
    recovery_key: bool,
}

#[derive(Args, Clone, Copy)]
struct KdfArgs {
    /// Argon2id memory in MiB (default 256).
    #[arg(long, value_name = "MIB")]
    kdf_memory: Option<u32>,
    /// Argon2id passes (default 3).
    #[arg(long, value_name = "N")]
    kdf_time: Option<u32>,
    /// Argon2id lanes (default 4).
    #[arg(long, value_name = "N")]
    kdf_lanes: Option<u32>,
}

impl KdfArgs {
    /// What was asked for; what was not comes from Coffer's defaults,
    /// raised to the organisation policy's floor where that is higher (an
    /// invalid policy is reported by the command itself).
    fn params(&self) -> Argon2Params {
        let d =
            coffer_core::policy::load().map_or(Argon2Params::DEFAULT, |p| p.policy.kdf_default());
        Argon2Params {
            m_kib: self.kdf_memory.map_or(d.m_kib, |m| m.saturating_mul(1024)),
            t: self.kdf_time.unwrap_or(d.t),
            p: self.kdf_lanes.unwrap_or(d.p),
        }
    }
}

#[derive(Subcommand)]
enum Command {
    /// Create a vault; prints the recovery key once.
    Init {
        /// Also store a secret in this computer's keychain to unlock without typing.
        #[arg(long = "with-keychain")]
        with_keychain: bool,
        /// The organisation's escrow public key (base64, or a file from `coffer escrow keygen`).
        #[arg(long, value_name = "PUBKEY")]
        escrow: Option<String>,
        #[command(flatten)]
        kdf: KdfArgs,
    },
    /// Encrypt files or folders into the vault (works while locked).
    Add {
        /// Files or folders.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// Vault folder to put them under.
        #[arg(long, value_name = "VAULT_PATH", default_value = "")]
        to: String,
        /// Remove each original once its encrypted copy is safely on disk.
        #[arg(long)]
        remove_plaintext: bool,
    },
    /// Protect a folder: encrypt what is in it now and remove the originals.
    Protect {
        /// The folder.
        dir: PathBuf,
    },
    /// Watch the protected folders and encrypt new files as they arrive
    /// (runs in the foreground, needs no unlock; for systemd and tests).
    Watch,
    /// Stop protecting a folder (its files stay in the vault).
    Unprotect {
        /// The folder.
        dir: PathBuf,
    },
    /// List the vault's files (needs unlock).
    Ls {
        /// Only what is under this vault path.
        prefix: Option<String>,
        /// Show size, date and version count.
        #[arg(long, short)]
        long: bool,
    },
    /// List the versions of one file (needs unlock).
    Versions {
        /// Vault path.
        path: String,
    },
    /// Write a file's contents to standard output (needs unlock).
    Cat {
        /// Vault path.
        path: String,
        /// Which version (1 = oldest; default newest).
        #[arg(long)]
        version: Option<usize>,
    },
    /// Decrypt files to a folder (needs unlock).
    Extract {
        /// Vault paths (a folder path extracts everything under it).
        #[arg(required = true)]
        paths: Vec<String>,
        /// Destination folder.
        #[arg(long, value_name = "DIR")]
        to: PathBuf,
        /// Which version (1 = oldest; default newest).
        #[arg(long)]
        version: Option<usize>,
    },
    /// Remove files (every version) from the vault (needs unlock).
    Rm {
        /// Vault paths.
        #[arg(required = true)]
        paths: Vec<String>,
    },
    /// Check every object; unlocked, also decrypt every chunk.
    Verify {
        /// Check structure only, without unlocking.
        #[arg(long)]
        structure_only: bool,
        /// Move every object that fails into the vault's quarantine/ folder
        /// (with its key record), so it no longer blocks key rotation.
        #[arg(long)]
        quarantine: bool,
    },
    /// Locked/unlocked, counts, key version, slots, protected folders.
    Status {
        /// Also write a status record to the audit trail (for fleet views;
        /// run it from a timer).
        #[arg(long)]
        record: bool,
    },
    /// Show one object's layout (no secrets), for support.
    Inspect {
        /// Object id (32 hex digits), as shown by `ls --long` or `verify`.
        object: String,
    },
    /// Manage the ways to unlock (passphrase, keychain, recovery key, escrow).
    Slots {
        #[command(subcommand)]
        action: SlotsCmd,
    },
    /// Change the passphrase (the old one stops working at once).
    Passwd {
        #[command(flatten)]
        kdf: KdfArgs,
    },
    /// Forgot the passphrase: unlock with the recovery key (or the
    /// organisation's escrow key) and set a new passphrase.
    Recover {
        /// The organisation's escrow private key file (IT only).
        #[arg(long, value_name = "FILE")]
        escrow_key: Option<PathBuf>,
        #[command(flatten)]
        kdf: KdfArgs,
    },
    /// Rotate the vault's keys: a new key version and every file key
    /// rewrapped (fast, contents untouched); with --reencrypt, after a
    /// suspected compromise, new keys for everything and every file
    /// re-encrypted. Interrupted, it resumes when run again.
    Rotate {
        /// Re-encrypt every file under new keys (prints a new recovery key).
        #[arg(long)]
        reencrypt: bool,
        #[command(flatten)]
        kdf: KdfArgs,
    },
    /// The organisation policy: show it, or check this device against it.
    Policy {
        #[command(subcommand)]
        action: PolicyCmd,
    },
    /// The audit trail: verify it, ship it, export reports.
    Audit {
        #[command(subcommand)]
        action: AuditCmd,
    },
    /// Organisation escrow keys (IT).
    Escrow {
        #[command(subcommand)]
        action: EscrowCmd,
    },
    /// Repair the vault's caches.
    Repair {
        /// Rebuild the encrypted index from the objects.
        #[arg(long, required = true)]
        rebuild_index: bool,
    },
    /// Show Coffer working on a throw-away vault with sample files.
    Demo {
        /// Where to build the demo (default: a new temporary folder).
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
    },
    /// Write the manual pages (coffer.1, coffer-init.1, ...) into DIR; for
    /// packaging (installers/linux/build-packages.sh), hence hidden.
    #[command(hide = true)]
    Man {
        /// The folder to write them to (created if needed).
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
    },
}

#[derive(Subcommand)]
enum SlotsCmd {
    /// List the slots.
    List,
    /// Add a slot.
    Add {
        /// passphrase, keychain, recovery or escrow.
        kind: String,
        /// For escrow: the organisation public key (base64 or file).
        #[arg(long, value_name = "PUBKEY")]
        escrow: Option<String>,
        #[command(flatten)]
        kdf: KdfArgs,
    },
    /// Remove a slot by its id.
    Remove {
        /// Slot id from `slots list`.
        id: String,
    },
}

#[derive(Subcommand)]
enum PolicyCmd {
    /// Print the effective settings and where they come from.
    Show,
    /// Check this device and vault against the policy (exit 1 if not compliant).
    Check,
    /// Check a policy file before deploying it (exit 2 if Coffer would refuse it).
    Validate {
        /// The policy file (TOML, docs/POLICY.md).
        file: PathBuf,
    },
}

#[derive(Subcommand)]
enum AuditCmd {
    /// Check the hash chain of the vault's log (or of a shipped copy).
    Verify {
        /// A log file to check instead (e.g. a copy in a sink folder).
        #[arg(long, value_name = "FILE")]
        log: Option<PathBuf>,
    },
    /// Send records the sinks have not received yet.
    Ship,
    /// Export an access report: who did what, when, from which device,
    /// with the chain verification result. File names are shown only with
    /// --names (asks to unlock).
    Export {
        /// Start of the period (RFC 3339, e.g. 2026-11-01T00:00:00Z), inclusive.
        #[arg(long)]
        from: Option<String>,
        /// End of the period, exclusive.
        #[arg(long)]
        to: Option<String>,
        /// Only this OS user.
        #[arg(long)]
        user: Option<String>,
        /// Only this event (e.g. file_opened, unlock; see docs/CLI.md).
        #[arg(long)]
        action: Option<String>,
        /// Only this file (object id or a prefix of it).
        #[arg(long)]
        file: Option<String>,
        /// csv, json, html or pdf.
        #[arg(long, default_value = "html")]
        format: String,
        /// Where to write it (default: standard output; required for pdf).
        #[arg(long, short, value_name = "FILE")]
        out: Option<PathBuf>,
        /// Resolve file ids to names (unlocks the vault; the report says so).
        #[arg(long)]
        names: bool,
        /// Report on a shipped copy instead of this vault's log.
        #[arg(long, value_name = "FILE")]
        log: Option<PathBuf>,
    },
    /// The lost-laptop incident report, from the shipped records alone
    /// (run it on the auditor's machine; the laptop is not needed).
    Incident {
        /// The device id (from `coffer audit fleet` or the copy's file name).
        #[arg(long)]
        device: String,
        /// When the laptop was lost (RFC 3339).
        #[arg(long, value_name = "TIME")]
        lost_at: String,
        /// The audit sink folder holding the shipped copies.
        #[arg(long, value_name = "DIR")]
        log: PathBuf,
        /// json, html or pdf.
        #[arg(long, default_value = "html")]
        format: String,
        /// Where to write it (default: standard output; required for pdf).
        #[arg(long, short, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// Summarise every device in an audit sink folder: compliant or not
    /// and why, last seen (for IT; needs no vault).
    Fleet {
        /// The sink folder holding the devices' shipped copies.
        #[arg(long, value_name = "DIR")]
        log: PathBuf,
        /// table, json or html (--json means json).
        #[arg(long, default_value = "table")]
        format: String,
        /// Where to write it (default: standard output).
        #[arg(long, short, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// Where the log is shipped.
    Sink {
        #[command(subcommand)]
        action: SinkCmd,
    },
}

#[derive(Subcommand)]
enum SinkCmd {
    /// List the sinks.
    List,
    /// Ship to a folder (e.g. a mounted network share).
    AddDir {
        /// The folder.
        path: PathBuf,
    },
    /// Ship to syslog: tcp://host:port, udp://host:port or unix:///dev/log.
    AddSyslog {
        /// Where.
        url: String,
    },
    /// Stop shipping to sink number N (from `list`).
    Remove {
        /// Its number.
        n: usize,
    },
}

#[derive(Subcommand)]
enum EscrowCmd {
    /// Make an organisation key pair: the private key goes to FILE (keep it
    /// off clinic laptops), the public key is printed for `init --escrow`.
    Keygen {
        /// Where to write the private key.
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
}

fn main() {
    let cli = Cli::parse();
    let as_json = cli.json;
    let code = match run(cli) {
        Ok(()) => exit::OK,
        Err(f) => {
            f.print(as_json);
            f.code
        }
    };
    std::process::exit(code);
}

fn default_vault_dir() -> PathBuf {
    dirs::data_dir()
        .unwrap_or_else(|| PathBuf::from("."))
        .join("coffer")
        .join("vault")
}

struct Ctx {
    dir: PathBuf,
    json: bool,
    cred: CredFlags,
}

impl Ctx {
    fn open(&self) -> Result<Vault, Failure> {
        Vault::open(&self.dir).map_err(|e| {
            let mut f = Failure::from(e);
            if f.kind == "not_found" {
                f.message = format!("no vault at {}", self.dir.display());
            }
            f
        })
    }

    fn unlocked(&self) -> Result<Vault, Failure> {
        let mut v = self.open()?;
        self.unlock(&mut v)?;
        Ok(v)
    }

    fn unlock(&self, v: &mut Vault) -> Result<SlotKind, Failure> {
        let vid = vault_id_hex(v);
        if self.cred.keychain {
            let s = keychain::load(&vid)?;
            return Ok(v.unlock(&Credential::Keychain(&s))?);
        }
        if self.cred.recovery_key {
            let k = creds::recovery_key()?;
            return Ok(v.unlock(&Credential::Recovery(&k))?);
        }
        let p = creds::passphrase(&self.cred)?;
        Ok(v.unlock(&Credential::Passphrase(&p))?)
    }

    fn progress(&self, len: u64, what: &str) -> ProgressBar {
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

    fn say(&self, human: impl std::fmt::Display, machine: serde_json::Value) {
        if self.json {
            println!("{machine}");
        } else {
            println!("{human}");
        }
    }
}

fn vault_id_hex(v: &Vault) -> String {
    let id = v.config().vault_id();
    id.iter().map(|b| format!("{b:02x}")).collect()
}

fn run(cli: Cli) -> Result<(), Failure> {
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
        } => cmd_init(&ctx, with_keychain, escrow.as_deref(), kdf.params()),
        Command::Add {
            paths,
            to,
            remove_plaintext,
        } => cmd_add(&ctx, &paths, &to, remove_plaintext),
        Command::Protect { dir } => cmd_protect(&ctx, &dir),
        Command::Watch => cmd_watch(&ctx),
        Command::Unprotect { dir } => {
            ctx.open()?.unregister_protected(&dir)?;
            ctx.say(
                "The folder is no longer protected; its files stay in the vault.",
                json!({"unprotected": dir}),
            );
            Ok(())
        }
        Command::Ls { prefix, long } => cmd_ls(&ctx, prefix.as_deref(), long),
        Command::Versions { path } => cmd_versions(&ctx, &path),
        Command::Cat { path, version } => cmd_cat(&ctx, &path, version),
        Command::Extract { paths, to, version } => cmd_extract(&ctx, &paths, &to, version),
        Command::Rm { paths } => cmd_rm(&ctx, &paths),
        Command::Verify {
            structure_only,
            quarantine,
        } => cmd_verify(&ctx, structure_only, quarantine),
        Command::Status { record } => cmd_status(&ctx, record),
        Command::Inspect { object } => cmd_inspect(&ctx, &object),
        Command::Slots { action } => cmd_slots(&ctx, action),
        Command::Passwd { kdf } => {
            let mut v = ctx.unlocked()?;
            let p = creds::new_passphrase(&ctx.cred, "COFFER_NEW_PASSPHRASE")?;
            let id =
                v.replace_slots(SlotKind::Passphrase, NewSlot::Passphrase(&p, kdf.params()))?;
            ctx.say(
                "Passphrase changed. The old passphrase no longer unlocks the vault.",
                json!({"passphrase_changed": true, "slot": id}),
            );
            Ok(())
        }
        Command::Recover { escrow_key, kdf } => {
            cmd_recover(&ctx, escrow_key.as_deref(), kdf.params())
        }
        Command::Escrow {
            action: EscrowCmd::Keygen { out },
        } => cmd_escrow_keygen(&ctx, &out),
        Command::Rotate { reencrypt, kdf } => cmd_rotate(&ctx, reencrypt, kdf.params()),
        Command::Audit { action } => cmd_audit(&ctx, action),
        Command::Policy { action } => cmd_policy(&ctx, action),
        Command::Repair { .. } => {
            let v = ctx.unlocked()?;
            let n = v.rebuild_index()?;
            ctx.say(
                format!("Index rebuilt from the objects: {n} file versions."),
                json!({"rebuilt_index": true, "entries": n}),
            );
            Ok(())
        }
        Command::Demo { dir } => demo::run(dir),
        Command::Man { out } => cmd_man(&out),
    }
}

/// The manual pages, generated from the clap definitions above so they
/// never drift from `--help`.
fn cmd_man(out: &Path) -> Result<(), Failure> {
    use clap::CommandFactory;
    let io = |e: std::io::Error| Failure {
        code: exit::IO,
        kind: "io",
        message: format!("writing the manual pages to {}: {e}", out.display()),
        hint: None,
    };
    std::fs::create_dir_all(out).map_err(io)?;
    clap_mangen::generate_to(Cli::command(), out).map_err(io)
}

fn parse_pubkey(s: &str) -> Result<coffer_core::wrap::PublicKey, Failure> {
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

fn cmd_init(
    ctx: &Ctx,
    with_keychain: bool,
    escrow: Option<&str>,
    kdf: Argon2Params,
) -> Result<(), Failure> {
    let escrow = escrow.map(parse_pubkey).transpose()?;
    let pass = creds::new_passphrase(&ctx.cred, "COFFER_PASSPHRASE")?;
    let kc = with_keychain.then(Key32::random);
    let created = Vault::create(
        &ctx.dir,
        CreateOptions {
            passphrase: &pass,
            kdf,
            keychain_secret: kc.as_ref(),
            escrow,
        },
    )?;
    let vid = vault_id_hex(&created.vault);
    if let Some(k) = &kc {
        keychain::store(&vid, k)?;
    }
    if ctx.json {
        println!(
            "{}",
            json!({"vault": ctx.dir, "vault_id": vid, "recovery_key": &*created.recovery_key,
                   "keychain": with_keychain, "escrow": escrow.is_some()})
        );
    } else {
        println!("Created a vault at {}", ctx.dir.display());
        println!();
        println!(
            "Your recovery key (shown only this once; print it or write it down and keep it somewhere safe):"
        );
        println!();
        println!("    {}", &*created.recovery_key);
        println!();
        println!(
            "If you forget your passphrase, `coffer recover` with this key lets you set a new one."
        );
    }
    Ok(())
}

fn report_add(
    ctx: &Ctx,
    sources: &[AddSource],
    outcomes: &[AddOutcome],
    skipped: &[(PathBuf, vault::SkipReason)],
) -> Result<(), Failure> {
    let mut added = 0u64;
    let mut bytes = 0u64;
    let mut failed = Vec::new();
    let mut worst = exit::OK;
    for (src, o) in sources.iter().zip(outcomes) {
        match o {
            AddOutcome::Added { size, .. } => {
                added += 1;
                bytes += size;
            }
            AddOutcome::Skipped(r) => {
                failed.push(json!({"source": src.source.to_string_lossy(), "skipped": r}))
            }
            AddOutcome::Failed(e) => {
                let (code, kind, hint) = exit::classify(e);
                worst = if worst == exit::OK {
                    code
                } else {
                    worst.min(code)
                };
                failed.push(json!({"source": src.source.to_string_lossy(), "error": kind, "message": e.to_string(), "hint": hint}));
                if !ctx.json {
                    eprintln!("could not add {}: {e}", src.source.display());
                    if let Some(h) = hint {
                        eprintln!("  hint: {h}");
                    }
                }
            }
        }
    }
    let skipped_json: Vec<_> = skipped
        .iter()
        .map(|(p, r)| json!({"source": p.to_string_lossy(), "skipped": r}))
        .collect();
    if !ctx.json {
        for (p, r) in skipped {
            eprintln!("left alone ({}): {}", skip_text(r), p.display());
        }
    }
    let failure = (worst != exit::OK).then(|| Failure {
        code: worst,
        kind: "partial",
        message: format!(
            "{} of {} files could not be added; they were left as they are",
            failed.len(),
            sources.len()
        ),
        hint: Some("fix the problem shown above and run the command again".into()),
    });
    let doc = json!({"added": added, "bytes": bytes, "problems": failed, "skipped": skipped_json});
    if ctx.json
        && let Some(f) = failure
    {
        return Err(f.with_json_report(doc));
    }
    ctx.say(
        format!(
            "Encrypted {added} files ({}) into the vault.",
            human_bytes(bytes)
        ),
        doc,
    );
    match failure {
        Some(f) => Err(f),
        None => Ok(()),
    }
}

fn skip_text(r: &vault::SkipReason) -> &'static str {
    match r {
        vault::SkipReason::Symlink => "symbolic link, not followed",
        vault::SkipReason::NotRegularFile => "not a regular file",
        vault::SkipReason::NameNotUtf8 => "name is not valid UTF-8; rename it",
        vault::SkipReason::Transient => {
            "temporary file still in use or written recently; encrypted once it has been quiet"
        }
        vault::SkipReason::HardLinked => {
            "has other names (hard links), so removing it would not remove its data; not protected"
        }
        vault::SkipReason::CofferFolder => "inside one of Coffer's own folders; never encrypted",
        vault::SkipReason::Unreadable => {
            "a folder that cannot be read (check its permissions); what is in it stays as it is"
        }
    }
}

fn gather(v: &Vault, paths: &[PathBuf], to: &str) -> Result<vault::Collected, Failure> {
    let mut all = vault::Collected::default();
    let to = to.trim_matches('/');
    for p in paths {
        let name = p
            .file_name()
            .and_then(|n| n.to_str())
            .ok_or_else(|| Failure::usage(format!("{} has no usable name", p.display()), None))?;
        let prefix = if to.is_empty() {
            name.to_owned()
        } else {
            format!("{to}/{name}")
        };
        if p.symlink_metadata()
            .is_err_and(|e| e.kind() == std::io::ErrorKind::NotFound)
        {
            return Err(Failure {
                code: exit::NOT_FOUND,
                kind: "not_found",
                message: format!("{} does not exist; nothing was added", p.display()),
                hint: Some("check the path (`ls` it); nothing was changed".into()),
            });
        }
        let c = v.collect(p, &prefix)?;
        all.sources.extend(c.sources);
        all.skipped.extend(c.skipped);
    }
    Ok(all)
}

fn run_add(
    ctx: &Ctx,
    v: &Vault,
    sources: &[AddSource],
    remove: bool,
    what: &str,
) -> Result<Vec<AddOutcome>, Failure> {
    let pb = ctx.progress(sources.len() as u64, what);
    let outcomes = v.add(
        sources,
        AddOptions {
            remove_plaintext: remove,
            ..Default::default()
        },
        &|p: Progress| pb.set_position(p.files),
    )?;
    pb.finish_and_clear();
    Ok(outcomes)
}

fn cmd_add(ctx: &Ctx, paths: &[PathBuf], to: &str, remove: bool) -> Result<(), Failure> {
    let v = ctx.open()?;
    let c = gather(&v, paths, to)?;
    let outcomes = run_add(ctx, &v, &c.sources, remove, "Encrypting")?;
    report_add(ctx, &c.sources, &outcomes, &c.skipped)
}

fn cmd_protect(ctx: &Ctx, dir: &Path) -> Result<(), Failure> {
    let v = ctx.open()?;
    let folder = v.register_protected(dir)?;
    let c = v.collect(&folder.path, &folder.name)?;
    let outcomes = run_add(ctx, &v, &c.sources, true, "Protecting")?;
    if !ctx.json {
        println!(
            "{} is now protected; its files go into the vault under {}/.",
            folder.path.display(),
            folder.name
        );
    }
    report_add(ctx, &c.sources, &outcomes, &c.skipped)
}

/// Runs the watcher until killed. Output names no file (it may end up in
/// the system journal): object ids and counts only.
fn cmd_watch(ctx: &Ctx) -> Result<(), Failure> {
    use coffer_core::watch::{self, WatchEvent, WatchOptions};
    ctx.open()?;
    let (tx, rx) = std::sync::mpsc::channel();
    let _handle = watch::start(&ctx.dir, WatchOptions::default(), tx)?;
    for ev in rx {
        let (human, machine) = match &ev {
            WatchEvent::Ready { folders, pending } => (
                format!(
                    "watching {folders} protected folders; {pending} files waiting to be encrypted"
                ),
                json!({"event": "ready", "folders": folders, "pending": pending}),
            ),
            WatchEvent::Encrypted { id, size, .. } => (
                format!(
                    "encrypted a file ({}) into the vault as {id}",
                    human_bytes(*size)
                ),
                json!({"event": "encrypted", "id": id.to_hex(), "size": size}),
            ),
            WatchEvent::Skipped { reason, .. } => (
                format!("left a file alone: {}", skip_text(reason)),
                json!({"event": "skipped", "reason": reason}),
            ),
            WatchEvent::Failed {
                error, retry_in, ..
            } => {
                let (_, kind, _) = exit::classify(error);
                (
                    format!(
                        "could not encrypt a file ({error}); trying again in {} s",
                        retry_in.as_secs().max(1)
                    ),
                    json!({"event": "failed", "error": kind, "message": error.to_string(), "retry_in_ms": retry_in.as_millis() as u64}),
                )
            }
            WatchEvent::Warning(w) => (
                format!("warning: {w}"),
                json!({"event": "warning", "message": w}),
            ),
            _ => continue,
        };
        ctx.say(human, machine);
        let _ = std::io::stdout().flush();
    }
    Ok(())
}

fn matching<'a>(entries: &'a [Entry], path: &str) -> Vec<&'a Entry> {
    let path = path.trim_matches('/');
    entries
        .iter()
        .filter(|e| e.path == path || path.is_empty() || e.path.starts_with(&format!("{path}/")))
        .collect()
}

fn report_unreadable(ctx: &Ctx, bad: &[(FileId, coffer_core::Error)]) {
    if !bad.is_empty() && !ctx.json {
        eprintln!(
            "warning: {} stored objects could not be read (run `coffer verify`)",
            bad.len()
        );
    }
}

fn cmd_ls(ctx: &Ctx, prefix: Option<&str>, long: bool) -> Result<(), Failure> {
    let v = ctx.unlocked()?;
    let vault::Listing {
        entries: all,
        unreadable: bad,
    } = v.entries()?;
    report_unreadable(ctx, &bad);
    let current = vault::latest_versions(&all);
    let shown = matching(&current, prefix.unwrap_or(""));
    if let Some(p) = prefix
        && shown.is_empty()
    {
        return Err(coffer_core::Error::NotFound(format!("nothing under {p}")).into());
    }
    if ctx.json {
        let files: Vec<_> = shown
            .iter()
            .map(|e| json!({"path": e.path, "id": e.id.to_hex(), "size": e.size, "mtime_ns": e.mtime_ns,
                            "added_ns": e.added_ns, "versions": all.iter().filter(|x| x.path == e.path).count()}))
            .collect();
        println!("{}", json!({"files": files, "unreadable": bad.len()}));
        return Ok(());
    }
    let mut out = std::io::stdout().lock();
    for e in shown {
        if long {
            let n = all.iter().filter(|x| x.path == e.path).count();
            let _ = writeln!(
                out,
                "{:>10}  {}  v{:<3} {}  {}",
                human_bytes(e.size),
                fmt_time(e.mtime_ns),
                n,
                e.id.to_hex(),
                e.path
            );
        } else {
            let _ = writeln!(out, "{}", e.path);
        }
    }
    Ok(())
}

fn cmd_versions(ctx: &Ctx, path: &str) -> Result<(), Failure> {
    let v = ctx.unlocked()?;
    let vs = v.versions(path.trim_matches('/'))?;
    if ctx.json {
        let l: Vec<_> = vs.iter().enumerate().map(|(i, e)| json!({"version": i + 1, "id": e.id.to_hex(), "size": e.size, "mtime_ns": e.mtime_ns, "added_ns": e.added_ns})).collect();
        println!("{}", json!({"path": path, "versions": l}));
    } else {
        for (i, e) in vs.iter().enumerate() {
            println!(
                "v{:<3} {:>10}  added {}  {}",
                i + 1,
                human_bytes(e.size),
                fmt_time(e.added_ns),
                e.id.to_hex()
            );
        }
    }
    Ok(())
}

fn pick_version(v: &Vault, path: &str, version: Option<usize>) -> Result<Entry, Failure> {
    pick_from(&v.versions(path.trim_matches('/'))?, version)
}

/// Version `n` (1 = oldest) of `versions` (oldest first), or the newest.
fn pick_from(vs: &[Entry], version: Option<usize>) -> Result<Entry, Failure> {
    if vs.is_empty() {
        return Err(coffer_core::Error::NotFound("file".into()).into());
    }
    match version {
        None => Ok(vs.last().cloned().expect("versions is never empty")),
        Some(n) if n >= 1 && n <= vs.len() => Ok(vs[n - 1].clone()),
        Some(n) => Err(coffer_core::Error::NotFound(format!(
            "version {n} (there are {})",
            vs.len()
        ))
        .into()),
    }
}

fn cmd_cat(ctx: &Ctx, path: &str, version: Option<usize>) -> Result<(), Failure> {
    let v = ctx.unlocked()?;
    let e = pick_version(&v, path, version)?;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    v.decrypt_to(&e.id, &mut out)?;
    out.flush().map_err(|e| {
        Failure::from(coffer_core::Error::Io {
            context: "writing output",
            source: e,
        })
    })?;
    Ok(())
}

fn cmd_extract(
    ctx: &Ctx,
    paths: &[String],
    to: &Path,
    version: Option<usize>,
) -> Result<(), Failure> {
    let v = ctx.unlocked()?;
    let mut targets: Vec<(Entry, PathBuf)> = Vec::new();
    let vault::Listing {
        entries: all,
        unreadable: bad,
    } = v.entries()?;
    report_unreadable(ctx, &bad);
    let current = vault::latest_versions(&all);
    for p in paths {
        let p = p.trim_matches('/');
        if version.is_some() || current.iter().any(|e| e.path == p) {
            let mut vs: Vec<Entry> = all.iter().filter(|e| e.path == p).cloned().collect();
            vs.sort_by_key(|e| (e.added_ns, e.id));
            let e = pick_from(&vs, version)?;
            let name = e.path.rsplit('/').next().unwrap_or(&e.path).to_owned();
            targets.push((e, to.join(name)));
        } else {
            let under = matching(&current, p);
            if under.is_empty() {
                return Err(coffer_core::Error::NotFound(format!("{p} in the vault")).into());
            }
            let parent = p.rsplit_once('/').map(|(a, _)| a).unwrap_or("");
            for e in under {
                let rel = e
                    .path
                    .strip_prefix(parent)
                    .unwrap_or(&e.path)
                    .trim_start_matches('/');
                targets.push((e.clone(), to.join(rel)));
            }
        }
    }
    // Refuse before writing anything: a half-done extraction beside files
    // that were already there is harder to sort out than a clear refusal.
    if let Some((_, dest)) = targets.iter().find(|(_, d)| d.symlink_metadata().is_ok()) {
        return Err(Failure::usage(
            format!("{} already exists; nothing was extracted", dest.display()),
            Some("choose an empty folder with --to DIR, or move the existing file away"),
        ));
    }
    let pb = ctx.progress(targets.len() as u64, "Decrypting");
    let mut bytes = 0;
    for (e, dest) in &targets {
        v.extract(e, dest).map_err(|err| {
            pb.finish_and_clear();
            let mut f = Failure::from(err);
            f.message = format!("{} could not be extracted: {}", e.path, f.message);
            f
        })?;
        bytes += e.size;
        pb.inc(1);
    }
    pb.finish_and_clear();
    ctx.say(
        format!(
            "Extracted {} files ({}) to {}.",
            targets.len(),
            human_bytes(bytes),
            to.display()
        ),
        json!({"extracted": targets.len(), "bytes": bytes, "to": to, "unreadable": bad.len()}),
    );
    Ok(())
}

fn cmd_rm(ctx: &Ctx, paths: &[String]) -> Result<(), Failure> {
    let v = ctx.unlocked()?;
    let mut n = 0;
    for p in paths {
        n += v.remove(p.trim_matches('/'))?;
    }
    ctx.say(
        format!("Removed {n} file versions from the vault."),
        json!({"removed_versions": n}),
    );
    Ok(())
}

fn cmd_verify(ctx: &Ctx, structure_only: bool, quarantine: bool) -> Result<(), Failure> {
    let v = if structure_only {
        ctx.open()?
    } else {
        ctx.unlocked()?
    };
    let total = v.object_ids()?.len() as u64;
    let pb = ctx.progress(total, "Verifying");
    let mut r = v.verify(&|p: Progress| pb.set_position(p.files))?;
    pb.finish_and_clear();
    // With --quarantine every failing object is set aside (the core checks
    // each again and refuses any that verifies); what is left then verifies.
    let moved = if quarantine && !r.failures.is_empty() {
        let ids: Vec<FileId> = r
            .failures
            .iter()
            .filter_map(|(id, _)| FileId::from_hex(id))
            .collect();
        let moved = v.quarantine(&ids)?;
        r.quarantined = v.quarantined()?;
        moved
    } else {
        Vec::new()
    };
    let ok = r.ok() || (quarantine && moved.len() == r.failures.len());
    let failure = (!ok).then(|| Failure {
        code: exit::INTEGRITY,
        kind: "integrity",
        message: format!("{} objects failed verification", r.failures.len()),
        hint: Some(
            "restore the affected files from a backup, or set them aside with \
             `coffer verify --quarantine`; the others are intact"
                .into(),
        ),
    });
    let qdir = v.dir().join("quarantine");
    if ctx.json {
        let mut doc = json!({"ok": ok, "report": r});
        if quarantine {
            doc["quarantined_now"] = json!(moved);
        }
        return match failure {
            Some(f) => Err(f.with_json_report(doc)),
            None => {
                println!("{doc}");
                Ok(())
            }
        };
    } else {
        let what = if r.full {
            "every chunk authenticated"
        } else {
            "structure checked (unlock for a full check)"
        };
        println!(
            "{} objects, {}: {} problems.",
            r.objects,
            what,
            r.failures.len()
        );
        for (id, why) in &r.failures {
            println!("  {id}: {why}");
        }
        if r.temp_files > 0 || r.orphan_records > 0 {
            println!(
                "  {} leftover temporary files and {} orphaned key records (removed at the next write)",
                r.temp_files, r.orphan_records
            );
        }
        let ids = |qs: &[vault::QuarantinedObject]| {
            qs.iter()
                .map(|q| q.id.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        };
        if !moved.is_empty() {
            println!(
                "Set aside {} damaged objects in {}: {} (they no longer block key rotation; \
                 restore the files from a backup if you need them).",
                moved.len(),
                qdir.display(),
                ids(&moved)
            );
            if r.quarantined.len() > moved.len() {
                println!(
                    "{} objects in all are quarantined there.",
                    r.quarantined.len()
                );
            }
        } else if !r.quarantined.is_empty() {
            println!(
                "{} objects are quarantined in {} (damaged, set aside; not checked above): {}",
                r.quarantined.len(),
                qdir.display(),
                ids(&r.quarantined)
            );
        }
    }
    match failure {
        Some(f) => Err(f),
        None => Ok(()),
    }
}

fn cmd_status(ctx: &Ctx, record: bool) -> Result<(), Failure> {
    let v = ctx.open()?;
    if record {
        v.record_status()?;
    }
    let s = v.status()?;
    let fde = coffer_core::posture::disk_encryption(v.dir());
    if ctx.json {
        let mut v = serde_json::to_value(&s).expect("serializes");
        v["disk_encryption"] = serde_json::to_value(&fde).expect("serializes");
        println!("{v}");
        return Ok(());
    }
    println!("Vault        {}", ctx.dir.display());
    println!("Vault id     {}", s.vault_id);
    println!("State        locked (files are encrypted; new files can still be added)");
    println!(
        "Files        {} versions, {} stored",
        s.objects,
        human_bytes(s.stored_bytes)
    );
    println!("Encryption   AES-256-GCM, 64 KiB chunks, a random key per file");
    println!(
        "Disk         full-disk encryption {}",
        match &fde {
            coffer_core::posture::DiskEncryption::On { how } => format!("on ({how})"),
            coffer_core::posture::DiskEncryption::Off =>
                "OFF: turn on full-disk encryption (LUKS, FileVault, BitLocker)".into(),
            coffer_core::posture::DiskEncryption::Unknown { why } => format!("unknown ({why})"),
        }
    );
    let age_days = (jiff::Timestamp::now().as_second() - s.key_version_created).max(0) / 86_400;
    println!(
        "Key version  {} (created {}, {} days ago)",
        s.key_version,
        fmt_time(s.key_version_created * 1_000_000_000),
        age_days
    );
    if let Some(period) = v.policy().policy.rotation.map(|r| i64::from(r.period_days)) {
        let left = period - age_days;
        if left < 0 {
            println!(
                "Rotation     OVERDUE by {} days (policy: every {period} days): run `coffer rotate`",
                -left
            );
        } else {
            println!("Rotation     due in {left} days (policy: every {period} days)");
        }
    }
    if let Some(r) = &s.rotation {
        println!(
            "Rotation     {:?} to key version {} was interrupted: run `coffer rotate` to finish it",
            r.kind, r.target_version
        );
    }
    for sl in &s.slots {
        match &sl.kdf {
            Some(k) => println!(
                "Unlock       {} [{}] Argon2id m={} MiB t={} p={}",
                sl.kind.as_str(),
                sl.id,
                k.m_kib / 1024,
                k.t,
                k.p
            ),
            None => println!("Unlock       {} [{}]", sl.kind.as_str(), sl.id),
        }
    }
    if s.protected.is_empty() {
        println!("Protected    no folders (add one with `coffer protect DIR`)");
    }
    for f in &s.protected {
        println!("Protected    {} -> {}/", f.path.display(), f.name);
    }
    if s.plaintext.files == 0 {
        if !s.protected.is_empty() {
            println!("Plaintext    none left in the protected folders");
        }
    } else {
        println!(
            "Plaintext    {} files in the protected folders are not encrypted:",
            s.plaintext.files
        );
        for line in s.plaintext.lines() {
            println!("               {line}");
        }
    }
    Ok(())
}

fn cmd_inspect(ctx: &Ctx, object: &str) -> Result<(), Failure> {
    let v = ctx.open()?;
    let id = FileId::from_hex(object.trim()).ok_or_else(|| {
        Failure::usage(
            "an object id is 32 hex digits",
            Some("see `coffer ls --long` or `coffer verify`"),
        )
    })?;
    let i = v.inspect(&id)?;
    if ctx.json {
        println!("{}", serde_json::to_value(&i).expect("serializes"));
    } else {
        println!("object          {}", i.id);
        println!(
            "format          v{}, {}-byte chunks, AES-256-GCM STREAM",
            i.format_version, i.chunk_size
        );
        println!("salt            {}", i.salt);
        println!("commitment      {}", i.commitment);
        println!(
            "key record      {} bytes, key version {}, {}",
            i.record_len,
            i.key_version,
            if i.sidecar { "sidecar" } else { "embedded" }
        );
        println!("metadata        {} bytes (encrypted)", i.metadata_len);
        println!(
            "chunk stream    starts at {}, {} chunks",
            i.stream_offset, i.chunks
        );
        println!(
            "size            {} bytes stored, {} bytes of content",
            i.object_len, i.plaintext_len
        );
    }
    Ok(())
}

fn cmd_slots(ctx: &Ctx, action: SlotsCmd) -> Result<(), Failure> {
    match action {
        SlotsCmd::List => {
            let s = ctx.open()?.status()?;
            if ctx.json {
                println!("{}", json!({"slots": s.slots}));
            } else {
                for sl in &s.slots {
                    println!(
                        "{}  {:<10} created {}",
                        sl.id,
                        sl.kind.as_str(),
                        fmt_time(sl.created * 1_000_000_000)
                    );
                }
            }
            Ok(())
        }
        SlotsCmd::Add { kind, escrow, kdf } => {
            let mut v = ctx.unlocked()?;
            let vid = vault_id_hex(&v);
            let (id, extra) = match kind.as_str() {
                "passphrase" => {
                    let p = creds::new_passphrase(&ctx.cred, "COFFER_NEW_PASSPHRASE")?;
                    (v.add_slot(NewSlot::Passphrase(&p, kdf.params()))?, None)
                }
                "keychain" => {
                    let k = Key32::random();
                    let id = v.replace_slots(SlotKind::Keychain, NewSlot::Keychain(&k))?;
                    keychain::store(&vid, &k)?;
                    (id, None)
                }
                "recovery" => {
                    let k = Key32::random();
                    let id = v.replace_slots(SlotKind::Recovery, NewSlot::Recovery(&k))?;
                    (id, Some(coffer_core::recovery::encode(&k)))
                }
                "escrow" => {
                    let pk = parse_pubkey(
                        escrow
                            .as_deref()
                            .ok_or_else(|| Failure::usage("--escrow PUBKEY is needed", None))?,
                    )?;
                    (
                        v.replace_slots(SlotKind::Escrow, NewSlot::Escrow(&pk))?,
                        None,
                    )
                }
                other => {
                    return Err(Failure::usage(
                        format!("unknown slot kind {other}"),
                        Some("use passphrase, keychain, recovery or escrow"),
                    ));
                }
            };
            match &extra {
                Some(rk) if !ctx.json => println!(
                    "New recovery key (the old one no longer works; shown only once):\n\n    {}\n",
                    &**rk
                ),
                _ => {}
            }
            ctx.say(format!("Added {kind} slot {id}."), json!({"added": kind, "slot": id, "recovery_key": extra.as_deref().map(|s| s.as_str())}));
            Ok(())
        }
        SlotsCmd::Remove { id } => {
            let mut v = ctx.unlocked()?;
            let kind = v.remove_slot(&id)?;
            if kind == SlotKind::Keychain {
                keychain::delete(&vault_id_hex(&v))?;
            }
            ctx.say(
                format!("Removed {} slot {id}.", kind.as_str()),
                json!({"removed": kind, "slot": id}),
            );
            Ok(())
        }
    }
}

fn cmd_rotate(ctx: &Ctx, reencrypt: bool, kdf: Argon2Params) -> Result<(), Failure> {
    use coffer_core::config::RotationKind;
    use coffer_core::vault::Reenrol;
    let mut v = ctx.open()?;
    // Re-encryption re-enrols the passphrase under the new master key, so
    // it needs the passphrase itself, whatever unlocks the vault.
    let pass = if reencrypt {
        let p = creds::passphrase(&ctx.cred)?;
        v.unlock(&Credential::Passphrase(&p))?;
        Some(p)
    } else {
        ctx.unlock(&mut v)?;
        None
    };
    let kind = if reencrypt {
        RotationKind::Reencrypt
    } else {
        RotationKind::Rewrap
    };
    let was_pending = v.config().rotation.is_some();
    let total = v.object_ids()?.len() as u64;
    let pb = ctx.progress(
        total,
        if reencrypt {
            "Re-encrypting"
        } else {
            "Rewrapping"
        },
    );
    let out = v.rotate(
        kind,
        pass.as_ref().map(|p| Reenrol { passphrase: p, kdf }),
        &|p: coffer_core::vault::RotationProgress| pb.set_position(p.files.min(total)),
    );
    pb.finish_and_clear();
    let out = match out {
        Err(coffer_core::Error::RotationBlocked { objects }) => {
            let pending = v.config().rotation.is_some();
            // Starting a re-encryption replaced every credential; the new
            // recovery key is only handed out when that run finishes.
            let started_reencrypt = !was_pending
                && v.config()
                    .rotation
                    .as_ref()
                    .is_some_and(|r| r.kind == RotationKind::Reencrypt);
            let keychain = v
                .config()
                .slots
                .iter()
                .any(|s| s.kind() == SlotKind::Keychain);
            let list: Vec<_> = objects
                .iter()
                .map(|(id, why)| json!({"id": id, "reason": why}))
                .collect();
            let f = Failure::from(coffer_core::Error::RotationBlocked {
                objects: objects.clone(),
            });
            if ctx.json {
                return Err(f.with_json_report(json!({
                    "blocked": list,
                    "rotation_pending": pending,
                    "new_recovery_key_needed": started_reencrypt,
                })));
            }
            eprintln!(
                "These stored objects cannot be read or unwrapped{}:",
                if pending {
                    " (the rotation stays pending and finishes when run again)"
                } else {
                    " (the rotation was not started)"
                }
            );
            for (id, why) in &objects {
                eprintln!("  {id}: {why}");
            }
            if started_reencrypt {
                eprintln!(
                    "This re-encryption had already replaced the recovery key{}; the new one \
                     is shown only by a run that starts and finishes it, so make a new recovery \
                     key with `coffer slots add recovery`{}.",
                    if keychain {
                        " and the keychain secret"
                    } else {
                        ""
                    },
                    if keychain {
                        " and a new keychain secret with `coffer slots add keychain`"
                    } else {
                        ""
                    }
                );
            }
            return Err(f);
        }
        other => other?,
    };
    if let Some(k) = &out.keychain_secret {
        keychain::store(&vault_id_hex(&v), k)?;
    }
    let r = &out.report;
    if ctx.json {
        println!(
            "{}",
            json!({"rotation": r, "recovery_key": out.recovery_key.as_deref().map(|s| s.as_str())})
        );
    } else {
        println!(
            "{} {} files to key version {}{}; destroyed key versions {:?}.",
            if r.resumed {
                "Resumed and finished: moved"
            } else {
                "Moved"
            },
            r.files,
            r.key_version,
            if reencrypt {
                format!(" ({} re-encrypted)", human_bytes(r.bytes))
            } else {
                String::new()
            },
            r.destroyed_versions
        );
        if let Some(rk) = &out.recovery_key {
            println!(
                "\nNew recovery key (the old one no longer works; shown only once):\n\n    {}\n",
                &**rk
            );
        }
    }
    Ok(())
}

fn cmd_policy(ctx: &Ctx, action: PolicyCmd) -> Result<(), Failure> {
    match action {
        PolicyCmd::Show => {
            let eff = coffer_core::policy::load()?;
            let floor = eff.policy.kdf_floor();
            if ctx.json {
                println!(
                    "{}",
                    json!({"source": eff.source, "policy": eff.policy,
                           "effective": {"kdf_min": floor}})
                );
                return Ok(());
            }
            match &eff.source {
                Some(p) => println!(
                    "Policy from {} (set by your organisation; it cannot be weakened here)",
                    p.display()
                ),
                None => println!(
                    "No organisation policy ({} not present): Coffer's defaults apply.",
                    coffer_core::policy::system_path().display()
                ),
            }
            let p = &eff.policy;
            println!(
                "Key derivation   Argon2id at least m={} MiB, t={}, p={}",
                floor.m_kib / 1024,
                floor.t,
                floor.p
            );
            println!(
                "Unlock methods   {}",
                p.unlock.as_ref().map_or(
                    "any (passphrase, keychain, recovery, escrow)".into(),
                    |u| u
                        .allowed
                        .iter()
                        .map(|k| k.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            );
            println!(
                "Escrow           {}",
                p.escrow.as_ref().map_or("none".into(), |e| if e.required {
                    "required (added at next unlock)".to_string()
                } else {
                    "offered".to_string()
                })
            );
            println!(
                "Mandatory folders {}",
                if p.folders.mandatory.is_empty() {
                    "none".into()
                } else {
                    p.folders.mandatory.join(", ")
                }
            );
            println!(
                "Auto-lock        {}",
                p.lock.map_or("user's choice".into(), |l| format!(
                    "at most {} minutes",
                    l.max_auto_lock_minutes
                ))
            );
            println!(
                "Key rotation     {}",
                p.rotation.map_or("not scheduled".into(), |r| format!(
                    "every {} days",
                    r.period_days
                ))
            );
            println!(
                "Disk encryption  {}",
                if p.device.require_disk_encryption {
                    "required"
                } else {
                    "not required"
                }
            );
            println!(
                "Audit sinks      {}",
                if p.audit.sinks.is_empty() {
                    "none".into()
                } else {
                    p.audit
                        .sinks
                        .iter()
                        .map(|s| s.describe())
                        .collect::<Vec<_>>()
                        .join(", ")
                }
            );
            let x = &p.extract;
            println!(
                "Extract to       {}{}",
                if x.allowed_destinations.is_empty() {
                    "anywhere".into()
                } else {
                    format!("only below {}", x.allowed_destinations.join(", "))
                },
                if x.forbidden_destinations.is_empty() {
                    String::new()
                } else {
                    format!("; never below {}", x.forbidden_destinations.join(", "))
                }
            );
            Ok(())
        }
        PolicyCmd::Validate { file } => {
            let text = read_small_text(
                &file,
                coffer_core::policy::MAX_POLICY_LEN,
                "reading the policy file",
            )?;
            // Parsing is all there is to it: ownership is checked where the
            // file is installed, not here.
            let policy = coffer_core::policy::Policy::parse(&text).map_err(|e| Failure {
                code: exit::USAGE,
                kind: "invalid",
                message: match e {
                    coffer_core::Error::PolicyInvalid { why } => {
                        format!("{} is not a valid policy: {why}", file.display())
                    }
                    other => format!("{}: {other}", file.display()),
                },
                hint: Some("docs/POLICY.md lists every setting and its limits".into()),
            })?;
            ctx.say(
                format!("{} is a valid Coffer policy.", file.display()),
                json!({"valid": true, "file": file, "policy": policy}),
            );
            Ok(())
        }
        PolicyCmd::Check => {
            let v = ctx.open()?;
            let checks = v.compliance()?;
            let ok = checks.iter().all(|c| c.ok);
            if ctx.json {
                println!(
                    "{}",
                    json!({"compliant": ok, "policy_source": v.policy().source, "checks": checks})
                );
            } else {
                for c in &checks {
                    println!(
                        "{} {}: {}",
                        if c.ok { "ok  " } else { "FAIL" },
                        c.rule,
                        c.detail
                    );
                }
                println!("{}", if ok { "Compliant." } else { "Not compliant." });
            }
            if !ok {
                return Err(Failure {
                    code: exit::FAILURE,
                    kind: "non_compliant",
                    message: format!(
                        "{} of {} policy checks failed",
                        checks.iter().filter(|c| !c.ok).count(),
                        checks.len()
                    ),
                    hint: Some("the failed checks above say what to change".into()),
                });
            }
            Ok(())
        }
    }
}

fn cmd_audit(ctx: &Ctx, action: AuditCmd) -> Result<(), Failure> {
    use coffer_core::{audit, sink};
    match action {
        AuditCmd::Verify { log } => {
            let (report, what) = match &log {
                Some(path) => {
                    let bytes = std::fs::read(path).map_err(|e| {
                        Failure::from(coffer_core::Error::Io {
                            context: "reading the audit log",
                            source: e,
                        })
                    })?;
                    (
                        audit::verify_chain(&bytes, None),
                        path.display().to_string(),
                    )
                }
                None => {
                    let v = ctx.open()?;
                    (
                        audit::verify_vault_log(v.audit())?,
                        "the vault's audit log".to_owned(),
                    )
                }
            };
            if ctx.json {
                println!("{}", json!({"ok": report.ok(), "report": report}));
            } else if report.ok() {
                println!(
                    "{what}: chain verified, {} records (up to record {}){}{}",
                    report.verified,
                    report.last_seq,
                    if report.repaired_tears > 0 {
                        format!(
                            "; {} lines torn by crashes, each acknowledged",
                            report.repaired_tears
                        )
                    } else {
                        String::new()
                    },
                    if report.torn_tail {
                        "; the last line was torn by a crash and will be acknowledged by the next record"
                    } else {
                        ""
                    },
                );
            }
            if let Some((line, why)) = &report.broken {
                return Err(Failure {
                    code: exit::INTEGRITY,
                    kind: "integrity",
                    message: format!("{what}: broken at line {line}: {why} (verified up to record {})", report.last_seq),
                    hint: Some("compare with a shipped copy (`coffer audit verify --log COPY`) to see what was changed".into()),
                });
            }
            if let Some(t) = &report.truncated {
                return Err(Failure {
                    code: exit::INTEGRITY,
                    kind: "integrity",
                    message: format!("{what}: {t}"),
                    hint: Some("the shipped copy holds the missing records".into()),
                });
            }
            Ok(())
        }
        AuditCmd::Export {
            from,
            to,
            user,
            action,
            file,
            format,
            out,
            names,
            log,
        } => {
            use coffer_report as report;
            let query = report::AccessQuery {
                from: parse_time(from.as_deref())?,
                to: parse_time(to.as_deref())?,
                user,
                action,
                file,
                file_name: None,
            };
            let fmt: report::ReportFormat = format.parse()?;
            let (rep, body) = match &log {
                Some(path) => {
                    let bytes = read_file(path, "reading the audit log")?;
                    let chain = audit::verify_chain(&bytes, None);
                    let rep =
                        report::access_report(&report::parse_records(&bytes), &query, &chain, None);
                    let body = rep.render(fmt);
                    (rep, body)
                }
                None => {
                    let v = if names { ctx.unlocked()? } else { ctx.open()? };
                    report::vault::export_access_report(&v, &query, names, fmt)?
                }
            };
            write_output(out.as_deref(), &body, fmt == report::ReportFormat::Pdf)?;
            if out.is_some() {
                ctx.say(
                    format!(
                        "Wrote an access report of {} events ({}).",
                        rep.rows.len(),
                        rep.chain.statement
                    ),
                    json!({"rows": rep.rows.len(), "chain_ok": rep.chain.ok, "out": out}),
                );
            }
            Ok(())
        }
        AuditCmd::Incident {
            device,
            lost_at,
            log,
            format,
            out,
        } => {
            use coffer_report as report;
            let lost_at = parse_time(Some(&lost_at))?.expect("given");
            let fmt: report::ReportFormat = format.parse()?;
            let (records, raw) = report::load_shipped(&log, &device)?;
            let rep = report::incident_report(&records, &raw, &device, lost_at);
            let body = rep.render(fmt)?;
            write_output(out.as_deref(), &body, fmt == report::ReportFormat::Pdf)?;
            if out.is_some() {
                ctx.say(
                    format!("Incident report written. Verdict: {}", rep.verdict_text),
                    json!({"verdict": rep.verdict, "out": out}),
                );
            }
            Ok(())
        }
        AuditCmd::Fleet { log, format, out } => {
            let devices = coffer_report::fleet::summarize(&log)?;
            let format = if ctx.json { "json" } else { format.as_str() };
            match format {
                "json" => {
                    let body = json!({ "devices": devices }).to_string() + "\n";
                    return write_output(out.as_deref(), body.as_bytes(), false);
                }
                "html" => {
                    let now = jiff::Timestamp::now().to_string();
                    let body = coffer_report::fleet_html(&devices, &now);
                    return write_output(out.as_deref(), body.as_bytes(), false);
                }
                "table" => {}
                other => {
                    return Err(Failure::usage(
                        format!("unknown format {other}"),
                        Some("use table, json or html"),
                    ));
                }
            }
            println!(
                "{:<18} {:<16} {:<26} {:<10} {:<6} problems",
                "device", "host", "last seen", "compliant", "chain"
            );
            for d in &devices {
                println!(
                    "{:<18} {:<16} {:<26} {:<10} {:<6} {}",
                    d.device,
                    d.host,
                    d.last_seen.get(..19).unwrap_or(&d.last_seen),
                    match d.compliant {
                        Some(true) => "yes",
                        Some(false) => "NO",
                        None => "unknown",
                    },
                    if d.chain_ok { "ok" } else { "BROKEN" },
                    d.problems.join("; ")
                );
            }
            Ok(())
        }
        AuditCmd::Ship => {
            let v = ctx.open()?;
            let reports = sink::ship_all(v.audit())?;
            let behind = reports.iter().filter(|r| r.error.is_some()).count();
            if ctx.json {
                println!("{}", json!({"sinks": reports}));
            } else if reports.is_empty() {
                println!(
                    "No audit sinks configured (add one with `coffer audit sink add-dir` or `add-syslog`)."
                );
            } else {
                for r in &reports {
                    match &r.error {
                        None => println!(
                            "{}: shipped {} records, up to record {}",
                            r.sink, r.shipped, r.shipped_up_to
                        ),
                        Some(e) => println!("{}: not reachable ({e}); records stay queued", r.sink),
                    }
                }
            }
            if behind > 0 {
                return Err(Failure {
                    code: exit::IO,
                    kind: "io",
                    message: format!("{behind} audit sinks could not be reached"),
                    hint: Some(
                        "records stay queued in the vault and are sent on the next try".into(),
                    ),
                });
            }
            Ok(())
        }
        AuditCmd::Sink { action } => {
            let v = ctx.open()?;
            let mut sinks = sink::load(v.dir())?;
            match action {
                SinkCmd::List => {
                    if ctx.json {
                        println!("{}", json!({"sinks": sinks}));
                    } else {
                        for (i, s) in sinks.iter().enumerate() {
                            println!("{}  {}", i + 1, s.describe());
                        }
                    }
                    return Ok(());
                }
                SinkCmd::AddDir { path } => {
                    let abs = std::fs::canonicalize(&path).map_err(|e| {
                        Failure::from(coffer_core::Error::Io {
                            context: "finding the sink folder",
                            source: e,
                        })
                    })?;
                    sinks.push(sink::Sink::Directory { path: abs });
                }
                SinkCmd::AddSyslog { url } => sinks.push(sink::Sink::Syslog { url }),
                SinkCmd::Remove { n } => {
                    if n == 0 || n > sinks.len() {
                        return Err(coffer_core::Error::NotFound(format!("sink {n}")).into());
                    }
                    sinks.remove(n - 1);
                }
            }
            sink::save(v.dir(), &sinks)?;
            let reports = sink::ship_all(v.audit())?;
            ctx.say(
                format!(
                    "Audit sinks: {}.",
                    sinks
                        .iter()
                        .map(|s| s.describe())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                json!({"sinks": sinks, "shipped": reports}),
            );
            Ok(())
        }
    }
}

/// An RFC 3339 time from the command line.
fn parse_time(t: Option<&str>) -> Result<Option<jiff::Timestamp>, Failure> {
    t.map(|t| {
        t.parse::<jiff::Timestamp>().map_err(|e| {
            Failure::usage(
                format!("{t} is not a time: {e}"),
                Some("use RFC 3339, e.g. 2026-11-20T14:30:00Z"),
            )
        })
    })
    .transpose()
}

fn read_file(path: &Path, context: &'static str) -> Result<Vec<u8>, Failure> {
    std::fs::read(path).map_err(|e| Failure::from(coffer_core::Error::Io { context, source: e }))
}

/// Writes a report to `out` (atomically) or to standard output.
fn write_output(out: Option<&Path>, body: &[u8], binary: bool) -> Result<(), Failure> {
    match out {
        Some(p) => Ok(coffer_core::fsutil::atomic_write(p, body)?),
        None if binary && std::io::stdout().is_terminal() => Err(Failure::usage(
            "a PDF cannot be shown on the terminal",
            Some("pass --out FILE.pdf"),
        )),
        None => std::io::stdout().write_all(body).map_err(|e| {
            Failure::from(coffer_core::Error::Io {
                context: "writing the report",
                source: e,
            })
        }),
    }
}

fn cmd_recover(ctx: &Ctx, escrow_key: Option<&Path>, kdf: Argon2Params) -> Result<(), Failure> {
    let mut v = ctx.open()?;
    let how = if let Some(path) = escrow_key {
        let sk = read_escrow_private(path)?;
        v.unlock(&Credential::Escrow(&sk))?;
        "escrow"
    } else {
        let k = creds::recovery_key()?;
        v.unlock(&Credential::Recovery(&k))?;
        "recovery_key"
    };
    let p = creds::new_passphrase(&ctx.cred, "COFFER_NEW_PASSPHRASE")?;
    v.replace_slots(SlotKind::Passphrase, NewSlot::Passphrase(&p, kdf))?;
    ctx.say(
        "Recovered: the vault has a new passphrase. Your recovery key still works; make a new one with `coffer slots add recovery` if it was exposed.",
        json!({"recovered": true, "method": how}),
    );
    Ok(())
}

const ESCROW_PRIVATE_TAG: &str = "coffer-escrow-private:";
const ESCROW_PUBLIC_TAG: &str = "coffer-escrow-public:";
/// Largest key file read (`coffer escrow keygen` writes a few hundred bytes).
const MAX_KEY_FILE_LEN: u64 = 64 << 10;

/// Reads a small text file the user named, refusing one over `max` bytes
/// before reading it. Zeroized when dropped: it may hold a private key.
fn read_small_text(
    path: &Path,
    max: u64,
    context: &'static str,
) -> Result<zeroize::Zeroizing<String>, Failure> {
    let bytes = zeroize::Zeroizing::new(
        match coffer_core::fsutil::read_bounded(path, max, context) {
            Ok(b) => b,
            Err(coffer_core::Error::Corrupt { why, .. }) => {
                return Err(Failure::usage(
                    format!("{}: {why} (at most {max} bytes are read)", path.display()),
                    None,
                ));
            }
            Err(e) => return Err(e.into()),
        },
    );
    let text = std::str::from_utf8(&bytes)
        .map_err(|_| Failure::usage(format!("{} is not a text file", path.display()), None))?;
    Ok(zeroize::Zeroizing::new(text.to_owned()))
}

fn read_escrow_private(path: &Path) -> Result<coffer_core::wrap::PrivateKey, Failure> {
    use base64::Engine as _;
    let text = read_small_text(path, MAX_KEY_FILE_LEN, "reading the escrow key file")?;
    let line = text
        .lines()
        .find_map(|l| l.trim().strip_prefix(ESCROW_PRIVATE_TAG))
        .ok_or_else(|| {
            Failure::usage(
                "that file holds no Coffer escrow private key",
                Some("use the file written by `coffer escrow keygen`"),
            )
        })?;
    let bytes = zeroize::Zeroizing::new(
        base64::engine::general_purpose::STANDARD
            .decode(line.trim())
            .map_err(|_| Failure::usage("the escrow key file is damaged", None))?,
    );
    let k = Key32::from_slice(&bytes)
        .ok_or_else(|| Failure::usage("the escrow key file is damaged", None))?;
    Ok(coffer_core::wrap::PrivateKey::from_secret_bytes(&k)?)
}

fn cmd_escrow_keygen(ctx: &Ctx, out: &Path) -> Result<(), Failure> {
    use base64::Engine as _;
    let (sk, pk) = coffer_core::wrap::generate_keypair();
    let b64 = base64::engine::general_purpose::STANDARD;
    let public = format!("{ESCROW_PUBLIC_TAG}{}", b64.encode(pk.0));
    let body = zeroize::Zeroizing::new(format!(
        "# Coffer organisation escrow key. SECRET: it can unlock every enrolled vault.\n# Keep it offline, never on a clinic laptop.\n{ESCROW_PRIVATE_TAG}{}\n{public}\n",
        b64.encode(sk.to_secret_bytes().expose())
    ));
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

fn human_bytes(n: u64) -> String {
    const U: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut i = 0;
    while v >= 1024.0 && i < U.len() - 1 {
        v /= 1024.0;
        i += 1;
    }
    if i == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", U[i])
    }
}

/// UTC date and time from ns since the epoch.
fn fmt_time(ns: i64) -> String {
    jiff::Timestamp::from_nanosecond(i128::from(ns))
        .map(|t| t.strftime("%Y-%m-%d %H:%M").to_string())
        .unwrap_or_else(|_| "?".into())
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn command_line_definition_is_consistent() {
        super::Cli::command().debug_assert();
    }
}
