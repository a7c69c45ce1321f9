#!/usr/bin/env python3
"""An independent Coffer format v1 decryptor, written from docs/FORMAT.md.

It shares no code with coffer-core: HKDF and HPKE (RFC 9180 base mode,
DHKEM(X25519, HKDF-SHA256) / HKDF-SHA256 / AES-256-GCM) are implemented here
from their RFCs on top of the `cryptography` package's X25519 and AES-GCM.
It unlocks the test vault with the recovery key (Argon2id, for the
passphrase slot, is not in the Python standard library and is skipped),
opens every vector of manifest.json and compares the outcome with the
manifest. Exit status 0 means every vector agreed.

    python3 reference_decrypt.py [vectors-dir]
"""

import base64
import hashlib
import hmac
import json
import os
import sys

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

MAX_RECORD_LEN = 8293
MAX_META_CT_LEN = 8192
CHUNK = 65536
SEALED_CHUNK = CHUNK + 16


class Fail(Exception):
    def __init__(self, kind, stage):
        super().__init__(f"{kind} at {stage}")
        self.kind, self.stage = kind, stage


# --- primitives (§2) --------------------------------------------------------

def hkdf_extract(salt, ikm):
    return hmac.new(salt, ikm, hashlib.sha256).digest()


def hkdf_expand(prk, info, length):
    out, t, i = b"", b"", 1
    while len(out) < length:
        t = hmac.new(prk, t + info + bytes([i]), hashlib.sha256).digest()
        out += t
        i += 1
    return out[:length]


def hkdf(salt, ikm, info):
    return hkdf_expand(hkdf_extract(salt, ikm), info, 32)


def aes_open(key, nonce, aad, ct):
    if len(ct) < 16:
        raise InvalidTag()
    return AESGCM(key).decrypt(nonce, ct, aad)


def be16(b):
    return int.from_bytes(b, "big")


be32 = be64 = be16


def i2osp(n, w):
    return n.to_bytes(w, "big")


KEM_SUITE = b"KEM" + i2osp(0x0020, 2)
HPKE_SUITE = b"HPKE" + i2osp(0x0020, 2) + i2osp(0x0001, 2) + i2osp(0x0002, 2)


def labeled_extract(suite, salt, label, ikm):
    return hkdf_extract(salt, b"HPKE-v1" + suite + label + ikm)


def labeled_expand(suite, prk, label, info, length):
    return hkdf_expand(prk, i2osp(length, 2) + b"HPKE-v1" + suite + label + info, length)


def hpke_open_base(sk_bytes, enc, info, aad, ct):
    """RFC 9180 single-shot OpenBase, suite (0x0020, 0x0001, 0x0002)."""
    sk = X25519PrivateKey.from_private_bytes(sk_bytes)
    pk_r = sk.public_key().public_bytes_raw()
    dh = sk.exchange(X25519PublicKey.from_public_bytes(enc))  # raises on an all-zero result
    eae_prk = labeled_extract(KEM_SUITE, b"", b"eae_prk", dh)
    shared = labeled_expand(KEM_SUITE, eae_prk, b"shared_secret", enc + pk_r, 32)
    psk_id_hash = labeled_extract(HPKE_SUITE, b"", b"psk_id_hash", b"")
    info_hash = labeled_extract(HPKE_SUITE, b"", b"info_hash", info)
    context = b"\x00" + psk_id_hash + info_hash
    secret = labeled_extract(HPKE_SUITE, shared, b"secret", b"")
    key = labeled_expand(HPKE_SUITE, secret, b"key", context, 32)
    base_nonce = labeled_expand(HPKE_SUITE, secret, b"base_nonce", context, 12)
    return aes_open(key, base_nonce, aad, ct)  # sequence number 0


# --- vault (§3, §4, §11) ----------------------------------------------------

def decode_recovery(text):
    s = "".join(c for c in text if not c.isspace() and c != "-").upper()
    s = s.replace("0", "O").replace("1", "I").replace("8", "B")
    raw = base64.b32decode(s + "=" * (-len(s) % 8))
    if len(raw) != 35 or hashlib.sha256(raw[:32]).digest()[:3] != raw[32:]:
        raise ValueError("recovery key has a typo")
    return raw[:32]


def b64(v, n):
    assert len(v) == 4 * ((n + 2) // 3)
    out = base64.b64decode(v, validate=True)
    assert len(out) == n
    return out


def unlock_recovery(config, recovery_key):
    cfg = json.loads(config)
    assert cfg["format"] == "coffer-vault" and cfg["version"] == 1
    vault_id = b64(cfg["vault_id"], 16)
    for slot in cfg["slots"]:
        if slot["kind"] != "recovery":
            continue
        kek = hkdf(b64(slot["salt"], 16), recovery_key, b"coffer/v1/recovery-slot")
        aad = b"coffer/v1/slot" + vault_id + b64(slot["id"], 16) + b"recovery"
        try:
            master = aes_open(kek, b64(slot["nonce"], 12), aad, b64(slot["wrapped"], 48))
            break
        except InvalidTag:
            continue
    else:
        raise ValueError("wrong recovery key")
    seal_key = hkdf(vault_id, master, b"coffer/v1/version-seal-key")
    versions = {}
    for kv in cfg["key_versions"]:
        pk = b64(kv["public_key"], 32)
        aad = b"coffer/v1/key-version" + vault_id + i2osp(kv["version"], 4) + pk
        sk = aes_open(seal_key, b64(kv["nonce"], 12), aad, b64(kv["sealed_secret"], 48))
        assert X25519PrivateKey.from_private_bytes(sk).public_key().public_bytes_raw() == pk
        versions[kv["version"]] = sk
    return {
        "vault_id": vault_id,
        "master": master,
        "seal_key": seal_key,
        "index_key": hkdf(vault_id, master, b"coffer/v1/index-key"),
        "versions": versions,
    }


# --- objects (§5–§10) -------------------------------------------------------

def check_header(h, stage):
    if h[0:8] != b"COFFEROB":
        raise Fail("Corrupt", stage)
    if be16(h[8:10]) != 1:
        raise Fail("UnsupportedVersion", stage)
    if h[10] != 16 or h[11] != 0:
        raise Fail("Corrupt", stage)


def parse_record(r, stage):
    if len(r) < 1:
        raise Fail("Corrupt", stage)
    if r[0] != 1:
        raise Fail("UnsupportedVersion", stage)
    if len(r) < 101:
        raise Fail("Corrupt", stage)
    m = be32(r[97:101])
    if not 16 <= m <= MAX_META_CT_LEN or len(r) != 101 + m:
        raise Fail("Corrupt", stage)
    return {
        "key_version": be32(r[1:5]),
        "enc": r[5:37],
        "wrapped_dek": r[37:85],
        "meta_nonce": r[85:97],
        "meta_ct": r[101:],
    }


def parse_sidecar(s):
    st = "sidecar"
    if len(s) < 8 or s[:8] != b"COFFERKR" or len(s) < 100:
        raise Fail("Corrupt", st)
    check_header(s[8:100], st)
    if len(s) < 104:
        raise Fail("Corrupt", st)
    n = be32(s[100:104])
    if n > MAX_RECORD_LEN or len(s) < 104 + n:
        raise Fail("Corrupt", st)
    rec = parse_record(s[104:104 + n], st)
    if len(s) != 104 + n:
        raise Fail("Corrupt", st)
    return s[8:100], rec


def valid_path(p):
    if not 1 <= len(p.encode()) <= 4096 or "\0" in p or "\\" in p:
        return False
    return all(c not in ("", ".", "..") for c in p.split("/"))


def open_object(vault, obj, sidecar=None):
    """§9, steps 1–8. Returns everything learned; releases nothing on failure."""
    # 1–2. Header and embedded record.
    if len(obj) < 96:
        raise Fail("Corrupt", "prefix")
    header = obj[:92]
    check_header(header, "prefix")
    r = be32(obj[92:96])
    if r > MAX_RECORD_LEN or len(obj) < 96 + r:
        raise Fail("Corrupt", "prefix")
    rec = parse_record(obj[96:96 + r], "prefix")
    stream = obj[96 + r:]
    # 3. Record in force.
    in_force = "embedded"
    if sidecar is not None:
        copy, side_rec = parse_sidecar(sidecar)
        if copy == header:
            rec, in_force = side_rec, "sidecar"
    # 4. DEK.
    kv = rec["key_version"]
    if kv not in vault["versions"]:
        raise Fail("DecryptionFailed", "unwrap")
    try:
        dek = hpke_open_base(
            vault["versions"][kv], rec["enc"],
            b"coffer/v1/dek-wrap" + vault["vault_id"],
            header + i2osp(kv, 4), rec["wrapped_dek"])
    except Exception:
        raise Fail("DecryptionFailed", "unwrap")
    # 5. File keys and commitment.
    file_id, salt = header[12:28], header[28:60]
    prk = hkdf_extract(salt, dek)
    payload = hkdf_expand(prk, b"coffer/v1/payload-key" + file_id, 32)
    metadata = hkdf_expand(prk, b"coffer/v1/metadata-key" + file_id, 32)
    commitment = hkdf_expand(prk, b"coffer/v1/key-commitment" + file_id, 32)
    if not hmac.compare_digest(commitment, header[60:92]):
        raise Fail("DecryptionFailed", "unwrap")
    # 6. Metadata.
    try:
        m = aes_open(metadata, rec["meta_nonce"], header, rec["meta_ct"])
    except InvalidTag:
        raise Fail("DecryptionFailed", "metadata")
    if m[0] != 1:
        raise Fail("UnsupportedVersion", "metadata")
    p = be16(m[1:3])
    if len(m) != 31 + p:
        raise Fail("Corrupt", "metadata")
    try:
        path = m[3:3 + p].decode("utf-8")
    except UnicodeDecodeError:
        raise Fail("Corrupt", "metadata")
    if not valid_path(path):
        raise Fail("Corrupt", "metadata")
    t = m[3 + p:]
    meta = {
        "path": path,
        "size": be64(t[0:8]),
        "mtime_ns": int.from_bytes(t[8:16], "big", signed=True),
        "mode": be32(t[16:20]),
        "added_ns": int.from_bytes(t[20:28], "big", signed=True),
    }
    # 7. Chunk stream, split by position.
    if not stream:
        raise Fail("DecryptionFailed", "stream")
    pieces = [stream[i:i + SEALED_CHUNK] for i in range(0, len(stream), SEALED_CHUNK)]
    if len(pieces) > 2**32:
        raise Fail("DecryptionFailed", "stream")
    out = []
    for i, piece in enumerate(pieces):
        last = i == len(pieces) - 1
        if len(piece) < 16 or (len(piece) == 16 and i != 0):
            raise Fail("DecryptionFailed", "stream")
        nonce = bytes(7) + i2osp(i, 4) + (b"\x01" if last else b"\x00")
        try:
            out.append(aes_open(payload, nonce, header, piece))
        except InvalidTag:
            raise Fail("DecryptionFailed", "stream")
    # 8. Everything authenticated: release.
    return {
        "record": in_force,
        "key_version": kv,
        **meta,
        "plaintext": b"".join(out),
        "embedded_record_len": r,
        "stream_offset": 96 + r,
        "chunks": len(pieces),
        "dek": dek.hex(),
        "payload_key": payload.hex(),
        "metadata_key": metadata.hex(),
        "commitment": commitment.hex(),
    }


def materialise(source, files):
    b = bytearray()
    for p in source["parts"]:
        b += files[p["file"]][p["start"]:p["end"]]
    for x in source.get("xor", []):
        b[x["at"]] ^= x["mask"]
    return bytes(b)


def main():
    here = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))
    with open(os.path.join(here, "manifest.json"), "rb") as f:
        manifest = json.load(f)
    files = {}
    for f in manifest["files"]:
        with open(os.path.join(here, f["file"]), "rb") as fh:
            data = fh.read()
        assert len(data) == f["len"] and hashlib.sha256(data).hexdigest() == f["sha256"], f["file"]
        files[f["file"]] = data
    vault = unlock_recovery(files[manifest["config"]], decode_recovery(manifest["recovery_key"]))
    secrets = manifest["vault"]
    assert vault["vault_id"].hex() == secrets["vault_id"]
    assert vault["master"].hex() == secrets["master_key"]
    assert vault["seal_key"].hex() == secrets["version_seal_key"]
    assert vault["index_key"].hex() == secrets["index_key"]
    assert {str(k): v.hex() for k, v in vault["versions"].items()} == secrets["version_private_keys"]

    bad = 0
    for v in manifest["vectors"]:
        obj = materialise(v["object"], files)
        side = materialise(v["sidecar"], files) if "sidecar" in v else None
        want = v["expect"]
        try:
            got = open_object(vault, obj, side)
            pt = got.pop("plaintext")
            got["plaintext_len"] = len(pt)
            got["plaintext_sha256"] = hashlib.sha256(pt).hexdigest()
            got["object_len"] = len(obj)
            outcome = ("ok", None, got)
        except Fail as e:
            outcome = (e.kind, e.stage, None)
        expected = (want["result"], want.get("stage"), want.get("opened"))
        agree = outcome == expected
        bad += not agree
        print(f"{'ok  ' if agree else 'FAIL'} {v['name']}: {outcome[0]}"
              + (f" at {outcome[1]}" if outcome[1] else ""))
        if not agree:
            print(f"     expected {expected[:2]}, got {outcome[:2]}")
    print(f"{len(manifest['vectors']) - bad} of {len(manifest['vectors'])} vectors agree")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
