//! OpenBao / HashiCorp Vault transit: the organisation key is a transit
//! key of type `rsa-3072` or `rsa-4096`. Transit decrypts RSA with
//! RSAES-OAEP, SHA-256 and MGF1-SHA-256, the empty label — exactly what
//! the laptop encrypted with (checked against a real OpenBao by
//! tests/openbao.rs). Its ciphertext format is `vault:v<version>:<base64>`,
//! so the slot's key version picks the transit key version.
//!
//! Endpoints used: `GET /v1/<mount>/keys/<key>` (public keys, no secret)
//! and `POST /v1/<mount>/decrypt/<key>`. A policy for the recovering
//! operator needs `read` on the first and `update` on the second.

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use coffer_core::crypto::rsa_oaep::OrgRsaKey;
use serde::Deserialize;
use zeroize::Zeroizing;

use crate::{KmsError, OrgKeyStore};

/// Largest answer read from the server.
const MAX_ANSWER: u64 = 1 << 20;
const TIMEOUT: Duration = Duration::from_secs(30);

/// Where the transit key is and how to reach it.
pub struct TransitOptions {
    /// Server address, `https://host:8200` (`http://` only for loopback).
    pub url: String,
    /// Transit mount path, usually `transit`.
    pub mount: String,
    /// The key's name.
    pub key: String,
    /// A token allowed to read the key and decrypt with it.
    pub token: Zeroizing<String>,
    /// A PEM file of CA certificates to trust instead of the public roots
    /// (`VAULT_CACERT`); verification itself is never switched off.
    pub ca_file: Option<std::path::PathBuf>,
}

/// A transit key reached over HTTPS.
pub struct Transit {
    opts: TransitOptions,
    agent: ureq::Agent,
}

impl Transit {
    /// Checks the options and builds the HTTP client; no request yet.
    pub fn new(opts: TransitOptions) -> Result<Self, KmsError> {
        check_segment("mount", &opts.mount, true)?;
        check_segment("key name", &opts.key, false)?;
        let url = opts.url.trim_end_matches('/');
        let plain = url.strip_prefix("http://");
        if plain.is_none() && !url.starts_with("https://") {
            return Err(KmsError::Config(
                "the transit URL must start with https://".into(),
            ));
        }
        if let Some(rest) = plain
            && !is_loopback_authority(rest)
        {
            // A token and an unwrapped slot key must never cross a network
            // in clear; a dev server on this machine is the one exception.
            return Err(KmsError::Config(
                "plain http:// is allowed only to this machine (127.0.0.1, [::1], localhost); use https://".into(),
            ));
        }
        let mut tls = ureq::tls::TlsConfig::builder();
        if let Some(path) = &opts.ca_file {
            let pem = std::fs::read(path)
                .map_err(|e| KmsError::Config(format!("reading the CA file: {e}")))?;
            let certs: Vec<ureq::tls::Certificate<'static>> = ureq::tls::parse_pem(&pem)
                .filter_map(|i| match i {
                    Ok(ureq::tls::PemItem::Certificate(c)) => Some(c),
                    _ => None,
                })
                .collect();
            if certs.is_empty() {
                return Err(KmsError::Config(
                    "the CA file holds no PEM certificate".into(),
                ));
            }
            tls = tls.root_certs(ureq::tls::RootCerts::new_with_certs(&certs));
        }
        let agent = ureq::Agent::config_builder()
            .tls_config(tls.build())
            .timeout_global(Some(TIMEOUT))
            .http_status_as_error(false)
            .max_redirects(0)
            .build()
            .into();
        Ok(Transit {
            opts: TransitOptions {
                url: url.to_owned(),
                ..opts
            },
            agent,
        })
    }

    /// The `data` of the key's description (public keys only).
    fn read_key(&self) -> Result<serde_json::Value, KmsError> {
        let text = self.call(Req::ReadKey)?;
        let json: serde_json::Value = serde_json::from_str(&text)
            .map_err(|_| KmsError::Protocol("the answer is not JSON".into()))?;
        Ok(json["data"].clone())
    }

    fn latest(&self) -> Result<u32, KmsError> {
        let data = self.read_key()?;
        data["latest_version"]
            .as_u64()
            .and_then(|v| u32::try_from(v).ok())
            .filter(|v| *v > 0)
            .ok_or_else(|| KmsError::Protocol("the key has no latest_version".into()))
    }

    fn endpoint(&self, op: &str) -> String {
        format!(
            "{}/v1/{}/{op}/{}",
            self.opts.url, self.opts.mount, self.opts.key
        )
    }

    /// Sends a request and returns the body of a 2xx answer (zeroized when
    /// dropped: a decrypt answer holds the slot key).
    fn call(&self, req: Req<'_>) -> Result<Zeroizing<String>, KmsError> {
        let url = match req {
            Req::ReadKey => self.endpoint("keys"),
            Req::Decrypt(_) => self.endpoint("decrypt"),
        };
        let sent = match req {
            Req::ReadKey => self
                .agent
                .get(&url)
                .header("X-Vault-Token", self.opts.token.as_str())
                .call(),
            Req::Decrypt(body) => self
                .agent
                .post(&url)
                .header("X-Vault-Token", self.opts.token.as_str())
                .send_json(body),
        };
        let mut resp = sent.map_err(|e| self.transport_error(e))?;
        let status = resp.status().as_u16();
        let text = Zeroizing::new(
            resp.body_mut()
                .with_config()
                .limit(MAX_ANSWER)
                .read_to_string()
                .map_err(|e| self.transport_error(e))?,
        );
        if (200..=299).contains(&status) {
            return Ok(text);
        }
        let json: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
        match status {
            401 | 403 => Err(KmsError::Denied),
            404 => Err(KmsError::KeyNotFound(format!(
                "{} (mount {})",
                self.opts.key, self.opts.mount
            ))),
            // Transit answers a ciphertext it cannot decrypt with 400 or 500.
            400 | 500 if matches!(req, Req::Decrypt(_)) => Err(KmsError::DecryptFailed),
            s => Err(KmsError::Protocol(format!(
                "HTTP {s}: {}",
                first_error(&json)
            ))),
        }
    }

    fn transport_error(&self, e: ureq::Error) -> KmsError {
        let url = self.opts.url.clone();
        match e {
            ureq::Error::Io(io) => {
                if let Some(tls) = io.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()) {
                    return KmsError::Tls {
                        url,
                        why: tls.to_string(),
                    };
                }
                KmsError::Unreachable(format!("{url} ({io})"))
            }
            ureq::Error::Rustls(tls) => KmsError::Tls {
                url,
                why: tls.to_string(),
            },
            ureq::Error::Tls(why) => KmsError::Tls {
                url,
                why: why.to_owned(),
            },
            ureq::Error::ConnectionFailed | ureq::Error::HostNotFound | ureq::Error::Timeout(_) => {
                KmsError::Unreachable(format!("{url} ({e})"))
            }
            other => KmsError::Protocol(other.to_string()),
        }
    }
}

enum Req<'a> {
    ReadKey,
    Decrypt(&'a serde_json::Value),
}

#[derive(Deserialize)]
struct DecryptAnswer {
    data: DecryptData,
}

#[derive(Deserialize)]
struct DecryptData {
    plaintext: Zeroizing<String>,
}

#[derive(Deserialize)]
struct KeyVersionInfo {
    #[serde(default)]
    public_key: String,
}

impl OrgKeyStore for Transit {
    fn key_name(&self) -> &str {
        &self.opts.key
    }

    fn has_versions(&self) -> bool {
        true
    }

    fn latest_version(&self) -> Result<Option<u32>, KmsError> {
        self.latest().map(Some)
    }

    fn public_key(&self, version: u32) -> Result<OrgRsaKey, KmsError> {
        let data = self.read_key()?;
        let kind = data["type"].as_str().unwrap_or("");
        if !matches!(kind, "rsa-3072" | "rsa-4096") {
            return Err(KmsError::Config(format!(
                "transit key {} is of type {kind:?}; Coffer needs rsa-3072 or rsa-4096",
                self.opts.key
            )));
        }
        let info: KeyVersionInfo =
            serde_json::from_value(data["keys"][version.to_string()].clone())
                .map_err(|_| KmsError::NoSuchVersion(version))?;
        OrgRsaKey::from_pem(&info.public_key)
            .map_err(|e| KmsError::Protocol(format!("the key's public half: {e}")))
    }

    fn decrypt(&self, version: u32, ciphertext: &[u8]) -> Result<Zeroizing<Vec<u8>>, KmsError> {
        let body = serde_json::json!({
            "ciphertext": format!("vault:v{version}:{}", STANDARD.encode(ciphertext)),
        });
        let text = self.call(Req::Decrypt(&body))?;
        let answer: DecryptAnswer = serde_json::from_str(&text)
            .map_err(|_| KmsError::Protocol("no plaintext in the answer".into()))?;
        STANDARD
            .decode(answer.data.plaintext.as_bytes())
            .map(Zeroizing::new)
            .map_err(|_| KmsError::Protocol("the plaintext is not base64".into()))
    }
}

/// Mount and key names go into the URL path: only characters that need no
/// escaping, so no name can reach another endpoint.
fn check_segment(what: &str, s: &str, slashes: bool) -> Result<(), KmsError> {
    let ok = !s.is_empty()
        && s.len() <= 128
        && !s.split('/').any(|p| p.is_empty() || p == "." || p == "..")
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c) || (slashes && c == '/'));
    if ok {
        Ok(())
    } else {
        Err(KmsError::Config(format!(
            "the transit {what} {s:?} may hold only letters, digits, - _ .{}",
            if slashes { " and /" } else { "" }
        )))
    }
}

fn is_loopback_authority(rest: &str) -> bool {
    let host = rest.split('/').next().unwrap_or("");
    let host = match host.rsplit_once(':') {
        Some((h, port)) if port.chars().all(|c| c.is_ascii_digit()) => h,
        _ => host,
    };
    matches!(host, "localhost" | "[::1]")
        || host
            .parse::<std::net::Ipv4Addr>()
            .is_ok_and(|a| a.is_loopback())
}

fn first_error(json: &serde_json::Value) -> String {
    let s = json["errors"][0].as_str().unwrap_or("no error text");
    s.chars().take(200).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(url: &str, mount: &str, key: &str) -> TransitOptions {
        TransitOptions {
            url: url.into(),
            mount: mount.into(),
            key: key.into(),
            token: Zeroizing::new("t".into()),
            ca_file: None,
        }
    }

    #[test]
    fn names_and_schemes_are_checked_before_any_request() {
        assert!(Transit::new(opts("https://bao.example:8200", "transit", "coffer-escrow")).is_ok());
        assert!(Transit::new(opts("http://127.0.0.1:8200", "kv/transit", "k")).is_ok());
        assert!(Transit::new(opts("http://localhost:8200/", "transit", "k")).is_ok());
        for (url, mount, key) in [
            ("http://bao.example:8200", "transit", "k"),
            ("http://127.0.0.1.evil.example:8200", "transit", "k"),
            ("ftp://x", "transit", "k"),
            ("https://x", "transit", "../sys/seal"),
            ("https://x", "transit", "a/b"),
            ("https://x", "../sys", "k"),
            ("https://x", "transit", "k?x=1"),
            ("https://x", "transit", ""),
        ] {
            assert!(
                matches!(
                    Transit::new(opts(url, mount, key)),
                    Err(KmsError::Config(_))
                ),
                "{url} {mount} {key}"
            );
        }
    }

    #[test]
    fn nothing_listening_is_unreachable() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let t = Transit::new(opts(&format!("http://127.0.0.1:{port}"), "transit", "k")).unwrap();
        assert!(matches!(t.public_key(1), Err(KmsError::Unreachable(_))));
    }
}
