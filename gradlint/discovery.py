"""Find the Python files to check: excludes, .gitignore, and no surprises with symlinks."""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from gradlint.config import Settings

if TYPE_CHECKING:
    import pathspec

PYTHON_SUFFIXES = (".py", ".pyi", ".ipynb")
# A pattern that names a file or directory at any depth (``build``, ``.venv``): no slash, glob,
# escape, negation, comment or space, and not made of dots only.
_PLAIN_NAME = re.compile(r"(?!\.*$)[^/*?\[\]\\!#\s][^/*?\[\]\\\s]*")


class DiscoveryError(Exception):
    """A path named on the command line does not exist or cannot be listed."""


class Excludes:
    """Gitignore-style exclude patterns. The plain names among them (all of the default
    excludes) are matched by a set lookup per path part; pathspec, slower to load (a fifth of
    a warm run) and to match (one regex per pattern), gets only the others."""

    __slots__ = ("names", "spec")

    def __init__(self, patterns: Sequence[str]) -> None:
        ordered = any(pattern.startswith("!") for pattern in patterns)  # a negation: order matters
        names: set[str] = set()
        rest: list[str] = []
        for pattern in patterns:
            if not ordered and _PLAIN_NAME.fullmatch(pattern):
                names.add(pattern)
            else:
                rest.append(pattern)
        self.names = frozenset(names)
        self.spec = gitignore_spec(rest) if rest else None

    def match_file(self, relative: str) -> bool:
        """Whether a POSIX path (a directory's ends with ``/``) is excluded."""
        if self.names and not self.names.isdisjoint(relative.rstrip("/").split("/")):
            return True
        return self.spec is not None and self.spec.match_file(relative)


def gitignore_spec(lines: Iterable[str]) -> pathspec.GitIgnoreSpec:
    import pathspec

    return pathspec.GitIgnoreSpec.from_lines(lines)


@functools.lru_cache(maxsize=256)
def spec_for(patterns: tuple[str, ...]) -> Excludes:
    return Excludes(patterns)


def relative_to_root(path: str, root: str) -> str:
    """``path`` relative to ``root`` in POSIX form (absolute when outside ``root``)."""
    absolute = os.path.abspath(path)
    relative = os.path.relpath(absolute, os.path.abspath(root))
    if relative.startswith(".."):
        relative = absolute
    return relative.replace(os.sep, "/")


def _relpath(path: str, base: str) -> str:
    """``os.path.relpath(path, base)`` for absolute, normalized paths (discovery builds them
    so), by a prefix test where ``path`` is below ``base``: relpath splits both paths on every
    call (once per file and pattern set)."""
    if path == base:
        return "."
    prefix = base if base.endswith(os.sep) else base + os.sep
    if path.startswith(prefix):
        return path[len(prefix):]
    return os.path.relpath(path, base)


def _posix_relpath(path: str, base: str) -> str:
    relative = _relpath(path, base)
    return relative if os.sep == "/" else relative.replace(os.sep, "/")


def display_path(path: str) -> str:
    """How a path is shown: relative to the working directory when under it."""
    absolute = os.path.abspath(path)
    relative = _relpath(absolute, os.getcwd())
    return absolute if relative.startswith("..") else relative


@dataclass(slots=True)
class _Ignores:
    """The .gitignore files in force for a directory, outermost first."""

    specs: list[tuple[str, pathspec.GitIgnoreSpec]] = field(default_factory=list)

    def with_directory(self, directory: str) -> _Ignores:
        """Add the directory's ``.gitignore`` and ``.ignore`` (ripgrep's, which ruff reads too;
        it wins over ``.gitignore``), and ``.git/info/exclude`` at a repository root."""
        added = []
        for name in (os.path.join(".git", "info", "exclude"), ".gitignore", ".ignore"):
            spec = _read_spec(os.path.join(directory, name))
            if spec is not None:
                added.append((directory, spec))
        return _Ignores([*self.specs, *added]) if added else self

    def ignored(self, path: str, is_dir: bool) -> bool:
        verdict = False
        for base, spec in self.specs:
            relative = _posix_relpath(path, base)
            if relative.startswith(".."):
                continue
            result = spec.check_file(relative + "/" if is_dir else relative)
            if result.include is not None:
                verdict = result.include
        return verdict


def _read_spec(path: str) -> pathspec.GitIgnoreSpec | None:
    if not os.path.isfile(path):
        return None
    try:
        with open(path, encoding="utf-8", errors="replace") as stream:
            return gitignore_spec(stream.read().splitlines())
    except OSError:
        return None


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


def discover(
    paths: Sequence[str],
    settings: Settings,
    *,
    force_exclude: bool = False,
    warnings: list[str] | None = None,
    settings_for: Callable[[str], Settings] | None = None,
) -> list[str]:
    """Python files under ``paths``, sorted.

    Explicitly named files are always included, unless ``force_exclude`` (pre-commit passes
    every staged file by name). ``settings_for(directory)`` gives the settings that govern
    a directory (its nearest config), so excludes are the ones of each file's own config.
    A directory named explicitly that yields no file adds a note to ``warnings``.
    A file reached by two paths (named twice, through a symlink, or under two overlapping
    paths) is listed once, under the first path it was reached by.
    """
    found: dict[str, None] = {}
    same = _SameFiles()
    for given in paths:
        if not os.path.lexists(given):
            raise DiscoveryError(f"path does not exist: {given}")
        governing = settings if settings_for is None else settings_for(os.path.abspath(given) if os.path.isdir(given) else os.path.dirname(os.path.abspath(given)))
        if not os.path.isdir(given):
            if force_exclude and is_excluded(given, governing):
                continue
            path = os.path.normpath(given)
            if same.first_time(path):
                found[path] = None
            continue
        directory = os.path.abspath(given)
        if force_exclude and is_excluded(directory, governing, is_dir=True):
            continue
        exclude = spec_for(tuple(governing.exclude) + tuple(governing.extend_exclude))
        ignores = _initial_ignores(directory) if governing.respect_gitignore else _Ignores()
        count = 0
        for path in _walk(directory, ignores, exclude, governing):
            if settings_for is not None:
                own = settings_for(os.path.dirname(path))
                if own is not governing and own.root != governing.root and is_excluded(path, own, below=own.root):
                    continue
            count += 1
            if same.first_time(path):
                found[display_path(path)] = None
        if count == 0 and warnings is not None:
            warnings.append(
                f"no Python files found under `{given}` (excluded, gitignored, or none there; "
                "see `gradlint check --show-files`)"
            )
    return sorted(found)


class _SameFiles:
    """Which real files have been listed: a stat per file, a realpath only when two share an
    inode (a hard link is a file of its own: each name is checked and fixed)."""

    def __init__(self) -> None:
        self._by_inode: dict[tuple[int, int], list[str]] = {}

    def first_time(self, path: str) -> bool:
        try:
            info = os.stat(path)
        except OSError:
            return True  # unreadable: listed, and reported when it is read
        paths = self._by_inode.setdefault((info.st_dev, info.st_ino), [])
        if paths:
            real = os.path.realpath(path)
            if any(os.path.realpath(other) == real for other in paths):
                return False
        paths.append(path)
        return True


def is_excluded(path: str, settings: Settings, *, is_dir: bool = False, below: str | None = None) -> bool:
    """Whether ``path`` (or a directory above it, up to the project root) is excluded by the
    settings' excludes or, with ``respect-gitignore``, by an ignore file."""
    absolute = os.path.abspath(path)
    root = os.path.abspath(below or settings.root)
    exclude = spec_for(tuple(settings.exclude) + tuple(settings.extend_exclude))
    relative = os.path.relpath(absolute, root).replace(os.sep, "/")
    if relative.startswith(".."):
        relative = os.path.basename(absolute)
    parts = relative.split("/")
    for depth in range(1, len(parts) + 1):
        candidate = "/".join(parts[:depth])
        last_is_dir = is_dir or depth < len(parts)
        if exclude.match_file(candidate + "/" if last_is_dir else candidate):
            return True
    if settings.respect_gitignore:
        if not is_dir:
            directory = os.path.dirname(absolute)
            if _initial_ignores(directory).with_directory(directory).ignored(absolute, False):
                return True
        current = absolute if is_dir else os.path.dirname(absolute)
        # The path itself, or a gitignored directory above it (``build/`` hides ``build/x.py``).
        while current != root and current.startswith(root + os.sep):
            if _initial_ignores(current).ignored(current, True):
                return True
            current = os.path.dirname(current)
    return False


def _walk(
    top: str, ignores: _Ignores, exclude: Excludes, settings: Settings
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
            if not is_dir and not entry.name.endswith(PYTHON_SUFFIXES):
                continue  # not ours to check: no need to match it against any pattern
            relative = _posix_relpath(entry.path, base)
            # Unanchored patterns match at any depth; ``/x`` only at the base.
            if exclude.match_file(relative + "/" if is_dir else relative):
                continue
            if settings.respect_gitignore and ignores.ignored(entry.path, is_dir):
                continue
            if is_dir:
                stack.append((entry.path, ignores))
            else:
                try:
                    if not entry.is_file():
                        continue
                except OSError:
                    continue
                yield entry.path
