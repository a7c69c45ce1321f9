//! What the incident report says: the verdict, the findings with their
//! proof, and the facts behind them.

use serde::Serialize;

use crate::records::ChainStatus;
use crate::text::human_time;

/// The answer to "is the loss of this laptop a reportable breach?" under
/// the HIPAA breach safe harbor (PHI encrypted per NIST SP 800-111, keys
/// not compromised).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// The records show the vault locked at the loss and the files encrypted.
    Holds,
    /// The records show data readable at the loss (vault unlocked, or
    /// plaintext left in a protected folder).
    DoesNotHold,
    /// The records cannot show either (chain broken, evidence missing, the
    /// vault used after the loss, ...).
    CannotBeEstablished,
}

impl Verdict {
    /// "safe harbor holds", "does not hold", "cannot be established".
    pub fn as_str(&self) -> &'static str {
        match self {
            Verdict::Holds => "safe harbor holds",
            Verdict::DoesNotHold => "safe harbor does not hold",
            Verdict::CannotBeEstablished => "safe harbor cannot be established",
        }
    }
}

/// How a finding bears on the verdict.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Assessment {
    /// Supports safe harbor.
    Good,
    /// Does not defeat safe harbor, but the clinic should look at it.
    Warning,
    /// Defeats safe harbor.
    Bad,
    /// The records cannot answer the question.
    Unknown,
    /// For information.
    Info,
}

impl Assessment {
    /// The tag the HTML and PDF show beside a finding.
    pub(crate) fn label(self) -> &'static str {
        match self {
            Assessment::Good => "OK",
            Assessment::Warning => "Warning",
            Assessment::Bad => "Problem",
            Assessment::Unknown => "Unknown",
            Assessment::Info => "Note",
        }
    }
}

/// One question the incident report answers, with the records that prove
/// the answer.
#[derive(Clone, Debug, Serialize)]
pub struct Finding {
    /// Stable key: `chain`, `lock_state`, `protection`, `rotation`,
    /// `plaintext`, `disk_encryption`, `escrow`, `evidence`, `after_loss`.
    pub topic: String,
    /// The question, for people.
    pub question: String,
    /// The answer, for people.
    pub answer: String,
    /// Sequence numbers of the records that prove it.
    pub proof: Vec<u64>,
    /// How it bears on the verdict.
    pub assessment: Assessment,
}

/// Argon2id parameters of the weakest passphrase slot.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct KdfParams {
    /// Algorithm ("argon2id").
    pub alg: String,
    /// Memory, KiB.
    pub m_kib: u64,
    /// Passes.
    pub t: u64,
    /// Lanes.
    pub p: u64,
}

/// The facts behind the findings, for machines (fleet tools, tickets).
#[derive(Clone, Debug, Default, Serialize)]
pub struct IncidentFacts {
    /// Locked at the loss: `None` when the records cannot tell.
    pub locked_at_loss: Option<bool>,
    /// Since when (RFC 3339), if locked.
    pub locked_since: Option<String>,
    /// The last unlock (or recovery, or creation) before the loss.
    pub last_unlock_seq: Option<u64>,
    /// The last lock before the loss.
    pub last_lock_seq: Option<u64>,
    /// Unlocks before the loss, in records without a session id (older
    /// versions), that no lock answers.
    pub unmatched_unlock_seqs: Vec<u64>,
    /// The last unlock of each session still open at the loss (no lock of
    /// its own after it).
    pub open_session_seqs: Vec<u64>,
    /// The last `status` record before the loss.
    pub status_seq: Option<u64>,
    /// Files (file versions) in the vault per that record.
    pub objects: Option<u64>,
    /// Ciphertext bytes per that record.
    pub stored_bytes: Option<u64>,
    /// File ids added between that record and the loss.
    pub files_added_after_status: u64,
    /// File ids removed between that record and the loss.
    pub files_removed_after_status: u64,
    /// Content encryption per that record.
    pub cipher: Option<String>,
    /// Key wrapping per that record.
    pub key_wrap: Option<String>,
    /// Passphrase KDF per that record (`None`: no passphrase slot or no record).
    pub kdf: Option<KdfParams>,
    /// Key version in force.
    pub key_version: Option<u64>,
    /// When it was created (RFC 3339).
    pub key_version_created: Option<String>,
    /// Its age at the loss, in days.
    pub key_age_days: Option<i64>,
    /// The last `rotation_finished` before the loss.
    pub last_rotation_seq: Option<u64>,
    /// The last `plaintext_found` before the loss.
    pub plaintext_found_seq: Option<u64>,
    /// Its count.
    pub plaintext_found_count: Option<u64>,
    /// File ids the watcher recorded adding after it, before the loss.
    pub plaintext_encrypted_after: u64,
    /// Files found in plaintext and not recorded as encrypted by the loss.
    pub plaintext_pending: u64,
    /// "on", "off" or "unknown".
    pub disk_encryption: String,
    /// An organisation escrow slot existed.
    pub escrow: Option<bool>,
    /// Slot kinds enrolled.
    pub slots: Vec<String>,
    /// The last shipped record.
    pub last_record_seq: Option<u64>,
    /// Its time.
    pub last_record_at: Option<String>,
    /// Whether every record's device seal verified (`None`: not checked).
    pub authenticated: Option<bool>,
    /// How the seals failed, if they did.
    pub seal_break: Option<coffer_core::audit::SealBreak>,
    /// The records whose seals failed.
    pub seal_break_records: Vec<u64>,
    /// How the copy differs from what the collector received, if it does.
    pub copy_change: Option<crate::receipts::CopyChange>,
    /// Records dated before the loss that are not shown to have arrived
    /// at the collector before it (treated as after the loss).
    pub late_records: Vec<u64>,
    /// Records dated more than a moment before the record preceding them.
    pub clock_backwards_seqs: Vec<u64>,
    /// The longest stretch, in seconds, between the last record before the
    /// loss and the loss itself.
    pub evidence_gap_secs: Option<i64>,
    /// The bound that gap was held to, in seconds.
    pub max_gap_secs: i64,
    /// Records at or before the loss.
    pub records_before_loss: u64,
    /// Records dated after it.
    pub records_after_loss: u64,
}

/// "At the time of loss, the vault was locked since T; N files, all
/// encrypted with AES-256-GCM; ..." — with the records that prove it.
#[derive(Clone, Debug, Serialize)]
pub struct IncidentReport {
    /// When the report was made (RFC 3339).
    pub generated_at: String,
    /// The lost device's id.
    pub device: String,
    /// Host names its records carry.
    pub hosts: Vec<String>,
    /// Vault ids in the copy.
    pub vaults: Vec<String>,
    /// When the laptop was lost or stolen (RFC 3339), as reported.
    pub lost_at: String,
    /// The verdict.
    pub verdict: Verdict,
    /// The verdict in one sentence.
    pub verdict_text: String,
    /// Why: the decisive findings, in order.
    pub reasons: Vec<String>,
    /// Chain verification of the shipped copy.
    pub chain: ChainStatus,
    /// The questions and answers.
    pub findings: Vec<Finding>,
    /// Things the reader should check that do not decide the verdict.
    pub caveats: Vec<String>,
    /// What no report built from these records can prove.
    pub limits: Vec<String>,
    /// The facts, for machines.
    pub facts: IncidentFacts,
}

impl IncidentReport {
    /// The header lines both the HTML and the PDF show.
    pub(crate) fn meta(&self) -> Vec<(String, String)> {
        let mut m = vec![
            (
                "Device".to_owned(),
                if self.hosts.is_empty() {
                    self.device.clone()
                } else {
                    format!("{} ({})", self.device, self.hosts.join(", "))
                },
            ),
            ("Vault".to_owned(), self.vaults.join(", ")),
            ("Lost or stolen at".to_owned(), human_time(&self.lost_at)),
        ];
        m.push((
            "Evidence up to".to_owned(),
            match (&self.facts.last_record_seq, &self.facts.last_record_at) {
                (Some(q), Some(t)) => format!("record #{q}, {}", human_time(t)),
                _ => "no record".into(),
            },
        ));
        m.push(("Generated".to_owned(), human_time(&self.generated_at)));
        m
    }
}
