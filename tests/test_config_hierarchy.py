"""Config resolution as ruff does it: the nearest config governs each file, gradlint.toml,
``extend``, ``--config KEY=VALUE``; discovery reads .git/info/exclude and .ignore and warns
about an explicitly named directory that yields nothing."""

from __future__ import annotations

from cli_support import CLEAN, FIXABLE, Project, finding_lines, run_cli


def test_each_file_is_governed_by_its_nearest_config(project: Project) -> None:
    project.config('ignore = ["GL002"]\n')
    project.write("top.py", FIXABLE)
    project.write("sub/pyproject.toml", "[tool.gradlint]\n")
    project.write("sub/a.py", FIXABLE)
    # The same verdicts whatever else is on the command line.
    for args in ([".", ], ["top.py", "sub/a.py"], ["sub/a.py"], ["sub"]):
        assert finding_lines(run_cli("check", *args).stdout) == ["sub/a.py:3:9: GL002"], args
    assert run_cli("check", "top.py").code == 0


def test_nested_config_excludes_apply_to_its_tree(project: Project) -> None:
    project.config("")
    project.write("sub/gradlint.toml", 'extend-exclude = ["gen"]\n')
    project.write("sub/gen/x.py", FIXABLE)
    project.write("sub/y.py", FIXABLE)
    assert finding_lines(run_cli("check", ".").stdout) == ["sub/y.py:3:9: GL002"]


def test_gradlint_toml_wins_over_pyproject_in_the_same_directory(project: Project) -> None:
    project.config("")
    project.write("gradlint.toml", 'ignore = ["GL002"]\n')
    project.write("a.py", FIXABLE)
    assert run_cli("check", ".").code == 0
    project.write(".gradlint.toml", "select = [\"GL002\"]\n")
    assert run_cli("check", ".").code == 1


def test_extend_inherits_and_overrides(project: Project) -> None:
    project.write("base/gradlint.toml", 'ignore = ["GL002"]\nmax-file-size = 100000\n')
    project.write("pkg/pyproject.toml", '[tool.gradlint]\nextend = "../base/gradlint.toml"\n')
    project.write("pkg/a.py", FIXABLE)
    assert run_cli("check", "pkg").code == 0
    settings = run_cli("check", "--show-settings", "pkg").stdout
    assert "max-file-size = 100000" in settings
    project.write("pkg/pyproject.toml", '[tool.gradlint]\nextend = "../base/gradlint.toml"\nignore = []\n')
    assert run_cli("check", "pkg").code == 1


def test_extend_errors(project: Project) -> None:
    project.write("a/gradlint.toml", 'extend = "../b/gradlint.toml"\n')
    project.write("b/gradlint.toml", 'extend = "../a/gradlint.toml"\n')
    project.write("a/x.py", CLEAN)
    result = run_cli("check", "a")
    assert result.code == 2 and "cycle" in result.stderr
    project.write("a/gradlint.toml", 'extend = "missing.toml"\n')
    result = run_cli("check", "a")
    assert result.code == 2 and "file not found: missing.toml" in result.stderr


def test_config_key_value_overrides(project: Project) -> None:
    project.config('ignore = ["GL002"]\n')
    project.write("a.py", FIXABLE)
    assert run_cli("check", "--config", "ignore = []", ".").code == 1
    assert run_cli("check", "--config", "select = ['GL004']", ".").code == 0
    bad = run_cli("check", "--config", "selct = []", ".")
    assert bad.code == 2 and "unknown key `selct`" in bad.stderr
    garbage = run_cli("check", "--config", "not toml =", ".")
    assert garbage.code == 2 and "KEY = VALUE" in garbage.stderr


def test_explicit_config_without_our_table_is_an_error(project: Project) -> None:
    project.write("other/pyproject.toml", '[project]\nname = "x"\n')
    project.write("a.py", CLEAN)
    result = run_cli("check", "--config", "other/pyproject.toml", ".")
    assert result.code == 2
    assert "no [tool.gradlint] table" in result.stderr


def test_git_info_exclude_and_dot_ignore_are_respected(project: Project) -> None:
    project.write(".git/info/exclude", "local_*.py\n")
    project.write(".ignore", "vendored/\n")
    project.write("local_notes.py", FIXABLE)
    project.write("vendored/lib.py", FIXABLE)
    project.write("kept.py", FIXABLE)
    assert finding_lines(run_cli("check", ".").stdout) == ["kept.py:3:9: GL002"]


def test_explicit_directory_that_yields_no_files_warns(project: Project) -> None:
    project.write(".git/HEAD", "ref: refs/heads/main\n")
    project.write(".gitignore", "build/\n")
    project.write("build/gen.py", FIXABLE)
    result = run_cli("check", "build")
    assert result.code == 0
    assert "warning: no Python files found under `build`" in result.stderr
    project.write("empty/notes.txt", "")
    assert "no Python files found under `empty`" in run_cli("check", "empty").stderr
