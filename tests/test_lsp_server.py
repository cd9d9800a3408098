"""``gradlint server`` spoken to over stdio as an editor would: diagnostics on open, change
and save, code actions for fixes (unsafe ones only when asked for), hover."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path
from queue import Empty, Queue
from typing import Any

import pytest

from cli_support import CLEAN, FIXABLE, FIXABLE_FIXED, Project
from gradlint.positions import split_lines

pytest.importorskip("pygls")
pytest.importorskip("lsprotocol")

UNSAFE = (
    "import torch\n\n\ndef grad_norm(model):\n"
    "    return sum(p.grad.pow(2).sum() for p in model.parameters()).sqrt()\n"
)


class Client:
    """A minimal LSP client: JSON-RPC with Content-Length framing over the server's stdio."""

    def __init__(self, cwd: Path) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gradlint", "server"],
            cwd=cwd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )
        self.messages: Queue[dict[str, Any]] = Queue()
        self.next_id = 0
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        stream = self.process.stdout
        assert stream is not None
        while True:
            headers = {}
            while True:
                line = stream.readline()
                if not line:
                    return
                if line in (b"\r\n", b"\n"):
                    break
                name, _, value = line.decode().partition(":")
                headers[name.strip().lower()] = value.strip()
            body = stream.read(int(headers["content-length"]))
            self.messages.put(json.loads(body))

    def send(self, message: dict[str, Any]) -> None:
        body = json.dumps({"jsonrpc": "2.0", **message}).encode()
        assert self.process.stdin is not None
        self.process.stdin.write(f"Content-Length: {len(body)}\r\n\r\n".encode() + body)
        self.process.stdin.flush()

    def notify(self, method: str, params: dict[str, Any]) -> None:
        self.send({"method": method, "params": params})

    def request(self, method: str, params: dict[str, Any] | None) -> Any:
        self.next_id += 1
        self.send({"id": self.next_id, "method": method, "params": params})
        reply = self.wait(lambda m: m.get("id") == self.next_id and "method" not in m)
        assert "error" not in reply, reply
        return reply["result"]

    def wait(self, match: Any, timeout: float = 60) -> dict[str, Any]:
        while True:
            try:
                message = self.messages.get(timeout=timeout)
            except Empty:
                stderr = self.process.stderr.read1().decode() if self.process.stderr else ""  # type: ignore[attr-defined]
                raise AssertionError(f"no matching message from the server; stderr: {stderr}") from None
            if match(message):
                return message

    def diagnostics(self, uri: str) -> list[dict[str, Any]]:
        message = self.wait(
            lambda m: m.get("method") == "textDocument/publishDiagnostics" and m["params"]["uri"] == uri
        )
        return message["params"]["diagnostics"]

    def close(self) -> int:
        self.request("shutdown", None)
        self.notify("exit", {})
        return self.process.wait(timeout=30)


def _apply(text: str, edits: list[dict[str, Any]]) -> str:
    lines = split_lines(text, keepends=True)  # LSP breaks lines only at \n, \r\n and \r
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line))

    def offset(position: dict[str, int]) -> int:
        return offsets[min(position["line"], len(lines))] + position["character"]

    for edit in sorted(edits, key=lambda e: offset(e["range"]["start"]), reverse=True):
        start, end = offset(edit["range"]["start"]), offset(edit["range"]["end"])
        text = text[:start] + edit["newText"] + text[end:]
    return text


def test_lsp_session(project: Project) -> None:
    # The runtime declared: the quick fix is the runtime form (FIXABLE_FIXED).
    project.write(
        "pyproject.toml",
        '[project]\nname = "p"\ndependencies = ["gradlint-runtime"]\n[tool.gradlint]\nignore = ["GL004"]\n',
    )
    path = project.write("src/train.py", FIXABLE)
    uri = path.resolve().as_uri()
    client = Client(project.root)
    try:
        init = client.request("initialize", {"processId": None, "rootUri": project.root.as_uri(), "capabilities": {}})
        assert init["capabilities"]["hoverProvider"]
        client.notify("initialized", {})
        client.notify("textDocument/didOpen", {"textDocument": {"uri": uri, "languageId": "python", "version": 1, "text": FIXABLE}})
        [diagnostic] = client.diagnostics(uri)
        assert diagnostic["code"] == "GL002" and diagnostic["source"] == "gradlint"
        assert diagnostic["range"]["start"] == {"line": 2, "character": 8}
        assert diagnostic["codeDescription"]["href"].endswith("docs/rules/GL002.md")

        actions = client.request("textDocument/codeAction", {
            "textDocument": {"uri": uri}, "range": diagnostic["range"], "context": {"diagnostics": [diagnostic]},
        })
        quick = [a for a in actions if a["kind"] == "quickfix"]
        assert len(quick) == 1 and quick[0]["title"].startswith("GL002: ")
        assert _apply(FIXABLE, quick[0]["edit"]["changes"][uri]) == FIXABLE_FIXED
        [fix_all] = [a for a in actions if a["kind"] == "source.fixAll.gradlint"]
        assert _apply(FIXABLE, fix_all["edit"]["changes"][uri]) == FIXABLE_FIXED

        hover = client.request("textDocument/hover", {"textDocument": {"uri": uri}, "position": {"line": 2, "character": 12}})
        assert "**GL002** `unguarded-private-api`" in hover["contents"]["value"]
        assert client.request("textDocument/hover", {"textDocument": {"uri": uri}, "position": {"line": 0, "character": 0}}) is None

        # A change that fixes the code clears the diagnostics; a save checks again.
        client.notify("textDocument/didChange", {"textDocument": {"uri": uri, "version": 2}, "contentChanges": [{"text": CLEAN}]})
        assert client.diagnostics(uri) == []
        # The same findings as `gradlint check`, GL100 included.
        stale = CLEAN + "x = 1  # noqa: GL002\n"
        client.notify("textDocument/didChange", {"textDocument": {"uri": uri, "version": 3}, "contentChanges": [{"text": stale}]})
        assert [d["code"] for d in client.diagnostics(uri)] == ["GL100"]
        client.notify("textDocument/didChange", {"textDocument": {"uri": uri, "version": 4}, "contentChanges": [{"text": UNSAFE}]})
        [gl001] = client.diagnostics(uri)
        assert gl001["code"] == "GL001"
        client.notify("textDocument/didSave", {"textDocument": {"uri": uri}})
        assert [d["code"] for d in client.diagnostics(uri)] == ["GL001"]
        # GL001's fix is unsafe: not offered unless the client asks for unsafe fixes.
        unsafe_actions = client.request("textDocument/codeAction", {
            "textDocument": {"uri": uri}, "range": gl001["range"], "context": {"diagnostics": [gl001]},
        })
        assert unsafe_actions == [] or unsafe_actions is None
        # A form feed is no line break to LSP: "fix all" ends at the document's last line.
        paged = "# page\x0cbreak\n" + FIXABLE
        client.notify("textDocument/didChange", {"textDocument": {"uri": uri, "version": 5}, "contentChanges": [{"text": paged}]})
        [diagnostic] = client.diagnostics(uri)
        actions = client.request("textDocument/codeAction", {
            "textDocument": {"uri": uri}, "range": diagnostic["range"], "context": {"diagnostics": [diagnostic]},
        })
        [fix_all] = [a for a in actions if a["kind"] == "source.fixAll.gradlint"]
        [edit] = fix_all["edit"]["changes"][uri]
        assert edit["range"]["end"] == {"line": len(split_lines(paged)), "character": 0}
        assert _apply(paged, [edit]) == "# page\x0cbreak\n" + FIXABLE_FIXED
        assert client.close() == 0
    finally:
        if client.process.poll() is None:
            client.process.kill()


def test_unsafe_fixes_when_the_client_asks(project: Project) -> None:
    # GL001's runtime fix is offered only to a project that declares the runtime.
    project.write("pyproject.toml", '[project]\nname = "p"\ndependencies = ["torch", "gradlint-runtime"]\n')
    path = project.write("n.py", UNSAFE)
    uri = path.resolve().as_uri()
    client = Client(project.root)
    try:
        client.request("initialize", {
            "processId": None, "rootUri": project.root.as_uri(), "capabilities": {},
            "initializationOptions": {"unsafeFixes": True},
        })
        client.notify("initialized", {})
        client.notify("textDocument/didOpen", {"textDocument": {"uri": uri, "languageId": "python", "version": 1, "text": UNSAFE}})
        [gl001] = client.diagnostics(uri)
        actions = client.request("textDocument/codeAction", {
            "textDocument": {"uri": uri}, "range": gl001["range"], "context": {"diagnostics": [gl001]},
        })
        quick = [a for a in actions if a["kind"] == "quickfix"]
        assert quick and quick[0]["title"].endswith("(unsafe)")
        fixed = _apply(UNSAFE, quick[0]["edit"]["changes"][uri])
        assert "gradlint_runtime" in fixed and fixed != UNSAFE
        assert client.close() == 0
    finally:
        if client.process.poll() is None:
            client.process.kill()
