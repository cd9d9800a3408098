#!/usr/bin/env python3
"""Fix whole real repositories and check that the fixes keep them working as Python.

For each tree: copy it, run ``gradlint check --fix --unsafe-fixes`` (all rules unless
``--select``), then check that every file that compiled before still compiles, and that a
second ``--fix`` run changes nothing. Prints one row per tree; exits 1 if any tree fails.

    python benchmarks/fix_roundtrip.py /path/to/repo [/path/to/other ...] [--select GL001]
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path


def _compiles(path: Path) -> bool:
    try:
        compile(path.read_bytes(), str(path), "exec", dont_inherit=True)
    except (SyntaxError, ValueError):
        return False
    return True


def _digests(root: Path) -> dict[Path, str]:
    return {path: hashlib.sha256(path.read_bytes()).hexdigest() for path in sorted(root.rglob("*.py"))}


def _fix(tree: Path, select: list[str]) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "gradlint", "check", "--no-cache", "--fix", "--unsafe-fixes", "--exit-zero", "-q", *select, "."]
    return subprocess.run(command, cwd=tree, capture_output=True, text=True, check=False)


def roundtrip(source: Path, work: Path, select: list[str]) -> tuple[int, int, list[str], list[str], str]:
    """(files, files changed, files that stopped compiling, files the second run changed, stderr)."""
    tree = work / source.name
    shutil.copytree(source, tree, symlinks=True, ignore=shutil.ignore_patterns(".git", "__pycache__"))
    before = _digests(tree)
    compiled = {path for path in before if _compiles(path)}
    first = _fix(tree, select)
    after = _digests(tree)
    changed = [path for path in after if before.get(path) != after[path]]
    broken = [str(path.relative_to(tree)) for path in changed if path in compiled and not _compiles(path)]
    _fix(tree, select)
    again = _digests(tree)
    unstable = [str(path.relative_to(tree)) for path in again if again[path] != after.get(path)]
    return len(before), len(changed), broken, unstable, first.stderr


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("trees", nargs="+", type=Path)
    parser.add_argument("--select", default="", help="passed to gradlint --select")
    options = parser.parse_args()
    select = ["--select", options.select] if options.select else []
    failed = False
    print("| tree | .py files | files fixed | stopped compiling | changed by a second --fix |")
    print("|---|---|---|---|---|")
    with tempfile.TemporaryDirectory(prefix="gradlint-fix-") as scratch:
        for source in options.trees:
            files, changed, broken, unstable, stderr = roundtrip(source.resolve(), Path(scratch), select)
            failed |= bool(broken or unstable)
            print(f"| {source.name} | {files} | {changed} | {len(broken)} | {len(unstable)} |")
            for name in broken:
                print(f"  stopped compiling: {name}")
            for name in unstable:
                print(f"  changed again: {name}")
            dropped = [line for line in stderr.splitlines() if "fix dropped" in line]
            if dropped:
                print(f"  {len(dropped)} fix(es) dropped (reported, not written), e.g. {dropped[0][:160]}")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
