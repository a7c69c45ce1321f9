//! The command line: every command, flag and help text, as clap reads
//! them. The help and the manual pages (`coffer man`) are generated from
//! these definitions, so their wording is part of the contract.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use coffer_core::kdf::Argon2Params;

/// Coffer keeps clinic files encrypted at rest (AES-256-GCM) and proves it.
#[derive(Parser)]
#[command(name = "coffer", version, about)]
pub struct Cli {
    /// The vault folder (default: the platform data folder, e.g. ~/.local/share/coffer/vault).
    #[arg(long, global = true, env = "COFFER_VAULT", value_name = "DIR")]
    pub vault: Option<PathBuf>,
    /// Print machine-readable JSON on standard output (docs/CLI.md).
    #[arg(long, global = true)]
    pub json: bool,
    #[command(flatten)]
    pub cred: CredArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Args, Clone, Copy)]
pub struct CredArgs {
    /// Read the passphrase from the first line of standard input.
    #[arg(long, global = true)]
    pub passphrase_stdin: bool,
    /// Unlock with the secret kept in this computer's keychain.
    #[arg(long, global = true, conflicts_with = "recovery_key")]
    pub keychain: bool,
    /// Unlock with the recovery key (typed, or COFFER_RECOVERY_KEY).
    #[arg(long, global = true)]
    pub recovery_key: bool,
}

#[derive(Args, Clone, Copy)]
pub struct KdfArgs {
    /// Argon2id memory in MiB (default 256).
    #[arg(long, value_name = "MIB")]
    pub kdf_memory: Option<u32>,
    /// Argon2id passes (default 3).
    #[arg(long, value_name = "N")]
    pub kdf_time: Option<u32>,
    /// Argon2id lanes (default 4).
    #[arg(long, value_name = "N")]
    pub kdf_lanes: Option<u32>,
}

impl KdfArgs {
    /// What was asked for; what was not comes from Coffer's defaults,
    /// raised to the organisation policy's floor where that is higher (an
    /// invalid policy is reported by the command itself).
    pub fn params(&self) -> Argon2Params {
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
pub enum Command {
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
    /// Change the passphrase. The old one stops working with this copy of
    /// the vault's settings, but an older copy (a backup, a synced
    /// folder's history) still opens with it: if someone may know your
    /// passphrase or recovery key, use --exposed.
    Passwd {
        /// Someone may know the passphrase (or, with --keep-passphrase, the
        /// recovery key): replace the vault's master key, every credential
        /// and the key version, and rewrap every file key, so that old
        /// copies of the settings open nothing added from now on. Prints a
        /// new recovery key. Interrupted, it resumes when run again.
        #[arg(long)]
        exposed: bool,
        /// With --exposed: the passphrase was not exposed (only the
        /// recovery key was); keep it.
        #[arg(long, requires = "exposed")]
        keep_passphrase: bool,
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
    /// rewrapped (fast, contents untouched; scheduled hygiene, not a
    /// response to an exposed credential: see `passwd --exposed`); with
    /// --reencrypt, after a suspected compromise, new keys and new
    /// credentials for everything and every file re-encrypted, so that
    /// nothing old opens anything. Interrupted, it resumes when run again.
    Rotate {
        /// Re-encrypt every file under new keys. Asks for a new passphrase
        /// (or takes COFFER_NEW_PASSPHRASE) and prints a new recovery key.
        #[arg(long)]
        reencrypt: bool,
        /// With --reencrypt: the passphrase in use was not compromised;
        /// keep it instead of setting a new one.
        #[arg(long, requires = "reencrypt")]
        keep_passphrase: bool,
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
    #[command(group(clap::ArgGroup::new("what").required(true).args(["rebuild_index", "accept_as_is"])))]
    Repair {
        /// Rebuild the encrypted index from the objects.
        #[arg(long)]
        rebuild_index: bool,
        /// After investigating what `coffer verify` named (unknown, missing
        /// or changed objects, a rolled-back or tampered manifest), accept
        /// the vault as it is now: every object on disk is endorsed in a new
        /// manifest. Recorded in the audit trail with what was accepted.
        #[arg(long)]
        accept_as_is: bool,
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
pub enum SlotsCmd {
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
pub enum PolicyCmd {
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
pub enum AuditCmd {
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
    Export(ExportArgs),
    /// The lost-laptop incident report, from the shipped records alone
    /// (run it on the auditor's machine; the laptop is not needed).
    Incident(IncidentArgs),
    /// The collector's step: note which records each shipped copy in a
    /// sink folder holds now, by the collector's clock (run it on the
    /// collector, on a timer, as an account the laptops cannot act as).
    Receive {
        /// The sink folder holding the shipped copies.
        #[arg(long, value_name = "DIR")]
        log: PathBuf,
        /// Where the receipts go (default: DIR/receipts). Only the
        /// collector may write there.
        #[arg(long, value_name = "DIR")]
        receipts: Option<PathBuf>,
    },
    /// Summarise every device in an audit sink folder: compliant or not
    /// and why, last seen (for IT; needs no vault).
    Fleet {
        /// The sink folder holding the devices' shipped copies.
        #[arg(long, value_name = "DIR")]
        log: PathBuf,
        /// table, json or html (--json means json).
        #[arg(long, value_enum, hide_possible_values = true, default_value = "table")]
        format: FleetFormat,
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

// No doc comment here: the variant's (`AuditCmd::Incident`) is the help.
#[derive(Args)]
pub struct IncidentArgs {
    /// The device id (from `coffer audit fleet` or the copy's file name).
    #[arg(long)]
    pub device: String,
    /// When the laptop was lost (RFC 3339).
    #[arg(long, value_name = "TIME")]
    pub lost_at: String,
    /// The audit sink folder holding the shipped copies.
    #[arg(long, value_name = "DIR")]
    pub log: PathBuf,
    /// The longest stretch before the loss that may go without any
    /// record (a running Coffer writes a status record hourly); a longer
    /// one makes the verdict "cannot be established".
    #[arg(long, value_name = "HOURS", default_value_t = 3)]
    pub max_gap_hours: u32,
    /// The organisation's escrow key file (from `coffer escrow keygen`):
    /// opens each device's audit key to verify its records' seals.
    #[arg(long, value_name = "FILE")]
    pub escrow_key: Option<PathBuf>,
    /// The collector's receipts (from `coffer audit receive`; default:
    /// the sink folder's receipts/ when there is one).
    #[arg(long, value_name = "DIR")]
    pub receipts: Option<PathBuf>,
    /// Records not shown to be the device's own (no seal, no key) make the
    /// verdict "cannot be established" instead of a caveat.
    #[arg(long)]
    pub require_authenticated: bool,
    /// json, html or pdf.
    #[arg(
        long,
        value_enum,
        ignore_case = true,
        hide_possible_values = true,
        default_value = "html"
    )]
    pub format: IncidentFormat,
    /// Where to write it (default: standard output; required for pdf).
    #[arg(long, short, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

// No doc comment here: the variant's (`AuditCmd::Export`) is the help.
#[derive(Args)]
pub struct ExportArgs {
    /// Start of the period (RFC 3339, e.g. 2026-11-01T00:00:00Z), inclusive.
    #[arg(long)]
    pub from: Option<String>,
    /// End of the period, exclusive.
    #[arg(long)]
    pub to: Option<String>,
    /// Only this OS user.
    #[arg(long)]
    pub user: Option<String>,
    /// Only this event (e.g. file_opened, unlock; see docs/CLI.md).
    #[arg(long)]
    pub action: Option<String>,
    /// Only this file (object id or a prefix of it).
    #[arg(long)]
    pub file: Option<String>,
    /// csv, json, html or pdf.
    #[arg(
        long,
        value_enum,
        ignore_case = true,
        hide_possible_values = true,
        default_value = "html"
    )]
    pub format: ExportFormat,
    /// Where to write it (default: standard output; required for pdf).
    #[arg(long, short, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Resolve file ids to names (unlocks the vault; the report says so).
    #[arg(long)]
    pub names: bool,
    /// Report on a shipped copy instead of this vault's log.
    #[arg(long, value_name = "FILE")]
    pub log: Option<PathBuf>,
}

#[derive(Subcommand)]
pub enum SinkCmd {
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
pub enum EscrowCmd {
    /// Make an organisation key pair: the private key goes to FILE (keep it
    /// off clinic laptops), the public key is printed for `init --escrow`.
    Keygen {
        /// Where to write the private key.
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
    /// Print the policy's [escrow.kms] block for an organisation key kept
    /// in OpenBao/Vault transit or a PKCS#11 token (IT, once per key version).
    KmsKey {
        #[command(flatten)]
        kms: KmsArgs,
        /// The key version to publish (transit: default the latest; PKCS#11: default 1).
        #[arg(long, value_name = "N")]
        version: Option<u32>,
    },
    /// Show the vault's KMS escrow slots: key, version, and the RSA-OAEP
    /// ciphertext a KMS decrypts (for KMSs Coffer does not call itself).
    Slot,
    /// Recover a vault through the organisation key in OpenBao/Vault transit
    /// or a PKCS#11 token, then set a new passphrase. Run by IT on their own
    /// machine, on a vault folder it can reach; the private key never
    /// leaves the KMS/HSM.
    Recover {
        #[command(flatten)]
        kms: KmsArgs,
        #[command(flatten)]
        kdf: KdfArgs,
    },
}

/// Where the organisation key lives: transit (`--transit URL --key NAME`)
/// or PKCS#11 (`--pkcs11-module SO --token-label L --key-label K`).
#[derive(Args, Clone)]
pub struct KmsArgs {
    /// OpenBao/Vault address, e.g. https://bao.clinic.example:8200 (token from
    /// BAO_TOKEN or VAULT_TOKEN, or --token-file).
    #[arg(
        long,
        value_name = "URL",
        required_unless_present_any = ["pkcs11_module", "slot_key_stdin"],
        conflicts_with_all = ["pkcs11_module", "slot_key_stdin"]
    )]
    pub transit: Option<String>,
    /// The transit key's name.
    #[arg(long, value_name = "NAME", requires = "transit")]
    pub key: Option<String>,
    /// The transit mount path.
    #[arg(
        long,
        value_name = "PATH",
        default_value = "transit",
        requires = "transit"
    )]
    pub mount: String,
    /// A file holding the token (instead of BAO_TOKEN / VAULT_TOKEN).
    #[arg(long, value_name = "FILE", requires = "transit")]
    pub token_file: Option<PathBuf>,
    /// PEM CA certificates to trust for the server (a private CA; also
    /// BAO_CACERT / VAULT_CACERT). Verification is never switched off.
    #[arg(long, value_name = "FILE", requires = "transit")]
    pub ca_cert: Option<PathBuf>,
    /// HashiCorp Vault rather than OpenBao (only the policy's provider name differs).
    #[arg(long, requires = "transit")]
    pub hashicorp: bool,
    /// The PKCS#11 module (e.g. /usr/lib/softhsm/libsofthsm2.so); PIN typed,
    /// or from COFFER_PKCS11_PIN for scripts.
    #[arg(long, value_name = "SO", requires_all = ["token_label", "key_label"])]
    pub pkcs11_module: Option<PathBuf>,
    /// The token's label.
    #[arg(long, value_name = "LABEL", requires = "pkcs11_module")]
    pub token_label: Option<String>,
    /// The key pair's label on the token.
    #[arg(long, value_name = "LABEL", requires = "pkcs11_module")]
    pub key_label: Option<String>,
    /// `recover` only: read the slot key (base64) that IT's own KMS tool
    /// decrypted from `coffer escrow slot` output (AWS, Google, Azure).
    #[arg(long, conflicts_with = "pkcs11_module")]
    pub slot_key_stdin: bool,
}

/// `audit export --format`. Case is ignored, as it always was.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ExportFormat {
    /// One line per event.
    Csv,
    /// The whole report as JSON.
    Json,
    /// A page to open in a browser.
    Html,
    /// A document to file or print.
    Pdf,
}

/// `audit incident --format`: an incident report has no CSV form.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum IncidentFormat {
    /// The whole report as JSON.
    Json,
    /// A page to open in a browser.
    Html,
    /// A document to file or print.
    Pdf,
}

/// `audit fleet --format`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum FleetFormat {
    /// A text table on the terminal.
    Table,
    /// `{"devices": [...]}`.
    Json,
    /// A page to open in a browser.
    Html,
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn command_line_definition_is_consistent() {
        super::Cli::command().debug_assert();
    }
}
