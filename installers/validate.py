#!/usr/bin/env python3
"""Checks the installer files that cannot be built on Linux.

    python3 installers/validate.py [--coffer PATH/TO/coffer]

- Every *.wxs, *.admx, *.adml, *.plist, *.mobileconfig and *.xml under
  installers/ is well-formed (xml.etree; plistlib for property lists).
- The WiX file uses the WiX v4 namespace and references files that exist.
- Coffer.admx and en-US/Coffer.adml agree: every $(string.X) and
  $(presentation.X) resolves, every presentation control refers to an element
  of its policy, and every registry location is under
  Software\\Policies\\Coffer.
- The ADMX and the .mobileconfig map every setting of
  docs/policy.schema.json and invent none (registry: key below
  Software\\Policies\\Coffer + value name = section.key of policy.toml).
- With --coffer, the .mobileconfig's settings, written out as TOML, pass
  `coffer policy validate` (the same parser Coffer uses); if the Python
  `jsonschema` package is importable they are also checked against the
  schema.

It does not prove that WiX, the Group Policy editor or macOS accept these
files: none of them has been run (docs/DEPLOYMENT.md).
"""

import argparse
import json
import plistlib
import re
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
INST = ROOT / "installers"
GP = "{http://schemas.microsoft.com/GroupPolicy/2006/07/PolicyDefinitions}"
WIX = "{http://wixtoolset.org/schemas/v4/wxs}"
BASE_KEY = "Software\\Policies\\Coffer"

failures = []


def fail(msg):
    failures.append(msg)
    print(f"FAIL {msg}")


def ok(msg):
    print(f"ok   {msg}")


def schema_leaves():
    """Dotted paths of the schema's settings (arrays are leaves)."""
    schema = json.loads((ROOT / "docs/policy.schema.json").read_text())
    out = set()

    def walk(node, prefix):
        for k, v in node.get("properties", {}).items():
            if "$ref" in v:
                v = schema["$defs"][v["$ref"].split("/")[-1]]
            if v.get("type") == "object":
                walk(v, f"{prefix}{k}.")
            else:
                out.add(f"{prefix}{k}")

    walk(schema, "")
    return schema, out


def well_formed():
    for p in sorted(INST.rglob("*")):
        if p.suffix not in {".wxs", ".admx", ".adml", ".plist", ".mobileconfig", ".xml"}:
            continue
        rel = p.relative_to(ROOT)
        try:
            ET.parse(p)
            if p.suffix in {".plist", ".mobileconfig"}:
                with open(p, "rb") as f:
                    plistlib.load(f)
            ok(f"{rel} is well-formed")
        except Exception as e:  # noqa: BLE001 - report any parse error
            fail(f"{rel}: {e}")
        text = p.read_text(encoding="utf-8")
        for c in re.findall(r"<!--(.*?)-->", text, re.S):
            if "--" in c:
                fail(f"{rel}: '--' inside an XML comment")


def wix():
    p = INST / "windows/coffer.wxs"
    root = ET.parse(p).getroot()
    if root.tag != f"{WIX}Wix":
        fail(f"{p.name}: root is {root.tag}, not the WiX v4 <Wix>")
        return
    for f in root.iter(f"{WIX}File"):
        src = f.get("Source", "")
        if "$(" in src:
            continue  # built binaries
        if not (ROOT / src.replace("\\", "/")).is_file():
            fail(f"{p.name}: File Source {src} does not exist")
    before = len(failures)
    ids = [c.get("Id") for c in root.iter(f"{WIX}Component")]
    refs = [r.get("Id") for r in root.iter(f"{WIX}ComponentRef")]
    for r in refs:
        if r not in ids:
            fail(f"{p.name}: ComponentRef {r} has no Component")
    for i in ids:
        if i not in refs:
            fail(f"{p.name}: Component {i} is in no Feature")
    if len(failures) == before:
        ok(f"{p.name}: WiX v4 namespace, sources exist, components all referenced")


def admx(leaves):
    admx_p = INST / "windows/policy/Coffer.admx"
    adml_p = INST / "windows/policy/en-US/Coffer.adml"
    admx_text = admx_p.read_text(encoding="utf-8")
    a = ET.parse(admx_p).getroot()
    l = ET.parse(adml_p).getroot()
    strings = {s.get("id") for s in l.iter(f"{GP}string")}
    presentations = {p.get("id"): p for p in l.iter(f"{GP}presentation")}
    for kind, ref in re.findall(r"\$\((string|presentation)\.([A-Za-z0-9_]+)\)", admx_text):
        table = strings if kind == "string" else presentations
        if ref not in table:
            fail(f"Coffer.admx refers to {kind}.{ref}, missing from Coffer.adml")
    categories = {c.get("name") for c in a.iter(f"{GP}category")}
    mapped = set()
    for pol in a.iter(f"{GP}policy"):
        name = pol.get("name")
        key = pol.get("key", "")
        for pc in pol.iter(f"{GP}parentCategory"):
            if pc.get("ref") not in categories:
                fail(f"policy {name}: unknown category {pc.get('ref')}")
        elements = pol.find(f"{GP}elements")
        ids = set()
        locations = []
        if pol.get("valueName"):
            locations.append((key, pol.get("valueName")))
        for el in [] if elements is None else list(elements):
            ids.add(el.get("id"))
            locations.append((el.get("key", key), el.get("valueName")))
        pres = pol.get("presentation")
        if pres:
            pid = re.fullmatch(r"\$\(presentation\.(\w+)\)", pres).group(1)
            for ctl in presentations.get(pid, []):
                if ctl.get("refId") and ctl.get("refId") not in ids:
                    fail(f"presentation {pid}: refId {ctl.get('refId')} is not an element of {name}")
        for k, v in locations:
            if not (k == BASE_KEY or k.startswith(BASE_KEY + "\\")):
                fail(f"policy {name}: key {k} is outside {BASE_KEY}")
                continue
            parts = [x for x in k[len(BASE_KEY):].split("\\") if x] + ([v] if v else [])
            mapped.add(".".join(parts))
    check_mapping("Coffer.admx", mapped, leaves)


def check_mapping(what, mapped, leaves):
    """Every schema setting is mapped; every mapped name is a setting (or one
    of its parts: unlock.allowed.passphrase, audit.sinks.directory)."""
    before = len(failures)
    for leaf in sorted(leaves):
        if not any(m == leaf or m.startswith(leaf + ".") for m in mapped):
            fail(f"{what}: no mapping for {leaf}")
    for m in sorted(mapped):
        if not any(m == leaf or m.startswith(leaf + ".") for leaf in leaves):
            fail(f"{what}: {m} is not a policy setting")
    allowed = {"passphrase", "keychain", "recovery", "escrow"}
    for m in mapped:
        if m.startswith("unlock.allowed.") and m.split(".")[-1] not in allowed:
            fail(f"{what}: {m} is not an unlock method")
        if m.startswith("audit.sinks.") and m.split(".")[2] not in {"directory", "syslog", "kind", "path", "url"}:
            fail(f"{what}: {m} is not a sink kind")
    if len(failures) == before:
        ok(f"{what}: maps all {len(leaves)} settings of docs/policy.schema.json, invents none")


def toml_value(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, str):
        return json.dumps(v)  # a JSON string is a valid TOML basic string
    if isinstance(v, list) and all(not isinstance(x, dict) for x in v):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    raise ValueError(f"no TOML form for {v!r}")


def to_toml(settings):
    """Policy dictionaries (section -> key -> value, with arrays of tables for
    sinks and sub-tables such as [escrow.kms]) as TOML."""
    lines = []
    for section, body in settings.items():
        if not isinstance(body, dict):
            raise ValueError(f"{section} is not a table")
        plain = {
            k: v
            for k, v in body.items()
            if not isinstance(v, dict) and not (isinstance(v, list) and v and isinstance(v[0], dict))
        }
        lines.append(f"[{section}]")
        lines += [f"{k} = {toml_value(v)}" for k, v in plain.items()]
        for k, v in body.items():
            if k in plain:
                continue
            if isinstance(v, dict):
                # A sub-table, such as [escrow.kms].
                lines.append(f"[{section}.{k}]")
                lines += [f"{kk} = {toml_value(vv)}" for kk, vv in v.items()]
                continue
            for t in v:
                lines.append(f"[[{section}.{k}]]")
                lines += [f"{kk} = {toml_value(vv)}" for kk, vv in t.items()]
        lines.append("")
    return "\n".join(lines)


def mobileconfig(schema, leaves, coffer):
    p = INST / "macos/org.coffer.policy.mobileconfig"
    with open(p, "rb") as f:
        profile = plistlib.load(f)
    if profile.get("PayloadType") != "Configuration":
        fail(f"{p.name}: top-level PayloadType is not Configuration")
    payloads = [x for x in profile.get("PayloadContent", []) if x.get("PayloadType") == "org.coffer.policy"]
    if len(payloads) != 1:
        fail(f"{p.name}: expected one org.coffer.policy payload, found {len(payloads)}")
        return
    uuids = [profile.get("PayloadUUID")] + [x.get("PayloadUUID") for x in profile["PayloadContent"]]
    for u in uuids:
        if not re.fullmatch(r"[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}", u or ""):
            fail(f"{p.name}: PayloadUUID {u!r} is not an upper-case UUID")
    settings = {k: v for k, v in payloads[0].items() if not k.startswith("Payload")}
    mapped = set()

    def walk(d, prefix):
        for k, v in d.items():
            if isinstance(v, dict):
                walk(v, f"{prefix}{k}.")
            else:
                mapped.add(f"{prefix}{k}")

    walk(settings, "")
    check_mapping(p.name, mapped, leaves)
    try:
        import jsonschema  # noqa: PLC0415 - optional

        errors = list(jsonschema.Draft202012Validator(schema).iter_errors(settings))
        for e in errors:
            fail(f"{p.name}: schema: {e.message} at {list(e.absolute_path)}")
        if not errors:
            ok(f"{p.name}: settings match docs/policy.schema.json (Python jsonschema)")
    except ImportError:
        print("skip Python jsonschema not installed: schema check of the profile left to `coffer policy validate`")
    if coffer:
        with tempfile.NamedTemporaryFile("w", suffix=".toml", delete=False) as t:
            t.write(to_toml(settings))
        r = subprocess.run([coffer, "policy", "validate", t.name], capture_output=True, text=True)
        Path(t.name).unlink()
        if r.returncode != 0:
            fail(f"{p.name}: `coffer policy validate` refuses its settings: {r.stderr.strip()}")
        else:
            ok(f"{p.name}: its settings, as policy.toml, pass `coffer policy validate`")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--coffer", help="a coffer binary, to validate the profile's settings")
    args = ap.parse_args()
    schema, leaves = schema_leaves()
    well_formed()
    wix()
    admx(leaves)
    mobileconfig(schema, leaves, args.coffer)
    if failures:
        print(f"{len(failures)} installer check(s) failed")
        sys.exit(1)


if __name__ == "__main__":
    main()
