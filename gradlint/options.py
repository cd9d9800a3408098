"""Rule options as declared by rules and read from ``[tool.gradlint]`` (no libcst here)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Option:
    """A rule option, read from ``[tool.gradlint]`` under its ``name``."""

    name: str
    default: Any
    doc: str
    kind: type = str
    item_kind: type | None = None

    def validate(self, value: Any) -> Any:
        """Return the value if it has the declared type, else raise ``ValueError``."""
        if self.kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, self.kind) or (self.kind is int and isinstance(value, bool)):
            raise ValueError(f"expected {self.kind.__name__}, got {type(value).__name__}")
        if self.item_kind is not None:
            for item in value:
                if not isinstance(item, self.item_kind):
                    raise ValueError(
                        f"expected a list of {self.item_kind.__name__}, got {item!r}"
                    )
        return value


# Shared by every rule whose fixes call the runtime: one declaration, one meaning.
RUNTIME_MODULE_OPTION = Option(
    "runtime-module",
    default="gradlint_runtime",
    doc="Module that fixes import runtime helpers from.",
)

# Project facts, computed by the config from the project's metadata (see README,
# "Fixes that keep the project working"); a rule that needs one lists it in OPTIONS.
RUNTIME_AVAILABLE_OPTION = Option(
    "runtime-available",
    default=True,
    doc="Whether the project can import the runtime module (computed: `gradlint-runtime` "
    "declared in the project's dependencies, or `runtime-module` set; or set explicitly). "
    "When false, fixes must not import the runtime.",
    kind=bool,
)
TARGET_VERSION_OPTION = Option(
    "target-version",
    default="py39",
    doc='Oldest Python the fixed code must run on, e.g. "py310" (computed from '
    "`requires-python`, else py39; or set explicitly).",
)
