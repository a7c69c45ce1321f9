//! Crypto micro-benchmarks: `cargo bench -p coffer-core --bench crypto`.
//!
//! * `stream/{seal,open}/{rayon,1-thread}`: the STREAM layer
//!   (`stream::encrypt`/`decrypt`) over a 64 MiB in-memory buffer. `rayon`
//!   is the global pool (every core); `1-thread` runs inside a one-thread
//!   rayon pool. Criterion prints GiB/s.
//! * `stream/aes-gcm-raw/1-thread`: bare AES-256-GCM in place over the same
//!   64 MiB in 64 KiB chunks, no reads, copies or allocations: the ceiling
//!   the STREAM layer is measured against. `stream/ring-raw/1-thread`: the
//!   same with ring's AES-256-GCM, the faster backend weighed in issue #18.
//!   `stream/aws-lc-copy/1-thread`: aws-lc-rs's with the copy in and out
//!   that `seal` makes (input slice → chunk buffer → output `Vec`).
//! * `dek/wrap`: `object::Sealed::new` (fresh DEK, HKDF, metadata seal, HPKE
//!   wrap to the vault's X25519 key). `dek/unwrap`: `object::unwrap`.
//! * `kdf/argon2id-default/{rayon,1-thread}`: `kdf::argon2id` at
//!   `Argon2Params::DEFAULT`. Before it, one call is run with the process's
//!   peak-RSS mark reset (`/proc/self/clear_refs` = 5) and VmHWM is printed,
//!   to check the 256 MiB it is meant to use.
//!
//! `COFFER_BENCH_MIB` changes the stream buffer size (default 64).

#![allow(missing_docs)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use coffer_core::config::VaultConfig;
use coffer_core::format::{CHUNK_SIZE, FileId, HEADER_LEN, Metadata};
use coffer_core::kdf::{self, Argon2Params};
use coffer_core::object::{self, Sealed, WrapTarget};
use coffer_core::secret::{Key32, Passphrase};
use coffer_core::stream;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};

fn buf_len() -> usize {
    std::env::var("COFFER_BENCH_MIB")
        .ok()
        .and_then(|s| s.parse::<usize>().ok())
        .unwrap_or(64)
        << 20
}

fn one_thread() -> rayon::ThreadPool {
    rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .expect("a one-thread pool")
}

fn bench_stream(c: &mut Criterion) {
    let len = buf_len();
    let key = Key32::random();
    let header = [0x5a; HEADER_LEN];
    let plain: Vec<u8> = (0..len).map(|i| (i * 31 % 251) as u8).collect();
    let mut sealed = Vec::with_capacity(len + len / 1024);
    stream::encrypt(&key, &header, &plain[..], &mut sealed).unwrap();
    let mut out = Vec::with_capacity(sealed.len());
    let single = one_thread();

    let mut g = c.benchmark_group("stream");
    g.sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(6))
        .throughput(Throughput::Bytes(len as u64));

    for (name, pool) in [("rayon", None), ("1-thread", Some(&single))] {
        let run = |f: &mut (dyn FnMut() + Send)| match pool {
            Some(p) => p.install(f),
            None => f(),
        };
        g.bench_function(BenchmarkId::new("seal", name), |b| {
            b.iter(|| {
                out.clear();
                run(&mut || {
                    stream::encrypt(&key, &header, black_box(&plain[..]), &mut out).unwrap();
                });
                black_box(&out);
            })
        });
        g.bench_function(BenchmarkId::new("open", name), |b| {
            b.iter(|| {
                out.clear();
                run(&mut || {
                    stream::decrypt(&key, &header, black_box(&sealed[..]), &mut out).unwrap();
                });
                assert_eq!(out.len(), len);
            })
        });
    }

    // The ceiling: AES-256-GCM alone, in place, one thread, 64 KiB chunks.
    {
        use aes_gcm::aead::{AeadInOut, KeyInit};
        let aead = aes_gcm::Aes256Gcm::new(key.expose().into());
        let mut data = plain.clone();
        let nonce = [0u8; 12];
        g.bench_function(BenchmarkId::new("aes-gcm-raw", "1-thread"), |b| {
            b.iter(|| {
                for chunk in data.chunks_mut(CHUNK_SIZE) {
                    let tag = aead
                        .encrypt_inout_detached((&nonce).into(), &header, chunk.into())
                        .unwrap();
                    black_box(tag);
                }
            })
        });
        // The same with aws-lc-rs's, which the chunk stream uses.
        let lc_key = aws_lc_rs::aead::LessSafeKey::new(
            aws_lc_rs::aead::UnboundKey::new(&aws_lc_rs::aead::AES_256_GCM, key.expose()).unwrap(),
        );
        let lc_seal = |chunk: &mut [u8]| {
            lc_key
                .seal_in_place_separate_tag(
                    aws_lc_rs::aead::Nonce::assume_unique_for_key(nonce),
                    aws_lc_rs::aead::Aad::from(&header[..]),
                    chunk,
                )
                .unwrap()
        };
        g.bench_function(BenchmarkId::new("aws-lc-raw", "1-thread"), |b| {
            b.iter(|| {
                for chunk in data.chunks_mut(CHUNK_SIZE) {
                    let _ = black_box(lc_seal(chunk));
                }
            })
        });
        // aws-lc-rs's again, with the copies any stream from a reader to a
        // writer makes: each 64 KiB copied in from the input, sealed, and
        // appended with its tag to an output `Vec` (what `seal` above gets
        // as input and output). `seal` ÷ this is what the STREAM layer
        // itself costs; `seal` ÷ `aws-lc-raw` adds the two copies.
        let mut chunk_buf = vec![0u8; CHUNK_SIZE];
        g.bench_function(BenchmarkId::new("aws-lc-copy", "1-thread"), |b| {
            b.iter(|| {
                out.clear();
                for src in black_box(&plain[..]).chunks(CHUNK_SIZE) {
                    let buf = &mut chunk_buf[..src.len()];
                    buf.copy_from_slice(src);
                    let tag = lc_seal(buf);
                    out.extend_from_slice(buf);
                    out.extend_from_slice(tag.as_ref());
                }
                black_box(&out);
            })
        });
        // The same with ring's AES-256-GCM (BoringSSL's assembly).
        let ring_key = ring::aead::LessSafeKey::new(
            ring::aead::UnboundKey::new(&ring::aead::AES_256_GCM, key.expose()).unwrap(),
        );
        g.bench_function(BenchmarkId::new("ring-raw", "1-thread"), |b| {
            b.iter(|| {
                for chunk in data.chunks_mut(CHUNK_SIZE) {
                    let tag = ring_key
                        .seal_in_place_separate_tag(
                            ring::aead::Nonce::assume_unique_for_key(nonce),
                            ring::aead::Aad::from(&header[..]),
                            chunk,
                        )
                        .unwrap();
                    let _ = black_box(tag);
                }
            })
        });
    }
    g.finish();
}

fn bench_dek(c: &mut Criterion) {
    let (cfg, keys) = VaultConfig::create();
    let (v, pk) = cfg.current_public_key();
    let target = WrapTarget {
        vault_id: *cfg.vault_id(),
        key_version: v,
        public_key: pk,
    };
    let meta = Metadata {
        path: "clinic/2025/patient-letter.pdf".into(),
        size: 123_456,
        mtime_ns: 1_700_000_000_000_000_000,
        mode: 0o600,
        added_ns: 1_700_000_000_000_000_001,
    };
    let s = Sealed::new(&target, Some(FileId::random()), &meta).unwrap();

    let mut g = c.benchmark_group("dek");
    g.sample_size(50).measurement_time(Duration::from_secs(4));
    g.bench_function("wrap", |b| {
        b.iter(|| Sealed::new(black_box(&target), None, black_box(&meta)).unwrap())
    });
    g.bench_function("unwrap", |b| {
        b.iter(|| {
            object::unwrap(
                black_box(&keys),
                cfg.vault_id(),
                black_box(&s.header),
                black_box(&s.record),
            )
            .unwrap()
        })
    });
    g.finish();
}

/// (VmRSS, VmHWM) of this process in KiB.
fn rss_kib() -> Option<(u64, u64)> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let field = |name: &str| -> Option<u64> {
        s.lines()
            .find(|l| l.starts_with(name))?
            .split_whitespace()
            .nth(1)?
            .parse()
            .ok()
    };
    Some((field("VmRSS:")?, field("VmHWM:")?))
}

fn argon2_peak_rss(pass: &Passphrase, salt: &[u8]) {
    // Resets VmHWM to the current RSS (Linux >= 4.0), so the next peak is
    // the KDF's own.
    if std::fs::write("/proc/self/clear_refs", "5").is_err() {
        eprintln!("kdf/argon2id-default: cannot reset VmHWM; peak RSS not measured");
        return;
    }
    let Some((before, _)) = rss_kib() else { return };
    let t = Instant::now();
    black_box(kdf::argon2id(pass, salt, &Argon2Params::DEFAULT).unwrap());
    let dt = t.elapsed();
    let Some((after, peak)) = rss_kib() else {
        return;
    };
    println!(
        "kdf/argon2id-default: one call {:.0} ms; VmRSS before {} KiB, after {} KiB, \
         VmHWM during {} KiB => KDF peak {:.1} MiB (m = {} MiB)",
        dt.as_secs_f64() * 1e3,
        before,
        after,
        peak,
        (peak - before) as f64 / 1024.0,
        Argon2Params::DEFAULT.m_kib / 1024,
    );
}

fn bench_kdf(c: &mut Criterion) {
    let pass = Passphrase::from("correct horse battery staple");
    let salt = [7u8; 32];
    let mut rss_checked = false;
    let single = one_thread();
    let mut g = c.benchmark_group("kdf");
    g.sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(10));
    g.bench_function(BenchmarkId::new("argon2id-default", "rayon"), |b| {
        // Here rather than above so that it runs only when this benchmark
        // is selected, and only once.
        if !std::mem::replace(&mut rss_checked, true) {
            argon2_peak_rss(&pass, &salt);
        }
        b.iter(|| kdf::argon2id(&pass, &salt, &Argon2Params::DEFAULT).unwrap())
    });
    g.bench_function(BenchmarkId::new("argon2id-default", "1-thread"), |b| {
        b.iter(|| single.install(|| kdf::argon2id(&pass, &salt, &Argon2Params::DEFAULT).unwrap()))
    });
    g.finish();
}

// KDF first: its peak-RSS check wants the process as small as possible
// (the stream buffers are allocated later).
criterion_group!(benches, bench_kdf, bench_dek, bench_stream);
criterion_main!(benches);
