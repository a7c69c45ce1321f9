//! How numbers, times and skipped files read on the terminal.

use coffer_core::vault;

/// Why a file was left alone, in words.
pub fn skip_text(r: &vault::SkipReason) -> &'static str {
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

/// `n` bytes in B, KiB, MiB, ...
pub fn human_bytes(n: u64) -> String {
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
pub fn fmt_time(ns: i64) -> String {
    jiff::Timestamp::from_nanosecond(i128::from(ns))
        .map(|t| t.strftime("%Y-%m-%d %H:%M").to_string())
        .unwrap_or_else(|_| "?".into())
}

/// Warns on stderr about what comparing the vault with its manifest found:
/// each kind of problem named, with how many objects, never a file name.
pub fn warn_integrity(report: &coffer_core::vault::IntegrityReport) {
    for p in &report.problems {
        let count = if p.ids.is_empty() {
            String::new()
        } else {
            format!(" ({} objects)", p.ids.len())
        };
        let ages = p
            .generations
            .map(|(now, seen)| format!(" (generation {now}, this device saw {seen})"))
            .unwrap_or_default();
        eprintln!(
            "warning: {}: {}{count}{ages}; run `coffer verify` for the object ids",
            p.kind.as_str(),
            p.kind.describe()
        );
    }
}
