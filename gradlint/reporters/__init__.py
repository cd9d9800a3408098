"""Output formats, ruff's set: each module renders a finished run as text.

Every reporter has the signature ``render(run, context) -> str``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from gradlint.findings import PARSE_ERROR_CODE, Finding
from gradlint.runner import RunResult

# Default output format, as ruff's: full (a source frame per finding).
DEFAULT_FORMAT = "full"
FORMAT_ENV = "GRADLINT_OUTPUT_FORMAT"
FORMATS = (
    "full", "concise", "json", "json-lines", "junit", "gitlab", "github", "pylint", "sarif", "rdjson",
)
# ``text`` was the name of the one-line format before ``concise`` (kept as an alias).
ALIASES = {"text": "concise"}
# SARIF/GitLab/rdjson severity: a file nobody could check, and private API that breaks on a
# torch upgrade, are errors; the others are warnings; an unused suppression is a note.
LEVELS = {PARSE_ERROR_CODE: "error", "GL002": "error", "GL100": "note"}
DOCS_DIR = Path(__file__).resolve().parents[2] / "docs" / "rules"


def level(code: str) -> str:
    return LEVELS.get(code, "warning")


@lru_cache(maxsize=64)
def rule_url(code: str) -> str | None:
    """The rule's page (``docs/rules/GLxxx.md`` of the gradlint checkout) as a URI."""
    page = DOCS_DIR / f"{code}.md"
    return page.as_uri() if page.is_file() else None


def rule_name(code: str) -> str:
    from gradlint.registry import meta_by_code

    if code == PARSE_ERROR_CODE:
        return "parse-error"
    meta = meta_by_code(code)
    return meta.name if meta is not None else code.lower()


@dataclass(frozen=True, slots=True)
class ReportContext:
    """What a reporter may need besides the findings."""

    root: str = "."  # the project root: SARIF and GitLab paths are relative to it
    unsafe_fixes: bool = False  # ``[*]`` marks fixes applicable under the current safety
    show_fixes: bool = False
    sources: Mapping[str, str] = field(default_factory=dict)  # text of files not on disk (stdin)

    def applicable(self, finding: Finding) -> bool:
        fix = finding.fix
        return fix is not None and (fix.applicability == "safe" or self.unsafe_fixes)

    def source(self, path: str) -> str | None:
        if path in self.sources:
            return self.sources[path]
        try:
            with open(path, encoding="utf-8", errors="replace", newline="") as stream:
                return stream.read()
        except OSError:
            return None


def relative_uri_path(path: str, root: str) -> str | None:
    """``path`` relative to ``root`` (POSIX), or None when it lies outside."""
    relative = os.path.relpath(os.path.abspath(path), os.path.abspath(root))
    if relative == ".." or relative.startswith(".." + os.sep):
        return None
    return relative.replace(os.sep, "/")


Reporter = Callable[[RunResult, ReportContext], str]


# Format -> (module, function): a run imports only the reporter it uses (junit pulls in xml,
# sarif urllib; a warm run must not pay for them).
_RENDERERS = {
    "full": ("full", "render"),
    "concise": ("text", "render"),
    "json": ("json_format", "render"),
    "json-lines": ("json_format", "render_lines"),
    "junit": ("junit", "render"),
    "gitlab": ("gitlab", "render"),
    "github": ("github", "render"),
    "pylint": ("pylint", "render"),
    "sarif": ("sarif", "render"),
    "rdjson": ("rdjson", "render"),
}


def reporter(name: str) -> Reporter:
    import importlib

    module, function = _RENDERERS[ALIASES.get(name, name)]
    return getattr(importlib.import_module(f"gradlint.reporters.{module}"), function)


# Kept for callers of the old table (text/json/github/sarif).
REPORTERS: dict[str, Callable[[RunResult], str]] = {
    name: (lambda run, _name=name: reporter(_name)(run, ReportContext()))
    for name in ("text", "json", "github", "sarif")
}
