"""ruff's command-line conventions: every output format, -o/-q/-s/-e/-n, --show-fixes,
--exit-non-zero-on-fix, --statistics as JSON, fix-safety-aware ``[*]``, rule pages."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import pytest

from cli_support import CLEAN, FIXABLE, ROOT, UNFIXABLE, Project, finding_lines, run_cli, run_subprocess

# GL001's fix is unsafe: `[*]` only with --unsafe-fixes. (math.hypot: self-contained, offered
# in a project that does not declare the runtime, as this one.)
UNSAFE = (
    "import math\n\n\ndef combined(host, seed):\n"
    "    a = host.grad.norm().item()\n"
    "    b = seed.grad.norm().item()\n"
    "    return math.sqrt(a * a + b * b)\n"
)


@pytest.fixture
def mixed(project: Project) -> Project:
    project.declare_runtime()
    project.write("a.py", FIXABLE)
    project.write("b.py", UNFIXABLE)
    return project


def test_default_format_is_full_with_a_source_frame(mixed: Project) -> None:
    env = {k: v for k, v in os.environ.items() if k != "GRADLINT_OUTPUT_FORMAT"}
    result = run_subprocess(["check", "--no-cache", "."], cwd=mixed.root, env=env)
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    head = lines.index(next(line for line in lines if line.startswith("GL002 [*]")))
    assert lines[head + 1] == " --> a.py:3:9"
    frame = "\n".join(lines[head + 2 : head + 8])
    assert "3 | norms = torch._foreach_norm(grads, 2.0)" in frame
    # The caret run covers the reported span (columns 9..27).
    caret = next(line for line in lines[head:] if "^" in line)
    assert caret.index("^") - caret.index("|") - 2 == 8 and caret.count("^") == 19
    assert "help: Replace with `gradlint_runtime.foreach_norm`" in result.stdout
    assert "Found 2 errors." in result.stdout


def test_concise_and_text_alias(mixed: Project) -> None:
    concise = run_cli("check", "--output-format", "concise", ".")
    alias = run_cli("check", "--format", "text", ".")
    assert concise == alias
    assert finding_lines(concise.stdout) == ["a.py:3:9: GL002", "b.py:3:9: GL002"]


def test_fix_marker_follows_fix_safety(project: Project) -> None:
    project.write("n.py", UNSAFE)
    plain = run_cli("check", "--output-format", "concise", ".")
    assert "GL001 " in plain.stdout and "[*]" not in plain.stdout
    assert "hidden fix" in plain.stdout
    unsafe = run_cli("check", "--output-format", "concise", "--unsafe-fixes", ".")
    assert "GL001 [*]" in unsafe.stdout
    assert "fixable with the `--fix --unsafe-fixes` option" in unsafe.stdout


def test_json_lines(mixed: Project) -> None:
    result = run_cli("check", "--output-format", "json-lines", ".")
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(Path(r["filename"]).name, r["code"]) for r in rows] == [("a.py", "GL002"), ("b.py", "GL002")]
    assert rows == json.loads(run_cli("check", "--output-format", "json", ".").stdout)


def test_json_url_points_at_the_rule_page(mixed: Project) -> None:
    row = json.loads(run_cli("check", "--output-format", "json", ".").stdout)[0]
    page = Path(row["url"].removeprefix("file://"))
    assert page == ROOT / "docs" / "rules" / "GL002.md"
    assert page.read_text().startswith("# GL002 unguarded-private-api")


def test_rule_pages_are_up_to_date() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "docs" / "generate_rule_pages.py"), "--check"],
        capture_output=True, text=True, check=False,
    )
    assert result.returncode == 0, (
        "docs/rules is stale; run `python docs/generate_rule_pages.py`:\n" + result.stdout
    )


def test_junit(mixed: Project) -> None:
    result = run_cli("check", "--output-format", "junit", ".")
    tree = ElementTree.fromstring(result.stdout)
    assert tree.attrib["failures"] == "2"
    cases = tree.findall("./testsuite/testcase")
    assert [(c.attrib["name"], c.attrib["line"]) for c in cases] == [("org.gradlint.GL002", "3")] * 2
    assert cases[0].find("failure").attrib["message"]  # type: ignore[union-attr]


def test_gitlab(mixed: Project) -> None:
    rows = json.loads(run_cli("check", "--output-format", "gitlab", ".").stdout)
    assert [r["location"]["path"] for r in rows] == ["a.py", "b.py"]
    assert rows[0]["location"]["positions"]["begin"] == {"line": 3, "column": 9}
    assert rows[0]["severity"] == "major"
    assert len({r["fingerprint"] for r in rows}) == 2


def test_pylint(mixed: Project) -> None:
    lines = run_cli("check", "--output-format", "pylint", ".").stdout.splitlines()
    assert [line.split(" ")[0:2] for line in lines] == [["a.py:3:", "[GL002]"], ["b.py:3:", "[GL002]"]]


def test_rdjson(mixed: Project) -> None:
    document = json.loads(run_cli("check", "--output-format", "rdjson", ".").stdout)
    first = document["diagnostics"][0]
    assert first["code"]["value"] == "GL002"
    assert first["location"]["range"]["start"] == {"line": 3, "column": 9}
    assert first["suggestions"], "the safe fix's edits become suggestions"


def test_output_file(mixed: Project) -> None:
    result = run_cli("check", "--output-format", "json", "-o", "reports/gl.json", ".")
    assert result.code == 1
    assert result.stdout == ""
    assert len(json.loads(mixed.read("reports/gl.json"))) == 2


def test_quiet_silent_exit_zero_no_cache(mixed: Project) -> None:
    assert run_cli("check", "-n", ".").code == 1
    assert not (mixed.root / ".gradlint_cache").exists()
    quiet = run_cli("check", "-q", ".")
    assert quiet.code == 1 and "Found" not in quiet.stdout and finding_lines(quiet.stdout)
    silent = run_cli("check", "-s", ".")
    assert silent.code == 1 and silent.stdout == ""
    assert run_cli("check", "-e", ".").code == 0


def test_statistics_json(mixed: Project) -> None:
    rows = json.loads(run_cli("check", "--statistics", "--output-format", "json", ".").stdout)
    assert rows == [{"code": "GL002", "name": "unguarded-private-api", "count": 2, "fixable": True, "fixable_count": 1}]


def test_show_fixes_and_exit_non_zero_on_fix(project: Project) -> None:
    project.write("a.py", FIXABLE)
    project.write("c.py", CLEAN)
    result = run_cli("check", "--fix", "--show-fixes", "--exit-non-zero-on-fix", ".")
    assert result.code == 1, "a fix was applied"
    assert "Fixed 1 error:\n- a.py:\n    1 \u00d7 GL002 (unguarded-private-api)" in result.stdout
    # Nothing left to fix: exit 0 even with the flag.
    assert run_cli("check", "--fix", "--exit-non-zero-on-fix", ".").code == 0


def test_extend_select_re_enables_a_code_the_config_ignores(project: Project) -> None:
    project.config('ignore = ["GL002"]\n')
    project.write("a.py", FIXABLE)
    assert run_cli("check", ".").code == 0
    assert run_cli("check", "--extend-select", "GL002", ".").code == 1
    assert run_cli("check", "--extend-select", "GL002", "--ignore", "GL002", ".").code == 0


def test_show_settings_and_show_files(project: Project) -> None:
    project.write("pyproject.toml", '[project]\nrequires-python = ">=3.10"\n[tool.gradlint]\nignore = ["GL004"]\n')
    project.write("src/a.py", FIXABLE)
    project.write("src/b.txt", "x")
    settings = run_cli("check", "--show-settings", "src")
    assert settings.code == 0
    assert f"Settings path: {project.root / 'pyproject.toml'}" in settings.stdout
    assert "ignore = ('GL004',)" in settings.stdout
    assert "target-version = 'py310'" in settings.stdout
    assert "runtime-available = False" in settings.stdout
    files = run_cli("check", "--show-files", ".")
    assert files.stdout.splitlines() == [str(project.root / "src" / "a.py")]


def test_force_exclude_applies_to_explicit_paths(project: Project) -> None:
    project.config('extend-exclude = ["generated/"]\n')
    project.write("generated/out.py", FIXABLE)
    project.write(".gitignore", "scratch.py\n")
    project.write("scratch.py", FIXABLE)
    (project.root / ".git").mkdir()
    assert run_cli("check", "generated/out.py", "scratch.py").code == 1
    result = run_cli("check", "--force-exclude", "generated/out.py", "scratch.py")
    assert result.code == 0, result.stdout
    assert run_cli("check", "--force-exclude", "--fix", "generated/out.py").code == 0
    assert project.read("generated/out.py") == FIXABLE, "an excluded file is never rewritten"
    stdin = run_cli("check", "--force-exclude", "-", "--stdin-filename", "generated/x.py", input=FIXABLE)
    assert stdin.code == 0
