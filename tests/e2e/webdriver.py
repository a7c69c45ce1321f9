"""A small W3C WebDriver client (standard library only) for driving the
real Coffer app through WebKitWebDriver, the way tauri-driver does on Linux:
the session's `webkitgtk:browserOptions.binary` is the app itself."""

import base64
import json
import os
import subprocess
import time
import urllib.error
import urllib.request

ELEMENT = "element-6066-11e4-a52e-4a5c5f2a2c9a"


class WebDriverError(Exception):
    pass


class Driver:
    def __init__(self, app_binary, env, port=4461):
        self.port = port
        self.app_binary = app_binary
        self.proc = subprocess.Popen(
            ["WebKitWebDriver", f"--port={port}"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.time() + 20
        while True:
            try:
                self._req("GET", "/status")
                break
            except Exception:
                if time.time() > deadline:
                    raise
                time.sleep(0.1)
        caps = {"capabilities": {"alwaysMatch": {
            "webkitgtk:browserOptions": {"binary": app_binary, "args": []}}}}
        self.session = self._req("POST", "/session", caps)["sessionId"]

    def _req(self, method, path, body=None):
        data = None if body is None else json.dumps(body).encode()
        r = urllib.request.Request(
            f"http://127.0.0.1:{self.port}{path}", data=data, method=method,
            headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(r, timeout=120) as resp:
                return json.loads(resp.read() or b"null").get("value")
        except urllib.error.HTTPError as e:
            raise WebDriverError(e.read().decode(errors="replace")) from None

    def cmd(self, method, path, body=None):
        return self._req(method, f"/session/{self.session}{path}", body)

    def js(self, script, *args):
        return self.cmd("POST", "/execute/sync", {"script": script, "args": list(args)})

    def js_async(self, script, *args):
        return self.cmd("POST", "/execute/async", {"script": script, "args": list(args)})

    def find(self, css, timeout=15):
        """The first element matching `css`, waiting for it to appear."""
        deadline = time.time() + timeout
        while True:
            els = self.cmd("POST", "/elements", {"using": "css selector", "value": css})
            if els:
                return els[0][ELEMENT]
            if time.time() > deadline:
                raise WebDriverError(f"no element {css!r} after {timeout} s; page: "
                                     + (self.js("return document.body.innerText") or "")[:500])
            time.sleep(0.1)

    def wait_text(self, text, timeout=20):
        """Waits until the page shows `text`."""
        deadline = time.time() + timeout
        while text not in (self.js("return document.body.innerText") or ""):
            if time.time() > deadline:
                raise WebDriverError(f"{text!r} never appeared; page: "
                                     + (self.js("return document.body.innerText") or "")[:800])
            time.sleep(0.1)

    def wait(self, predicate, what, timeout=30):
        deadline = time.time() + timeout
        while not predicate():
            if time.time() > deadline:
                raise WebDriverError(f"timed out waiting for {what}")
            time.sleep(0.1)

    def click(self, css):
        self.cmd("POST", f"/element/{self.find(css)}/click", {})

    def type(self, css, text):
        el = self.find(css)
        self.cmd("POST", f"/element/{el}/clear", {})
        self.cmd("POST", f"/element/{el}/value", {"text": text})

    def screenshot(self, path):
        png = base64.b64decode(self.cmd("GET", "/screenshot"))
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(png)

    def quit(self):
        try:
            self.cmd("DELETE", "")
        except Exception:
            pass
        self.proc.kill()
        self.proc.wait()
        # The app may still be closing (it locks and ships its records on
        # the way out). A second launch while it runs would hand over to it
        # as the single instance and leave the next session waiting for a
        # window that never comes: wait for it to be gone, then make sure.
        deadline = time.time() + 30
        while time.time() < deadline and self._app_running():
            time.sleep(0.2)
        if self._app_running():
            subprocess.run(["pkill", "-KILL", "-f", self.app_binary], check=False)
            time.sleep(0.5)

    def _app_running(self):
        return subprocess.run(["pgrep", "-f", self.app_binary],
                              stdout=subprocess.DEVNULL).returncode == 0
