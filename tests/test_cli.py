"""The command-line contract: exit codes, selection, stdin, parse errors, jobs, cache, help."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import gradlint
import gradlint.engine
import gradlint.runner
from cli_support import CLEAN, FIXABLE, FIXABLE_FIXED, UNFIXABLE, Project, finding_lines, run_cli, run_subprocess


# -- exit codes ---------------------------------------------------------------------------


def test_clean_project_exits_0(project: Project) -> None:
    project.write("clean.py", CLEAN)
    result = run_cli("check", ".")
    assert result.code == 0
    assert "All checks passed!" in result.stdout


def test_findings_exit_1_with_location_and_summary(project: Project) -> None:
    project.write("bad.py", FIXABLE)
    result = run_cli("check")  # default path is the working directory
    assert result.code == 1
    assert finding_lines(result.stdout) == ["bad.py:3:9: GL002"]
    assert "[*]" in result.stdout
    assert "Found 1 error." in result.stdout
    assert "1 fixable with the `--fix` option" in result.stdout


def test_exit_zero_reports_but_exits_0(project: Project) -> None:
    project.write("bad.py", FIXABLE)
    result = run_cli("check", "--exit-zero", ".")
    assert result.code == 0
    assert finding_lines(result.stdout) == ["bad.py:3:9: GL002"]


def test_missing_path_is_a_usage_error(project: Project) -> None:
    result = run_cli("check", "does/not/exist.py")
    assert result.code == 2
    assert "path does not exist: does/not/exist.py" in result.stderr


def test_unknown_option_exits_2(project: Project) -> None:
    assert run_cli("check", "--no-such-flag").code == 2


def test_stdin_cannot_be_mixed_with_paths(project: Project) -> None:
    project.write("a.py", CLEAN)
    result = run_cli("check", "-", "a.py", input="x = 1\n")
    assert result.code == 2
    assert "standard input" in result.stderr


def test_internal_error_exits_2(project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    project.write("bad.py", FIXABLE)

    def crash(*args: object, **kwargs: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr("gradlint.cli.run_paths", crash)
    result = run_cli("check", ".")
    assert result.code == 2
    assert "internal error: RuntimeError: boom" in result.stderr


# -- selection ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "expected_code", "reported"),
    [
        (["--select", "GL002"], 1, True),
        (["--select", "gl002"], 1, True),
        (["--select", "GL00"], 1, True),  # prefix
        (["--select", "GL"], 1, True),
        (["--select", "ALL"], 1, True),
        (["--ignore", "GL002"], 0, False),
        (["--ignore", "GL00"], 0, False),  # prefix
        (["--select", "GL000,GL002", "--ignore", "GL002"], 0, False),
        (["--select", "GL000"], 0, False),
        (["--select", "GL000", "--extend-select", "GL002"], 1, True),
    ],
)
def test_select_and_ignore(project: Project, args: list[str], expected_code: int, reported: bool) -> None:
    project.write("bad.py", FIXABLE)
    result = run_cli("check", *args, "--no-cache", ".")
    assert result.code == expected_code, result.stdout + result.stderr
    assert bool(finding_lines(result.stdout)) is reported


@pytest.mark.parametrize("flag", ["--select", "--ignore", "--extend-select"])
def test_unknown_code_on_command_line_exits_2(project: Project, flag: str) -> None:
    project.write("bad.py", FIXABLE)
    result = run_cli("check", flag, "GL999", ".")
    assert result.code == 2
    assert "GL999" in result.stderr


def test_parse_errors_do_not_hide_other_files_even_when_ignoring_everything(project: Project) -> None:
    project.write("broken.py", "def f(:\n")
    result = run_cli("check", "--ignore", "GL", ".")
    # GL000 cannot be switched off: a file nobody checked is never "clean".
    assert result.code == 1
    assert finding_lines(result.stdout) == ["broken.py:1:7: GL000"]


# -- stdin ----------------------------------------------------------------------------------


def test_stdin_with_stdin_filename(project: Project) -> None:
    result = run_cli("check", "-", "--stdin-filename", "src/train.py", input=FIXABLE)
    assert result.code == 1
    assert finding_lines(result.stdout) == ["src/train.py:3:9: GL002"]


def test_stdin_without_filename_is_reported_as_dash(project: Project) -> None:
    result = run_cli("check", "-", input=UNFIXABLE)
    assert result.code == 1
    assert finding_lines(result.stdout) == ["-:3:9: GL002"]


def test_stdin_clean(project: Project) -> None:
    result = run_cli("check", "-", input=CLEAN)
    assert result.code == 0


def test_stdin_fix_prints_fixed_code_and_reports_on_stderr(project: Project) -> None:
    project.declare_runtime()
    result = run_cli("check", "--fix", "-", "--stdin-filename", "x.py", input=FIXABLE)
    assert result.stdout == FIXABLE_FIXED
    assert "1 fixed, 0 remaining" in result.stderr
    assert result.code == 0


def test_stdin_fix_with_nothing_to_fix_echoes_input(project: Project) -> None:
    result = run_cli("check", "--fix", "-", input=UNFIXABLE)
    assert result.stdout == UNFIXABLE
    assert result.code == 1
    assert "GL002" in result.stderr


def test_stdin_filename_selects_config(project: Project) -> None:
    project.config('per-file-ignores = { "legacy/*.py" = ["GL002"] }\n')
    assert run_cli("check", "-", "--stdin-filename", "legacy/old.py", input=FIXABLE).code == 0
    assert run_cli("check", "-", "--stdin-filename", "src/new.py", input=FIXABLE).code == 1


# -- GL000 ----------------------------------------------------------------------------------


def test_syntax_error_and_undecodable_files_yield_gl000_and_others_are_checked(project: Project) -> None:
    project.write("a_broken.py", "import torch\nx = torch._C._foo(\n")
    project.write("b_bytes.py", b"import torch\nname = '\xff\xfe'\n")
    project.write("c_bad_cookie.py", b"# -*- coding: no-such-codec -*-\nx = 1\n")
    project.write("d_bad.py", FIXABLE)
    result = run_cli("check", "--no-cache", ".")
    assert result.code == 1
    lines = finding_lines(result.stdout)
    assert [line.split(":")[0] for line in lines] == ["a_broken.py", "b_bytes.py", "c_bad_cookie.py", "d_bad.py"]
    assert lines[1] == "b_bytes.py:2:9: GL000"
    assert lines[3] == "d_bad.py:3:9: GL002"
    assert "cannot decode byte" in result.stdout
    assert "SyntaxError" in result.stdout


def test_syntax_error_in_a_file_no_rule_wants_is_still_reported(project: Project) -> None:
    # No rule's prefilter matches this text, so only the stdlib compiler sees it.
    project.write("plain.py", "def f(:\n    pass\n")
    result = run_cli("check", ".")
    assert result.code == 1
    assert finding_lines(result.stdout) == ["plain.py:1:7: GL000"]


def test_explain_gl000(project: Project) -> None:
    result = run_cli("explain", "GL000")
    assert result.code == 0
    assert "parse-error" in result.stdout


# -- statistics -----------------------------------------------------------------------------


def test_statistics_counts_per_code(project: Project) -> None:
    project.write("a.py", FIXABLE)
    project.write("b.py", UNFIXABLE + FIXABLE.replace("import torch\n", ""))
    project.write("c.py", "def f(:\n")
    result = run_cli("check", "--statistics", ".")
    assert result.code == 1
    rows = [line.split("\t") for line in result.stdout.splitlines()]
    assert [(row[0].strip(), row[1]) for row in rows] == [("3", "GL002"), ("1", "GL000")]
    assert rows[0][2].startswith("[*] unguarded-private-api")


# -- jobs and determinism -------------------------------------------------------------------


def test_output_is_identical_with_one_and_two_jobs(project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    sources = [FIXABLE, UNFIXABLE, CLEAN, "def f(:\n"]
    for index in range(40):
        project.write(f"pkg{index % 3}/mod_{index:02d}.py", sources[index % len(sources)])
    pools: list[int] = []
    real_pool = gradlint.runner._process_pool

    def counting_pool(jobs: int, *args: object):  # type: ignore[no-untyped-def]
        pools.append(jobs)
        return real_pool(jobs, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(gradlint.runner, "_process_pool", counting_pool)
    outputs = {}
    for jobs in ("1", "2"):
        for output_format in ("text", "json"):
            result = run_cli("check", "--no-cache", "-j", jobs, "--format", output_format, ".")
            assert result.code == 1
            outputs[jobs, output_format] = result.stdout
    assert pools == [2, 2], "the two-job runs must really use a process pool"
    assert outputs["1", "text"] == outputs["2", "text"]
    assert outputs["1", "json"] == outputs["2", "json"]
    lines = finding_lines(outputs["1", "text"])
    assert len(lines) == 30
    # Ordered by path, then line and column.
    keys = [(line.split(":")[0], int(line.split(":")[1]), int(line.split(":")[2])) for line in lines]
    assert keys == sorted(keys)


# -- cache ----------------------------------------------------------------------------------


def _count_checks(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    calls: list[str] = []
    real = gradlint.engine.Engine.check_text

    def counting(self, text, info):  # type: ignore[no-untyped-def]
        calls.append(info.path)
        return real(self, text, info)

    monkeypatch.setattr(gradlint.engine.Engine, "check_text", counting)
    return calls


def test_second_run_hits_the_cache_with_identical_output(project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    project.write("a.py", FIXABLE)
    project.write("b.py", UNFIXABLE)
    project.write("c.py", CLEAN)
    calls = _count_checks(monkeypatch)
    first = run_cli("check", "-j1", "--format", "json", ".")
    assert sorted(calls) == ["a.py", "b.py", "c.py"]
    assert (project.root / ".gradlint_cache").is_dir()
    assert (project.root / ".gradlint_cache" / ".gitignore").read_text().strip().endswith("*")
    calls.clear()
    second = run_cli("check", "-j1", "--format", "json", ".")
    assert calls == [], "every file should come from the cache"
    assert second == first
    # A changed file (and only it) is checked again.
    project.write("c.py", FIXABLE)
    third = run_cli("check", "-j1", "--format", "json", ".")
    assert calls == ["c.py"]
    third = run_cli("check", "-j1", ".")
    assert finding_lines(third.stdout) == ["a.py:3:9: GL002", "b.py:3:9: GL002", "c.py:3:9: GL002"]


def test_cache_key_covers_settings(project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    project.write("a.py", FIXABLE)
    calls = _count_checks(monkeypatch)
    assert run_cli("check", "-j1", ".").code == 1
    assert run_cli("check", "-j1", "--ignore", "GL002", ".").code == 0
    assert calls == ["a.py", "a.py"]


def test_no_cache_neither_reads_nor_writes(project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    project.write("a.py", FIXABLE)
    calls = _count_checks(monkeypatch)
    run_cli("check", "--no-cache", "-j1", ".")
    assert not (project.root / ".gradlint_cache").exists()
    run_cli("check", "-j1", ".")  # fills the cache
    run_cli("check", "--no-cache", "-j1", ".")
    assert calls == ["a.py", "a.py", "a.py"]


def test_corrupt_cache_entry_is_a_miss(project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    project.write("a.py", FIXABLE)
    first = run_cli("check", "-j1", ".")
    for entry in (project.root / ".gradlint_cache").rglob("*.json"):
        entry.write_text("{not json")
    assert run_cli("check", "-j1", ".") == first


def test_clean_removes_the_cache(project: Project) -> None:
    project.write("a.py", FIXABLE)
    run_cli("check", ".")
    assert (project.root / ".gradlint_cache").is_dir()
    result = run_cli("clean")
    assert result.code == 0
    assert "Removed" in result.stdout
    assert not (project.root / ".gradlint_cache").exists()
    # Nothing to remove is not an error.
    assert run_cli("clean").code == 0


def test_cache_dir_from_config(project: Project) -> None:
    project.config('cache-dir = "build-cache/gradlint"\n')
    project.write("a.py", FIXABLE)
    run_cli("check", ".")
    assert (project.root / "build-cache" / "gradlint").is_dir()
    assert not (project.root / ".gradlint_cache").exists()
    run_cli("clean")
    assert not (project.root / "build-cache" / "gradlint").exists()


# -- rules, explain, version ----------------------------------------------------------------


def test_rules_lists_every_rule() -> None:
    from gradlint.rules import all_rules

    result = run_cli("rules")
    assert result.code == 0
    assert result.stdout.startswith("GL000")
    for rule in all_rules():
        assert re.search(rf"^{rule.code}\s+{re.escape(rule.name)}", result.stdout, re.MULTILINE)
    assert re.search(r"^GL002\s+unguarded-private-api\s+\[\*\]", result.stdout, re.MULTILINE)


def test_rules_json() -> None:
    rows = json.loads(run_cli("rules", "--format", "json").stdout)
    by_code = {row["code"]: row for row in rows}
    assert by_code["GL002"]["fixable"] is True
    assert by_code["GL000"]["name"] == "parse-error"


def test_explain_gl002_has_doc_sections_and_examples() -> None:
    from gradlint.rules.gl002_unguarded_private_api import UnguardedPrivateApi

    result = run_cli("explain", "gl002")
    assert result.code == 0
    text = result.stdout
    assert text.startswith("# GL002 unguarded-private-api")
    for section in ("## What it does", "## Why is this bad", "## Example", "## Use instead", "## Fix safety", "## Options"):
        assert section in text
    assert "## Flagged" in text and "## Not flagged" in text
    for example in (*UnguardedPrivateApi.INVALID, *UnguardedPrivateApi.VALID):
        assert example.code.rstrip("\n") in text
    assert "Fixed:" in text


def test_explain_unknown_code_exits_2() -> None:
    result = run_cli("explain", "XXX")
    assert result.code == 2
    assert "unknown rule code `XXX`" in result.stderr


def test_version() -> None:
    result = run_cli("--version")
    assert result.code == 0
    assert result.stdout.strip() == f"gradlint, version {gradlint.__version__}"


def test_python_dash_m(tmp_path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "bad.py").write_text(FIXABLE)
    version = run_subprocess(["--version"], cwd=tmp_path)
    assert version.returncode == 0
    assert gradlint.__version__ in version.stdout
    check = run_subprocess(["check", "--no-cache", "bad.py"], cwd=tmp_path)
    assert check.returncode == 1
    assert "bad.py:3:9: GL002" in check.stdout


def test_console_script_is_installed() -> None:
    script = shutil.which("gradlint", path=str(Path(sys.prefix) / "bin"))
    if script is None:
        pytest.skip("the gradlint console script is not on this interpreter's bin path")
    result = subprocess.run([script, "--version"], capture_output=True, text=True, check=False)
    assert result.returncode == 0
    assert gradlint.__version__ in result.stdout
