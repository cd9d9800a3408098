"""Golden fixtures: every ``# expect: GLxxx`` marker under fixtures/ is reported, nothing else;
and every ``fixtures/fixes/`` pair ``*.in.py`` -> ``*.out.py`` is what ``--fix`` produces."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from cli_support import RUNTIME_PYPROJECT, FIXTURES, ROOT, run_cli

_MARKER = re.compile(r"#\s*expect:\s*(?P<codes>GL\d{3}(?:\s*,\s*GL\d{3})*)")
FIX_PAIRS = FIXTURES / "fixes"


def _is_golden(path: Path) -> bool:
    return FIX_PAIRS not in path.parents


def expected_findings() -> set[tuple[str, int, str]]:
    expected = set()
    for path in sorted(FIXTURES.rglob("*.py*")):
        if path.suffix not in (".py", ".pyi") or not _is_golden(path):
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            match = _MARKER.search(line)
            if match:
                for code in re.split(r"\s*,\s*", match["codes"]):
                    expected.add((path.relative_to(ROOT).as_posix(), number, code))
    return expected


@pytest.fixture(scope="module")
def reported(tmp_path_factory: pytest.TempPathFactory) -> tuple[int, set[tuple[str, int, str]]]:
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(ROOT)
        result = run_cli("check", "fixtures/", "--no-cache", "--format", "json")
    found = set()
    for finding in json.loads(result.stdout):
        path = Path(finding["filename"])
        if _is_golden(path):
            found.add((path.relative_to(ROOT).as_posix(), finding["location"]["row"], finding["code"]))
    return result.code, found


def test_fixtures_have_markers() -> None:
    codes = {code for _, _, code in expected_findings()}
    assert "GL002" in codes
    assert len(expected_findings()) >= 20


def test_check_fixtures_exits_1(reported: tuple[int, set[tuple[str, int, str]]]) -> None:
    assert reported[0] == 1


def test_every_marker_is_reported_and_nothing_else(reported: tuple[int, set[tuple[str, int, str]]]) -> None:
    found = reported[1]
    expected = expected_findings()
    missing = sorted(expected - found)
    unexpected = sorted(found - expected)
    assert not missing and not unexpected, f"missing: {missing}\nunexpected: {unexpected}"


def test_guarded_lookalikes_are_silent(reported: tuple[int, set[tuple[str, int, str]]]) -> None:
    quiet = {"fixtures/gl002/guarded_lookalikes.py", "fixtures/gl002/not_torch.py"}
    assert not [item for item in reported[1] if item[0] in quiet]


def _pairs() -> list[Path]:
    return sorted(FIX_PAIRS.rglob("*.in.py"))


@pytest.mark.parametrize("source", _pairs(), ids=lambda p: p.relative_to(FIX_PAIRS).as_posix())
def test_fix_pair(source: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    expected = source.with_name(source.name.replace(".in.py", ".out.py"))
    assert expected.is_file(), f"{source.name} has no .out.py"
    # The name decides nothing for GL002, but keep the file's own stem for readable output.
    target = tmp_path / source.name.replace(".in.py", ".py")
    shutil.copyfile(source, target)
    # The pairs show the runtime forms of the fixes: the project declares the runtime.
    (tmp_path / "pyproject.toml").write_text(RUNTIME_PYPROJECT, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    before = run_cli("check", "--no-cache", "--format", "json", target.name)
    assert before.code == 1, "a fix pair must start with findings"
    # Pairs show every fix a rule offers, unsafe ones included (GL001 and GL003 fix unsafely).
    run_cli("check", "--no-cache", "--fix", "--unsafe-fixes", target.name)
    assert target.read_text(encoding="utf-8") == expected.read_text(encoding="utf-8")
    # Nothing fixable is left to report, and fixing again changes nothing.
    after = json.loads(run_cli("check", "--no-cache", "--unsafe-fixes", "--format", "json", target.name).stdout)
    assert [f for f in after if f["fix"] is not None] == []
    run_cli("check", "--no-cache", "--fix", "--unsafe-fixes", target.name)
    assert target.read_text(encoding="utf-8") == expected.read_text(encoding="utf-8")


def test_every_fix_pair_is_complete() -> None:
    for output in FIX_PAIRS.rglob("*.out.py"):
        assert output.with_name(output.name.replace(".out.py", ".in.py")).is_file(), output
    assert _pairs(), "no fix pairs found"
