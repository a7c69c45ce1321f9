//! The traces the desktop keeps of files opened from the working area
//! (recent-files list, thumbnails), removed when the working area is wiped.

use std::path::{Path, PathBuf};

/// `file://` URI of a path, escaped the way GLib does (what recent-files
/// lists and the thumbnail cache key on).
fn file_uri(p: &Path) -> String {
    let mut s = String::from("file://");
    for b in p.to_string_lossy().bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/!$&'()*+,;=:@".contains(&b) {
            s.push(b as char);
        } else {
            s.push_str(&format!("%{b:02X}"));
        }
    }
    s
}

/// Removes what the desktop remembers of files opened from the working
/// area: their entries in the GTK recent-files list and their cached
/// thumbnails (freedesktop thumbnail spec: MD5 of the URI). What other
/// apps keep in their own histories cannot be reached (THREAT_MODEL.md).
pub(super) fn forget_traces(workarea: &Path, files: &[PathBuf]) {
    use md5::{Digest, Md5};
    let prefix = file_uri(workarea);
    if let Some(data) = dirs::data_dir() {
        let xbel = data.join("recently-used.xbel");
        // GTK keeps it small; a huge one is left as it is rather than read.
        let text = coffer_core::fsutil::read_bounded(&xbel, 64 << 20, "recent files list")
            .ok()
            .and_then(|b| String::from_utf8(b).ok());
        if let Some(text) = text {
            let cleaned = drop_bookmarks(&text, &prefix);
            if cleaned != text {
                let _ = coffer_core::fsutil::atomic_write(&xbel, cleaned.as_bytes());
            }
        }
    }
    if let Some(cache) = dirs::cache_dir() {
        for f in files {
            let hash = data_encoding::HEXLOWER.encode(&Md5::digest(file_uri(f).as_bytes()));
            for size in ["normal", "large", "x-large", "xx-large"] {
                let _ = std::fs::remove_file(
                    cache
                        .join("thumbnails")
                        .join(size)
                        .join(format!("{hash}.png")),
                );
            }
            if let Ok(rd) = std::fs::read_dir(cache.join("thumbnails").join("fail")) {
                for d in rd.flatten() {
                    let _ = std::fs::remove_file(d.path().join(format!("{hash}.png")));
                }
            }
        }
    }
}

/// `text` without the `<bookmark …>…</bookmark>` entries whose href starts
/// with `prefix`.
fn drop_bookmarks(text: &str, prefix: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("<bookmark ") {
        let Some(end_rel) = rest[start..].find("</bookmark>") else {
            break;
        };
        let end = start + end_rel + "</bookmark>".len();
        let block = &rest[start..end];
        out.push_str(&rest[..start]);
        if !block.contains(&format!("href=\"{prefix}")) {
            out.push_str(block);
        } else if out.ends_with("  ") {
            // Drop the indentation left by the removed entry.
            let trimmed = out.trim_end_matches(' ').len();
            out.truncate(trimmed);
        }
        rest = &rest[end..];
        if out.ends_with('\n') && rest.starts_with('\n') {
            rest = &rest[1..];
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris_are_escaped_like_glib() {
        assert_eq!(
            file_uri(Path::new("/tmp/a b/ü.pdf")),
            "file:///tmp/a%20b/%C3%BC.pdf"
        );
    }

    #[test]
    fn only_working_area_bookmarks_are_dropped() {
        let xbel = "<xbel>\n  <bookmark href=\"file:///run/user/1/coffer-work-ab/x/scan.pdf\" added=\"1\">\n  </bookmark>\n  <bookmark href=\"file:///home/u/keep.txt\">\n  </bookmark>\n</xbel>\n";
        let out = drop_bookmarks(xbel, "file:///run/user/1/coffer-work-ab");
        assert!(!out.contains("scan.pdf"));
        assert!(out.contains("keep.txt"));
        assert!(out.starts_with("<xbel>") && out.ends_with("</xbel>\n"));
    }
}
