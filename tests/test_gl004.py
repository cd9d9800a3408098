"""GL004 duplicated-constant: the multi-file fixture, the project-wide fix, caching, options."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import libcst as cst
import pytest

from gradlint.rules import _constant_edits
from gradlint.config import load_settings
from gradlint.discovery import discover
from gradlint.project_fixes import plan_project_fixes, write_plan
from gradlint.rules._constant_facts import collect
from gradlint.rules._constant_groups import constants_module_path
from gradlint.runner import RunOptions, _Worker, run_paths

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = ROOT / "fixtures" / "gl004"
EXPECTED = ROOT / "fixtures" / "fixes" / "gl004"
EXPECT = re.compile(r"#\s*expect:\s*GL004")


def _run(project: Path, **options: object):
    settings = load_settings(project / "pyproject.toml")
    files = discover([str(project)], settings)
    return settings, run_paths(files, settings, RunOptions(jobs=1, use_cache=False, **options))  # type: ignore[arg-type]


def _expected_lines(project: Path) -> set[tuple[str, int]]:
    found = set()
    for path in project.rglob("*.py"):
        for number, line in enumerate(path.read_text().splitlines(), start=1):
            if EXPECT.search(line):
                found.add((path.resolve().as_posix(), number))
    return found


def test_fixture_reports_every_planted_duplicate_and_no_lookalike() -> None:
    _, run = _run(FIXTURE)
    findings = [f for f in run.findings if f.code == "GL004"]
    reported = {(Path(f.path).resolve().as_posix(), f.location.row) for f in findings}
    assert reported == _expected_lines(FIXTURE)
    for finding in findings:
        assert "also at " in finding.message or "is already named: use `" in finding.message
        assert finding.fix is not None and finding.fix.applicability == "unsafe"
    messages = {f.message for f in findings}
    assert any("import `gradlint_runtime.constants.VANISHING_HEALTH_PENALTY`" in m for m in messages)
    assert any("`telemetry.constants.CLIP_COEF`" in m for m in messages)
    assert any("already named: use `telemetry.constants.LOSS_SPIKE_THRESHOLD`" in m for m in messages)
    assert any("name it once as `ADAM_EPS` in this module" in m for m in messages)
    # A bare `eps` of `LayerNorm(...)` is the package's LAYER_NORM_EPS.
    assert any("(epsilon) is already named: use `telemetry.constants.LAYER_NORM_EPS`" in m for m in messages)


def test_fix_produces_the_expected_project(tmp_path: Path) -> None:
    copy = tmp_path / "project"
    shutil.copytree(FIXTURE, copy)
    settings, run = _run(copy, fix=True, unsafe_fixes=True)
    plan = plan_project_fixes(run, settings, unsafe=True)
    assert not plan.errors
    write_plan(plan)
    produced = {p.relative_to(copy).as_posix(): p.read_text() for p in copy.rglob("*.py")}
    expected = {p.relative_to(EXPECTED).as_posix(): p.read_text() for p in EXPECTED.rglob("*.py")}
    assert produced == expected
    for text in produced.values():
        cst.parse_module(text)
    _, again = _run(copy)
    assert not again.findings
    code = "import telemetry.collectors, telemetry.monitor, telemetry.trainer, telemetry.constants"
    subprocess.run([sys.executable, "-c", code], cwd=copy, check=True)


def test_fix_is_all_or_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    copy = tmp_path / "project"
    shutil.copytree(FIXTURE, copy)
    settings, run = _run(copy, fix=True, unsafe_fixes=True)
    real = _constant_edits.rewrite

    def broken(path: str, text: str, *args):  # type: ignore[no-untyped-def]
        fixed = real(path, text, *args)
        return fixed + "\ndef broken(:\n" if path.endswith("monitor.py") else fixed

    monkeypatch.setattr(_constant_edits, "rewrite", broken)
    plan = plan_project_fixes(run, settings, unsafe=True)
    assert plan.errors and not plan.texts and not plan.created


def test_safe_fix_mode_does_not_touch_gl004(tmp_path: Path) -> None:
    copy = tmp_path / "project"
    shutil.copytree(FIXTURE, copy)
    settings, run = _run(copy, fix=True)
    assert not plan_project_fixes(run, settings, unsafe=False).texts


def test_facts_are_cached_per_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    copy = tmp_path / "project"
    shutil.copytree(FIXTURE, copy)
    settings = replace(load_settings(copy / "pyproject.toml"), root=str(tmp_path))
    files = discover([str(copy)], settings)
    first = run_paths(files, settings, RunOptions(jobs=1))
    calls: list[str] = []
    real = _Worker.process_bytes

    def counting(self, path: str, data: bytes):  # type: ignore[no-untyped-def]
        calls.append(path)
        return real(self, path, data)

    monkeypatch.setattr(_Worker, "process_bytes", counting)
    trainer = copy / "telemetry" / "trainer.py"
    trainer.write_text(trainer.read_text() + "\n# touched\n")
    second = run_paths(files, settings, RunOptions(jobs=1))
    assert [Path(p).name for p in calls] == ["trainer.py"]
    assert [(f.path, f.location) for f in second.findings] == [(f.path, f.location) for f in first.findings]


def test_facts_are_json_and_record_noqa() -> None:
    source = "if grad_norm > 100.0:  # noqa: GL004\n    pass\nif (\n    grad_norm\n    > 100.0\n):  # noqa\n    pass\n"
    facts = collect(source)
    assert facts is not None and json.loads(json.dumps(facts)) == facts
    assert [fact["q"] for fact in facts] == [True, False]
    assert facts[1]["s"] == 3 and facts[1]["l"] == 5


def test_constants_module_places_are_not_reported(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.gradlint]\nconstants-module = "pkg.tuning"\n')
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("")
    (tmp_path / "pkg" / "tuning.py").write_text("def f(x, clip_coef=0.25):\n    return x\n")
    (tmp_path / "pkg" / "a.py").write_text("def g(x, clip_coef=0.25):\n    return x\n")
    _, run = _run(tmp_path)
    assert not run.findings
    (tmp_path / "pkg" / "b.py").write_text("def h(x, clip_coef=0.25):\n    return x\n")
    _, run = _run(tmp_path)
    assert sorted(Path(f.path).name for f in run.findings) == ["a.py", "b.py"]


def test_constants_module_path_src_layout(tmp_path: Path) -> None:
    (tmp_path / "src" / "pkg").mkdir(parents=True)
    assert constants_module_path("pkg.constants", str(tmp_path)) == os.path.join(
        str(tmp_path), "src", "pkg", "constants.py"
    )
    (tmp_path / "pkg").mkdir()
    assert constants_module_path("pkg.constants", str(tmp_path)) == os.path.join(
        str(tmp_path), "pkg", "constants.py"
    )


def test_runtime_constants_can_be_turned_off(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "p"\ndependencies = ["gradlint-runtime"]\n'
        "[tool.gradlint]\nuse-runtime-constants = false\n"
    )
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("")
    (tmp_path / "pkg" / "a.py").write_text("def f(health, vanishing_ratio):\n    health -= vanishing_ratio * 0.5\n")
    (tmp_path / "pkg" / "b.py").write_text("def g(score, vanishing_ratio):\n    score -= vanishing_ratio * 0.5\n")
    settings, run = _run(tmp_path, fix=True, unsafe_fixes=True)
    plan = plan_project_fixes(run, settings, unsafe=True)
    assert not plan.errors
    texts = {Path(path).resolve(): text for path, text in plan.texts.items()}
    assert "VANISHING_HEALTH_PENALTY = 0.5" in texts[(tmp_path / "pkg" / "constants.py").resolve()]
    assert "from pkg.constants import VANISHING_HEALTH_PENALTY" in texts[(tmp_path / "pkg" / "a.py").resolve()]


def _write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def test_fix_keeps_each_literals_type_and_spelling(tmp_path: Path) -> None:
    _write(tmp_path, {
        "pyproject.toml": '[project]\nname = "p"\n',
        "pkg/__init__.py": "",
        "pkg/a.py": "def f(x, grad_clip=4, noise_clip=1.0e-8, drop_threshold=-30.0):\n    return x\n",
        "pkg/b.py": "def g(x, grad_clip=4, noise_clip=1.0e-8, drop_threshold=-30.0):\n    return x\n",
        "pkg/c.py": "def h(x, grad_clip=4.0):\n    return x\n",
    })
    settings, run = _run(tmp_path, fix=True, unsafe_fixes=True)
    # `4` and `4.0` are different constants: only the two ints are one group.
    assert sorted(Path(f.path).name for f in run.findings if "`4`" in f.message) == ["a.py", "b.py"]
    assert not any("`4.0`" in f.message for f in run.findings)
    plan = plan_project_fixes(run, settings, unsafe=True)
    assert not plan.errors
    write_plan(plan)
    constants = (tmp_path / "pkg" / "constants.py").read_text()
    assert "GRAD_CLIP = 4  #" in constants
    assert "NOISE_CLIP = 1.0e-8  #" in constants
    assert "DROP_THRESHOLD = -30.0  #" in constants
    code = "import pkg.constants as c, pkg.a, pkg.c; print(type(c.GRAD_CLIP).__name__, c.NOISE_CLIP, c.DROP_THRESHOLD)"
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, check=True, capture_output=True, text=True)
    assert out.stdout.split() == ["int", "1e-08", "-30.0"]
    assert "grad_clip=4.0" in (tmp_path / "pkg" / "c.py").read_text()


def test_works_for_a_project_checked_out_under_a_folder_named_tests(tmp_path: Path) -> None:
    copy = tmp_path / "tests" / "checkout"
    shutil.copytree(FIXTURE, copy)
    _, run = _run(copy)
    reported = {(Path(f.path).resolve().as_posix(), f.location.row) for f in run.findings if f.code == "GL004"}
    assert reported == _expected_lines(copy)
    settings, run = _run(copy, fix=True, unsafe_fixes=True)
    plan = plan_project_fixes(run, settings, unsafe=True)
    assert not plan.errors and plan.texts
    write_plan(plan)
    _, again = _run(copy)
    assert not again.findings


@pytest.mark.parametrize("how", ["dot", "absolute"])
def test_constants_module_at_the_project_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, how: str) -> None:
    _write(tmp_path, {
        "pyproject.toml": '[project]\nname = "p"\n[tool.gradlint]\nconstants-module = "tuning"\n',
        "pkg/__init__.py": "",
        "pkg/a.py": "import os\n\nimport numpy\n\n\ndef f(x, clip_coef=0.2):\n    return x\n",
        "pkg/b.py": '"""Doc."""\n\n\ndef g(x, clip_coef=0.2):\n    return x\n',
    })
    monkeypatch.chdir(tmp_path)
    target = "." if how == "dot" else str(tmp_path)
    result = subprocess.run(
        [sys.executable, "-m", "gradlint", "check", target, "--no-cache", "--fix", "--unsafe-fixes"],
        capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "CLIP_COEF = 0.2  #" in (tmp_path / "tuning.py").read_text()
    # isort's place: after the third-party section, in a first-party section of its own.
    assert (tmp_path / "pkg" / "a.py").read_text().startswith(
        "import os\n\nimport numpy\n\nfrom tuning import CLIP_COEF\n\n\ndef f(x, clip_coef=CLIP_COEF):"
    )
    assert (tmp_path / "pkg" / "b.py").read_text().startswith('"""Doc."""\n\nfrom tuning import CLIP_COEF\n\n\ndef g(')
    code = "import pkg.a, pkg.b, tuning; print(pkg.a.CLIP_COEF)"
    subprocess.run([sys.executable, "-c", code], cwd=tmp_path, check=True)


def test_a_group_without_a_free_name_is_reported_without_a_fix(tmp_path: Path) -> None:
    _write(tmp_path, {
        "pyproject.toml": '[project]\nname = "p"\n',
        "pkg/__init__.py": "",
        "pkg/constants.py": "CLIP_COEF = 0.3  # a different value under the name the group wants\n",
        "pkg/a.py": "def f(x, clip_coef=0.2):\n    return x\n",
        "pkg/b.py": "def g(x, clip_coef=0.2):\n    return x\n",
    })
    settings, run = _run(tmp_path, fix=True, unsafe_fixes=True)
    findings = [f for f in run.findings if f.code == "GL004"]
    assert len(findings) == 2
    assert all(f.fix is None and "no unique name" in f.message for f in findings)
    assert not plan_project_fixes(run, settings, unsafe=True).texts


def test_a_name_used_for_something_else_in_a_file_blocks_that_group(tmp_path: Path) -> None:
    _write(tmp_path, {
        "pyproject.toml": '[project]\nname = "p"\n',
        "pkg/__init__.py": "",
        "pkg/a.py": "def f(x, clip_coef=0.2):\n    CLIP_COEF = x\n    return CLIP_COEF\n",
        "pkg/b.py": "def g(x, clip_coef=0.2):\n    return x\n",
    })
    settings, run = _run(tmp_path, fix=True, unsafe_fixes=True)
    plan = plan_project_fixes(run, settings, unsafe=True)
    assert not plan.texts
    assert any("`CLIP_COEF` not applied" in error for error in plan.errors)


def test_standalone_scripts_share_no_constants(tmp_path: Path) -> None:
    _write(tmp_path, {
        "pyproject.toml": '[project]\nname = "p"\n',
        "train_a.py": "def main(ent_coef=0.01):\n    pass\n",
        "train_b.py": "def main(ent_coef=0.01):\n    pass\n",
    })
    _, run = _run(tmp_path)
    assert not run.findings
