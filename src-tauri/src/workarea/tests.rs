//! The working area's crash recovery and privacy.

use super::manifest::{MANIFEST, PREFIX, Tracked};
use super::recover::recover_stale_in;
use super::*;
use coffer_core::kdf::Argon2Params;
use coffer_core::secret::Passphrase;
use coffer_core::vault::{AddSource, CreateOptions, WriterKeySource};

struct Fixture {
    _tmp: tempfile::TempDir,
    root: PathBuf,
    base: PathBuf,
    vault: Vault,
}

fn fixture() -> Fixture {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().to_path_buf();
    let vault = Vault::create(
        &root.join("vault"),
        CreateOptions {
            passphrase: &Passphrase::from("pw"),
            kdf: Argon2Params::FLOOR,
            keychain_secret: None,
            escrow: None,
        },
    )
    .unwrap()
    .vault;
    let base = coffer_core::paths::work_area_base_from(None, Some(&root.join("cache"))).unwrap();
    Fixture {
        _tmp: tmp,
        root,
        base,
        vault,
    }
}

impl Fixture {
    /// A working area left by a crash: `files` (path inside it,
    /// contents), listed in its manifest as `(manifest key, vault
    /// path)` with a size and time that no longer match.
    fn stale(&self, name: &str, files: &[(&str, &str)], manifest: &[(&str, &str)]) -> PathBuf {
        let dir = self.base.join(format!("{PREFIX}{name}"));
        let mut b = fs::DirBuilder::new();
        #[cfg(unix)]
        {
            use std::os::unix::fs::DirBuilderExt;
            b.mode(0o700);
        }
        b.create(&dir).unwrap();
        for (rel, text) in files {
            let p = dir.join(rel);
            fs::create_dir_all(p.parent().unwrap()).unwrap();
            fs::write(p, text).unwrap();
        }
        let m: HashMap<&str, Tracked> = manifest
            .iter()
            .map(|(k, vp)| {
                let t = Tracked {
                    vault_path: vp.to_string(),
                    len: 0,
                    mtime_ns: 0,
                };
                (*k, t)
            })
            .collect();
        fs::write(dir.join(MANIFEST), serde_json::to_vec(&m).unwrap()).unwrap();
        dir
    }

    fn recover(&self) -> usize {
        recover_stale_in(&self.base, self.vault.dir(), Some(&self.memory()))
    }

    /// The app's memory as the unlock left it: the vault's writer key.
    fn memory(&self) -> WriterKeySource {
        let k = self.vault.unlocked_writer_key().unwrap().clone();
        Arc::new(move || vec![k.clone()])
    }

    fn stored(&self) -> Vec<String> {
        let mut v: Vec<String> = self
            .vault
            .entries()
            .unwrap()
            .entries
            .into_iter()
            .map(|e| e.path)
            .collect();
        v.sort();
        v
    }
}

#[test]
fn a_proper_stale_folder_is_imported_and_wiped() {
    let f = fixture();
    let dir = f.stale(
        "0001",
        &[
            ("ab12cd34/letter.pdf", "edited"),
            ("ef56ab78/scan.tif", "new"),
        ],
        &[
            ("ab12cd34/letter.pdf", "Scans/letter.pdf"),
            ("ef56ab78/scan.tif", "Scans/2026/scan.tif"),
        ],
    );
    assert_eq!(f.recover(), 2);
    assert_eq!(f.stored(), ["Scans/2026/scan.tif", "Scans/letter.pdf"]);
    assert!(!dir.exists());
}

#[test]
fn an_edit_that_cannot_be_encrypted_back_is_kept_not_wiped() {
    let f = fixture();
    let dir = f.stale(
        "0002",
        &[("ab12cd34/letter.pdf", "edited")],
        &[("ab12cd34/letter.pdf", "Scans/letter.pdf")],
    );
    // No writer key (none kept in a keychain for this vault): the saved
    // edit stays where it is, for a start that can encrypt it back.
    assert_eq!(recover_stale_in(&f.base, f.vault.dir(), None), 0);
    assert!(dir.join("ab12cd34/letter.pdf").exists());
    assert_eq!(f.recover(), 1);
    assert_eq!(f.stored(), ["Scans/letter.pdf"]);
    assert!(!dir.exists());
}

#[cfg(unix)]
#[test]
fn a_stale_folder_others_could_write_is_wiped_unread() {
    use std::os::unix::fs::PermissionsExt;
    let f = fixture();
    for (i, mode) in [0o750, 0o705, 0o777, 0o710].into_iter().enumerate() {
        let dir = f.stale(
            &format!("open{i}"),
            &[("ab12cd34/letter.pdf", "planted")],
            &[("ab12cd34/letter.pdf", "Scans/letter.pdf")],
        );
        fs::set_permissions(&dir, fs::Permissions::from_mode(mode)).unwrap();
        assert_eq!(f.recover(), 0, "{mode:o}");
        assert!(!dir.exists(), "{mode:o}");
    }
    assert!(f.stored().is_empty());
}

#[test]
fn manifest_entries_outside_the_folder_are_not_imported() {
    let f = fixture();
    let outside = f.root.join("outside.txt");
    let abs = f.root.join("abs.txt");
    fs::write(&outside, "not the app's").unwrap();
    fs::write(&abs, "not the app's either").unwrap();
    let abs_key = abs.to_str().unwrap().to_owned();
    #[allow(unused_mut)] // Only Unix adds the symlink cases.
    let mut files = vec![("ab12cd34/ok-name.pdf", "edited")];
    #[allow(unused_mut)]
    let mut manifest = vec![
        ("../outside.txt", "Scans/outside.txt"),
        ("ab12cd34/../../outside.txt", "Scans/outside.txt"),
        (abs_key.as_str(), "Scans/abs.txt"),
        ("ab12cd34\\..\\..\\outside.txt", "Scans/outside.txt"),
        // A file inside, but a vault path that is not valid.
        ("ab12cd34/ok-name.pdf", "../escaped.pdf"),
    ];
    #[cfg(unix)]
    {
        // A symlink on the way, to a folder outside.
        files.push(("ef56ab78/x", "y"));
        manifest.push(("link/outside.txt", "Scans/outside.txt"));
        manifest.push(("ef56ab78/filelink", "Scans/outside.txt"));
    }
    let dir = f.stale("0002", &files, &manifest);
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink(&f.root, dir.join("link")).unwrap();
        std::os::unix::fs::symlink(&outside, dir.join("ef56ab78/filelink")).unwrap();
    }
    assert_eq!(f.recover(), 0);
    assert!(f.stored().is_empty());
    assert_eq!(fs::read_to_string(&outside).unwrap(), "not the app's");
    assert_eq!(fs::read_to_string(&abs).unwrap(), "not the app's either");
    assert!(!dir.exists());
    assert!(f.root.join("vault").is_dir());
}

#[cfg(unix)]
#[test]
fn what_is_not_a_folder_of_ours_is_left_alone() {
    let f = fixture();
    // A folder elsewhere that looks like a working area, linked in.
    let elsewhere = f.root.join("elsewhere");
    fs::create_dir(&elsewhere).unwrap();
    fs::write(elsewhere.join("letter.pdf"), "someone's").unwrap();
    let m = serde_json::json!({"letter.pdf": {"vault_path": "Scans/letter.pdf", "len": 0, "mtime_ns": 0}});
    fs::write(elsewhere.join(MANIFEST), m.to_string()).unwrap();
    let link = f.base.join(format!("{PREFIX}link"));
    std::os::unix::fs::symlink(&elsewhere, &link).unwrap();
    let file = f.base.join(format!("{PREFIX}file"));
    fs::write(&file, "x").unwrap();
    assert_eq!(f.recover(), 0);
    assert!(f.stored().is_empty());
    assert!(
        fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert_eq!(
        fs::read_to_string(elsewhere.join("letter.pdf")).unwrap(),
        "someone's"
    );
    assert!(elsewhere.join(MANIFEST).exists());
    assert!(file.exists());
}

#[test]
fn an_oversized_manifest_is_not_read() {
    let f = fixture();
    let dir = f.stale(
        "0003",
        &[("ab12cd34/letter.pdf", "edited")],
        &[("ab12cd34/letter.pdf", "Scans/letter.pdf")],
    );
    fs::File::options()
        .append(true)
        .open(dir.join(MANIFEST))
        .unwrap()
        .set_len(5 << 30)
        .unwrap();
    assert_eq!(f.recover(), 0);
    assert!(!dir.exists());
}

#[test]
fn a_new_working_area_is_private_and_under_the_base() {
    let f = fixture();
    let wa =
        WorkArea::create_in(&f.base, f.vault.dir(), Some(f.memory()), Arc::new(|| {})).unwrap();
    assert_eq!(wa.dir.parent(), Some(f.base.as_path()));
    assert_eq!(
        coffer_core::paths::privacy(&wa.dir),
        coffer_core::paths::Privacy::Private
    );
    let dir = wa.dir.clone();
    wa.close(f.vault.dir());
    assert!(!dir.exists());
}

/// The working area's saves after a change of the vault's keys (a response
/// to an exposed credential): the app's memory holds the new writer key, so
/// an edit saved with the working area armed before the change, or after
/// it, is encrypted back, and nothing calls the new config forged.
#[test]
fn an_edit_saved_after_a_rekey_is_encrypted_back_without_a_false_alarm() {
    use coffer_core::config::RotationKind;
    use coffer_core::vault::Reenrol;
    use std::sync::Mutex;

    let mut f = fixture();
    // The app's memory: the key in force, then the one a rotation stages.
    let memory: Arc<Mutex<Vec<coffer_core::config::WriterKey>>> = Arc::new(Mutex::new(vec![
        f.vault.unlocked_writer_key().unwrap().clone(),
    ]));
    let m = memory.clone();
    let source: WriterKeySource = Arc::new(move || guard(&m).clone());
    let dir = f.stale(
        "0004",
        &[("ab12cd34/letter.pdf", "edited before the rekey")],
        &[("ab12cd34/letter.pdf", "Scans/letter.pdf")],
    );
    let mut files = super::recover::read_manifest(&dir);
    let mut v = Vault::open(f.vault.dir()).unwrap();
    // Armed while the old key is in force, as a save in flight would be.
    v.set_writer_key_source(source.clone());
    v.set_writer_key(guard(&memory)[0].clone()).unwrap();

    let new = Passphrase::from("a new passphrase");
    f.vault
        .begin_rotation_staging(
            RotationKind::Rekey,
            Some(Reenrol {
                passphrase: &new,
                kdf: Argon2Params::FLOOR,
                keep_passphrase: false,
            }),
            &mut |w| guard(&memory).push(w.clone()),
        )
        .unwrap();
    // In force: the app keeps only the new key now.
    *guard(&memory) = vec![f.vault.unlocked_writer_key().unwrap().clone()];

    // The handle armed before: the add that finds its key stale refreshes.
    let src = [AddSource::for_file(&dir.join("ab12cd34/letter.pdf"), "Scans/letter.pdf").unwrap()];
    let out = super::manifest::add_following_key_changes(&mut v, &src).unwrap();
    assert!(matches!(
        out[0],
        coffer_core::vault::AddOutcome::Added { .. }
    ));

    // A save armed afterwards, through the working area's own path.
    fs::write(dir.join("ab12cd34/letter.pdf"), "edited after the rekey").unwrap();
    let r = super::manifest::save_changed(f.vault.dir(), Some(&source), &mut files);
    assert_eq!(
        r,
        super::manifest::SaveBack {
            saved: 1,
            unsaved: 0
        }
    );

    let log = fs::read_to_string(f.vault.dir().join("audit").join("log.jsonl")).unwrap();
    assert!(
        !log.contains("config_tampered"),
        "a false alarm was recorded"
    );
    // Both saves, one version each.
    assert_eq!(f.stored(), ["Scans/letter.pdf", "Scans/letter.pdf"]);
}
