"""Find the Python files to check: excludes, .gitignore, and no surprises with symlinks."""

from __future__ import annotations

import functools
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import pathspec

from gradlint.config import Settings

PYTHON_SUFFIXES = (".py", ".pyi")


class DiscoveryError(Exception):
    """A path named on the command line does not exist or cannot be listed."""


@functools.lru_cache(maxsize=256)
def spec_for(patterns: tuple[str, ...]) -> pathspec.GitIgnoreSpec:
    return pathspec.GitIgnoreSpec.from_lines(patterns)


def relative_to_root(path: str, root: str) -> str:
    """``path`` relative to ``root`` in POSIX form (absolute when outside ``root``)."""
    absolute = os.path.abspath(path)
    relative = os.path.relpath(absolute, os.path.abspath(root))
    if relative.startswith(".."):
        relative = absolute
    return relative.replace(os.sep, "/")


def display_path(path: str) -> str:
    """How a path is shown: relative to the working directory when under it."""
    absolute = os.path.abspath(path)
    relative = os.path.relpath(absolute)
    return absolute if relative.startswith("..") else relative


@dataclass(slots=True)
class _Ignores:
    """The .gitignore files in force for a directory, outermost first."""

    specs: list[tuple[str, pathspec.GitIgnoreSpec]] = field(default_factory=list)

    def with_directory(self, directory: str) -> _Ignores:
        gitignore = os.path.join(directory, ".gitignore")
        if not os.path.isfile(gitignore):
            return self
        try:
            with open(gitignore, encoding="utf-8", errors="replace") as stream:
                spec = pathspec.GitIgnoreSpec.from_lines(stream.read().splitlines())
        except OSError:
            return self
        return _Ignores([*self.specs, (directory, spec)])

    def ignored(self, path: str, is_dir: bool) -> bool:
        verdict = False
        for base, spec in self.specs:
            relative = os.path.relpath(path, base).replace(os.sep, "/")
            if relative.startswith(".."):
                continue
            result = spec.check_file(relative + "/" if is_dir else relative)
            if result.include is not None:
                verdict = result.include
        return verdict


def _git_root(directory: str) -> str | None:
    for candidate in (directory, *_parents(directory)):
        if os.path.exists(os.path.join(candidate, ".git")):
            return candidate
    return None


def _parents(directory: str) -> Iterable[str]:
    current = directory
    while True:
        parent = os.path.dirname(current)
        if parent == current:
            return
        yield parent
        current = parent


def _initial_ignores(directory: str) -> _Ignores:
    """.gitignore files from the repository root down to ``directory`` (exclusive)."""
    ignores = _Ignores()
    root = _git_root(directory)
    if root is None:
        return ignores
    chain = [directory]
    chain.extend(p for p in _parents(directory) if len(p) >= len(root))
    for ancestor in reversed(chain[1:]):
        ignores = ignores.with_directory(ancestor)
    return ignores


def discover(paths: Sequence[str], settings: Settings) -> list[str]:
    """Python files under ``paths``, sorted; explicitly named files are always included."""
    exclude = spec_for(tuple(settings.exclude) + tuple(settings.extend_exclude))
    found: dict[str, None] = {}
    for given in paths:
        if not os.path.lexists(given):
            raise DiscoveryError(f"path does not exist: {given}")
        if not os.path.isdir(given):
            found[os.path.normpath(given)] = None
            continue
        directory = os.path.abspath(given)
        ignores = _initial_ignores(directory) if settings.respect_gitignore else _Ignores()
        for path in _walk(directory, ignores, exclude, settings):
            found[display_path(path)] = None
    return sorted(found)


def _walk(
    top: str, ignores: _Ignores, exclude: pathspec.GitIgnoreSpec, settings: Settings
) -> Iterable[str]:
    seen: set[tuple[int, int]] = set()
    # Exclude patterns are relative to the project root, or to the walked tree outside it
    # (so that ``site-packages`` in the default excludes does not hide ``site-packages/torch``).
    root = os.path.abspath(settings.root)
    base = root if not os.path.relpath(top, root).startswith("..") else top
    stack = [(top, ignores)]
    while stack:
        directory, ignores = stack.pop()
        try:
            info = os.stat(directory)
        except OSError:
            continue
        # A symlink loop (or two links to one tree) would revisit a directory.
        identity = (info.st_dev, info.st_ino)
        if identity in seen:
            continue
        seen.add(identity)
        if settings.respect_gitignore:
            ignores = ignores.with_directory(directory)
        try:
            entries = sorted(os.scandir(directory), key=lambda entry: entry.name)
        except OSError as error:
            if directory == top:
                raise DiscoveryError(f"cannot list {directory}: {error.strerror}") from None
            continue
        for entry in entries:
            try:
                is_dir = entry.is_dir()
            except OSError:
                continue
            relative = os.path.relpath(entry.path, base).replace(os.sep, "/")
            # Unanchored patterns match at any depth; ``/x`` only at the base.
            if exclude.match_file(relative + "/" if is_dir else relative):
                continue
            if settings.respect_gitignore and ignores.ignored(entry.path, is_dir):
                continue
            if is_dir:
                stack.append((entry.path, ignores))
            elif entry.name.endswith(PYTHON_SUFFIXES):
                try:
                    if not entry.is_file():
                        continue
                except OSError:
                    continue
                yield entry.path
