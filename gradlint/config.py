"""Configuration: ``[tool.gradlint]`` in pyproject.toml (or a ``gradlint.toml``), found like
ruff finds its own: the nearest config file above each checked file governs it; ``extend``
inherits from another file; ``--config KEY=VALUE`` overrides; command-line selection is the
last layer. Also the project facts fixes depend on: whether the project can import the
runtime, and the oldest Python it supports."""

from __future__ import annotations

import json
import keyword
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any


from gradlint import __version__
from gradlint.digest import hexdigest
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
    """Resolved configuration for the files one config file governs."""

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
    # The command line's selection, a layer over the config's (as ruff layers them):
    # ``--select`` replaces, ``--extend-select`` adds (even a code the config ignores),
    # ``--ignore`` removes.
    cli_select: tuple[str, ...] | None = None
    cli_extend_select: tuple[str, ...] = ()
    cli_ignore: tuple[str, ...] = ()

    @property
    def enabled_codes(self) -> frozenset[str]:
        if self.cli_select is not None:
            codes = set(expand_codes(self.cli_select, "--select"))
        else:
            codes = set(expand_codes(self.select, "select")) - set(expand_codes(self.ignore, "ignore"))
        codes |= set(expand_codes(self.cli_extend_select, "--extend-select"))
        codes -= set(expand_codes(self.cli_ignore, "--ignore"))
        return frozenset(codes) | {PARSE_ERROR_CODE}

    @property
    def runtime_available(self) -> bool:
        return bool(self.options.get(RUNTIME_AVAILABLE, False))

    @property
    def target_version(self) -> str:
        return str(self.options.get(TARGET_VERSION, DEFAULT_TARGET_VERSION))

    def fingerprint(self) -> str:
        """Changes whenever a setting that affects findings changes (for the cache)."""
        payload = json.dumps(
            [__version__, registry.source_stamp(), sorted(self.enabled_codes), self.per_file_ignores,
             sorted((k, repr(v)) for k, v in self.options.items())],
            sort_keys=True,
        )
        return hexdigest(payload.encode())[:16]


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


# Project facts every rule sees in its options mapping (computed unless set explicitly).
RUNTIME_AVAILABLE = "runtime-available"
TARGET_VERSION = "target-version"
DEFAULT_TARGET_VERSION = "py39"
RUNTIME_DISTRIBUTION = "gradlint-runtime"
_TARGET_VERSION = re.compile(r"^py3(\d{1,2})$")

_CORE_KEYS = {
    "select", "extend-select", "ignore", "per-file-ignores", "exclude", "extend-exclude",
    "respect-gitignore", "max-file-size", "cache-dir", "extend", RUNTIME_AVAILABLE, TARGET_VERSION,
}
# Files that hold configuration, in the order ruff prefers them within one directory.
CONFIG_NAMES = (".gradlint.toml", "gradlint.toml", "pyproject.toml")


def _rule_options() -> dict[str, Any]:
    return registry.rule_options()


def _read_toml(path: Path) -> dict[str, Any]:
    import tomllib  # here and below: a run with no TOML file to read does not load the parser

    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise ConfigError(f"{path}: cannot read: {error}") from None


def config_in(directory: Path) -> Path | None:
    """The config file of ``directory`` itself: a gradlint.toml, or a pyproject.toml with
    a ``[tool.gradlint]`` table (a pyproject.toml without one is not a config)."""
    for name in CONFIG_NAMES:
        candidate = directory / name
        if not candidate.is_file():
            continue
        if name != "pyproject.toml":
            return candidate
        if "gradlint" in _tool_table(_read_toml(candidate), candidate):
            return candidate
    return None


def find_config(paths: Sequence[str]) -> Path | None:
    """The nearest config file above the common directory of ``paths``."""
    starts = [_resolved(p) for p in paths if p != "-"] or [Path.cwd()]
    start = Path(os.path.commonpath([str(p) for p in starts]))
    if start.is_file() or not start.exists():
        start = start.parent
    return find_config_from(start)


def find_config_from(directory: Path, known: dict[Path, Path | None] | None = None) -> Path | None:
    """The config file that governs files in ``directory``: its own, else its parent's.

    ``known`` remembers the answer for every directory on the way up, for callers that ask
    about many directories of one tree (siblings share their parents' answer).
    """
    passed: list[Path] = []
    current = directory
    while True:
        if known is not None and current in known:
            found = known[current]
            break
        passed.append(current)
        found = config_in(current)
        if found is not None or current.parent == current:
            break
        current = current.parent
    if known is not None:
        known.update(dict.fromkeys(passed, found))
    return found


def _tool_table(data: Mapping[str, Any], config_file: Path) -> Mapping[str, Any]:
    tool = data.get("tool", {})
    if not isinstance(tool, dict):
        raise ConfigError(f"{config_file}: `tool` must be a table ([tool.gradlint])")
    return tool


def _patterns(key: str, patterns: Iterable[str]) -> None:
    """Reject a glob pattern that cannot be compiled, naming the key and the pattern."""
    for pattern in patterns:
        try:
            import pathspec  # loaded only where a config names patterns

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


def load_settings(
    config_file: Path | None,
    overrides: Mapping[str, Any] | None = None,
    *,
    explicit: bool = False,
    start: Path | None = None,
) -> Settings:
    """Read and validate a config file (defaults when there is none), then apply ``overrides``
    (``--config KEY=VALUE``) and the project facts (runtime availability, target version).

    ``explicit``: the file was named by the user, so a file without our table is an error.
    ``start``: where to look for project metadata when there is no config file.
    """
    overrides = dict(overrides or {})
    if config_file is None:
        root = Path.cwd() if start is None else start
        table: dict[str, Any] = {}
        label = "--config"
    else:
        root = config_file.parent
        table = _config_table(config_file, explicit=explicit, seen=())
        label = f"{config_file}:"
    table.update(overrides)
    table.pop("extend", None)
    try:
        if config_file is None and not table:
            settings = Settings(root=str(root))
            if registry_snapshots_enabled():
                registry.use_snapshot_dir(os.path.join(settings.root, settings.cache_dir))
        else:
            settings = settings_from_table(
                table, root=str(root), config_file=None if config_file is None else str(config_file)
            )
        return with_project_facts(settings, root, table)
    except ConfigError as error:
        where = "[tool.gradlint]" if config_file is not None and config_file.name == "pyproject.toml" else ""
        raise ConfigError(" ".join(part for part in (label, where, str(error)) if part)) from None


def _config_table(config_file: Path, *, explicit: bool, seen: tuple[Path, ...]) -> dict[str, Any]:
    """The gradlint table of ``config_file``, merged over the files it ``extend``s."""
    data = _read_toml(config_file)
    if config_file.name == "pyproject.toml":
        tool = _tool_table(data, config_file)
        if "gradlint" not in tool and (explicit or seen):
            raise ConfigError(f"{config_file}: no [tool.gradlint] table")
        table = tool.get("gradlint", {})
        if not isinstance(table, dict):
            raise ConfigError(f"{config_file}: [tool.gradlint] must be a table")
    else:
        # gradlint.toml holds the keys at top level (as ruff.toml does); a [tool.gradlint]
        # table is accepted too.
        tool = data.get("tool", {})
        table = tool["gradlint"] if isinstance(tool, dict) and isinstance(tool.get("gradlint"), dict) else data
    table = dict(table)
    parent = table.get("extend")
    if parent is None:
        return table
    if not isinstance(parent, str):
        raise ConfigError(f"{config_file}: `extend` must be a path (string)")
    base = (config_file.parent / os.path.expanduser(parent)).resolve()
    if base in seen or base == config_file.resolve():
        raise ConfigError(f"{config_file}: `extend` forms a cycle through {base}")
    if not base.is_file():
        raise ConfigError(f"{config_file}: `extend`: file not found: {parent}")
    merged = _config_table(base, explicit=True, seen=(*seen, config_file.resolve()))
    merged.pop("extend", None)
    merged.update(table)
    return merged


def parse_override(text: str) -> dict[str, Any]:
    """``--config "KEY = VALUE"`` as TOML (``select = ["GL002"]``, ``max-file-size = 10``)."""
    import tomllib

    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"--config `{text}`: not a file and not a valid `KEY = VALUE` TOML line: {error}") from None
    if len(data) != 1:
        raise ConfigError(f"--config `{text}`: expected exactly one `KEY = VALUE`")
    # ``tool.gradlint.select = [...]`` is accepted too.
    if "tool" in data and isinstance(data["tool"], dict) and set(data["tool"]) == {"gradlint"}:
        data = data["tool"]["gradlint"]
    return data


# -- project facts --------------------------------------------------------------------------

_PROJECT_MARKERS = ("pyproject.toml", "setup.cfg", "setup.py")
_REQUIREMENT_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


def normalize_name(name: str) -> str:
    """A distribution name as PEP 503 compares them."""
    return re.sub(r"[-_.]+", "-", name).lower()


def _requirement_name(line: str) -> str | None:
    line = line.split("#", 1)[0].strip()
    if not line or line.startswith("-"):
        # -r, -e, --index-url...: an editable install of a path names nothing we can match,
        # except the runtime's own folder.
        if line.startswith(("-e", "--editable")) and RUNTIME_DISTRIBUTION in normalize_name(line):
            return RUNTIME_DISTRIBUTION
        return None
    if "#egg=" in line:
        return normalize_name(line.split("#egg=", 1)[1])
    match = _REQUIREMENT_NAME.match(line)
    return normalize_name(match.group(1)) if match else None


def project_directory(start: Path) -> Path | None:
    """The nearest directory at or above ``start`` that holds project metadata."""
    for directory in (start, *start.parents):
        if any((directory / name).is_file() for name in _PROJECT_MARKERS):
            return directory
        if any(directory.glob("requirements*.txt")) or any(directory.glob("requirements/*.txt")):
            return directory
    return None


def declared_requirements(directory: Path) -> set[str]:
    """Normalized names of every distribution the project declares: pyproject [project]
    dependencies and optional dependencies, setup.cfg install_requires / extras_require,
    requirements*.txt (and requirements/*.txt)."""
    names: set[str] = set()
    pyproject = directory / "pyproject.toml"
    if pyproject.is_file():
        import tomllib

        try:
            project = tomllib.loads(pyproject.read_text(encoding="utf-8")).get("project", {})
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
            project = {}
        if isinstance(project, dict):
            entries = list(project.get("dependencies") or [])
            for group in (project.get("optional-dependencies") or {}).values():
                entries.extend(group or [])
            names.update(n for n in map(_requirement_name, map(str, entries)) if n)
    setup_cfg = directory / "setup.cfg"
    if setup_cfg.is_file():
        import configparser

        parser = configparser.ConfigParser(interpolation=None)
        try:
            parser.read(setup_cfg, encoding="utf-8")
        except (configparser.Error, UnicodeDecodeError):
            pass
        else:
            values = []
            if parser.has_option("options", "install_requires"):
                values.append(parser.get("options", "install_requires"))
            if parser.has_section("options.extras_require"):
                values.extend(value for _, value in parser.items("options.extras_require"))
            for value in values:
                names.update(n for n in map(_requirement_name, value.replace(";", "\n;").splitlines()) if n)
    for requirements in sorted([*directory.glob("requirements*.txt"), *directory.glob("requirements/*.txt")]):
        try:
            lines = requirements.read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError:
            continue
        names.update(n for n in map(_requirement_name, lines) if n)
    return names


def requires_python_target(directory: Path) -> str | None:
    """``requires-python = ">=3.10"`` -> ``"py310"`` (the oldest version allowed)."""
    pyproject = directory / "pyproject.toml"
    if not pyproject.is_file():
        return None
    import tomllib

    try:
        spec = tomllib.loads(pyproject.read_text(encoding="utf-8")).get("project", {}).get("requires-python")
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError, AttributeError):
        return None
    if not isinstance(spec, str):
        return None
    lowest: tuple[int, int] | None = None
    for clause in spec.split(","):
        match = re.match(r"^\s*(>=|~=|==|>)\s*3\.(\d+)", clause)
        if match:
            minor = int(match.group(2)) + (match.group(1) == ">" and not re.search(r"3\.\d+\.", clause))
            candidate = (3, minor)
            lowest = candidate if lowest is None else max(lowest, candidate)
    return None if lowest is None else f"py3{lowest[1]}"


def with_project_facts(settings: Settings, root: Path, table: Mapping[str, Any]) -> Settings:
    """Add ``runtime-available`` and ``target-version`` to the options every rule receives.

    The runtime is available when the project declares ``gradlint-runtime`` or sets
    ``runtime-module`` explicitly (a module of its own); fixes that would import a module
    the project cannot import are not offered in that form.
    """
    options = dict(settings.options)
    directory = project_directory(root.resolve())
    if RUNTIME_AVAILABLE in table:
        value = table[RUNTIME_AVAILABLE]
        if not isinstance(value, bool):
            raise ConfigError(f"`{RUNTIME_AVAILABLE}` must be true or false")
        options[RUNTIME_AVAILABLE] = value
    else:
        options[RUNTIME_AVAILABLE] = "runtime-module" in table or (
            directory is not None and RUNTIME_DISTRIBUTION in declared_requirements(directory)
        )
    if TARGET_VERSION in table:
        value = table[TARGET_VERSION]
        if not isinstance(value, str) or not _TARGET_VERSION.match(value.lower()):
            raise ConfigError(f'`{TARGET_VERSION}` must look like "py39" or "py312"')
        options[TARGET_VERSION] = value.lower()
    else:
        inferred = requires_python_target(directory) if directory is not None else None
        options[TARGET_VERSION] = inferred or DEFAULT_TARGET_VERSION
    return replace(settings, options=options)


def target_version_tuple(target: str) -> tuple[int, int]:
    """``"py310"`` -> ``(3, 10)``."""
    match = _TARGET_VERSION.match(target.lower())
    return (3, int(match.group(1))) if match else (3, 9)


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
    """Apply command-line selection as the last layer (see :attr:`Settings.enabled_codes`)."""
    changes: dict[str, Any] = {}
    if select:
        expand_codes(select, "--select")
        changes["cli_select"] = tuple(select)
    if extend_select:
        expand_codes(extend_select, "--extend-select")
        changes["cli_extend_select"] = tuple(extend_select)
    if ignore:
        expand_codes(ignore, "--ignore")
        changes["cli_ignore"] = tuple(ignore)
    return replace(settings, **changes)
