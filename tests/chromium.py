"""Headless Chromium for the tests, driven over ``--remote-debugging-pipe``.

The DevTools protocol as NUL-terminated JSON on file descriptors 3 and 4: no
WebSocket client and no extra package.  Only what the board's tests need:
open a page, evaluate an expression in it.
"""

from __future__ import annotations

import json
import os
import select
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

from tests import system_tools


def find() -> str | None:
    """The Chromium binary, if installed."""
    for name in ("chromium", "chromium-browser"):
        if found := shutil.which(name):
            return found
    return "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None


def require() -> str:
    """The Chromium binary; skip without it (fail under .ci/run)."""
    return system_tools.require(find(), "Chromium", "apt-get install chromium")


class Chromium:
    def __init__(self, browser: str, profile: Path, lang: str = "nb-NO,nb") -> None:
        to_child, self._out = os.pipe()
        self._in, from_child = os.pipe()

        def wire_fds() -> None:
            os.dup2(to_child, 3)
            os.dup2(from_child, 4)

        flags = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]
        flags.append(f"--accept-lang={lang}")  # the staff's browser: Norwegian first
        self.proc = subprocess.Popen(
            [browser, *flags, "--remote-debugging-pipe", f"--user-data-dir={profile}", "about:blank"],
            preexec_fn=wire_fds,
            pass_fds=(3, 4),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env={**os.environ, "HOME": str(profile)},
        )
        os.close(to_child)
        os.close(from_child)
        self._buffer = b""
        self._id = 0
        self.session = ""

    def call(self, method: str, params: dict[str, Any] | None = None, timeout: float = 30.0) -> dict[str, Any]:
        self._id += 1
        message: dict[str, Any] = {"id": self._id, "method": method, "params": params or {}}
        if self.session:
            message["sessionId"] = self.session
        os.write(self._out, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            while b"\0" in self._buffer:
                raw, self._buffer = self._buffer.split(b"\0", 1)
                reply = json.loads(raw)
                if reply.get("id") == self._id:
                    if "error" in reply:
                        raise RuntimeError(f"{method}: {reply['error']}")
                    result: dict[str, Any] = reply["result"]
                    return result
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"Chromium did not answer {method} within {timeout} s")
            ready, _, _ = select.select([self._in], [], [], left)
            if ready:
                self._buffer += os.read(self._in, 1 << 16)

    def open(self, url: str) -> None:
        self.session = ""
        target = self.call("Target.createTarget", {"url": url})["targetId"]
        self.session = self.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]

    def evaluate(self, expression: str) -> Any:
        return self.call("Runtime.evaluate", {"expression": expression, "returnByValue": True})["result"].get("value")

    def wait_for(self, expression: str, timeout: float = 10.0, every: float = 0.05) -> float:
        """Poll until ``expression`` is truthy in the page; the time it took."""
        start = time.monotonic()
        while time.monotonic() - start < timeout:
            if self.evaluate(expression):
                return time.monotonic() - start
            time.sleep(every)
        raise AssertionError(f"not within {timeout} s in the page: {expression}")

    def close(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        os.close(self._out)
        os.close(self._in)


class Operator:
    """Chromium driven as a person drives it: clicks at an element's place, keys typed into the
    focused field, Tab and type-ahead, all through the DevTools input and DOM domains; nothing is
    set or called from a script in the page (``evaluate`` only reads it)."""

    def __init__(self, page: Chromium) -> None:
        self.page = page

    def _node(self, selector: str, timeout: float = 10.0) -> int:
        """The element's node, waiting while a page loads (a document being replaced has no nodes)."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                root = self.page.call("DOM.getDocument", {"depth": 0})["root"]["nodeId"]
                node = int(self.page.call("DOM.querySelector", {"nodeId": root, "selector": selector})["nodeId"])
            except RuntimeError:
                node = 0
            if node:
                return node
            if time.monotonic() > deadline:
                raise AssertionError(f"no {selector} on the page")
            time.sleep(0.05)

    def click(self, selector: str) -> None:
        """A left click in the middle of the element, scrolled into view first."""
        for attempt in range(50):
            try:
                node = self._node(selector)
                self.page.call("DOM.scrollIntoViewIfNeeded", {"nodeId": node})
                quad = self.page.call("DOM.getContentQuads", {"nodeId": node})["quads"][0]
                break
            except RuntimeError:  # the page was replaced between two calls: find it again
                if attempt == 49:
                    raise
                time.sleep(0.05)
        x, y = sum(quad[0::2]) / 4, sum(quad[1::2]) / 4
        for kind in ("mousePressed", "mouseReleased"):
            self.page.call(
                "Input.dispatchMouseEvent", {"type": kind, "x": x, "y": y, "button": "left", "clickCount": 1}
            )

    def focus(self, selector: str) -> None:
        for attempt in range(50):
            try:
                self.page.call("DOM.focus", {"nodeId": self._node(selector)})
                return
            except RuntimeError:
                if attempt == 49:
                    raise
                time.sleep(0.05)

    def type(self, selector: str, text: str, replace: bool = False) -> None:
        """Focus the field and type ``text`` (after selecting what it held, if ``replace``)."""
        self.focus(selector)
        if replace:
            self.page.call(
                "Input.dispatchKeyEvent", {"type": "rawKeyDown", "key": "a", "code": "KeyA", "commands": ["selectAll"]}
            )
            self.page.call("Input.dispatchKeyEvent", {"type": "keyUp", "key": "a", "code": "KeyA"})
        self.page.call("Input.insertText", {"text": text})

    def choose(self, selector: str, text: str) -> None:
        """Pick an option of a focused select by typing its first letters (type-ahead)."""
        self.focus(selector)
        for char in text:
            self.page.call("Input.dispatchKeyEvent", {"type": "keyDown", "key": char, "text": char})
            self.page.call("Input.dispatchKeyEvent", {"type": "keyUp", "key": char})

    def press(self, key: str) -> None:
        """One key: Tab or Enter (or any key with its own text)."""
        codes = {"Tab": (9, ""), "Enter": (13, "\r")}
        code, text = codes.get(key, (0, key))
        down: dict[str, Any] = {"type": "keyDown", "key": key, "code": key, "windowsVirtualKeyCode": code}
        if text:
            down["text"] = text
        self.page.call("Input.dispatchKeyEvent", down)
        self.page.call(
            "Input.dispatchKeyEvent", {"type": "keyUp", "key": key, "code": key, "windowsVirtualKeyCode": code}
        )

    def text(self, selector: str = "body") -> str:
        value = self.page.evaluate(f"(e => e ? e.innerText : '')(document.querySelector({selector!r}))")
        return str(value)

    def value(self, selector: str) -> str:
        return str(self.page.evaluate(f"document.querySelector({selector!r}).value"))

    def at(self, path: str, timeout: float = 10.0) -> None:
        """Wait until the page's address is ``path`` (after a form's redirect) and it has loaded."""
        self.page.wait_for(f"location.pathname === {path!r} && document.readyState === 'complete'", timeout=timeout)
