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
