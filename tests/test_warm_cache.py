"""The warm path: files known unchanged by their stat, project rules' findings kept whole.

A warm run must give exactly the output of the run that filled the cache, and anything that
changes a file's bytes must be seen, however quickly it follows the run before.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest

import gradlint.runner
import gradlint.stat_index
from cli_support import FIXABLE, UNFIXABLE, Project, finding_lines, run_cli

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def settled(monkeypatch: pytest.MonkeyPatch) -> None:
    """Trust any stat taken after the file's last change (files in a test are seconds old)."""
    monkeypatch.setattr(gradlint.stat_index, "SETTLED_NS", 0)


def _reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    read = gradlint.runner.read_source_bytes
    calls: list[str] = []

    def counting(path: str, limit: int) -> bytes:
        calls.append(os.path.basename(path))
        return read(path, limit)

    monkeypatch.setattr(gradlint.runner, "read_source_bytes", counting)
    return calls


def test_an_unchanged_file_is_served_without_being_read(
    project: Project, monkeypatch: pytest.MonkeyPatch, settled: None
) -> None:
    project.write("a.py", FIXABLE)
    project.write("b.py", UNFIXABLE)
    first = run_cli("check", "-j1", "--format", "json", ".")
    reads = _reads(monkeypatch)
    assert run_cli("check", "-j1", "--format", "json", ".") == first
    assert reads == []


def test_a_change_that_keeps_the_size_is_seen(project: Project, monkeypatch: pytest.MonkeyPatch, settled: None) -> None:
    project.write("a.py", FIXABLE)
    path = project.root / "a.py"
    before = path.stat()
    run_cli("check", "-j1", ".")
    time.sleep(0.05)  # past the file system's timestamp tick
    clean = FIXABLE.replace("_foreach_norm", "foreach_norms")
    assert len(clean) == len(FIXABLE)
    path.write_text(clean)
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))  # as `cp -p` or an editor might
    reads = _reads(monkeypatch)
    assert run_cli("check", "-j1", ".").code == 0
    assert reads == ["a.py"]


def test_a_file_changed_just_now_is_read_every_time(project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    """Within the settling time a stat cannot tell two writes apart: the bytes are hashed."""
    project.write("a.py", FIXABLE)
    run_cli("check", "-j1", ".")
    reads = _reads(monkeypatch)
    run_cli("check", "-j1", ".")
    assert reads == ["a.py"]


def test_a_malformed_index_is_ignored_and_rewritten(project: Project, settled: None) -> None:
    project.write("a.py", FIXABLE)
    first = run_cli("check", "-j1", ".")
    (index,) = (project.root / ".gradlint_cache").rglob("index/*.json")
    for garbage in (b"{}", b"not json", index.read_bytes()[:-5]):
        index.write_bytes(garbage)
        assert run_cli("check", "-j1", ".") == first
        assert index.read_bytes() != garbage


def test_a_skipped_file_is_still_reported_from_the_cache(project: Project, settled: None) -> None:
    project.write("a.py", "type Vector = list[float]\n")
    first = run_cli("check", "-j1", ".")
    assert "skipped" in first.stderr
    assert run_cli("check", "-j1", ".") == first  # from the index
    shutil.rmtree(next((project.root / ".gradlint_cache").rglob("index")))
    assert run_cli("check", "-j1", ".") == first  # from the content cache


def test_project_findings_are_not_reduced_again_while_no_file_with_facts_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = tmp_path / "project"
    shutil.copytree(ROOT / "fixtures" / "gl004", project)
    monkeypatch.chdir(project)
    first = run_cli("check", "-j1", "--select", "GL004", ".")
    assert finding_lines(first.stdout)
    calls: list[str] = []
    reducer = gradlint.runner.reducer

    def counting(meta):  # type: ignore[no-untyped-def]
        calls.append(meta.code)
        return reducer(meta)

    monkeypatch.setattr(gradlint.runner, "reducer", counting)
    assert run_cli("check", "-j1", "--select", "GL004", ".") == first
    assert calls == []
    (project / "unrelated.py").write_text("x = 1\n")  # no facts: the stored findings still hold
    assert run_cli("check", "-j1", "--select", "GL004", ".") == first
    assert calls == []
    trainer = project / "telemetry" / "trainer.py"
    trainer.write_text(trainer.read_text() + "\nif grad_norm > 123.5:\n    pass\n")
    run_cli("check", "-j1", "--select", "GL004", ".")
    assert calls == ["GL004"]
