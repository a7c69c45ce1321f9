//! The organisation policy, read once and held. Commands read the held
//! copy; the auto-lock tick (every 2 s) calls [`HeldPolicy::reload_if_changed`],
//! which only looks at the policy files' metadata and reads them again when
//! it changed, so an edit by IT still takes effect within seconds as it did
//! when every call site read the file.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use coffer_core::policy::Effective;

use crate::error::{CmdResult, UiError};
use crate::sync::guard;

/// What identifies one version of a file: size, modification time and, on
/// Unix, the change time (a chmod or chown changes whether the policy is
/// trusted, not its bytes).
type FileStamp = (u64, Option<SystemTime>, i64, i64);

fn file_stamp(p: &Path) -> Option<FileStamp> {
    let m = std::fs::metadata(p).ok()?;
    #[cfg(unix)]
    let (cs, cn) = {
        use std::os::unix::fs::MetadataExt;
        (m.ctime(), m.ctime_nsec())
    };
    #[cfg(not(unix))]
    let (cs, cn) = (0, 0);
    Some((m.len(), m.modified().ok(), cs, cn))
}

/// Every input of [`coffer_core::policy::load`]: the candidate files, their
/// folders (whose ownership is checked too) and the variable naming one.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Stamp {
    env: Option<OsString>,
    files: Vec<Option<FileStamp>>,
}

fn stamp_of(paths: &[PathBuf], env: Option<OsString>) -> Stamp {
    Stamp {
        env,
        files: paths
            .iter()
            .flat_map(|p| [file_stamp(p), p.parent().and_then(file_stamp)])
            .collect(),
    }
}

/// An invalid policy, kept as the error the UI sees.
type Refusal = (&'static str, String);

struct Held {
    stamp: Stamp,
    loaded: Result<Arc<Effective>, Refusal>,
}

type Loader = Box<dyn Fn() -> coffer_core::Result<Effective> + Send + Sync>;
type Inputs = Box<dyn Fn() -> (Vec<PathBuf>, Option<OsString>) + Send + Sync>;

/// The policy in force and what it was read from.
pub(crate) struct HeldPolicy {
    held: Mutex<Held>,
    load: Loader,
    inputs: Inputs,
}

impl HeldPolicy {
    /// Reads the system policy now.
    pub(crate) fn system() -> Self {
        Self::with(
            Box::new(coffer_core::policy::load),
            Box::new(|| {
                let env = std::env::var_os("COFFER_POLICY_FILE");
                let mut paths = vec![coffer_core::policy::system_path()];
                paths.extend(env.as_ref().map(PathBuf::from));
                (paths, env)
            }),
        )
    }

    fn with(load: Loader, inputs: Inputs) -> Self {
        let held = Self::read(&load, &inputs);
        HeldPolicy {
            held: Mutex::new(held),
            load,
            inputs,
        }
    }

    fn read(load: &Loader, inputs: &Inputs) -> Held {
        // Stamped before reading: a change during the read is seen by the
        // next check.
        let (paths, env) = inputs();
        let stamp = stamp_of(&paths, env);
        let loaded = load().map(Arc::new).map_err(|e| {
            let e = UiError::from(e);
            (e.code, e.message)
        });
        Held { stamp, loaded }
    }

    /// The policy in force, or the error an invalid one gives.
    pub(crate) fn get(&self) -> CmdResult<Arc<Effective>> {
        match &guard(&self.held).loaded {
            Ok(p) => Ok(p.clone()),
            Err((code, message)) => Err(UiError::new(code, message.clone())),
        }
    }

    /// Reads the policy again if its files changed since it was read;
    /// returns whether it did.
    pub(crate) fn reload_if_changed(&self) -> bool {
        let (paths, env) = (self.inputs)();
        if stamp_of(&paths, env) == guard(&self.held).stamp {
            return false;
        }
        let fresh = Self::read(&self.load, &self.inputs);
        *guard(&self.held) = fresh;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn read_once_and_again_only_when_the_file_changes() {
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("policy.toml");
        std::fs::write(&file, "a").unwrap();
        let reads = Arc::new(AtomicUsize::new(0));
        let (r, f) = (reads.clone(), file.clone());
        let held = HeldPolicy::with(
            Box::new(move || {
                r.fetch_add(1, Ordering::SeqCst);
                Ok(Effective::none())
            }),
            Box::new(move || (vec![f.clone()], None)),
        );
        assert_eq!(reads.load(Ordering::SeqCst), 1);
        for _ in 0..3 {
            assert!(held.get().unwrap().source.is_none());
            assert!(!held.reload_if_changed());
        }
        assert_eq!(reads.load(Ordering::SeqCst), 1);
        std::fs::write(&file, "ab").unwrap();
        assert!(held.reload_if_changed());
        assert_eq!(reads.load(Ordering::SeqCst), 2);
        std::fs::remove_file(&file).unwrap();
        assert!(held.reload_if_changed());
        assert!(!held.reload_if_changed());
        assert_eq!(reads.load(Ordering::SeqCst), 3);
    }

    #[test]
    fn an_invalid_policy_is_held_as_its_error() {
        let invalid = || coffer_core::Error::Corrupt {
            what: "policy",
            why: "not TOML".into(),
        };
        let held = HeldPolicy::with(
            Box::new(move || Err(invalid())),
            Box::new(|| (Vec::new(), None)),
        );
        let want = UiError::from(invalid());
        for _ in 0..2 {
            let e = held.get().expect_err("refused");
            assert_eq!((e.code, &e.message), (want.code, &want.message));
        }
    }
}
