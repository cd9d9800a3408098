"""Output formats: each module renders a finished run as text for stdout."""

from __future__ import annotations

from collections.abc import Callable

from gradlint.reporters import github, json_format, sarif, text
from gradlint.runner import RunResult

Reporter = Callable[[RunResult], str]

REPORTERS: dict[str, Reporter] = {
    "text": text.render,
    "json": json_format.render,
    "github": github.render,
    "sarif": sarif.render,
}
