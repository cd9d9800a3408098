"""The rule registry: every public module in this package holds one rule class.

Adding a rule means adding one file here; nothing else needs to be edited. The package itself
stays light (no libcst until ``all_rules`` is called), so its private helper modules, such as
GL004's reducer, can be imported on their own.
"""

from __future__ import annotations

import functools
import importlib
import pkgutil
from typing import TYPE_CHECKING

from gradlint.registry import PARSE_ERROR_SUMMARY

if TYPE_CHECKING:
    from gradlint.rule import Rule

__all__ = ["PARSE_ERROR_SUMMARY", "all_rules", "rule_by_code"]


@functools.cache
def all_rules() -> tuple[type[Rule], ...]:
    """Every rule class, sorted by code."""
    from gradlint.rule import Rule

    found: dict[str, type[Rule]] = {}
    for module_info in pkgutil.iter_modules(__path__):
        if module_info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{module_info.name}")
        for value in vars(module).values():
            if (
                isinstance(value, type)
                and issubclass(value, Rule)
                and value is not Rule
                and value.__module__ == module.__name__
            ):
                if value.code in found:
                    raise RuntimeError(f"two rules share the code {value.code}")
                found[value.code] = value
    return tuple(found[code] for code in sorted(found))


def rule_by_code(code: str) -> type[Rule] | None:
    for rule in all_rules():
        if rule.code == code.upper():
            return rule
    return None

