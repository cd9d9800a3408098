"""``[tool.gradlint]``: discovery, every error names its key (exit 2), CLI flags override."""

from __future__ import annotations

import pytest

from cli_support import CLEAN, FIXABLE, UNFIXABLE, Project, finding_lines, run_cli


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ('selct = ["GL002"]\n', "unknown key `selct`"),
        ("no-such-option = 1\n", "unknown key `no-such-option`"),
        ('select = ["GL999"]\n', "`select`: unknown rule code or prefix `GL999`"),
        ('ignore = ["XX"]\n', "`ignore`: unknown rule code or prefix `XX`"),
        ('extend-select = ["GL9"]\n', "`extend-select`: unknown rule code or prefix `GL9`"),
        ('per-file-ignores = { "tests/*" = ["GL777"] }\n', "GL777"),
        ('select = "GL002"\n', "`select` must be a list of strings"),
        ("ignore = [2]\n", "`ignore` must be a list of strings"),
        ('per-file-ignores = ["GL002"]\n', "`per-file-ignores` must be a table"),
        ('per-file-ignores = { "a.py" = "GL002" }\n', "`per-file-ignores`.`a.py` must be a list of codes"),
        ('exclude = "build"\n', "`exclude` must be a list of strings"),
        ("extend-exclude = [1]\n", "`extend-exclude` must be a list of strings"),
        ('respect-gitignore = "yes"\n', "`respect-gitignore` must be true or false"),
        ("max-file-size = -5\n", "`max-file-size` must be a positive number of bytes"),
        ("max-file-size = true\n", "`max-file-size` must be a positive number of bytes"),
        ("cache-dir = 3\n", "`cache-dir` must be a string"),
        ('allowed-private-apis = "torch._C"\n', "`allowed-private-apis`: expected list"),
        ("allowed-private-apis = [1]\n", "`allowed-private-apis`: expected a list of str"),
        ("runtime-module = 5\n", "`runtime-module`: expected str"),
    ],
)
def test_config_errors_exit_2_and_name_the_key(project: Project, body: str, named: str) -> None:
    project.config(body)
    project.write("a.py", FIXABLE)
    result = run_cli("check", ".")
    assert result.code == 2, result.stdout
    assert named in result.stderr
    assert "pyproject.toml" in result.stderr
    assert result.stdout == ""


def test_invalid_toml_exits_2(project: Project) -> None:
    project.write("pyproject.toml", "[tool.gradlint\nselect = [\n")
    project.write("a.py", CLEAN)
    result = run_cli("check", ".")
    assert result.code == 2
    assert "cannot read" in result.stderr


def test_undecodable_config_exits_2(project: Project) -> None:
    project.write("pyproject.toml", b"[tool.gradlint]\nselect = ['\xff']\n")
    project.write("a.py", CLEAN)
    result = run_cli("check", ".")
    assert result.code == 2
    assert "cannot read" in result.stderr


def test_gradlint_table_must_be_a_table(project: Project) -> None:
    project.write("pyproject.toml", "[tool]\ngradlint = 1\n")
    project.write("a.py", CLEAN)
    result = run_cli("check", ".")
    assert result.code == 2
    assert "[tool.gradlint] must be a table" in result.stderr


def test_explicit_config_that_does_not_exist_exits_2(project: Project) -> None:
    project.write("a.py", CLEAN)
    result = run_cli("check", "--config", "missing/pyproject.toml", ".")
    assert result.code == 2
    assert "config file not found: missing/pyproject.toml" in result.stderr


def test_explicit_config_is_used(project: Project) -> None:
    project.write("a.py", FIXABLE)
    project.write("configs/pyproject.toml", '[tool.gradlint]\nignore = ["GL002"]\n')
    assert run_cli("check", ".").code == 1
    assert run_cli("check", "--config", "configs/pyproject.toml", ".").code == 0


def test_clean_reports_config_errors(project: Project) -> None:
    project.config("bogus = 1\n")
    result = run_cli("clean")
    assert result.code == 2
    assert "unknown key `bogus`" in result.stderr


def test_config_found_upward_from_the_checked_path(project: Project) -> None:
    project.config('ignore = ["GL002"]\n')
    project.write("src/pkg/a.py", FIXABLE)
    (project.root / "src").joinpath("pkg").mkdir(exist_ok=True)
    assert run_cli("check", "src/pkg").code == 0
    assert run_cli("check", "src/pkg/a.py").code == 0


def test_pyproject_without_gradlint_table_is_skipped(project: Project) -> None:
    project.config('ignore = ["GL002"]\n')
    # The nearer pyproject.toml has no [tool.gradlint]: the outer one applies.
    project.write("sub/pyproject.toml", '[project]\nname = "sub"\n')
    project.write("sub/a.py", FIXABLE)
    assert run_cli("check", "sub").code == 0


def test_nearest_config_wins(project: Project) -> None:
    project.config('ignore = ["GL002"]\n')
    project.write("sub/pyproject.toml", "[tool.gradlint]\n")
    project.write("sub/a.py", FIXABLE)
    assert run_cli("check", "sub").code == 1


def test_command_line_select_overrides_config(project: Project) -> None:
    project.config('ignore = ["GL002"]\n')
    project.write("a.py", FIXABLE)
    assert run_cli("check", ".").code == 0
    assert run_cli("check", "--select", "GL002", ".").code == 1


def test_command_line_ignore_adds_to_config(project: Project) -> None:
    project.config('select = ["GL002"]\n')
    project.write("a.py", FIXABLE)
    assert run_cli("check", ".").code == 1
    assert run_cli("check", "--ignore", "GL002", ".").code == 0


def test_config_select_by_prefix(project: Project) -> None:
    project.config('select = ["GL00"]\nignore = ["GL0"]\nextend-select = []\n')
    project.write("a.py", FIXABLE)
    assert run_cli("check", ".").code == 0


def test_per_file_ignores(project: Project) -> None:
    project.config(
        "[tool.gradlint.per-file-ignores]\n"
        '"legacy/**/*.py" = ["GL002"]\n'
        '"scripts/run_*.py" = ["GL"]\n'
    )
    project.write("legacy/deep/old.py", FIXABLE)
    project.write("scripts/run_train.py", FIXABLE)
    project.write("scripts/other.py", FIXABLE)
    project.write("src/new.py", UNFIXABLE)
    result = run_cli("check", ".")
    assert result.code == 1
    assert finding_lines(result.stdout) == ["scripts/other.py:3:9: GL002", "src/new.py:3:9: GL002"]


def test_per_file_ignores_are_relative_to_the_config(project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    project.config('per-file-ignores = { "legacy/*.py" = ["GL002"] }\n')
    project.write("legacy/old.py", FIXABLE)
    monkeypatch.chdir(project.root / "legacy")
    assert run_cli("check", ".").code == 0


def test_rule_options_reach_the_rule(project: Project) -> None:
    project.config('allowed-private-apis = ["torch._C.*"]\nruntime-module = "myproj.gradlint_rt"\n')
    project.write("a.py", UNFIXABLE)
    project.write("b.py", FIXABLE)
    result = run_cli("check", ".")
    assert finding_lines(result.stdout) == ["b.py:3:9: GL002"]
    assert "`myproj.gradlint_rt.foreach_norm`" in result.stdout
    fixed = run_cli("check", "--fix", ".")
    assert fixed.code == 0
    assert "import myproj.gradlint_rt" in project.read("b.py")
    assert "myproj.gradlint_rt.foreach_norm(grads, 2.0)" in project.read("b.py")


def test_max_file_size_skips_with_a_warning(project: Project) -> None:
    project.config("max-file-size = 100\n")
    project.write("big.py", FIXABLE + "#" * 200 + "\n")
    project.write("small.py", UNFIXABLE)
    result = run_cli("check", ".")
    assert "big.py: skipped" in result.stderr
    assert finding_lines(result.stdout) == ["small.py:3:9: GL002"]
