"""GL003's project step: a subclass in one file hands the caller's module and its own literal
device default to a base class, in another file, that moves the module (issue 10)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from cli_support import run_cli
from gradlint.rules._gl003_flow import reduce_delegations

ROOT = Path(__file__).resolve().parents[1]
PROJECT = ROOT / "fixtures" / "gl003" / "project"
_MARKER = re.compile(r"#\s*expect:\s*GL003")


def test_cross_file_delegation_is_reported_at_the_subclass_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(PROJECT)
    result = run_cli("check", "--no-cache", "--select", "GL003", "--format", "json", ".")
    found = {(Path(f["filename"]).name, f["location"]["row"]) for f in json.loads(result.stdout)}
    expected = {
        (path.name, number)
        for path in PROJECT.glob("*.py")
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if _MARKER.search(line)
    }
    assert found == expected and expected
    messages = [f["message"] for f in json.loads(result.stdout)]
    assert messages == ["`device` defaults to 'cpu' and moves the caller's module"]


def _delegator(name: str, base: str, forwarded: str, row: int, suppressed: bool = False) -> dict:
    return {
        "t": "del", "c": name, "b": [base], "a": {"0": forwarded}, "k": {}, "pi": {forwarded: 0},
        "n": "device", "lit": "cpu", "l": row, "col": 5, "el": row, "ec": 17, "s": row, "q": suppressed,
    }


def test_reduce_follows_chains_and_honours_noqa() -> None:
    facts = {
        "base.py": [{"t": "mover", "c": "Base", "i": 0, "p": "model"}],
        "mid.py": [_delegator("Mid", "Base", "model", 3)],
        "leaf.py": [_delegator("Leaf", "Mid", "net", 7), _delegator("Quiet", "Base", "model", 9, suppressed=True)],
        "other.py": [_delegator("Unrelated", "Elsewhere", "model", 2)],
    }
    found = sorted((f.path, f.location.row) for f in reduce_delegations(facts, None))
    assert found == [("leaf.py", 7), ("mid.py", 3)]


def test_reduce_needs_the_moved_parameter_to_be_forwarded() -> None:
    facts = {
        "base.py": [{"t": "mover", "c": "Base", "i": 1, "p": "model"}],
        "sub.py": [_delegator("Sub", "Base", "scale", 4)],  # forwards position 0, the base moves 1
    }
    assert reduce_delegations(facts, None) == []


@pytest.mark.parametrize("character", ["\x0c", "\x0b", "\x1c", "\x85", "\u2028"])
def test_delegation_columns_hold_after_a_line_break_character_python_does_not_split_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, character: str
) -> None:
    """``str.splitlines`` splits on these and the tokenizer does not: the fact's columns must
    come from the tokenizer's lines (issue 14, class A)."""
    for path in PROJECT.glob("*.py"):
        (tmp_path / path.name).write_text(path.read_text(encoding="utf-8"), encoding="utf-8")

    def locations() -> list[tuple[int, int, int, int]]:
        monkeypatch.chdir(tmp_path)
        result = run_cli("check", "--no-cache", "--select", "GL003", "--format", "json", ".")
        return [
            (f["location"]["row"], f["location"]["column"], f["end_location"]["row"], f["end_location"]["column"])
            for f in json.loads(result.stdout)
        ]

    before = locations()
    mocks = tmp_path / "mocks.py"
    mocks.write_text(f"# a page{character}break\n" + mocks.read_text(encoding="utf-8"), encoding="utf-8")
    assert [(row + 1, column, end_row + 1, end_column) for row, column, end_row, end_column in before] == locations()
    assert before
