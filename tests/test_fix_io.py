"""``--fix`` and ``--diff``: what is written, how, and what never is."""

from __future__ import annotations

import os
import stat

import libcst as cst
import pytest

import gradlint.source
from gradlint.rule import Fix, NodeEdit
from gradlint.rules.gl002_unguarded_private_api import UnguardedPrivateApi
from gradlint.source import write_atomically
from cli_support import CLEAN, FIXABLE, FIXABLE_FIXED, UNFIXABLE, Project, finding_lines, run_cli



@pytest.fixture(autouse=True)
def _runtime_declared(project: Project) -> None:
    """These tests use the runtime forms of the fixes: the project declares the runtime."""
    project.declare_runtime()

def test_fix_writes_and_is_idempotent(project: Project) -> None:
    path = project.write("a.py", FIXABLE)
    project.write("b.py", UNFIXABLE)
    result = run_cli("check", "--fix", ".")
    assert result.code == 1  # b.py still has a finding without a fix
    assert "Found 2 errors (1 fixed, 1 remaining)." in result.stdout
    assert finding_lines(result.stdout) == ["b.py:3:9: GL002"]
    assert path.read_text() == FIXABLE_FIXED
    before = {name: (project.root / name).read_bytes() for name in ("a.py", "b.py")}
    again = run_cli("check", "--fix", ".")
    assert "0 fixed" in again.stdout
    assert {name: (project.root / name).read_bytes() for name in ("a.py", "b.py")} == before


def test_fix_of_everything_exits_0(project: Project) -> None:
    project.write("a.py", FIXABLE)
    result = run_cli("check", "--fix", ".")
    assert result.code == 0
    assert "Found 1 error (1 fixed, 0 remaining)." in result.stdout


def test_diff_prints_a_diff_and_writes_nothing(project: Project) -> None:
    path = project.write("a.py", FIXABLE)
    project.write("b.py", CLEAN)
    mtime = path.stat().st_mtime_ns
    result = run_cli("check", "--diff", ".")
    assert result.code == 1
    assert path.read_text() == FIXABLE
    assert path.stat().st_mtime_ns == mtime
    assert result.stdout.startswith("--- a/a.py\n+++ b/a.py\n")
    assert "-norms = torch._foreach_norm(grads, 2.0)\n" in result.stdout
    assert "+norms = gradlint_runtime.foreach_norm(grads, 2.0)\n" in result.stdout
    assert "+import gradlint_runtime\n" in result.stdout
    assert "b.py" not in result.stdout
    assert "Would fix 1 error." in result.stderr


def test_diff_with_nothing_to_fix_exits_0(project: Project) -> None:
    project.write("b.py", UNFIXABLE)
    result = run_cli("check", "--diff", ".")
    assert result.code == 0
    assert result.stdout == ""


def test_fix_is_atomic_temp_file_and_rename(project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    path = project.write("a.py", FIXABLE)
    renames: list[tuple[str, str]] = []
    real_replace = os.replace

    def recording_replace(source: str, target: str) -> None:
        renames.append((str(source), str(target)))
        real_replace(source, target)

    monkeypatch.setattr(gradlint.source.os, "replace", recording_replace)
    inode = path.stat().st_ino
    run_cli("check", "--fix", "-j1", "--no-cache", ".")
    assert len(renames) == 1
    temporary, target = renames[0]
    assert os.path.dirname(temporary) == str(project.root)  # same file system as the target
    assert os.path.basename(temporary).startswith(".gradlint-")
    assert target.endswith("a.py")
    assert path.stat().st_ino != inode
    assert sorted(os.listdir(project.root)) == ["a.py", "pyproject.toml"]


def test_failed_write_keeps_the_original_and_leaves_no_temp_file(project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    path = project.write("a.py", FIXABLE)

    def failing_replace(source: str, target: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(gradlint.source.os, "replace", failing_replace)
    with pytest.raises(OSError):
        write_atomically(str(path), b"broken")
    assert path.read_text() == FIXABLE
    assert sorted(os.listdir(project.root)) == ["a.py", "pyproject.toml"]


def test_crlf_line_endings_are_kept(project: Project) -> None:
    path = project.write("a.py", FIXABLE.replace("\n", "\r\n").encode())
    run_cli("check", "--fix", ".")
    data = path.read_bytes()
    assert data == FIXABLE_FIXED.replace("\n", "\r\n").encode()
    assert b"\n" not in data.replace(b"\r\n", b"")


def test_coding_cookie_encoding_is_kept(project: Project) -> None:
    text = "# -*- coding: latin-1 -*-\n# Auteur: Hélène\n" + FIXABLE
    path = project.write("a.py", text.encode("latin-1"))
    result = run_cli("check", "--fix", ".")
    assert result.code == 0
    data = path.read_bytes()
    assert b"H\xe9l\xe8ne" in data
    fixed = data.decode("latin-1")
    assert fixed.startswith("# -*- coding: latin-1 -*-\n")
    assert "gradlint_runtime.foreach_norm(grads, 2.0)" in fixed


def test_utf8_bom_is_kept(project: Project) -> None:
    path = project.write("a.py", b"\xef\xbb\xbf" + ("# ünïcode\n" + FIXABLE).encode())
    result = run_cli("check", "--fix", ".")
    assert result.code == 0
    data = path.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    assert data.count(b"\xef\xbb\xbf") == 1
    assert data[3:].decode("utf-8") == "# ünïcode\n" + FIXABLE_FIXED


def test_file_permissions_are_kept(project: Project) -> None:
    path = project.write("train.py", "#!/usr/bin/env python\n" + FIXABLE)
    path.chmod(0o751)
    run_cli("check", "--fix", ".")
    assert stat.S_IMODE(path.stat().st_mode) == 0o751
    assert "gradlint_runtime" in path.read_text()


def test_no_trailing_newline_is_kept(project: Project) -> None:
    path = project.write("a.py", FIXABLE.rstrip("\n"))
    run_cli("check", "--fix", ".")
    assert path.read_text() == FIXABLE_FIXED.rstrip("\n")


def _unparsable() -> cst.Name:
    """A node that renders as ``1 1`` (libcst would refuse to build it directly)."""
    node = cst.Name("placeholder")
    object.__setattr__(node, "value", "1 1")
    return node


def test_broken_fix_is_dropped_and_reported(project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken_fix(self, chain, binding, qualified):  # type: ignore[no-untyped-def]
        return Fix("safe", "break the code", (NodeEdit(chain[-1], lambda old: _unparsable()),))

    monkeypatch.setattr(UnguardedPrivateApi, "_attribute_fix", broken_fix)
    path = project.write("a.py", FIXABLE)
    result = run_cli("check", "--fix", "-j1", ".")
    assert path.read_text() == FIXABLE
    assert "a.py:3:9: GL002 fix dropped" in result.stderr
    assert result.code == 1
    assert finding_lines(result.stdout) == ["a.py:3:9: GL002"]
    diff = run_cli("check", "--diff", "-j1", ".")
    assert diff.stdout == ""
    assert "fix dropped" in diff.stderr


def test_broken_fix_does_not_block_the_good_ones(project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    real = UnguardedPrivateApi._attribute_fix

    def sometimes_broken(self, chain, binding, qualified):  # type: ignore[no-untyped-def]
        if qualified.startswith("torch._dynamo"):
            return Fix("safe", "break the code", (NodeEdit(chain[-1], lambda old: _unparsable()),))
        return real(self, chain, binding, qualified)

    monkeypatch.setattr(UnguardedPrivateApi, "_attribute_fix", sometimes_broken)
    path = project.write("a.py", FIXABLE + "\n@torch._dynamo.disable\ndef f():\n    pass\n")
    result = run_cli("check", "--fix", "-j1", ".")
    fixed = path.read_text()
    assert "gradlint_runtime.foreach_norm" in fixed
    assert "@torch._dynamo.disable" in fixed
    assert "GL002 fix dropped" in result.stderr
    assert result.code == 1


@pytest.mark.parametrize(
    "suppressed",
    [
        FIXABLE.replace("2.0)\n", "2.0)  # noqa: GL002\n"),
        FIXABLE.replace("2.0)\n", "2.0)  # noqa\n"),
        "# gradlint: noqa\n" + FIXABLE,
        "# gradlint: noqa: GL002\n" + FIXABLE,
    ],
)
def test_suppressed_finding_is_never_fixed(project: Project, suppressed: str) -> None:
    path = project.write("a.py", suppressed)
    result = run_cli("check", "--fix", ".")
    assert result.code == 0
    assert path.read_text() == suppressed
    assert run_cli("check", "--diff", ".").stdout == ""


def test_only_the_unsuppressed_one_is_fixed(project: Project) -> None:
    source = (
        "import torch\n"
        "a = torch._foreach_norm(x)  # noqa: GL002\n"
        "b = torch._foreach_norm(y)\n"
    )
    path = project.write("a.py", source)
    run_cli("check", "--fix", ".")
    assert path.read_text() == (
        "import gradlint_runtime\n"
        "import torch\n"
        "\n"
        "a = torch._foreach_norm(x)  # noqa: GL002\n"
        "b = gradlint_runtime.foreach_norm(y)\n"
    )


def test_fix_on_many_files_with_two_jobs(project: Project) -> None:
    for index in range(20):
        project.write(f"m{index:02d}.py", FIXABLE)
    result = run_cli("check", "--fix", "-j2", ".")
    assert result.code == 0
    assert "20 fixed" in result.stdout
    assert all((project.root / f"m{index:02d}.py").read_text() == FIXABLE_FIXED for index in range(20))
