#!/usr/bin/env python3
"""An independent Coffer format v1 decryptor, written from docs/FORMAT.md.

It shares no code with coffer-core: HKDF and HPKE (RFC 9180 base mode,
DHKEM(X25519, HKDF-SHA256) / HKDF-SHA256 / AES-256-GCM) are implemented here
from their RFCs on top of the `cryptography` package's X25519 and AES-GCM.
It unlocks the test vault with the recovery key (Argon2id, for the
passphrase slot, is not in the Python standard library and is skipped),
opens every vector of manifest.json and compares the outcome with the
manifest. It then checks the vectors of integrity/ (§4.5, §17): unlocks the
version-2 config with the same recovery key, opens the writer key, recomputes
`C` and the config MAC, every object digest, parses and authenticates
manifest.bin and endorsements.bin, and gives each damaged variant of
integrity.json the error class the document says. Exit status 0 means every
vector and every check agreed.

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


def clamp(sk):
    """X25519 clamping (RFC 7748): how vault.json stores private keys."""
    b = bytearray(sk)
    b[0] &= 248
    b[31] &= 127
    b[31] |= 64
    return bytes(b)


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
    if r[0] not in (1, 2):
        raise Fail("UnsupportedVersion", stage)
    if len(r) < 101:
        raise Fail("Corrupt", stage)
    m = be32(r[97:101])
    if not 16 <= m <= MAX_META_CT_LEN or len(r) != 101 + m:
        raise Fail("Corrupt", stage)
    return {
        "version": r[0],
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
    sk, aad = vault["versions"][kv], header + i2osp(kv, 4)
    try:
        if rec["version"] == 1:
            dek = hpke_open_base(
                sk, rec["enc"], b"coffer/v1/dek-wrap" + vault["vault_id"],
                aad, rec["wrapped_dek"])
        else:
            # Record version 2 (§3.1): the key version's wrap secret, then
            # a one-use key from the salt in enc. sk is clamped as stored.
            secret = hkdf(vault["vault_id"], clamp(sk), b"coffer/v2/dek-wrap-secret")
            wrap_key = hkdf(rec["enc"], secret, b"coffer/v2/dek-wrap-key")
            dek = aes_open(wrap_key, bytes(12), aad, rec["wrapped_dek"])
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


# --- integrity: authenticated config, manifest, endorsements (§4.5, §17) ----
#
# Written from FORMAT.md §3.1 (writer key), §4.1–§4.6 and §17 alone. The
# vectors are in integrity/ (integrity.json says what each must give).

MAX_CONFIG_LEN = 1 << 20
MAX_MANIFEST_ENTRIES = 8388608
MAX_ENDORSEMENTS_LEN = 64 << 20
ENDORSEMENT_LEN = 89
U32, I64 = (0, 2**32 - 1), (-(2**63), 2**63 - 1)
PHASES = {1: "intent", 2: "done", 3: "remove"}

# §4.1 member order (the order of the tables), used for `C` (§4.5).
TOP_ORDER = ["format", "version", "vault_id", "created", "current_key_version",
             "key_versions", "slots", "rotation", "writer_key", "mac"]
KV_ORDER = ["version", "created", "public_key", "nonce", "sealed_secret"]
SLOT_ORDER = {  # `kind` first: taken from §4.1's example, the slot table does not place it
    "passphrase": ["kind", "id", "created", "salt", "kdf", "nonce", "wrapped", "commit"],
    "keychain": ["kind", "id", "created", "salt", "nonce", "wrapped", "commit"],
    "recovery": ["kind", "id", "created", "salt", "nonce", "wrapped", "commit"],
    "escrow": ["kind", "id", "created", "org_public_key", "enc", "wrapped"],
}
KDF_ORDER = ["m_kib", "t", "p"]
ROTATION_ORDER = ["kind", "started", "target_version"]
WRITER_KEY_ORDER = ["nonce", "sealed"]


def _no_dup_names(pairs):
    out = {}
    for k, v in pairs:
        if k in out:  # §4.1: a member name twice in one object → corrupt
            raise Fail("Corrupt", "config")
        out[k] = v
    return out


def _reject_number(_s):
    raise Fail("Corrupt", "config")  # fractions, exponents, NaN, Infinity


def _int(v, rng):
    if type(v) is not int or not rng[0] <= v <= rng[1]:
        raise Fail("Corrupt", "config")
    return v


def _bytes(v, n):
    """Canonical padded base64 of exactly n bytes (§4.1, §4.2 rule 3)."""
    if type(v) is not str or len(v) != 4 * ((n + 2) // 3):
        raise Fail("Corrupt", "config")
    try:
        out = base64.b64decode(v, validate=True)
    except ValueError:
        raise Fail("Corrupt", "config")
    if len(out) != n or base64.b64encode(out).decode() != v:  # unused bits not zero
        raise Fail("Corrupt", "config")
    return out


def _fields(obj, allowed, required):
    if type(obj) is not dict or set(obj) - set(allowed) or set(required) - set(obj):
        raise Fail("Corrupt", "config")


def parse_config(text):
    """§4.2 checks, in the document's order. Returns the parsed object (member
    order as in the file) or raises Fail(Corrupt | UnsupportedVersion | KdfParams)."""
    if len(text) > MAX_CONFIG_LEN:
        raise Fail("Corrupt", "config")
    try:
        cfg = json.loads(text.decode("utf-8"), object_pairs_hook=_no_dup_names,
                         parse_float=_reject_number, parse_constant=_reject_number)
    except (UnicodeDecodeError, ValueError):
        raise Fail("Corrupt", "config")
    # rule 2, before the schema
    if type(cfg) is dict and cfg.get("format") == "coffer-vault" and cfg.get("version") not in (1, 2):
        raise Fail("UnsupportedVersion", "config")
    # rule 3
    _fields(cfg, TOP_ORDER, ["format", "version", "vault_id", "created",
                             "current_key_version", "key_versions", "slots"])
    if cfg["format"] != "coffer-vault" or type(cfg["version"]) is not int:
        raise Fail("Corrupt", "config")
    _bytes(cfg["vault_id"], 16)
    _int(cfg["created"], I64)
    _int(cfg["current_key_version"], U32)
    if type(cfg["key_versions"]) is not list or type(cfg["slots"]) is not list:
        raise Fail("Corrupt", "config")
    for kv in cfg["key_versions"]:
        _fields(kv, KV_ORDER, KV_ORDER)
        _int(kv["version"], U32)
        _int(kv["created"], I64)
        _bytes(kv["public_key"], 32)
        _bytes(kv["nonce"], 12)
        _bytes(kv["sealed_secret"], 48)
    for slot in cfg["slots"]:
        if type(slot) is not dict or slot.get("kind") not in SLOT_ORDER:
            raise Fail("Corrupt", "config")
        order = SLOT_ORDER[slot["kind"]]
        # §4.1: `commit` is optional (slots written before commitments).
        _fields(slot, order, [k for k in order if k != "commit"])
        _bytes(slot["id"], 16)
        _int(slot["created"], I64)
        sizes = {"salt": 16, "nonce": 12, "wrapped": 48, "org_public_key": 32, "enc": 32,
                 "commit": 32}
        for k in order:
            if k in sizes and k in slot:
                _bytes(slot[k], sizes[k])
        if "kdf" in slot:
            _fields(slot["kdf"], KDF_ORDER, KDF_ORDER)
            for k in KDF_ORDER:
                _int(slot["kdf"][k], U32)
    if cfg.get("rotation") is not None:
        _fields(cfg["rotation"], ROTATION_ORDER, ROTATION_ORDER)
        if cfg["rotation"]["kind"] not in ("rewrap", "rekey", "reencrypt"):
            raise Fail("Corrupt", "config")
        _int(cfg["rotation"]["started"], I64)
        _int(cfg["rotation"]["target_version"], U32)
    if "writer_key" in cfg:
        _fields(cfg["writer_key"], WRITER_KEY_ORDER, WRITER_KEY_ORDER)
        _bytes(cfg["writer_key"]["nonce"], 12)
        _bytes(cfg["writer_key"]["sealed"], 48)
    if "mac" in cfg:
        _bytes(cfg["mac"], 32)
    # rule 4
    versions = [kv["version"] for kv in cfg["key_versions"]]
    if not 1 <= len(versions) <= 16 or 0 in versions or len(set(versions)) != len(versions) \
            or cfg["current_key_version"] not in versions:
        raise Fail("Corrupt", "config")
    # rule 5
    if len(cfg["slots"]) > 32:
        raise Fail("Corrupt", "config")
    # rule 6 (§4.3): its own error class
    for slot in cfg["slots"]:
        if slot["kind"] == "passphrase":
            m, t, p = (slot["kdf"][k] for k in KDF_ORDER)
            if not (19456 <= m <= 2097152 and 2 <= t <= 16 and 1 <= p <= 16 and m >= 8 * p):
                raise Fail("KdfParams", "config")
    # rule 7
    has = ("writer_key" in cfg, "mac" in cfg)
    if (cfg["version"] == 2 and has != (True, True)) or (cfg["version"] == 1 and has != (False, False)):
        raise Fail("Corrupt", "config")
    return cfg


def _ordered(obj, order):
    return {k: obj[k] for k in order if k in obj}


def config_c(cfg, schema_order=True):
    """`C` of §4.5: compact JSON, `mac` left out. With schema_order the members
    are put in §4.1 order; without, they are kept in the file's order."""
    if schema_order:
        top = _ordered(cfg, TOP_ORDER)
        top["key_versions"] = [_ordered(kv, KV_ORDER) for kv in cfg["key_versions"]]
        top["slots"] = []
        for s in cfg["slots"]:
            s2 = _ordered(s, SLOT_ORDER[s["kind"]])
            if "kdf" in s2:
                s2["kdf"] = _ordered(s["kdf"], KDF_ORDER)
            top["slots"].append(s2)
        if top.get("rotation") is not None:
            top["rotation"] = _ordered(cfg["rotation"], ROTATION_ORDER)
        if "writer_key" in top:
            top["writer_key"] = _ordered(cfg["writer_key"], WRITER_KEY_ORDER)
    else:
        top = dict(cfg)
    top.pop("mac", None)
    return json.dumps(top, separators=(",", ":"), ensure_ascii=True).encode("ascii")


def unlock_v2(text, recovery_key):
    """§4.4 for a version-2 config with the recovery key: validate (§4.2), open
    the slot, open writer_key.sealed and verify `mac` (§4.5; Tampered), then
    open every key version (§3.1; Corrupt)."""
    cfg = parse_config(text)
    if cfg["version"] != 2:
        raise Fail("NotVersion2", "config")  # §4.6: a version-1 config is unlocked without this step
    vault_id = _bytes(cfg["vault_id"], 16)
    master = None
    for slot in cfg["slots"]:
        if slot["kind"] != "recovery":
            continue
        kek = hkdf(_bytes(slot["salt"], 16), recovery_key, b"coffer/v1/recovery-slot")
        # §3.1: a committed slot is tried only under the key it commits to.
        if "commit" in slot and not hmac.compare_digest(
                hkdf(_bytes(slot["id"], 16), kek, b"coffer/v2/slot-commitment"),
                _bytes(slot["commit"], 32)):
            continue
        aad = b"coffer/v1/slot" + vault_id + _bytes(slot["id"], 16) + b"recovery"
        try:
            master = aes_open(kek, _bytes(slot["nonce"], 12), aad, _bytes(slot["wrapped"], 48))
            break
        except InvalidTag:
            continue
    if master is None:
        raise Fail("WrongCredential", "slot")
    writer_seal_key = hkdf(vault_id, master, b"coffer/v2/writer-key-seal")
    try:
        w = aes_open(writer_seal_key, _bytes(cfg["writer_key"]["nonce"], 12),
                     b"coffer/v2/writer-key" + vault_id, _bytes(cfg["writer_key"]["sealed"], 48))
    except InvalidTag:
        raise Fail("Tampered", "writer_key")
    config_mac_key = hkdf(vault_id, w, b"coffer/v2/config-mac-key")
    c = config_c(cfg)
    mac = hmac.new(config_mac_key, b"coffer/v2/config" + c, hashlib.sha256).digest()
    if not hmac.compare_digest(mac, _bytes(cfg["mac"], 32)):
        raise Fail("Tampered", "mac")
    seal_key = hkdf(vault_id, master, b"coffer/v1/version-seal-key")
    versions = {}
    for kv in cfg["key_versions"]:
        pk = _bytes(kv["public_key"], 32)
        aad = b"coffer/v1/key-version" + vault_id + i2osp(kv["version"], 4) + pk
        try:
            sk = aes_open(seal_key, _bytes(kv["nonce"], 12), aad, _bytes(kv["sealed_secret"], 48))
        except InvalidTag:
            raise Fail("Corrupt", "key_version")
        if X25519PrivateKey.from_private_bytes(sk).public_key().public_bytes_raw() != pk:
            raise Fail("Corrupt", "key_version")
        versions[kv["version"]] = sk
    return {
        "cfg": cfg,
        "vault_id": vault_id,
        "master": master,
        "versions": versions,
        "writer_key": w,
        "writer_seal_key": writer_seal_key,
        "config_mac_key": config_mac_key,
        "manifest_key": hkdf(vault_id, w, b"coffer/v2/manifest-key"),
        "endorsement_key": hkdf(vault_id, w, b"coffer/v2/endorsement-key"),
        "C": c,
        "mac": mac,
    }


def object_digest(obj, sidecar=None):
    """§17.1 over the record in force (§9 step 3), as stored."""
    if len(obj) < 96:
        raise Fail("Corrupt", "prefix")
    header = obj[:92]
    check_header(header, "prefix")
    r = be32(obj[92:96])
    if r > MAX_RECORD_LEN or len(obj) < 96 + r:
        raise Fail("Corrupt", "prefix")
    record = obj[96:96 + r]
    parse_record(record, "prefix")
    in_force = "embedded"
    if sidecar is not None:
        copy, _ = parse_sidecar(sidecar)
        if copy == header:
            record, in_force = sidecar[104:], "sidecar"
    d = hashlib.sha256(b"coffer/v2/object-digest" + header + i2osp(len(record), 4) + record).digest()
    return header[12:28], d, in_force


def parse_manifest(data, vault_id, manifest_key):
    """§17.2, the checks in the documented order."""
    if len(data) < 38:
        raise Fail("Corrupt", "manifest")
    if data[:8] != b"COFFERMF":
        raise Fail("Corrupt", "manifest")
    if be16(data[8:10]) != 1:
        raise Fail("UnsupportedVersion", "manifest")
    n = be32(data[34:38])
    if n > MAX_MANIFEST_ENTRIES or len(data) != 70 + 48 * n:
        raise Fail("Corrupt", "manifest")
    body = data[:38 + 48 * n]
    tag = hmac.new(manifest_key, b"coffer/v2/manifest" + body, hashlib.sha256).digest()
    if not hmac.compare_digest(tag, data[38 + 48 * n:]) or data[10:26] != vault_id:
        raise Fail("Tampered", "manifest")
    entries = [(body[38 + 48 * i:54 + 48 * i], body[54 + 48 * i:86 + 48 * i]) for i in range(n)]
    if any(a[0] >= b[0] for a, b in zip(entries, entries[1:])):
        raise Fail("Corrupt", "manifest")
    return be64(data[26:34]), entries


def parse_endorsements(data, vault_id, endorsement_key, generation):
    """§17.3: returns (valid entries, forged count, replayed count, torn tail)."""
    if len(data) > MAX_ENDORSEMENTS_LEN:
        raise Fail("Corrupt", "endorsements")  # guessed: §17.3 gives no class for this
    valid, forged, replayed = [], 0, 0
    whole = len(data) - len(data) % ENDORSEMENT_LEN
    for off in range(0, whole, ENDORSEMENT_LEN):
        e = data[off:off + ENDORSEMENT_LEN]
        tag = hmac.new(endorsement_key, b"coffer/v2/endorsement" + vault_id + e[:57],
                       hashlib.sha256).digest()
        if not hmac.compare_digest(tag, e[57:]) or e[0] not in PHASES:
            forged += 1
            continue
        entry = {"phase": PHASES[e[0]], "generation": be64(e[1:9]),
                 "id": e[9:25].hex(), "digest": e[25:57].hex()}
        valid.append(entry)
        replayed += entry["generation"] != generation
    return valid, forged, replayed, whole != len(data)


def _damage_config(text, d):
    cfg = json.loads(text)
    if "set" in d:
        *path, last = d["set"]
        node = cfg
        for k in path:
            node = node[k]
        node[last] = d["value"]
    if "remove" in d:
        del cfg[d["remove"]]
    return (json.dumps(cfg, indent=2) + "\n").encode()


def _damage_bytes(data, d):
    b = bytearray(data)
    at = d["flip"]["at"]
    b[at if at >= 0 else len(b) + at] ^= d["flip"]["mask"]
    return bytes(b)


def check_integrity(here, recovery_key, v1_vault, files):
    """Every check of integrity/integrity.json. Returns (checks, disagreements)."""
    idir = os.path.join(here, "integrity")
    with open(os.path.join(idir, "integrity.json"), "rb") as f:
        want = json.load(f)
    raw = {}
    for name in ("vault-v2.json", "manifest.bin", "endorsements.bin"):
        with open(os.path.join(idir, name), "rb") as f:
            raw[name] = f.read()
    results = []

    def check(name, ok, detail=""):
        results.append(ok)
        print(f"{'ok  ' if ok else 'FAIL'} integrity/{name}" + (f": {detail}" if detail else ""))

    # Config: unlock, writer key, derived keys, C and the MAC (§3.1, §4.4, §4.5).
    try:
        v = unlock_v2(raw["vault-v2.json"], recovery_key)
    except Fail as e:
        check("vault-v2.json unlock", False, f"{e.kind} at {e.stage}")
        return len(results), results.count(False)
    check("vault-v2.json unlock (slot, writer key, MAC, key versions)", True)
    check("vault-v2.json same master key and key versions as vault.json",
          v["master"] == v1_vault["master"] and v["versions"] == v1_vault["versions"])
    for k in ("writer_key", "writer_seal_key", "config_mac_key", "manifest_key", "endorsement_key"):
        check(f"vault-v2.json {k}", v[k].hex() == want[k])
    c_file_order = config_c(v["cfg"], schema_order=False)
    check("vault-v2.json C in schema order = C in file order", v["C"] == c_file_order)
    sha_c = hashlib.sha256(v["C"]).hexdigest()
    sha_in = hashlib.sha256(b"coffer/v2/config" + v["C"]).hexdigest()
    check("vault-v2.json config_mac_input_sha256",
          want["config_mac_input_sha256"] == sha_in,
          "SHA-256 of " + ('"coffer/v2/config" || C' if want["config_mac_input_sha256"] == sha_in
                           else "C" if want["config_mac_input_sha256"] == sha_c else "neither"))
    check("vault-v2.json mac", v["mac"].hex() == want["config_mac"]
          and base64.b64decode(v["cfg"]["mac"]).hex() == want["config_mac"])

    # Slot commitments (§3.1): the committed copy opens, and its commitment
    # (inside C, so under the MAC) is the document's.
    with open(os.path.join(idir, "vault-v2-committed.json"), "rb") as f:
        committed = f.read()
    try:
        vc = unlock_v2(committed, recovery_key)
        slot = [x for x in vc["cfg"]["slots"] if x["kind"] == "recovery"][0]
        kek = hkdf(_bytes(slot["salt"], 16), recovery_key, b"coffer/v1/recovery-slot")
        check("vault-v2-committed.json unlock and commitment",
              vc["master"] == v["master"] and _bytes(slot["commit"], 32)
              == hkdf(_bytes(slot["id"], 16), kek, b"coffer/v2/slot-commitment"))
    except Fail as e:
        check("vault-v2-committed.json unlock", False, f"{e.kind} at {e.stage}")
    bad = json.loads(committed)
    for x in bad["slots"]:
        if x["kind"] == "recovery":
            x["commit"] = base64.b64encode(bytes(32)).decode()
    try:
        unlock_v2(json.dumps(bad).encode(), recovery_key)
        check("vault-v2-committed.json wrong commitment is not tried", False, "it opened")
    except Fail as e:
        check("vault-v2-committed.json wrong commitment is not tried", e.kind == "WrongCredential",
              e.kind)

    # Object digests (§17.1), record in force per §9 step 3.
    digests = {}
    for o in want["objects"]:
        stem = o["file"][:-len(".obj")]
        side = files.get(stem + ".rec")
        fid, d, in_force = object_digest(files[o["file"]], side)
        digests[fid.hex()] = d.hex()
        check(f"digest {o['file']} ({in_force} record)", fid.hex() == o["id"] and d.hex() == o["digest"])

    # Manifest (§17.2).
    try:
        gen, entries = parse_manifest(raw["manifest.bin"], v["vault_id"], v["manifest_key"])
        got = [{"id": i.hex(), "digest": d.hex()} for i, d in entries]
        check("manifest.bin generation", gen == want["manifest"]["generation"], str(gen))
        check("manifest.bin entries", got == want["manifest"]["entries"], f"{len(got)} entries")
        check("manifest.bin entries match the objects' digests",
              all(digests.get(e["id"]) == e["digest"] for e in got))
    except Fail as e:
        check("manifest.bin", False, f"{e.kind} at {e.stage}")
        gen = want["manifest"]["generation"]

    # Endorsements (§17.3), against the manifest's generation.
    valid, forged, replayed, torn = parse_endorsements(
        raw["endorsements.bin"], v["vault_id"], v["endorsement_key"], gen)
    we = want["endorsements"]
    check("endorsements.bin valid entries", valid == we["valid"], f"{len(valid)} valid")
    check("endorsements.bin forged", forged == we["forged"], str(forged))
    check(f"endorsements.bin replayed (generation != {gen})",
          replayed == we.get(f"replayed_at_generation_{gen}"), str(replayed))
    check("endorsements.bin torn tail", torn == we["torn_tail"], str(torn))
    check("endorsements.bin intents match the objects' digests",
          all(digests.get(e["id"], e["digest"]) == e["digest"]
              for e in valid if e["phase"] in ("intent", "done")))

    # Damaged variants: the error class a reader gives.
    for d in want["damaged"]:
        try:
            if d["file"] == "vault-v2.json":
                unlock_v2(_damage_config(raw["vault-v2.json"], d), recovery_key)
            elif d["file"] == "manifest.bin":
                parse_manifest(_damage_bytes(raw["manifest.bin"], d), v["vault_id"], v["manifest_key"])
            else:
                raise KeyError(d["file"])
            got = "ok"
        except Fail as e:
            got = e.kind
        check(f"damaged {d['file']}: {d['what']}", got == d["expect"],
              got + ("" if got == d["expect"] else f" (expected {d['expect']})"))
    return len(results), results.count(False)


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

    n, ibad = check_integrity(here, decode_recovery(manifest["recovery_key"]), vault, files)
    print(f"{n - ibad} of {n} integrity checks agree")
    return 1 if bad or ibad else 0


if __name__ == "__main__":
    sys.exit(main())
