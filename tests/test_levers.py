"""Speed levers must never change findings: text triggers, the cache, the process pool.
Each is switched off in turn and the findings compared."""

from __future__ import annotations

from pathlib import Path

import pytest

from gradlint.config import Settings
from gradlint.fileinfo import describe_file
from gradlint.engine import Engine
from gradlint.rule import Rule
from gradlint.rules import all_rules
from gradlint.source import decode

ROOT = Path(__file__).resolve().parent.parent
FILES = sorted(
    p for p in (ROOT / "fixtures").rglob("*.py") if "fixes" not in p.relative_to(ROOT / "fixtures").parts
)


def _findings(engine: Engine) -> list[tuple[str, int, int, str, str]]:
    found = []
    for path in FILES:
        source = decode(path.read_bytes())
        result = engine.check_text(source.text, describe_file(str(path)))
        found.extend(
            (f.path, f.location.row, f.location.column, f.code, f.message) for f in result.findings
        )
    return sorted(found)


@pytest.fixture(scope="module")
def baseline() -> list[tuple[str, int, int, str, str]]:
    found = _findings(Engine(Settings(root=str(ROOT))))
    assert found, "the fixtures must produce findings for this comparison to mean anything"
    return found


def test_fixture_corpus_is_not_empty() -> None:
    assert len(FILES) > 10


def test_text_triggers_do_not_change_findings(baseline, monkeypatch) -> None:
    for rule in all_rules():
        monkeypatch.setattr(rule, "may_match", classmethod(lambda cls, text: True))
    engine = Engine(Settings(root=str(ROOT)))
    assert _findings(engine) == baseline


def test_a_crashing_rule_fails_one_file_and_the_run_goes_on(tmp_path, monkeypatch) -> None:
    from click.testing import CliRunner

    from gradlint.cli import main

    (tmp_path / "a.py").write_text("import torch\nx = torch._foreach_norm(g)\n")
    (tmp_path / "b.py").write_text("import torch\nboom = torch._C._foo()\n")
    gl002 = next(rule for rule in all_rules() if rule.code == "GL002")
    original = gl002.visit_Attribute

    def visit_attribute(self: Rule, node) -> None:  # type: ignore[no-untyped-def]
        if self.info is not None and self.info.path.endswith("b.py"):
            raise RuntimeError("simulated rule bug")
        original(self, node)

    monkeypatch.setattr(gl002, "visit_Attribute", visit_attribute)
    result = CliRunner().invoke(main, ["check", "--no-cache", "-j1", str(tmp_path)])
    assert result.exit_code == 2
    assert "a.py:2:5: GL002" in result.output
    assert "simulated rule bug" in result.output


def test_checking_never_imports_libcst_cold_or_warm(tmp_path) -> None:
    import subprocess
    import sys

    (tmp_path / "pyproject.toml").write_text("[tool.gradlint]\n")
    for index in range(3):
        (tmp_path / f"m{index}.py").write_text("import torch\nn = torch._foreach_norm(g)\n")
    probe = (
        "import sys\n"
        "from gradlint.cli import main\n"
        "try:\n"
        "    main(['check', '.'])\n"
        "except SystemExit as exit:\n"
        "    print('exit', exit.code)\n"
        "print('libcst loaded:', 'libcst' in sys.modules)\n"
    )
    first = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, capture_output=True, text=True)
    second = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, capture_output=True, text=True)
    # Checking reads the stdlib ast only: not even a cold run imports libcst (fixes do).
    assert "exit 1" in first.stdout and "libcst loaded: False" in first.stdout, first.stdout + first.stderr
    assert "exit 1" in second.stdout and "libcst loaded: False" in second.stdout, second.stdout + second.stderr
    assert first.stdout.count("GL002") == second.stdout.count("GL002") == 3


def test_levers_on_real_code_from_the_installed_torch(monkeypatch) -> None:
    """The same comparison on real code: parts of the installed torch package (CI has it)."""
    torch_dir = Path(pytest.importorskip("torch").__file__).parent
    files = sorted(
        path
        for part in ("optim", "nn/utils", "amp", "distributed/fsdp")
        for path in (torch_dir / part).rglob("*.py")
    )
    # Pretend the files are user code, so GL002 (which exempts torch's own source) runs too.
    from gradlint.fileinfo import FileInfo

    def findings(engine: Engine) -> list[str]:
        found = []
        for path in files:
            text = decode(path.read_bytes()).text
            result = engine.check_text(text, FileInfo(str(path), "user_code", False))
            found += [repr((f.path, f.location, f.code, f.message)) for f in result.findings]
            found.append(repr((str(path), result.facts)))
        return sorted(found)

    fast = findings(Engine(Settings(root=str(ROOT))))
    assert any("GL002" in item for item in fast)
    for rule in all_rules():
        monkeypatch.setattr(rule, "may_match", classmethod(lambda cls, text: True))
    slow_engine = Engine(Settings(root=str(ROOT)))
    assert findings(slow_engine) == fast


def test_json_edits_mode_reports_the_same_findings(baseline) -> None:
    engine = Engine(Settings(root=str(ROOT)), want_edits=True)
    assert _findings(engine) == baseline
    fixable = []
    for path in FILES:
        result = engine.check_text(decode(path.read_bytes()).text, describe_file(str(path)))
        fixable += [f for f in result.findings if f.fix is not None]
    assert fixable and all(f.fix.edits for f in fixable if f.code != "GL004")
