"""GL003 hidden-device-default: the fixtures report exactly the ``# expect: GL003`` lines; fix pairs hold."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import pytest

from gradlint.config import Settings
from gradlint.context import describe_file
from gradlint.engine import Engine

ROOT = Path(__file__).resolve().parents[1]
CODE = "GL003"
_MARKER = re.compile(r"#\s*expect:\s*(GL\d{3}(?:\s*,\s*GL\d{3})*)")


def _engine() -> Engine:
    return Engine(replace(Settings(), select=(CODE,)))


def _markers(path: Path) -> set[int]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return {number for number, line in enumerate(lines, 1) if (m := _MARKER.search(line)) and CODE in m.group(1)}


def _reported(engine: Engine, path: Path) -> set[int]:
    result = engine.check_text(path.read_text(encoding="utf-8"), describe_file(str(path)))
    return {finding.location.row for finding in result.findings if finding.code == CODE}


FILES = sorted((ROOT / "fixtures" / "gl003").glob("*.py")) + sorted((ROOT / "fixtures" / "fixes" / "gl003").glob("*.in.py"))
PAIRS = sorted((ROOT / "fixtures" / "fixes" / "gl003").glob("*.in.py"))


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_fixture_findings_equal_markers(path: Path) -> None:
    assert _reported(_engine(), path) == _markers(path)


def test_enough_planted_cases() -> None:
    positives = sum(len(_markers(path)) for path in FILES if path.parent.name == "gl003")
    assert positives >= 15
    lookalikes = (ROOT / "fixtures" / "gl003" / "lookalikes.py").read_text(encoding="utf-8")
    assert lookalikes.count("\ndef ") + lookalikes.count("\n    def ") >= 15
    assert not _markers(ROOT / "fixtures" / "gl003" / "lookalikes.py")


@pytest.mark.parametrize("source", PAIRS, ids=lambda p: p.name)
def test_fix_pair(source: Path) -> None:
    engine = _engine()
    info = describe_file(str(source))
    text = source.read_text(encoding="utf-8")
    fixed, applied, errors = engine.fix_text(text, info, unsafe=True)
    assert not errors and applied == len(_markers(source))
    compile(fixed, str(source), "exec")
    expected = source.with_name(source.name.replace(".in.py", ".out.py")).read_text(encoding="utf-8")
    assert fixed == expected
    assert not [f for f in engine.check_text(fixed, info).findings if f.code == CODE]
    again, _, _ = engine.fix_text(fixed, info, unsafe=True)
    assert again == fixed


def test_safe_mode_leaves_unsafe_fix_alone() -> None:
    source = PAIRS[0]
    text = source.read_text(encoding="utf-8")
    fixed, applied, _ = _engine().fix_text(text, describe_file(str(source)), unsafe=False)
    assert applied == 0 and fixed == text


def test_runtime_module_option_is_used() -> None:
    engine = Engine(replace(Settings(), select=(CODE,), options={"runtime-module": "myproj.rt"}))
    info = describe_file("example.py")
    code = "import torch\ndef f(model: torch.nn.Module, device='cuda'):\n    return model.to(device)\n"
    fixed, _, _ = engine.fix_text(code, info, unsafe=True)
    assert "device = myproj.rt.infer_device(model)" in fixed and "device=None" in fixed
