"""GL001 manual-norm and GL003 hidden-device-default: the fixtures report exactly their
``# expect:`` lines, and every fix pair holds (parses, matches, leaves no finding, idempotent)."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import pytest

from gradlint.config import Settings
from gradlint.fileinfo import describe_file
from gradlint.engine import Engine

ROOT = Path(__file__).resolve().parents[1]
CODES = ("GL001", "GL003")
_MARKER = re.compile(r"#\s*expect:\s*(GL\d{3}(?:\s*,\s*GL\d{3})*)")


def _engine(code: str, **options: str) -> Engine:
    return Engine(replace(Settings(), select=(code,), options=options))


def _markers(path: Path, code: str) -> set[int]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return {number for number, line in enumerate(lines, 1) if (m := _MARKER.search(line)) and code in m.group(1)}


def _reported(engine: Engine, path: Path, code: str) -> set[int]:
    result = engine.check_text(path.read_text(encoding="utf-8"), describe_file(str(path)))
    return {finding.location.row for finding in result.findings if finding.code == code}


def _fixtures(code: str) -> list[Path]:
    folder = code.lower()
    return sorted((ROOT / "fixtures" / folder).glob("*.py")) + _pairs(code)


def _pairs(code: str) -> list[Path]:
    return sorted((ROOT / "fixtures" / "fixes" / code.lower()).glob("*.in.py"))


FIXTURES = [(code, path) for code in CODES for path in _fixtures(code)]
PAIRS = [(code, path) for code in CODES for path in _pairs(code)]


@pytest.mark.parametrize(("code", "path"), FIXTURES, ids=lambda v: getattr(v, "name", v))
def test_fixture_findings_equal_markers(code: str, path: Path) -> None:
    assert _reported(_engine(code), path, code) == _markers(path, code)


@pytest.mark.parametrize("code", CODES)
def test_enough_planted_cases(code: str) -> None:
    folder = ROOT / "fixtures" / code.lower()
    positives = sum(len(_markers(path, code)) for path in folder.glob("*.py"))
    assert positives >= 15
    lookalikes = (folder / "lookalikes.py").read_text(encoding="utf-8")
    assert lookalikes.count("\ndef ") + lookalikes.count("\n    def ") >= 15
    assert not _markers(folder / "lookalikes.py", code)


@pytest.mark.parametrize(("code", "source"), PAIRS, ids=lambda v: getattr(v, "name", v))
def test_fix_pair(code: str, source: Path) -> None:
    engine = _engine(code)
    info = describe_file(str(source))
    text = source.read_text(encoding="utf-8")
    fixed, applied, errors = engine.fix_text(text, info, unsafe=True)
    assert not errors and applied == len(_markers(source, code))
    compile(fixed, str(source), "exec")
    expected = source.with_name(source.name.replace(".in.py", ".out.py")).read_text(encoding="utf-8")
    assert fixed == expected
    assert not [f for f in engine.check_text(fixed, info).findings if f.code == code]
    again, _, _ = engine.fix_text(fixed, info, unsafe=True)
    assert again == fixed


@pytest.mark.parametrize("code", CODES)
def test_safe_mode_leaves_unsafe_fix_alone(code: str) -> None:
    source = _pairs(code)[0]
    text = source.read_text(encoding="utf-8")
    fixed, applied, _ = _engine(code).fix_text(text, describe_file(str(source)), unsafe=False)
    assert applied == 0 and fixed == text


def test_gl001_fix_imports_the_configured_runtime_module() -> None:
    engine = _engine("GL001", **{"runtime-module": "myproj.rt"})
    info = describe_file("example.py")
    fixed, _, _ = engine.fix_text("total = sum((g * g).sum() for g in grads).sqrt()\n", info, unsafe=True)
    assert fixed == "import myproj.rt\n\ntotal = myproj.rt.total_norm([g.detach() for g in grads])\n"


def test_gl003_fix_imports_the_configured_runtime_module() -> None:
    engine = _engine("GL003", **{"runtime-module": "myproj.rt"})
    info = describe_file("example.py")
    code = "import torch\ndef f(model: torch.nn.Module, device='cuda'):\n    return model.to(device)\n"
    fixed, _, _ = engine.fix_text(code, info, unsafe=True)
    assert "device = myproj.rt.infer_device(model, 'cuda')" in fixed and "device=None" in fixed
