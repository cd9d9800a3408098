"""What the command line needs to know about the rules, without importing them.

Importing the rules imports libcst (about 0.2 s), which would dominate a warm run that finds
every file in the cache. So the rules' metadata (codes, names, options, project reducers) is
kept as a small JSON snapshot in the cache directory, keyed by a stamp of gradlint's own source
files; a missing or stale snapshot is rebuilt by importing the rules once.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from gradlint import __version__
from gradlint.digest import hexdigest
from gradlint.findings import PARSE_ERROR_CODE
from gradlint.cache import frame, unframe
from gradlint.source import replace_atomically
from gradlint.options import Option

PARSE_ERROR_SUMMARY = "File could not be read, decoded or parsed"
# GL100 is checked by the runner around the engine (it needs the engine's findings), not a rule.
UNUSED_NOQA_CODE = "GL100"
UNUSED_NOQA_NAME = "unused-noqa"
UNUSED_NOQA_SUMMARY = "A `# noqa: GLxxx` comment that suppresses nothing"
_KINDS: dict[str, type] = {"str": str, "list": list, "int": int, "float": float, "bool": bool}


@dataclass(frozen=True, slots=True)
class RuleMeta:
    code: str
    name: str
    summary: str
    options: tuple[Option, ...] = ()
    fixable: bool = False
    # "module:function" turning project facts into findings, for project rules.
    reducer: str | None = None


_snapshot_dir: str | None = None
_loaded: tuple[RuleMeta, ...] | None = None


_stamp: str | None = None


def source_stamp() -> str:
    """Changes when gradlint's version or any of its source files changes."""
    global _stamp
    if _stamp is None:
        package = os.path.dirname(os.path.abspath(__file__))
        stamps = [__version__.encode()]
        for directory, subdirs, files in os.walk(package):
            subdirs[:] = sorted(d for d in subdirs if d != "__pycache__")
            for name in sorted(files):
                if name.endswith(".py"):
                    info = os.stat(os.path.join(directory, name))
                    relative = os.path.relpath(os.path.join(directory, name), package)
                    stamps.append(f"{relative}:{info.st_size}:{info.st_mtime_ns}\0".encode())
        _stamp = hexdigest(*stamps)[:16]
    return _stamp


def use_snapshot_dir(directory: str | None) -> None:
    """Where the metadata snapshot is read and written (``None``: never touch the disk)."""
    global _snapshot_dir
    _snapshot_dir = directory


def _snapshot_path() -> str | None:
    if _snapshot_dir is None:
        return None
    return os.path.join(_snapshot_dir, __version__, f"registry-{source_stamp()}.json")


def _to_json(metas: tuple[RuleMeta, ...]) -> list[dict[str, Any]]:
    return [
        {
            "code": m.code,
            "name": m.name,
            "summary": m.summary,
            "fixable": m.fixable,
            "reducer": m.reducer,
            "options": [
                {
                    "name": o.name,
                    "default": o.default,
                    "doc": o.doc,
                    "kind": o.kind.__name__,
                    "item_kind": o.item_kind.__name__ if o.item_kind else None,
                }
                for o in m.options
            ],
        }
        for m in metas
    ]


def _from_json(data: list[dict[str, Any]]) -> tuple[RuleMeta, ...]:
    return tuple(
        RuleMeta(
            code=d["code"],
            name=d["name"],
            summary=d["summary"],
            fixable=d["fixable"],
            reducer=d["reducer"],
            options=tuple(
                Option(
                    o["name"],
                    default=o["default"],
                    doc=o["doc"],
                    kind=_KINDS[o["kind"]],
                    item_kind=_KINDS[o["item_kind"]] if o["item_kind"] else None,
                )
                for o in d["options"]
            ),
        )
        for d in data
    )


def _plausible(metas: tuple[RuleMeta, ...]) -> bool:
    """A snapshot that can be trusted: not empty (an empty one would silently disable every
    rule), codes unique and shaped like ``GL123``, fields of the right types."""
    codes = [meta.code for meta in metas]
    return (
        bool(metas)
        and len(set(codes)) == len(codes)
        and all(
            isinstance(m.code, str) and len(m.code) == 5 and m.code.startswith("GL") and m.code[2:].isdigit()
            and m.code != PARSE_ERROR_CODE
            and isinstance(m.name, str) and isinstance(m.summary, str) and isinstance(m.fixable, bool)
            and (m.reducer is None or isinstance(m.reducer, str) and ":" in m.reducer)
            and all(isinstance(o.name, str) and isinstance(o.doc, str) for o in m.options)
            for m in metas
        )
    )


def _from_rules() -> tuple[RuleMeta, ...]:
    from gradlint.rule import NO_FIX
    from gradlint.rules import all_rules

    return tuple(
        RuleMeta(
            code=rule.code,
            name=rule.name,
            summary=rule.summary,
            options=tuple(rule.OPTIONS),
            fixable=rule.FIXABLE
            if rule.FIXABLE is not None
            else any(e.expected_fix not in (None, NO_FIX) for e in rule.INVALID),
            reducer=rule.REDUCER if rule.PROJECT else None,
        )
        for rule in all_rules()
    )


def rule_metas() -> tuple[RuleMeta, ...]:
    """Every rule's metadata, sorted by code (from the snapshot when it is current)."""
    global _loaded
    if _loaded is not None:
        return _loaded
    path = _snapshot_path()
    if path is not None:
        try:
            with open(path, "rb") as stream:
                snapshot = _from_json(unframe(stream.read()))  # type: ignore[arg-type]
            if _plausible(snapshot):
                _loaded = snapshot
                return _loaded
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            pass  # unreadable or malformed: rebuilt from the rules and overwritten below
    _loaded = _from_rules()
    if path is not None:
        try:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            replace_atomically(path, frame(_to_json(_loaded)))
        except OSError:
            pass
    return _loaded


def all_codes() -> tuple[str, ...]:
    return (PARSE_ERROR_CODE, *(meta.code for meta in rule_metas()), UNUSED_NOQA_CODE)


def meta_by_code(code: str) -> RuleMeta | None:
    return next((meta for meta in rule_metas() if meta.code == code.upper()), None)


def rule_options() -> dict[str, Option]:
    """Every rule option by name (rules sharing an option declare it identically)."""
    return {option.name: option for meta in rule_metas() for option in meta.options}


def reducer(meta: RuleMeta) -> Callable[..., list[Any]]:
    assert meta.reducer is not None
    module, _, function = meta.reducer.partition(":")
    return getattr(importlib.import_module(module), function)
