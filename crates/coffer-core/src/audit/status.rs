//! The `status` record's schema: the device's and vault's state, written
//! at unlock, at lock and hourly, read back by incident reports and the
//! fleet view.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::de::{DeserializeOwned, Deserializer};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The detail of a `status` record.
///
/// Every field is optional when read: records written by older versions
/// (or by hand, in tests) may lack some, and a field of the wrong type
/// reads as missing rather than hiding the others; in a list of strings
/// only the entries that are not strings are dropped. When written, every
/// field is present (`kdf` and `policy_source` as `null` when there are
/// none). The JSON is a flat object, keys sorted, as it always was.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct StatusRecord {
    /// Whether the writing process held the keys.
    #[serde(default, deserialize_with = "lenient")]
    pub unlocked: Option<bool>,
    /// Objects (file versions) stored.
    #[serde(default, deserialize_with = "lenient")]
    pub objects: Option<u64>,
    /// Bytes of ciphertext stored.
    #[serde(default, deserialize_with = "lenient")]
    pub stored_bytes: Option<u64>,
    /// How contents are encrypted, for people.
    #[serde(default, deserialize_with = "lenient")]
    pub cipher: Option<String>,
    /// How file keys are wrapped, for people.
    #[serde(default, deserialize_with = "lenient")]
    pub key_wrap: Option<String>,
    /// Current key version.
    #[serde(default, deserialize_with = "lenient")]
    pub key_version: Option<u64>,
    /// Its creation time (seconds since the epoch).
    #[serde(default, deserialize_with = "lenient")]
    pub key_version_created: Option<i64>,
    /// The weakest passphrase slot's key derivation (`null`: none).
    #[serde(default, deserialize_with = "lenient")]
    pub kdf: Option<StatusKdf>,
    /// Slot kinds.
    #[serde(default, deserialize_with = "lenient_strings")]
    pub slots: Option<Vec<String>>,
    /// Whether an organisation escrow slot exists.
    #[serde(default, deserialize_with = "lenient")]
    pub escrow: Option<bool>,
    /// Protected folders.
    #[serde(default, deserialize_with = "lenient")]
    pub protected_folders: Option<u64>,
    /// Plaintext files still in them.
    #[serde(default, deserialize_with = "lenient")]
    pub plaintext_files: Option<u64>,
    /// Those files by why they wait (see [`waiting_by_name`]).
    #[serde(default, deserialize_with = "lenient")]
    pub plaintext_waiting: Option<BTreeMap<String, u64>>,
    /// Whether a key rotation is unfinished.
    #[serde(default, deserialize_with = "lenient")]
    pub rotation_in_progress: Option<bool>,
    /// Full-disk encryption: "on", "off" or "unknown".
    #[serde(default, deserialize_with = "lenient")]
    pub disk_encryption: Option<String>,
    /// The policy file in force (`null`: none).
    #[serde(default, deserialize_with = "lenient")]
    pub policy_source: Option<PathBuf>,
    /// Whether every policy rule was met.
    #[serde(default, deserialize_with = "lenient")]
    pub policy_compliant: Option<bool>,
    /// The rules not met, "rule: what was found".
    #[serde(default, deserialize_with = "lenient_strings")]
    pub policy_problems: Option<Vec<String>>,
}

/// Key derivation parameters in a status record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusKdf {
    /// Always "argon2id" so far (also when missing or not a string: the
    /// parameters still say how the key was derived).
    #[serde(default = "argon2id", deserialize_with = "alg_or_argon2id")]
    pub alg: String,
    /// Memory in KiB.
    pub m_kib: u64,
    /// Passes.
    pub t: u64,
    /// Lanes.
    pub p: u64,
}

fn argon2id() -> String {
    "argon2id".into()
}

/// A field that is there but of another type reads as absent.
fn lenient<'de, D: Deserializer<'de>, T: DeserializeOwned>(d: D) -> Result<Option<T>, D::Error> {
    let v = Value::deserialize(d)?;
    Ok(serde_json::from_value(v).ok())
}

/// A list keeps its strings: one odd entry does not hide the rest (the
/// reports always read slot kinds and policy problems this way).
fn lenient_strings<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<String>>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::Array(a) => Some(
            a.into_iter()
                .filter_map(|v| match v {
                    Value::String(s) => Some(s),
                    _ => None,
                })
                .collect(),
        ),
        _ => None,
    })
}

fn alg_or_argon2id<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::String(s) => s,
        _ => argon2id(),
    })
}

impl StatusRecord {
    /// Reads a record's `detail`.
    pub fn from_detail(detail: &Map<String, Value>) -> Self {
        // Cannot fail: every field reads leniently.
        serde_json::from_value(Value::Object(detail.clone())).unwrap_or_default()
    }

    /// The record's `detail`.
    pub fn to_detail(&self) -> Map<String, Value> {
        match serde_json::to_value(self).expect("status records serialize") {
            Value::Object(m) => m,
            _ => unreachable!("a struct serializes to an object"),
        }
    }
}

/// Counts keyed by an enum that serializes to a name (e.g.
/// [`crate::plaintext::Waiting`]), keyed by that name.
pub fn waiting_by_name<K: Serialize>(counts: &BTreeMap<K, u64>) -> BTreeMap<String, u64> {
    counts
        .iter()
        .filter_map(|(k, n)| match serde_json::to_value(k) {
            Ok(Value::String(s)) => Some((s, *n)),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plaintext::Waiting;
    use serde_json::json;

    /// The literal the vault wrote before the schema was typed, verbatim
    /// but for its inputs.
    #[allow(clippy::too_many_arguments)]
    fn old_literal(
        unlocked: bool,
        kdf: Option<(u32, u32, u32)>,
        slots: &[&str],
        waiting: &BTreeMap<Waiting, u64>,
        policy_source: Option<PathBuf>,
        problems: Vec<String>,
    ) -> Value {
        json!({
            "unlocked": unlocked,
            "objects": 12u64,
            "stored_bytes": 34_567u64,
            "cipher": "AES-256-GCM (64 KiB chunks, random key per file)",
            "key_wrap": "HPKE X25519/HKDF-SHA256/AES-256-GCM",
            "key_version": 3u32,
            "key_version_created": 1_767_225_600i64,
            "kdf": kdf.map(|(m, t, p)| json!({"alg": "argon2id", "m_kib": m, "t": t, "p": p})),
            "slots": slots,
            "escrow": slots.contains(&"escrow"),
            "protected_folders": 2usize,
            "plaintext_files": 5u64,
            "plaintext_waiting": waiting,
            "rotation_in_progress": false,
            "disk_encryption": "on",
            "policy_source": policy_source,
            "policy_compliant": problems.is_empty(),
            "policy_problems": problems,
        })
    }

    fn typed(
        unlocked: bool,
        kdf: Option<(u32, u32, u32)>,
        slots: &[&str],
        waiting: &BTreeMap<Waiting, u64>,
        policy_source: Option<PathBuf>,
        problems: Vec<String>,
    ) -> StatusRecord {
        StatusRecord {
            unlocked: Some(unlocked),
            objects: Some(12),
            stored_bytes: Some(34_567),
            cipher: Some("AES-256-GCM (64 KiB chunks, random key per file)".into()),
            key_wrap: Some("HPKE X25519/HKDF-SHA256/AES-256-GCM".into()),
            key_version: Some(3),
            key_version_created: Some(1_767_225_600),
            kdf: kdf.map(|(m, t, p)| StatusKdf {
                alg: "argon2id".into(),
                m_kib: m.into(),
                t: t.into(),
                p: p.into(),
            }),
            slots: Some(slots.iter().map(|s| s.to_string()).collect()),
            escrow: Some(slots.contains(&"escrow")),
            protected_folders: Some(2),
            plaintext_files: Some(5),
            plaintext_waiting: Some(waiting_by_name(waiting)),
            rotation_in_progress: Some(false),
            disk_encryption: Some("on".into()),
            policy_source,
            policy_compliant: Some(problems.is_empty()),
            policy_problems: Some(problems),
        }
    }

    #[test]
    fn typed_status_writes_the_same_json_as_the_old_literal() {
        let mut waiting = BTreeMap::new();
        waiting.insert(Waiting::NotYetEncrypted, 3);
        waiting.insert(Waiting::InUse, 2);
        let cases = [
            (
                true,
                Some((262_144, 3, 4)),
                vec!["passphrase", "recovery", "escrow"],
                waiting.clone(),
                Some(PathBuf::from("/etc/coffer/policy.toml")),
                vec!["full-disk encryption: Off".to_owned()],
            ),
            (false, None, vec!["recovery"], BTreeMap::new(), None, vec![]),
        ];
        for (unlocked, kdf, slots, waiting, source, problems) in cases {
            let old = old_literal(
                unlocked,
                kdf,
                &slots,
                &waiting,
                source.clone(),
                problems.clone(),
            );
            let new = typed(unlocked, kdf, &slots, &waiting, source, problems);
            let Value::Object(old) = old else {
                unreachable!()
            };
            let new_detail = new.to_detail();
            assert_eq!(
                serde_json::to_string(&old).unwrap(),
                serde_json::to_string(&new_detail).unwrap()
            );
            // And the whole event, as the log writes it.
            let ev = crate::audit::AuditEvent::from(new.clone());
            assert_eq!(ev.detail(), old);
            // Read back, it is the same record.
            assert_eq!(StatusRecord::from_detail(&new_detail), new);
        }
    }

    #[test]
    fn missing_or_odd_fields_read_as_absent() {
        let d = match json!({"policy_compliant": false, "key_version": "two", "kdf": null}) {
            Value::Object(m) => m,
            _ => unreachable!(),
        };
        let s = StatusRecord::from_detail(&d);
        assert_eq!(s.policy_compliant, Some(false));
        assert_eq!(s.key_version, None);
        assert_eq!(s.kdf, None);
        assert_eq!(s.objects, None);
        let d = match json!({"kdf": {"m_kib": 1, "t": 2, "p": 3}}) {
            Value::Object(m) => m,
            _ => unreachable!(),
        };
        assert_eq!(
            StatusRecord::from_detail(&d).kdf.unwrap().alg,
            "argon2id",
            "alg defaults"
        );
    }

    #[test]
    fn lists_keep_their_strings_and_kdf_alg_falls_back() {
        let d = match json!({
            "slots": ["passphrase", 7, null, "recovery"],
            "policy_problems": "not a list",
            "kdf": {"alg": 5, "m_kib": 1024, "t": 2, "p": 1},
        }) {
            Value::Object(m) => m,
            _ => unreachable!(),
        };
        let s = StatusRecord::from_detail(&d);
        assert_eq!(s.slots.unwrap(), ["passphrase", "recovery"]);
        assert_eq!(s.policy_problems, None);
        let kdf = s.kdf.unwrap();
        assert_eq!((kdf.alg.as_str(), kdf.m_kib), ("argon2id", 1024));
        // Parameters of the wrong type still hide the whole kdf.
        let d = match json!({"kdf": {"m_kib": -1, "t": 2, "p": 1}, "slots": []}) {
            Value::Object(m) => m,
            _ => unreachable!(),
        };
        let s = StatusRecord::from_detail(&d);
        assert_eq!((s.kdf, s.slots), (None, Some(vec![])));
    }
}
