"""``[tool.gradlint]`` in pyproject.toml: discovery, validation, and command-line overrides."""

from __future__ import annotations

import hashlib
import json
import keyword
import os
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pathspec

from gradlint import __version__
from gradlint.findings import PARSE_ERROR_CODE
from gradlint import registry
from gradlint.registry import all_codes

DEFAULT_EXCLUDE = (
    ".bzr", ".direnv", ".eggs", ".git", ".git-rewrite", ".hg", ".ipynb_checkpoints",
    ".mypy_cache", ".nox", ".pants.d", ".pyenv", ".pytest_cache", ".pytype", ".ruff_cache",
    ".gradlint_cache", ".svn", ".tox", ".venv", ".vscode", "__pypackages__", "__pycache__",
    "_build", "buck-out", "build", "dist", "node_modules", "site-packages", "venv",
)
DEFAULT_MAX_FILE_SIZE = 1024 * 1024
DEFAULT_CACHE_DIR = ".gradlint_cache"


class ConfigError(Exception):
    """A configuration problem the user must fix; the message names the key."""


@dataclass(frozen=True, slots=True)
class Settings:
    """Resolved configuration for one run."""

    root: str = "."
    config_file: str | None = None
    select: tuple[str, ...] = ("ALL",)
    ignore: tuple[str, ...] = ()
    per_file_ignores: tuple[tuple[str, tuple[str, ...]], ...] = ()
    exclude: tuple[str, ...] = DEFAULT_EXCLUDE
    extend_exclude: tuple[str, ...] = ()
    respect_gitignore: bool = True
    max_file_size: int = DEFAULT_MAX_FILE_SIZE
    cache_dir: str = DEFAULT_CACHE_DIR
    options: Mapping[str, Any] = field(default_factory=dict)

    @property
    def enabled_codes(self) -> frozenset[str]:
        return frozenset(expand_codes(self.select, "select")) - frozenset(
            expand_codes(self.ignore, "ignore")
        ) | {PARSE_ERROR_CODE}

    def fingerprint(self) -> str:
        """Changes whenever a setting that affects findings changes (for the cache)."""
        payload = json.dumps(
            [__version__, registry.source_stamp(), sorted(self.enabled_codes), self.per_file_ignores,
             sorted((k, repr(v)) for k, v in self.options.items())],
            sort_keys=True,
        )
        return hashlib.sha256(payload.encode()).hexdigest()[:16]


def expand_codes(selectors: Iterable[str], key: str) -> list[str]:
    """Expand ``ALL`` and prefixes such as ``GL`` or ``GL00`` to known codes."""
    known = all_codes()
    result: list[str] = []
    for selector in selectors:
        wanted = selector.strip().upper()
        if wanted == "ALL":
            result.extend(known)
            continue
        matches = [code for code in known if code.startswith(wanted)] if wanted else []
        if not matches:
            raise ConfigError(f"`{key}`: unknown rule code or prefix `{selector}`")
        result.extend(matches)
    return result


_CORE_KEYS = {
    "select", "extend-select", "ignore", "per-file-ignores", "exclude", "extend-exclude",
    "respect-gitignore", "max-file-size", "cache-dir",
}


def _rule_options() -> dict[str, Any]:
    return registry.rule_options()


def find_config(paths: Sequence[str]) -> Path | None:
    """The nearest pyproject.toml with a ``[tool.gradlint]`` table above the checked paths."""
    starts = [_resolved(p) for p in paths if p != "-"] or [Path.cwd()]
    start = Path(os.path.commonpath([str(p) for p in starts]))
    if start.is_file() or not start.exists():
        start = start.parent
    for directory in (start, *start.parents):
        candidate = directory / "pyproject.toml"
        if candidate.is_file():
            try:
                data = tomllib.loads(candidate.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
                raise ConfigError(f"{candidate}: cannot read: {error}") from None
            if "gradlint" in _tool_table(data, candidate):
                return candidate
    return None


def _tool_table(data: Mapping[str, Any], config_file: Path) -> Mapping[str, Any]:
    tool = data.get("tool", {})
    if not isinstance(tool, dict):
        raise ConfigError(f"{config_file}: `tool` must be a table ([tool.gradlint])")
    return tool


def _patterns(key: str, patterns: Iterable[str]) -> None:
    """Reject a glob pattern that cannot be compiled, naming the key and the pattern."""
    for pattern in patterns:
        try:
            pathspec.GitIgnoreSpec.from_lines([pattern])
        except Exception as error:  # noqa: BLE001 - pathspec raises its own errors and re.error
            raise ConfigError(f"`{key}`: invalid pattern `{pattern}`: {error}") from None


def _module_name(key: str, value: str, placeholders: Iterable[str] = ()) -> None:
    """Reject a value that is not a dotted module name (``a.b``; ``{package}`` allowed)."""
    name = value
    for placeholder in placeholders:
        name = name.replace(placeholder, "package")
    if not name or not all(part.isidentifier() and not keyword.iskeyword(part) for part in name.split(".")):
        raise ConfigError(f"`{key}`: {value!r} is not a dotted module name")


# Rule options whose value is a module the fixes import from: (option, placeholders allowed).
_MODULE_OPTIONS = {"runtime-module": (), "constants-module": ("{package}",)}


def _resolved(path: str) -> Path:
    try:
        return Path(path).resolve()
    except (OSError, RuntimeError):  # a symlink loop: the file itself is reported later
        return Path(os.path.abspath(path))


def _string_list(table: Mapping[str, Any], key: str) -> tuple[str, ...]:
    value = table[key]
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ConfigError(f"`{key}` must be a list of strings")
    return tuple(value)


_snapshots = True


def registry_snapshots_enabled(enabled: bool | None = None) -> bool:
    """Whether config loading may keep the rules' metadata snapshot in the cache directory."""
    global _snapshots
    if enabled is not None:
        _snapshots = enabled
    return _snapshots


def load_settings(config_file: Path | None) -> Settings:
    """Read and validate a config file; defaults when there is none."""
    if config_file is None:
        settings = Settings(root=str(Path.cwd()))
        if registry_snapshots_enabled():
            registry.use_snapshot_dir(os.path.join(settings.root, settings.cache_dir))
        return settings
    try:
        data = tomllib.loads(config_file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise ConfigError(f"{config_file}: cannot read: {error}") from None
    table = _tool_table(data, config_file).get("gradlint", {})
    if not isinstance(table, dict):
        raise ConfigError(f"{config_file}: [tool.gradlint] must be a table")
    try:
        return settings_from_table(table, root=str(config_file.parent), config_file=str(config_file))
    except ConfigError as error:
        raise ConfigError(f"{config_file}: [tool.gradlint] {error}") from None


def settings_from_table(table: Mapping[str, Any], *, root: str, config_file: str | None) -> Settings:
    cache_dir = table.get("cache-dir", DEFAULT_CACHE_DIR)
    if isinstance(cache_dir, str) and registry_snapshots_enabled():
        registry.use_snapshot_dir(os.path.join(root, cache_dir))
    rule_options = _rule_options()
    for key in table:
        if key not in _CORE_KEYS and key not in rule_options:
            raise ConfigError(f"unknown key `{key}`")
    settings = Settings(root=root, config_file=config_file)
    changes: dict[str, Any] = {}
    if "select" in table:
        changes["select"] = _string_list(table, "select")
        expand_codes(changes["select"], "select")
    if "extend-select" in table:
        extra = _string_list(table, "extend-select")
        expand_codes(extra, "extend-select")
        changes["select"] = (*changes.get("select", settings.select), *extra)
    if "ignore" in table:
        changes["ignore"] = _string_list(table, "ignore")
        expand_codes(changes["ignore"], "ignore")
    if "per-file-ignores" in table:
        value = table["per-file-ignores"]
        if not isinstance(value, dict):
            raise ConfigError("`per-file-ignores` must be a table of glob = [codes]")
        pairs = []
        for pattern, codes in value.items():
            if not isinstance(codes, list) or not all(isinstance(c, str) for c in codes):
                raise ConfigError(f"`per-file-ignores`.`{pattern}` must be a list of codes")
            expand_codes(codes, f"per-file-ignores.{pattern}")
            pairs.append((pattern, tuple(codes)))
        _patterns("per-file-ignores", [pattern for pattern, _ in pairs])
        changes["per_file_ignores"] = tuple(pairs)
    if "exclude" in table:
        changes["exclude"] = _string_list(table, "exclude")
        _patterns("exclude", changes["exclude"])
    if "extend-exclude" in table:
        changes["extend_exclude"] = _string_list(table, "extend-exclude")
        _patterns("extend-exclude", changes["extend_exclude"])
    if "respect-gitignore" in table:
        if not isinstance(table["respect-gitignore"], bool):
            raise ConfigError("`respect-gitignore` must be true or false")
        changes["respect_gitignore"] = table["respect-gitignore"]
    if "max-file-size" in table:
        size = table["max-file-size"]
        if not isinstance(size, int) or isinstance(size, bool) or size <= 0:
            raise ConfigError("`max-file-size` must be a positive number of bytes")
        changes["max_file_size"] = size
    if "cache-dir" in table:
        cache_dir = table["cache-dir"]
        if not isinstance(cache_dir, str):
            raise ConfigError("`cache-dir` must be a string")
        if not cache_dir.strip():
            raise ConfigError("`cache-dir` must not be empty")
        location = os.path.abspath(os.path.join(root, cache_dir))
        if os.path.commonpath([location, os.path.abspath(root)]) == location:
            # `gradlint clean` removes the cache directory: never the project or above it.
            raise ConfigError(f"`cache-dir`: `{cache_dir}` is the project folder or above it")
        changes["cache_dir"] = cache_dir
    options = {}
    for key, option in rule_options.items():
        if key in table:
            try:
                options[key] = option.validate(table[key])
            except ValueError as error:
                raise ConfigError(f"`{key}`: {error}") from None
            if key in _MODULE_OPTIONS:
                _module_name(key, options[key], _MODULE_OPTIONS[key])
    changes["options"] = options
    return replace(settings, **changes)


def with_overrides(
    settings: Settings,
    *,
    select: Sequence[str] | None = None,
    extend_select: Sequence[str] | None = None,
    ignore: Sequence[str] | None = None,
) -> Settings:
    """Apply command-line selection: ``--select`` replaces, ``--ignore`` adds."""
    changes: dict[str, Any] = {}
    if select:
        expand_codes(select, "--select")
        changes["select"] = tuple(select)
        # An explicit --select is the user's last word over the config's ignore list.
        changes["ignore"] = ()
    if extend_select:
        expand_codes(extend_select, "--extend-select")
        changes["select"] = (*changes.get("select", settings.select), *extend_select)
    if ignore:
        expand_codes(ignore, "--ignore")
        changes["ignore"] = (*changes.get("ignore", settings.ignore), *ignore)
    return replace(settings, **changes)
