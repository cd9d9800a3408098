"""What is known about a file from its path alone (cheap: no libcst here)."""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class FileInfo:
    """What is known about a file from its path alone, before it is read or parsed."""

    path: str
    package: str | None
    is_test_file: bool


_TEST_DIRS = frozenset({"tests", "test", "testing"})  # testing: test-support packages (torch.testing)
_PROJECT_MARKERS = ("pyproject.toml", "setup.py", "setup.cfg")


@functools.lru_cache(maxsize=4096)
def project_root(directory: str) -> str:
    """The nearest directory at or above ``directory`` with a project marker ('' if none)."""
    current = directory
    while True:
        if any(os.path.isfile(os.path.join(current, marker)) for marker in _PROJECT_MARKERS):
            return current
        parent = os.path.dirname(current)
        if parent == current:
            return ""
        current = parent


def _inside_project(absolute: str) -> str:
    """The path below the project directory (or the working directory), so that a checkout
    under a folder named ``tests`` is not all test code."""
    base = project_root(os.path.dirname(absolute)) or os.getcwd()
    relative = os.path.relpath(absolute, base)
    return absolute if relative.startswith("..") else relative


@functools.lru_cache(maxsize=4096)
def _top_package(directory: str) -> str | None:
    """The top-level package a directory belongs to (walking up ``__init__.py`` files)."""
    package = None
    current = directory
    # A stub-only package (torch/_C/__init__.pyi) is a package too.
    while os.path.isfile(os.path.join(current, "__init__.py")) or os.path.isfile(
        os.path.join(current, "__init__.pyi")
    ):
        package = os.path.basename(current)
        parent = os.path.dirname(current)
        if parent == current:
            break
        current = parent
    return package


def describe_file(path: str) -> FileInfo:
    """Build a :class:`FileInfo` from a path (display path kept as given)."""
    absolute = os.path.abspath(path)
    name = os.path.basename(absolute)
    parts = set(_inside_project(absolute).replace(os.sep, "/").split("/")[:-1])
    is_test = (
        name.startswith("test_")
        or name.endswith("_test.py")
        or name == "conftest.py"
        or bool(parts & _TEST_DIRS)
    )
    return FileInfo(path=path, package=_top_package(os.path.dirname(absolute)), is_test_file=is_test)
