"""Which files get checked: excludes, .gitignore, symlinks, explicit paths."""

from __future__ import annotations

import os

import pytest

from cli_support import FIXABLE, Project, finding_lines, run_cli


def checked(result_stdout: str) -> list[str]:
    return sorted({line.split(":")[0] for line in finding_lines(result_stdout)})


def test_only_python_files_are_checked(project: Project) -> None:
    project.write("a.py", FIXABLE)
    project.write("stubs/b.pyi", FIXABLE)
    project.write("notes.txt", FIXABLE)
    project.write("script", FIXABLE)
    project.write("a.pyc", b"\x00\x01")
    project.write("data.py.bak", FIXABLE)
    result = run_cli("check", "--no-cache", ".")
    assert checked(result.stdout) == ["a.py", "stubs/b.pyi"]


def test_default_excludes(project: Project) -> None:
    for directory in (".venv", "venv", "build", "dist", "__pycache__", ".git", ".tox", "node_modules", "site-packages"):
        project.write(f"{directory}/mod.py", FIXABLE)
    project.write("src/ok.py", FIXABLE)
    assert checked(run_cli("check", "--no-cache", ".").stdout) == ["src/ok.py"]


def test_exclude_replaces_the_defaults(project: Project) -> None:
    project.config('exclude = ["generated"]\n')
    project.write("generated/a.py", FIXABLE)
    project.write("build/b.py", FIXABLE)
    assert checked(run_cli("check", "--no-cache", ".").stdout) == ["build/b.py"]


def test_extend_exclude_keeps_the_defaults(project: Project) -> None:
    project.config('extend-exclude = ["generated", "src/legacy_*.py", "/top_only.py"]\n')
    project.write("generated/a.py", FIXABLE)
    project.write("build/b.py", FIXABLE)
    project.write("src/legacy_train.py", FIXABLE)
    project.write("src/train.py", FIXABLE)
    project.write("top_only.py", FIXABLE)
    project.write("src/top_only.py", FIXABLE)
    assert checked(run_cli("check", "--no-cache", ".").stdout) == ["src/top_only.py", "src/train.py"]


def test_excludes_are_relative_to_the_project_root_when_checking_a_subdirectory(project: Project) -> None:
    project.config('extend-exclude = ["src/gen"]\n')
    project.write("src/gen/a.py", FIXABLE)
    project.write("src/keep/b.py", FIXABLE)
    assert checked(run_cli("check", "--no-cache", "src").stdout) == ["src/keep/b.py"]


def test_gitignore_is_respected(project: Project) -> None:
    (project.root / ".git").mkdir()
    project.write(".gitignore", "generated/\n*_pb2.py\n!keep_pb2.py\n")
    project.write("generated/a.py", FIXABLE)
    project.write("proto/model_pb2.py", FIXABLE)
    project.write("proto/keep_pb2.py", FIXABLE)
    project.write("pkg/.gitignore", "scratch.py\n")
    project.write("pkg/scratch.py", FIXABLE)
    project.write("pkg/real.py", FIXABLE)
    project.write("other/scratch.py", FIXABLE)
    expected = ["other/scratch.py", "pkg/real.py", "proto/keep_pb2.py"]
    assert checked(run_cli("check", "--no-cache", ".").stdout) == expected
    # The repository's outer .gitignore applies when only a subdirectory is checked.
    assert checked(run_cli("check", "--no-cache", "proto").stdout) == ["proto/keep_pb2.py"]


def test_respect_gitignore_can_be_switched_off(project: Project) -> None:
    (project.root / ".git").mkdir()
    project.config("respect-gitignore = false\n")
    project.write(".gitignore", "generated/\n")
    project.write("generated/a.py", FIXABLE)
    assert checked(run_cli("check", "--no-cache", ".").stdout) == ["generated/a.py"]


def test_explicit_file_is_checked_even_if_ignored_or_excluded(project: Project) -> None:
    (project.root / ".git").mkdir()
    project.write(".gitignore", "generated/\n")
    project.config('extend-exclude = ["vendored"]\n')
    project.write("generated/a.py", FIXABLE)
    project.write("vendored/b.py", FIXABLE)
    assert checked(run_cli("check", "--no-cache", ".").stdout) == []
    result = run_cli("check", "--no-cache", "generated/a.py", "vendored/b.py")
    assert checked(result.stdout) == ["generated/a.py", "vendored/b.py"]


def test_file_named_twice_is_checked_once(project: Project) -> None:
    project.write("a.py", FIXABLE)
    result = run_cli("check", "--no-cache", "a.py", "./a.py", ".")
    assert finding_lines(result.stdout) == ["a.py:3:9: GL002"]


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="needs symlinks")
def test_symlink_loop_is_survived(project: Project) -> None:
    project.write("pkg/a.py", FIXABLE)
    project.write("pkg/sub/b.py", FIXABLE)
    os.symlink("..", project.root / "pkg" / "sub" / "up")  # pkg/sub/up -> pkg
    os.symlink("loop", project.root / "pkg" / "loop")  # a link to itself
    result = run_cli("check", "--no-cache", ".")
    assert result.code == 1
    assert finding_lines(result.stdout) == ["pkg/a.py:3:9: GL002", "pkg/sub/b.py:3:9: GL002"]


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="needs symlinks")
def test_dangling_symlink_is_skipped(project: Project) -> None:
    project.write("a.py", FIXABLE)
    os.symlink("missing.py", project.root / "dangling.py")
    result = run_cli("check", "--no-cache", ".")
    assert result.code == 1
    assert finding_lines(result.stdout) == ["a.py:3:9: GL002"]


def test_empty_directory_is_clean(project: Project) -> None:
    (project.root / "empty").mkdir()
    result = run_cli("check", "empty")
    assert result.code == 0
    assert "All checks passed!" in result.stdout


def test_paths_outside_the_working_directory_are_shown_absolute(project: Project, tmp_path) -> None:  # type: ignore[no-untyped-def]
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "x.py").write_text(FIXABLE)
    result = run_cli("check", "--no-cache", str(outside))
    assert finding_lines(result.stdout) == [f"{outside / 'x.py'}:3:9: GL002"]


_PATTERNS = [
    ("build", "dist"),
    ("build", "*.tmp", "docs/"),
    ("build", "!build"),
    ("!keep.py", "*.py"),
    (".venv", "__pycache__", "site-packages", "a/b"),
    ("x y", "..", ".", "#c", "[ab]", "\\#x"),
]
_PATHS = [
    "build", "build/", "build/x.py", "a/build/x.py", "builder/x.py", "a/builder.py", "dist/", "a/b",
    "a/b/c.py", "x/a/b", "docs/", "docs/x.py", "q.tmp", "a/q.tmp", "keep.py", "x y", "#c", "a",
    ".venv/lib/x.py", "site-packages/torch/x.py", "b.py",
]


@pytest.mark.parametrize("patterns", _PATTERNS)
def test_excludes_match_what_pathspec_matches(patterns: tuple[str, ...]) -> None:
    import pathspec

    from gradlint.discovery import Excludes

    ours = Excludes(patterns)
    theirs = pathspec.GitIgnoreSpec.from_lines(patterns)
    assert [ours.match_file(path) for path in _PATHS] == [theirs.match_file(path) for path in _PATHS]


def test_default_excludes_do_not_load_pathspec(project: Project) -> None:
    """Without an ignore file or a pattern that needs it, a run never imports pathspec."""
    import subprocess
    import sys

    project.write("pkg/a.py", "x = 1\n")
    project.write("pkg/build/b.py", "x = 1\n")
    script = (
        "import sys\n"
        "from gradlint.config import Settings\n"
        "from gradlint.discovery import discover\n"
        "print(discover(['pkg'], Settings(root='.')), 'pathspec' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", script], cwd=project.root, capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["['pkg/a.py']", "False"]
