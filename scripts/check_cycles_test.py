#!/usr/bin/env python3
"""Self-test of check-cycles.py on small made-up workspaces.

Run: python3 scripts/check_cycles_test.py   (or python3 -m unittest discover -s scripts -p 'check_cycles_test.py')
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import os
import shutil
import sys
import tempfile
import textwrap
import unittest

_spec = importlib.util.spec_from_file_location(
    "check_cycles", os.path.join(os.path.dirname(os.path.abspath(__file__)), "check-cycles.py")
)
cc = importlib.util.module_from_spec(_spec)
sys.modules["check_cycles"] = cc  # dataclasses look their module up there
_spec.loader.exec_module(cc)


TEMP: list[str] = []


def tearDownModule():
    for d in TEMP:
        shutil.rmtree(d, ignore_errors=True)


def workspace(crates: dict[str, dict[str, str]]) -> str:
    """A temporary workspace: {crate dir: {path under src/: text}}."""
    root = tempfile.mkdtemp(prefix="check-cycles-")
    TEMP.append(root)
    members = ", ".join(f'"{d}"' for d in crates)
    with open(os.path.join(root, "Cargo.toml"), "w") as f:
        f.write(f"[workspace]\nmembers = [{members}]\n")
    for d, files in crates.items():
        os.makedirs(os.path.join(root, d, "src"))
        with open(os.path.join(root, d, "Cargo.toml"), "w") as f:
            f.write(f'[package]\nname = "{os.path.basename(d)}"\n')
        for rel, text in files.items():
            p = os.path.join(root, d, "src", rel)
            os.makedirs(os.path.dirname(p), exist_ok=True)
            with open(p, "w") as f:
                f.write(textwrap.dedent(text))
    return root


def run(*args: str) -> tuple[int, str]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = cc.main(list(args))
    return code, out.getvalue()


def edges(root: str, crate: str) -> dict[str, set[str]]:
    c = cc.read_crate(os.path.join(root, crate), crate)
    return {a: set(b) for a, b in c.edges.items() if b}


# Mentions that are not imports: comments, doc links, strings, raw strings,
# char literals next to lifetimes, and every shape of test code.
CLEAN_B = """
    //! See [`crate::a::A`]; /* nested /* crate::a */ still a comment */
    use crate::c::C;
    pub(crate) fn f<'x>(s: &'x str) -> &'x str {
        let _q = '"'; let _m = "crate::a::A"; let _r = r#"crate::a "quoted""#;
        let _c = 'c'; let _e = '\\''; let _b = b"crate::a";
        s
    }
    #[cfg(test)]
    use crate::a::A;
    struct S {
        #[cfg(test)]
        probe: crate::a::A,
        kept: crate::c::C,
    }
    #[cfg(test)]
    mod helpers;
    mod tests {
        use crate::a::A;
    }
"""


class CheckCycles(unittest.TestCase):
    def test_cycle_through_nested_braces_super_and_a_reexport_fails(self):
        root = workspace({
            "crates/k": {
                "lib.rs": "mod a;\nmod b;\nmod c;\nmod d;\npub use d::{Dee as Renamed};\n",
                # a -> b through a nested use group
                "a.rs": "use crate::{c::C, b::{self, inner::{X, Y}}};\n",
                # b -> d through a re-export at the crate root
                "b.rs": "pub(crate) fn f() -> crate::Renamed { todo!() }\n",
                "c.rs": "pub struct C;\n",
                # d -> a from a file inside the folder module, through super::super
                "d.rs": "mod deep;\npub struct Dee;\n",
                "d/deep.rs": "fn g() { super::super::a::h(); }\n",
            },
            # x -> y through a module renamed at the root
            "crates/fine": {"lib.rs": "mod x;\nmod y;\npub use y as why;\n", "x.rs": "use crate::why::Z;\n", "y.rs": ""},
        })
        code, out = run(root)
        self.assertEqual(code, 1)
        self.assertIn("k: import cycle: a -> b -> d -> a", out)
        self.assertIn("    d -> a  src/d/deep.rs:1", out)
        self.assertIn("check-cycles: k 4 modules, 1 cycles", out)
        self.assertIn("check-cycles: fine 2 modules, 0 cycles", out)
        self.assertEqual(edges(root, "crates/k"), {"a": {"b", "c"}, "b": {"d"}, "d": {"a"}})
        self.assertEqual(edges(root, "crates/fine"), {"x": {"y"}})

    def test_comments_strings_and_test_code_are_not_imports(self):
        root = workspace({
            "crates/t": {
                "lib.rs": "mod a;\nmod b;\nmod c;\nmod d;\n",
                "a.rs": "use crate::b;\npub struct A;\n",
                # the test-only file sorts before the mod.rs that declares it
                "d/mod.rs": "#[cfg(test)]\n#[allow(dead_code)]\npub(crate) mod aprobe;\n",
                "d/aprobe.rs": "use crate::a::A;\n",
                "b.rs": CLEAN_B,
                "b/helpers.rs": "use crate::a::A;\n",
                "b/tests.rs": "use crate::a::A;\n",
                "b/more_tests.rs": "use crate::a::A;\n",
                "b/tests/deep.rs": "use crate::a::A;\n",
                "c.rs": "#![cfg(test)]\nuse crate::a::A;\npub struct C;\n",
            },
        })
        code, out = run(root)
        self.assertEqual((code, out.strip()), (0, "check-cycles: t 4 modules, 0 cycles"))
        self.assertEqual(edges(root, "crates/t"), {"a": {"b"}, "b": {"c"}})

    def test_super_inside_an_inline_module_and_two_way_dot(self):
        root = workspace({
            "src-tauri": {
                "main.rs": "mod p;\nmod q;\nfn main() {}\n",
                # from the inline `mod imp`, super:: is p itself and super::super:: the root
                "p.rs": "mod imp {\n    use super::Local;\n    use super::super::q::Q;\n}\nstruct Local;\n",
                "q.rs": "pub struct Q;\nfn f() { let _ = $crate::p::Local; }\n",
            },
        })
        code, out = run("--dot", root)
        self.assertEqual(code, 1)
        self.assertIn('"src-tauri::p" -> "src-tauri::q" [color=red];', out)
        self.assertIn('"src-tauri::q" -> "src-tauri::p" [color=red];', out)
        self.assertTrue(out.startswith("digraph modules {"))


if __name__ == "__main__":
    unittest.main()
