"""The linter never imports torch: it must run where torch is not installed."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from importlib import metadata

from cli_support import ROOT

_TORCH_FREE_CHECK = """
import sys
from gradlint.cli import main
try:
    main(["check", "fixtures/", "--no-cache", "-j1", "--format", "json"])
except SystemExit as exit:
    code = exit.code
loaded = sorted(name for name in sys.modules if name == "torch" or name.startswith("torch."))
print("EXIT", code)
print("TORCH", loaded)
"""


def _python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=False
    )


def test_importing_the_command_line_does_not_import_torch() -> None:
    result = _python(
        "import gradlint.cli, gradlint.reporters, sys\n"
        "from gradlint.rules import all_rules\n"
        "all_rules()\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
        "assert 'gradlint_runtime' not in sys.modules\n"
        "print('ok')\n"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


def test_checking_the_fixtures_does_not_import_torch() -> None:
    result = _python(_TORCH_FREE_CHECK)
    assert result.returncode == 0, result.stderr
    assert "EXIT 1" in result.stdout
    assert "TORCH []" in result.stdout, result.stdout[-2000:]


def test_importtime_lists_no_torch_module() -> None:
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "gradlint", "check", "--no-cache", "-j1", "fixtures/gl002"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1, result.stderr[-2000:]
    imported = [line.rsplit("|", 1)[-1].strip() for line in result.stderr.splitlines() if line.startswith("import time:")]
    assert "gradlint.cli" in imported
    assert not [name for name in imported if re.fullmatch(r"torch(\..*)?", name)]


def test_distribution_does_not_depend_on_torch() -> None:
    """``pip install gradlint`` pulls no torch: not directly, not through a dependency."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert not [dep for dep in project["dependencies"] if re.match(r"(torch|gradlint[-_]runtime)\b", dep)]
    seen: set[str] = set()
    pending = ["gradlint"]
    while pending:
        name = pending.pop()
        if name in seen:
            continue
        seen.add(name)
        try:
            requirements = metadata.requires(name) or []
        except metadata.PackageNotFoundError:
            continue
        for requirement in requirements:
            if "extra ==" in requirement:
                continue
            dependency = re.split(r"[\s;<>=!~\[(]", requirement, maxsplit=1)[0].lower().replace("_", "-")
            pending.append(dependency)
    assert "gradlint" in seen and "libcst" in seen
    assert "torch" not in seen, sorted(seen)
