"""The pre-commit hooks, run by the real ``pre-commit`` against a throwaway repository."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from cli_support import FIXABLE, FIXABLE_FIXED_TORCH_ONLY, ROOT, UNFIXABLE

yaml = pytest.importorskip("yaml")

HOOKS_FILE = ROOT / ".pre-commit-hooks.yaml"
# What ``pip install .`` of the hooks repository needs: the package and its metadata.
PACKAGE_FILES = ("pyproject.toml", "README.md", "LICENSE", ".pre-commit-hooks.yaml")
NO_INDEX_SIGNS = ("No matching distribution found", "Could not find a version", "Network is unreachable")


def test_hooks_manifest() -> None:
    hooks = {hook["id"]: hook for hook in yaml.safe_load(HOOKS_FILE.read_text(encoding="utf-8"))}
    assert set(hooks) == {"gradlint", "gradlint-fix"}
    assert hooks["gradlint"]["entry"] == "gradlint check --force-exclude"
    assert hooks["gradlint-fix"]["entry"] == "gradlint check --fix --force-exclude"
    for hook in hooks.values():
        assert hook["language"] == "python"
        assert hook["types_or"] == ["python", "pyi", "jupyter"]
        # One process sees every staged file (GL004 compares across files).
        assert hook["require_serial"] is True
        assert hook["name"]


def test_manifest_is_valid_for_pre_commit() -> None:
    pytest.importorskip("pre_commit")
    from pre_commit.clientlib import load_manifest

    assert [hook["id"] for hook in load_manifest(str(HOOKS_FILE))] == ["gradlint", "gradlint-fix"]


def _git(*args: str, cwd: Path) -> None:
    subprocess.run(
        ["git", "-c", "user.name=gradlint tests", "-c", "user.email=tests@example.invalid",
         "-c", "commit.gpgsign=false", "-c", "init.defaultBranch=main", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
    )


def _hooks_repository(directory: Path) -> Path:
    """A committed copy of what pre-commit installs, whatever the state of the work tree."""
    directory.mkdir()
    for name in PACKAGE_FILES:
        if (ROOT / name).is_file():
            shutil.copy2(ROOT / name, directory / name)
    shutil.copytree(ROOT / "gradlint", directory / "gradlint", ignore=shutil.ignore_patterns("__pycache__"))
    _git("init", "-q", cwd=directory)
    _git("add", "-A", cwd=directory)
    _git("commit", "-q", "-m", "hooks", cwd=directory)
    return directory


def _interpreter_imports_ssl(env: dict[str, str]) -> bool:
    """pre-commit builds a hook's Python environment with virtualenv, which imports ``ssl``.

    Seen on a CI machine: the loader picked up the system's libpython, whose symbols the
    interpreter's own ``_ssl`` extension does not find, so no environment can be built there.
    """
    probe = subprocess.run([sys.executable, "-c", "import ssl"], env=env, capture_output=True, check=False)
    return probe.returncode == 0


def _local_hooks_block() -> str:
    """Our manifest's hooks as a ``repo: local`` block run by the interpreter under test.

    This drives the manifest's entries, file types and serial setting through pre-commit
    without building an environment (what a machine without a working ``ssl`` cannot do).
    """
    scripts = Path(sys.executable).parent
    lines = ["  - repo: local", "    hooks:"]
    manifest = {hook["id"]: hook for hook in yaml.safe_load(HOOKS_FILE.read_text(encoding="utf-8"))}
    uses = (("gradlint", "gradlint-staged", ""), ("gradlint-fix", "gradlint-fix", ""),
            ("gradlint", "gradlint-project", '        pass_filenames: false\n        args: ["."]\n'))
    for hook_id, alias, extra in uses:
        hook = manifest[hook_id]
        lines += [
            f"      - id: {alias}",
            f"        name: {hook['name']}",
            f"        entry: {shlex.quote(str(scripts / hook['entry'].split()[0]))} {hook['entry'].split(maxsplit=1)[1]}",
            "        language: system",
            f"        types_or: [{', '.join(hook['types_or'])}]",
            f"        require_serial: {str(hook['require_serial']).lower()}",
        ]
        if extra:
            lines.append(extra.rstrip("\n"))
    return "\n".join(lines) + "\n"


def _installed_hooks_block(hooks: Path) -> str:
    sha = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=hooks, capture_output=True, text=True, check=True
    ).stdout.strip()
    return (
        f"  - repo: {hooks}\n"
        f"    rev: {sha}\n"
        "    hooks:\n"
        "      - id: gradlint\n"
        "        alias: gradlint-staged\n"
        "      - id: gradlint-fix\n"
        "      - id: gradlint\n"
        "        alias: gradlint-project\n"
        "        pass_filenames: false\n"
        '        args: ["."]\n'
    )


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
@pytest.mark.parametrize("source", ["installed", "local"])
def test_pre_commit_run(tmp_path: Path, source: str) -> None:
    """The README's setup: a `.pre-commit-config.yaml` with `rev: <commit sha>`, both hooks and
    the `pass_filenames: false` variant for whole-project GL004.

    ``installed`` is what a user gets (pre-commit installs the hooks repository at a commit);
    ``local`` runs the same manifest entries with the interpreter under test, so the hooks'
    behaviour is checked even where pre-commit cannot build an environment.
    """
    pytest.importorskip("pre_commit")
    env = {
        **os.environ,
        "PRE_COMMIT_HOME": str(tmp_path / "pre-commit-home"),
        "PRE_COMMIT_COLOR": "never",
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
    }
    env.pop("VIRTUAL_ENV", None)
    # What a user sees: the default (full) output format.
    env.pop("GRADLINT_OUTPUT_FORMAT", None)
    if source == "installed":
        if not _interpreter_imports_ssl(env):
            pytest.skip("this interpreter cannot import ssl, so virtualenv cannot build the hook's environment")
        repos_block = _installed_hooks_block(_hooks_repository(tmp_path.joinpath("hooks").resolve()))
    else:
        repos_block = _local_hooks_block()
    target = tmp_path / "target"
    target.mkdir()
    (target / "fixable.py").write_text(FIXABLE)
    (target / "unfixable.py").write_text(UNFIXABLE)
    (target / "notes.txt").write_text("torch._foreach_norm is not Python\n")
    # Excluded by the project's config: pre-commit names it, --force-exclude keeps it out.
    (target / "pyproject.toml").write_text('[tool.gradlint]\nextend-exclude = ["generated/"]\n')
    (target / "generated").mkdir()
    (target / "generated" / "out.py").write_text(FIXABLE)
    # The same tuning constant in two modules of one package: seen together only when one
    # process gets both (GL004 compares within a package; scripts share nothing).
    (target / "opt").mkdir()
    (target / "opt" / "__init__.py").write_text("")
    (target / "opt" / "opt_a.py").write_text("def a(x, clip_coef=0.2):\n    return x * clip_coef\n")
    (target / "opt" / "opt_b.py").write_text("def b(x, clip_coef=0.2):\n    return x * clip_coef\n")
    (target / ".pre-commit-config.yaml").write_text("repos:\n" + repos_block)
    _git("init", "-q", cwd=target)
    _git("add", "-A", cwd=target)
    _git("commit", "-q", "-m", "target", cwd=target)

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "pre_commit", "run", *args],
            cwd=target,
            env=env,
            capture_output=True,
            text=True,
            check=False,
            timeout=300,
        )

    # Every hook in one run (one environment build): the check fails, the fix rewrites.
    result = run("--all-files", "--verbose")
    output = result.stdout + result.stderr
    if result.returncode != 0 and any(sign in output for sign in NO_INDEX_SIGNS):
        pytest.skip("pre-commit could not install the hook: no package index reachable")
    assert result.returncode == 1, output
    assert " --> fixable.py:3:9" in output
    assert " --> unfixable.py:3:9" in output
    assert " --> opt/opt_a.py:1:20" in output and " --> opt/opt_b.py:1:20" in output
    assert "notes.txt" not in output
    assert "generated/out.py" not in output
    assert "files were modified by this hook" in output
    assert (target / "fixable.py").read_text() == FIXABLE_FIXED_TORCH_ONLY  # the project does not declare the runtime
    assert (target / "unfixable.py").read_text() == UNFIXABLE
    assert (target / "generated" / "out.py").read_text() == FIXABLE

    # One staged file: the per-file hook sees it alone (no duplicate), the project-wide
    # variant compares it with the rest of the project.
    _git("add", "-A", cwd=target)
    _git("commit", "-q", "-m", "fixed", cwd=target)
    with (target / "opt" / "opt_a.py").open("a") as stream:
        stream.write("# touched\n")
    _git("add", "opt/opt_a.py", cwd=target)
    staged = run("gradlint-staged")
    assert staged.returncode == 0, staged.stdout + staged.stderr
    project_wide = run("gradlint-project")
    assert project_wide.returncode == 1, project_wide.stdout
    assert " --> opt/opt_a.py:1:20" in project_wide.stdout and " --> opt/opt_b.py:1:20" in project_wide.stdout
    _git("commit", "-q", "-m", "touched", cwd=target)

    # A commit with no Python file skips the hooks: "no files" is not an error.
    for name in ("unfixable.py", "fixable.py", "opt/opt_a.py", "opt/opt_b.py", "opt/__init__.py", "generated/out.py"):
        (target / name).unlink()
    _git("add", "-A", cwd=target)
    _git("commit", "-q", "-m", "only notes", cwd=target)
    quiet = run("gradlint-staged", "--all-files")
    assert quiet.returncode == 0, quiet.stdout + quiet.stderr
    assert "(no files to check)" in quiet.stdout
