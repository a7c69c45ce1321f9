//! The vault as a whole (docs/FORMAT.md §17): what should exist
//! (`manifest.bin`), what writers are changing (`endorsements.bin`), and
//! comparing both with the disk.
//!
//! Every writer first appends an *intent* endorsement (object id and
//! digest, under the writer key), then puts the object in place, then a
//! *done* endorsement before any plaintext goes. An unlocked process folds
//! the endorsements into the manifest (new generation) under the writer
//! lock. So a crash at any instant leaves either an endorsed object or
//! none, and anything else on disk is named: unknown (not endorsed),
//! missing (deleted), changed (replaced), or older (rolled back).

use std::collections::{BTreeMap, BTreeSet};
use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::PathBuf;

use serde::Serialize;

use super::Vault;
use crate::audit::AuditEvent;
use crate::config::WriterKey;
use crate::crypto::primitives::{ct_eq, hmac32};
use crate::error::{Error, IoContext, Result};
use crate::format::FileId;
use crate::format::manifest::{
    self, ENDORSEMENT_LEN, Endorsement, MAX_ENDORSEMENTS_LEN, MAX_MANIFEST_LEN, Manifest, Phase,
};
use crate::fsutil;

pub(super) const MANIFEST_FILE: &str = "manifest.bin";
pub(super) const ENDORSEMENTS_FILE: &str = "endorsements.bin";
/// The manifest re-signed under a new writer key, written before the
/// config that holds that key and renamed over `manifest.bin` after it
/// (docs/FORMAT.md §17.4): whichever config a crash leaves, one of the two
/// verifies under its writer key.
pub(super) const MANIFEST_NEXT_FILE: &str = "manifest.next";

const STAGED_MANIFEST: super::staged::Staged = super::staged::Staged {
    next: MANIFEST_NEXT_FILE,
    file: MANIFEST_FILE,
    max: MAX_MANIFEST_LEN,
    what: "manifest",
    updating: "updating the manifest",
};
const LABEL_ANCHOR: &[u8] = b"coffer/v2/generation-anchor";

/// What is wrong with the vault as a whole, one kind per problem.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProblemKind {
    /// An object the manifest does not list and no writer endorsed: made
    /// by someone holding only the public key.
    UnknownObject,
    /// An object the manifest lists (or a writer endorsed as done) is gone.
    MissingObject,
    /// An object's header or key record differs from what was endorsed:
    /// replaced, or its sidecar rolled back or removed.
    ChangedObject,
    /// The manifest is older than one this device has seen: the vault
    /// folder, or the manifest, was restored from an older copy.
    RolledBack,
    /// The manifest fails its MAC, or is absent from a vault that has one.
    ManifestTampered,
    /// Endorsements whose MAC fails (forged) or of another generation
    /// (replayed).
    ForgedEndorsement,
    /// The encrypted listing cache fails to authenticate (it is rebuilt
    /// from the objects, and this is reported, not silently repaired).
    IndexTampered,
    /// A version-1 (unauthenticated) config in a vault this device has
    /// known at version 2: a downgrade. It is not upgraded on trust.
    ConfigDowngraded,
}

impl ProblemKind {
    /// The name used in audit records, JSON output and messages.
    pub fn as_str(self) -> &'static str {
        match self {
            ProblemKind::UnknownObject => "unknown_object",
            ProblemKind::MissingObject => "missing_object",
            ProblemKind::ChangedObject => "changed_object",
            ProblemKind::RolledBack => "rolled_back",
            ProblemKind::ManifestTampered => "manifest_tampered",
            ProblemKind::ForgedEndorsement => "forged_endorsement",
            ProblemKind::IndexTampered => "index_tampered",
            ProblemKind::ConfigDowngraded => "config_downgraded",
        }
    }

    /// A sentence for people: what happened, without names.
    pub fn describe(self) -> &'static str {
        match self {
            ProblemKind::UnknownObject => {
                "objects the vault never wrote were added (not endorsed by any Coffer writer)"
            }
            ProblemKind::MissingObject => "objects the vault holds were deleted",
            ProblemKind::ChangedObject => "objects were replaced or their key records rolled back",
            ProblemKind::RolledBack => {
                "the vault is older than this device last saw: it was restored from an older copy"
            }
            ProblemKind::ManifestTampered => {
                "the list of what the vault holds was changed or removed"
            }
            ProblemKind::ForgedEndorsement => {
                "forged or replayed records of added files were found"
            }
            ProblemKind::IndexTampered => "the encrypted listing cache was damaged or changed",
            ProblemKind::ConfigDowngraded => {
                "the vault's settings were replaced by an older, unauthenticated version"
            }
        }
    }
}

/// One problem and the objects it concerns (ids only).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// What kind.
    pub kind: ProblemKind,
    /// Object ids (hex), where the problem concerns objects.
    pub ids: Vec<String>,
    /// For a rollback: the manifest's generation and the newest seen.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub generations: Option<(u64, u64)>,
}

/// The vault compared with its manifest.
#[derive(Clone, Debug, Default, Serialize)]
pub struct IntegrityReport {
    /// The manifest's generation (after any fold).
    pub generation: u64,
    /// Everything wrong.
    pub problems: Vec<Problem>,
    /// Objects added while locked, vouched for by a writer and not yet
    /// folded into the manifest (shown as "added while locked").
    pub added_while_locked: Vec<String>,
}

impl IntegrityReport {
    /// Whether nothing is wrong.
    pub fn ok(&self) -> bool {
        self.problems.is_empty()
    }

    fn push(&mut self, kind: ProblemKind, ids: impl IntoIterator<Item = FileId>) {
        let mut ids: Vec<String> = ids.into_iter().map(|i| i.to_hex()).collect();
        if ids.is_empty() {
            return;
        }
        ids.sort();
        self.problems.push(Problem {
            kind,
            ids,
            generations: None,
        });
    }
}

/// The generation after `g`; none after the last (only a forged number
/// could get there).
pub(super) fn next_generation(g: u64) -> Result<u64> {
    g.checked_add(1).ok_or(Error::Tampered { what: "manifest" })
}

/// The per-id view of the endorsements that apply.
#[derive(Default)]
struct Endorsed {
    intents: BTreeMap<FileId, Vec<[u8; 32]>>,
    done: BTreeSet<FileId>,
    removals: BTreeSet<FileId>,
}

impl Vault {
    fn manifest_path(&self) -> PathBuf {
        self.dir.join(MANIFEST_FILE)
    }

    pub(super) fn endorsements_path(&self) -> PathBuf {
        self.dir.join(ENDORSEMENTS_FILE)
    }

    fn manifest_next_path(&self) -> PathBuf {
        self.dir.join(MANIFEST_NEXT_FILE)
    }

    /// Whether `bytes` is a manifest whose MAC verifies under the writer key.
    fn manifest_verifies(&self, bytes: &[u8]) -> bool {
        let vid = self.config.vault_id();
        self.writer_key()
            .is_some_and(|w| Manifest::parse(bytes, &w.manifest_key(vid), vid).is_ok())
    }

    /// The manifest's bytes: `manifest.next` when it verifies, else
    /// `manifest.bin` (FORMAT.md §17.4).
    fn manifest_bytes(&self) -> Result<Vec<u8>> {
        self.read_staged(&STAGED_MANIFEST, |b| self.manifest_verifies(b))
    }

    /// Writes `manifest` under the writer key of `keys` (about to be the
    /// config's) as `manifest.next`, durably. [`Vault::settle_manifest`]
    /// puts it in place once that config is saved.
    pub(super) fn stage_manifest(
        &self,
        manifest: &Manifest,
        keys: &crate::config::UnlockedKeys,
    ) -> Result<()> {
        let w = keys.writer_key().ok_or(Error::WriterKeyUnavailable)?;
        let vid = self.config.vault_id();
        fsutil::atomic_write(
            &self.manifest_next_path(),
            &manifest.to_bytes(&w.manifest_key(vid), vid),
        )
    }

    /// Under the writer lock: a `manifest.next` that verifies under the
    /// writer key replaces `manifest.bin`; one that does not (its config
    /// was never saved) is removed. The same for `protected.next`.
    pub(super) fn settle_manifest(&self) -> Result<()> {
        self.settle_protected()?;
        self.settle_staged(&STAGED_MANIFEST, |b| self.manifest_verifies(b))
    }

    /// The writer key this handle may vouch with: the unlocked keys', or
    /// one the caller handed over ([`Vault::set_writer_key`]).
    pub(super) fn writer_key(&self) -> Option<&WriterKey> {
        self.keys
            .as_ref()
            .and_then(|k| k.writer_key())
            .or(self.writer.as_ref())
    }

    /// The writer key an unlock yielded, for the device to keep (OS
    /// keychain) so that it can add files while locked later.
    pub fn unlocked_writer_key(&self) -> Option<&WriterKey> {
        self.keys.as_ref().and_then(|k| k.writer_key())
    }

    /// The digest of the object `id` as it lies on disk now.
    pub(super) fn digest_on_disk(&self, id: &FileId) -> Result<[u8; 32]> {
        let obj = self.read_object(id)?;
        Ok(manifest::object_digest(
            &obj.header.to_bytes(),
            &obj.record.to_bytes(),
        ))
    }

    /// Appends endorsements and makes them durable. Called under the writer
    /// lock, before the objects they name are put in place (intent) and
    /// before any plaintext goes (done).
    pub(super) fn endorse(&self, phase: Phase, items: &[(FileId, [u8; 32])]) -> Result<()> {
        if items.is_empty() {
            return Ok(());
        }
        let w = self.writer_key().ok_or(Error::WriterKeyUnavailable)?;
        let vid = self.config.vault_id();
        let key = w.endorsement_key(vid);
        let generation = self
            .manifest_bytes()
            .ok()
            .and_then(|b| Manifest::claimed_generation(&b).ok())
            .unwrap_or(0);
        let mut bytes = Vec::with_capacity(items.len() * ENDORSEMENT_LEN);
        for (id, digest) in items {
            let e = Endorsement {
                phase,
                generation,
                id: *id,
                digest: *digest,
            };
            bytes.extend_from_slice(&e.to_bytes(&key, vid));
        }
        let path = self.endorsements_path();
        let mut o = OpenOptions::new();
        o.create(true).append(true);
        // Planted as a link (to a user's file) or a FIFO, it must neither
        // be written through nor block the writer lock.
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            o.custom_flags(
                (rustix::fs::OFlags::NOFOLLOW | rustix::fs::OFlags::NONBLOCK).bits() as i32,
            );
        }
        let mut f = o.open(&path).map_err(|_| Error::Tampered {
            what: "record of added files",
        })?;
        if !f.metadata().ctx("recording added files")?.is_file() {
            return Err(Error::Tampered {
                what: "record of added files",
            });
        }
        // A torn entry left by a crash would misalign every later one.
        let len = f.metadata().ctx("recording added files")?.len();
        if len % ENDORSEMENT_LEN as u64 != 0 {
            f.set_len(len - len % ENDORSEMENT_LEN as u64)
                .ctx("recording added files")?;
        }
        f.write_all(&bytes).ctx("recording added files")?;
        f.sync_all().ctx("recording added files")?;
        if len == 0 {
            fsutil::sync_dir(&self.dir)?;
        }
        Ok(())
    }

    fn load_endorsed(&self, manifest: &Manifest, report: &mut IntegrityReport) -> Result<Endorsed> {
        let generation = manifest.generation;
        let mut out = Endorsed::default();
        let bytes = match fsutil::read_bounded(
            &self.endorsements_path(),
            MAX_ENDORSEMENTS_LEN,
            "endorsements",
        ) {
            Err(e) if fsutil::is_not_found(&e) => return Ok(out),
            Err(Error::Corrupt { .. }) => {
                // Too large to be a writer's: none of it is applied.
                report.problems.push(Problem {
                    kind: ProblemKind::ForgedEndorsement,
                    ids: Vec::new(),
                    generations: None,
                });
                return Ok(out);
            }
            r => r?,
        };
        let Some(w) = self.writer_key() else {
            return Ok(out);
        };
        let vid = self.config.vault_id();
        let parsed = manifest::parse_endorsements(&bytes, &w.endorsement_key(vid), vid);
        let mut forged = parsed.forged;
        for e in parsed.valid {
            // Left by a fold that a crash stopped between writing the
            // manifest and clearing the journal: already in the manifest,
            // so neither applied nor reported.
            let reflected = match e.phase {
                Phase::Intent => manifest
                    .entries
                    .get(&e.id)
                    .is_some_and(|d| ct_eq(d, &e.digest)),
                Phase::Done => manifest.entries.contains_key(&e.id),
                Phase::Remove => !manifest.entries.contains_key(&e.id),
            };
            if e.generation.checked_add(1) == Some(generation) && reflected {
                continue;
            }
            if e.generation != generation {
                forged += 1;
                continue;
            }
            match e.phase {
                Phase::Intent => out.intents.entry(e.id).or_default().push(e.digest),
                Phase::Done => {
                    out.done.insert(e.id);
                }
                Phase::Remove => {
                    out.removals.insert(e.id);
                }
            }
        }
        if forged > 0 {
            report.problems.push(Problem {
                kind: ProblemKind::ForgedEndorsement,
                ids: Vec::new(),
                generations: None,
            });
        }
        Ok(out)
    }

    /// The manifest, authenticated; a missing or tampered one is reported
    /// and read as empty (with the generation it claims).
    fn load_manifest(&self, report: &mut IntegrityReport) -> Result<Manifest> {
        let w = self.writer_key().ok_or(Error::WriterKeyUnavailable)?;
        let vid = self.config.vault_id();
        let tampered = |report: &mut IntegrityReport| {
            report.problems.push(Problem {
                kind: ProblemKind::ManifestTampered,
                ids: Vec::new(),
                generations: None,
            })
        };
        match self.manifest_bytes() {
            Ok(b) => match Manifest::parse(&b, &w.manifest_key(vid), vid) {
                Ok(m) => Ok(m),
                Err(Error::Tampered { .. }) | Err(Error::Corrupt { .. }) => {
                    tampered(report);
                    Ok(Manifest {
                        generation: Manifest::claimed_generation(&b).unwrap_or(0),
                        ..Default::default()
                    })
                }
                Err(e) => Err(e),
            },
            // Missing, too large or not a file: nothing of it is used.
            Err(e) if fsutil::is_not_found(&e) || matches!(e, Error::Corrupt { .. }) => {
                tampered(report);
                Ok(Manifest::default())
            }
            Err(e) => Err(e),
        }
    }

    /// Folds only what writers endorsed (O(endorsements), not O(objects)):
    /// what an operation that just wrote does at its end, under the writer
    /// lock. Anything amiss is left for the full comparison of the next
    /// listing, verify or unlock to name.
    pub(super) fn fold_endorsements(&self) -> Result<()> {
        self.settle_manifest()?;
        if !self.endorsements_path().exists() || self.writer_key().is_none() {
            return Ok(());
        }
        let mut report = IntegrityReport::default();
        let mut manifest = self.load_manifest(&mut report)?;
        if !report.ok() {
            return Ok(());
        }
        let endorsed = self.load_endorsed(&manifest, &mut report)?;
        if !report.ok() {
            return Ok(());
        }
        for (id, digests) in &endorsed.intents {
            match self.digest_on_disk(id) {
                Ok(d) if digests.iter().any(|x| ct_eq(x, &d)) => {
                    manifest.entries.insert(*id, d);
                }
                Err(Error::NotFound(_)) if !endorsed.done.contains(id) => {}
                // Leave it all for the full comparison to name.
                _ => return Ok(()),
            }
        }
        for id in &endorsed.removals {
            if self.object_path(id).exists() {
                return Ok(());
            }
            manifest.entries.remove(id);
        }
        manifest.generation = next_generation(manifest.generation)?;
        self.save_manifest(&manifest)?;
        super::remove_if_exists(&self.endorsements_path())?;
        self.audit
            .append(&[self.manifest_updated(manifest.generation)])
    }

    /// Whether a genuine writer vouched for the object `id` with `digest`:
    /// the manifest lists it so, or a valid endorsement of the current
    /// generation does.
    pub(super) fn is_endorsed(&self, id: &FileId, digest: &[u8; 32]) -> bool {
        let mut report = IntegrityReport::default();
        let Ok(manifest) = self.load_manifest(&mut report) else {
            return false;
        };
        if report.ok() && manifest.entries.get(id).is_some_and(|d| ct_eq(d, digest)) {
            return true;
        }
        self.load_endorsed(&manifest, &mut report).is_ok_and(|e| {
            e.intents
                .get(id)
                .is_some_and(|ds| ds.iter().any(|d| ct_eq(d, digest)))
        })
    }

    /// Compares the disk with the manifest and the endorsements. Needs the
    /// writer key (it authenticates both). Returns the report and the
    /// manifest as it should become.
    pub(super) fn compare(&self) -> Result<(IntegrityReport, Manifest, bool)> {
        let mut report = IntegrityReport::default();
        let mut manifest = self.load_manifest(&mut report)?;
        let endorsed = self.load_endorsed(&manifest, &mut report)?;
        let on_disk: BTreeSet<FileId> = self.object_ids()?.into_iter().collect();
        let mut changed = false;
        let (mut unknown, mut missing, mut altered) = (Vec::new(), Vec::new(), Vec::new());
        for id in &on_disk {
            let digest = match self.digest_on_disk(id) {
                Ok(d) => d,
                // An object that no longer reads is damaged: the object
                // check names it (`verify` fails on it, reading it is an
                // integrity error), and it stays listed as unreadable
                // rather than vanishing from listings as a suspect would.
                Err(_) => continue,
            };
            let vouched = endorsed
                .intents
                .get(id)
                .is_some_and(|ds| ds.iter().any(|d| ct_eq(d, &digest)));
            match manifest.entries.get(id) {
                Some(d) if ct_eq(d, &digest) => {}
                listed if vouched => {
                    if listed.is_none() {
                        report.added_while_locked.push(id.to_hex());
                    }
                    manifest.entries.insert(*id, digest);
                    changed = true;
                }
                Some(_) => altered.push(*id),
                None => unknown.push(*id),
            }
        }
        for id in manifest.entries.keys().copied().collect::<Vec<_>>() {
            if !on_disk.contains(&id) {
                if endorsed.removals.contains(&id) {
                    manifest.entries.remove(&id);
                    changed = true;
                } else {
                    missing.push(id);
                }
            }
        }
        for id in &endorsed.done {
            if !on_disk.contains(id) && !manifest.entries.contains_key(id) {
                missing.push(*id);
            }
        }
        report.push(ProblemKind::UnknownObject, unknown);
        report.push(ProblemKind::MissingObject, missing);
        report.push(ProblemKind::ChangedObject, altered);
        if let Some(seen) = self.newest_generation_seen()
            && seen > manifest.generation
        {
            report.problems.push(Problem {
                kind: ProblemKind::RolledBack,
                ids: Vec::new(),
                generations: Some((manifest.generation, seen)),
            });
        }
        report.generation = manifest.generation;
        Ok((report, manifest, changed))
    }

    /// Compares the vault with its manifest without changing anything.
    pub fn check_integrity(&self) -> Result<IntegrityReport> {
        self.compare().map(|(r, _, _)| r)
    }

    /// Folds what writers endorsed into the manifest (a new generation),
    /// then clears the endorsements; records every problem in the audit
    /// trail. Problems are never repaired: an unknown object stays
    /// unknown, a missing one stays listed as missing.
    pub fn reconcile(&self) -> Result<IntegrityReport> {
        let _w = self.writer()?;
        self.reconcile_locked()
    }

    /// [`Vault::reconcile`] for a caller that holds the writer lock.
    pub(super) fn reconcile_locked(&self) -> Result<IntegrityReport> {
        self.settle_manifest()?;
        let (mut report, mut manifest, changed) = self.compare()?;
        let tampered = report
            .problems
            .iter()
            .any(|p| p.kind == ProblemKind::ManifestTampered);
        // A tampered manifest is not rewritten over: what it said is
        // evidence, and rewriting would endorse whatever lies on disk.
        if (changed || self.endorsements_path().exists()) && !tampered {
            manifest.generation = next_generation(manifest.generation)?;
            self.save_manifest(&manifest)?;
            super::remove_if_exists(&self.endorsements_path())?;
            report.generation = manifest.generation;
            self.audit
                .append(&[self.manifest_updated(manifest.generation)])?;
        }
        self.record_problems(&report)?;
        Ok(report)
    }

    /// Endorses the vault as it lies on disk now, after someone who can
    /// unlock it looked at what the comparison named: a new manifest
    /// (generation above any seen) lists every object on disk. The
    /// problems accepted are recorded first, then an `integrity_accepted`
    /// record. Returns what was accepted.
    pub fn accept_as_is(&mut self) -> Result<IntegrityReport> {
        self.keys()?;
        if !self.config.is_authenticated() {
            // A downgraded config: upgraded now, on the word of someone
            // who unlocked and looked.
            self.upgrade_config(true)?;
            let report = IntegrityReport {
                generation: 1,
                problems: vec![Problem {
                    kind: ProblemKind::ConfigDowngraded,
                    ids: Vec::new(),
                    generations: None,
                }],
                added_while_locked: Vec::new(),
            };
            self.audit.append(&[AuditEvent::IntegrityAccepted {
                problems: vec![ProblemKind::ConfigDowngraded.as_str().into()],
            }])?;
            return Ok(report);
        }
        let _w = self.writer()?;
        let (report, _, _) = self.compare()?;
        self.record_problems(&report)?;
        let mut m = Manifest {
            generation: next_generation(
                report
                    .generation
                    .max(self.newest_generation_seen().unwrap_or(0)),
            )?,
            ..Default::default()
        };
        for id in self.object_ids()? {
            if let Ok(d) = self.digest_on_disk(&id) {
                m.entries.insert(id, d);
            }
        }
        self.save_manifest(&m)?;
        super::remove_if_exists(&self.endorsements_path())?;
        self.audit.append(&[
            AuditEvent::IntegrityAccepted {
                problems: report
                    .problems
                    .iter()
                    .map(|p| p.kind.as_str().to_owned())
                    .collect(),
            },
            self.manifest_updated(m.generation),
        ])?;
        Ok(IntegrityReport {
            generation: m.generation,
            ..report
        })
    }

    pub(super) fn save_manifest(&self, manifest: &Manifest) -> Result<()> {
        self.save_manifest_file(manifest)?;
        self.save_anchor(manifest.generation);
        Ok(())
    }

    fn save_manifest_file(&self, manifest: &Manifest) -> Result<()> {
        let w = self.writer_key().ok_or(Error::WriterKeyUnavailable)?;
        let vid = self.config.vault_id();
        let bytes = manifest.to_bytes(&w.manifest_key(vid), vid);
        fsutil::atomic_write(&self.manifest_path(), &bytes)?;
        // A staged manifest of a writer-key change that never happened.
        super::remove_if_exists(&self.manifest_next_path())
    }

    /// Writes the first manifest of a vault (new, or upgraded from
    /// version 1): every object on disk now is endorsed as it is. For an
    /// upgraded vault this trusts what is there at that moment; the
    /// upgrade is recorded in the audit trail. Returns its generation, for
    /// [`Vault::save_anchor`] once the config that goes with it is saved:
    /// an anchor before that would make a crash in between look like a
    /// downgrade.
    pub(super) fn write_first_manifest(&self) -> Result<u64> {
        // Above any generation recorded (a crash may have cut an earlier
        // upgrade short after its manifest was recorded).
        let mut m = Manifest {
            generation: next_generation(self.newest_generation_seen().unwrap_or(0))?,
            ..Default::default()
        };
        for id in self.object_ids()? {
            if let Ok(d) = self.digest_on_disk(&id) {
                m.entries.insert(id, d);
            }
        }
        self.save_manifest_file(&m)?;
        self.audit.append(&[self.manifest_updated(m.generation)])?;
        Ok(m.generation)
    }

    /// Whether this device has known the vault at version 2: its
    /// generation anchor exists (whatever its MAC). Not a `manifest.bin` in
    /// the vault folder: an upgrade that a crash stopped before its config
    /// was saved leaves one too, and must be upgraded again, not refused.
    pub(super) fn known_authenticated_here(&self) -> bool {
        self.anchor_path().is_some_and(|p| p.exists())
    }

    fn record_problems(&self, report: &IntegrityReport) -> Result<()> {
        // What this handle's unlock recorded is not recorded again by every
        // listing after it.
        if self
            .integrity
            .as_ref()
            .is_some_and(|i| i.problems == report.problems)
        {
            return Ok(());
        }
        let events: Vec<AuditEvent> = report
            .problems
            .iter()
            .map(|p| AuditEvent::VaultIntegrity {
                problem: p.kind.as_str().into(),
                ids: p.ids.clone(),
            })
            .collect();
        if events.is_empty() {
            Ok(())
        } else {
            self.audit.append(&events)
        }
    }

    fn anchor_path(&self) -> Option<PathBuf> {
        let base = dirs::state_dir().or_else(dirs::data_local_dir)?;
        Some(
            base.join("coffer")
                .join("generations")
                .join(data_encoding::HEXLOWER.encode(self.config.vault_id())),
        )
    }

    /// This device's note that every slot of the vault commits to its key
    /// (FORMAT.md §3.1): beside the generation anchor, outside the vault
    /// folder, so whoever can write the folder cannot take it back.
    fn slots_committed_path(&self) -> Option<PathBuf> {
        let base = dirs::state_dir().or_else(dirs::data_local_dir)?;
        Some(
            base.join("coffer")
                .join("slots-committed")
                .join(data_encoding::HEXLOWER.encode(self.config.vault_id())),
        )
    }

    /// Whether this device has seen every slot of the vault committed.
    pub(super) fn slots_committed_here(&self) -> bool {
        self.slots_committed_path().is_some_and(|p| p.exists())
    }

    /// Best effort, like the anchor.
    pub(super) fn remember_slots_committed(&self) {
        if let Some(path) = self.slots_committed_path()
            && !path.exists()
        {
            if let Some(parent) = path.parent() {
                let _ = fs::create_dir_all(parent);
            }
            let _ = fsutil::atomic_write(&path, b"every slot commits to its key\n");
        }
    }

    /// The `manifest_updated` record of `generation`, with its MAC.
    pub(super) fn manifest_updated(&self, generation: u64) -> AuditEvent {
        AuditEvent::ManifestUpdated {
            generation,
            mac: self
                .anchor_mac(generation)
                .map(|m| data_encoding::HEXLOWER.encode(&m))
                .unwrap_or_default(),
        }
    }

    fn anchor_mac(&self, generation: u64) -> Option<[u8; 32]> {
        let w = self.writer_key()?;
        let vid = self.config.vault_id();
        Some(hmac32(
            &w.endorsement_key(vid),
            &[LABEL_ANCHOR, vid, &generation.to_be_bytes()],
        ))
    }

    /// Remembers, outside the vault folder, the newest generation this
    /// device saw: a vault folder restored from an older copy (a backup, a
    /// sync conflict) shows as rolled back. Best effort: a device that
    /// cannot keep it still has the audit trail's records.
    pub(super) fn save_anchor(&self, generation: u64) {
        let (Some(path), Some(mac)) = (self.anchor_path(), self.anchor_mac(generation)) else {
            return;
        };
        if let Some(parent) = path.parent() {
            let _ = fs::create_dir_all(parent);
        }
        let text = format!("{generation} {}\n", data_encoding::HEXLOWER.encode(&mac));
        let _ = fsutil::atomic_write(&path, text.as_bytes());
    }

    /// The newest generation recorded outside the manifest: this device's
    /// anchor, and the `manifest_updated` records of the local audit trail
    /// and of its copies in directory sinks (a whole vault folder restored
    /// from a backup brings its old log back, but not the shipped copy).
    fn newest_generation_seen(&self) -> Option<u64> {
        let mut seen = None;
        if let Some(path) = self.anchor_path()
            && let Ok(bytes) = fsutil::read_bounded(&path, 256, "generation anchor")
            && let Ok(text) = String::from_utf8(bytes)
            && let Some((g, mac)) = text.trim().split_once(' ')
            && let Ok(g) = g.parse::<u64>()
            && let Some(want) = self.anchor_mac(g)
            && data_encoding::HEXLOWER
                .decode(mac.as_bytes())
                .is_ok_and(|m| ct_eq(&m, &want))
        {
            seen = Some(g);
        }
        let newest_in = |path: PathBuf| -> Option<u64> {
            let bytes = fsutil::read_bounded(&path, 256 << 20, "audit log").ok()?;
            crate::audit::newest_manifest_generation(&bytes, self.config.vault_id(), |g, mac| {
                self.anchor_mac(g).is_some_and(|want| {
                    data_encoding::HEXLOWER
                        .decode(mac.as_bytes())
                        .is_ok_and(|m| ct_eq(&m, &want))
                })
            })
        };
        let mut logs = vec![self.audit.path()];
        logs.extend(self.audit.directory_copies());
        for p in logs {
            seen = seen.max(newest_in(p));
        }
        seen
    }
}
