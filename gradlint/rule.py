"""The base class every rule derives from, and the data a rule declares.

A rule is one class in one file under ``gradlint/rules/``. It reads the file through the
semantic model (``self.model``) while the one walk of the stdlib ast visits the node types it
declares (``visit_Call``, ``leave_FunctionDef``...), and calls :meth:`Rule.report` with ast
nodes. A fix is described by :class:`NodeEdit` s: the libcst node at the same source range is
rebuilt only when the fix is applied, so checking never imports libcst.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from gradlint.findings import Applicability, Finding
from gradlint.options import Option

__all__ = ["NO_FIX", "Fix", "ImportSpec", "Invalid", "NodeEdit", "Option", "Report", "Rule", "Valid"]

if TYPE_CHECKING:
    import ast

    from gradlint.fileinfo import FileInfo
    from gradlint.semantic.model import SemanticModel


@dataclass(frozen=True, slots=True)
class ImportSpec:
    """An import a fix needs: ``import module`` or ``from module import name``."""

    module: str
    name: str | None = None


@dataclass(frozen=True, slots=True)
class NodeEdit:
    """Replace the code of ``target`` (an ast node) with what ``build`` makes of its libcst node.

    ``build`` receives the libcst node spanning the same source range as ``target`` and returns
    its replacement; it runs only when the fix is applied (import libcst inside it).
    """

    target: ast.AST
    build: Callable[[Any], Any]


@dataclass(frozen=True, slots=True)
class Fix:
    """The edits that fix one finding, plus the imports they need."""

    applicability: Applicability
    message: str
    edits: tuple[NodeEdit, ...]
    imports: tuple[ImportSpec, ...] = ()


@dataclass(frozen=True, slots=True)
class Valid:
    """Example code the rule must not report."""

    code: str
    path: str = "example.py"
    options: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Invalid:
    """Example code the rule must report; optional pins for place, message and fixed code.

    ``expected_fix`` is the whole file after applying every fix of this rule, unsafe ones
    included; ``None`` means "not checked", and ``expected_fix=NO_FIX`` means "no fix offered".
    """

    code: str
    line: int | None = None
    column: int | None = None
    message: str | None = None
    expected_fix: str | None = None
    count: int = 1
    path: str = "example.py"
    options: Mapping[str, Any] = field(default_factory=dict)


NO_FIX = "<no fix>"


@dataclass(slots=True)
class Report:
    """A finding as a rule produced it: still attached to ast nodes.

    ``statement`` is the enclosing statement, whose first line may also hold the ``# noqa``.
    """

    code: str
    node: ast.AST
    message: str
    statement: ast.AST | None
    fix: Fix | None


class Rule:
    """Base class of all rules.

    Subclasses set the class attributes below, write ``visit_<AstNode>`` / ``leave_<AstNode>``
    methods (called during the one walk with ``self.model`` current at the node) and call
    :meth:`report`. One instance is built per process and reused for every file;
    :meth:`begin_file` resets per-file state.
    """

    code: ClassVar[str]
    name: ClassVar[str]
    summary: ClassVar[str]
    OPTIONS: ClassVar[Sequence[Option]] = ()
    VALID: ClassVar[Sequence[Valid]] = ()
    INVALID: ClassVar[Sequence[Invalid]] = ()
    # A cheap text test: files it rejects cannot produce a finding and are not parsed.
    TRIGGER: ClassVar[re.Pattern[str] | None] = None
    # Project rules record facts per file (``record_fact``) and report in ``reduce``;
    # REDUCER names a function that does the same without importing the rules
    # ("module:function"), so a run served from the cache never imports them.
    PROJECT: ClassVar[bool] = False
    REDUCER: ClassVar[str | None] = None
    # Whether the rule offers fixes; by default, whether an INVALID example pins a fix.
    FIXABLE: ClassVar[bool | None] = None

    def __init__(self, options: Mapping[str, Any] | None = None) -> None:
        given = options or {}
        self.options: dict[str, Any] = {
            option.name: given.get(option.name, option.default) for option in self.OPTIONS
        }
        self.model: SemanticModel = None  # type: ignore[assignment]
        self.info: FileInfo | None = None
        self.reports: list[Report] = []
        self.facts: list[Any] = []

    @property
    def runtime_module(self) -> str:
        """Where fixes import runtime helpers from (the shared ``runtime-module`` option)."""
        return self.options.get("runtime-module", "gradlint_runtime")

    @classmethod
    def may_match(cls, text: str) -> bool:
        """Whether a file with this text could produce a finding of this rule."""
        return cls.TRIGGER is None or cls.TRIGGER.search(text) is not None

    @classmethod
    def docstring(cls) -> str:
        return cls.__doc__ or ""

    def wants_file(self, info: FileInfo) -> bool:
        """Whether to run on this file at all (decided from its path, before parsing)."""
        return True

    def begin_file(self, model: SemanticModel, info: FileInfo) -> None:
        """Reset per-file state; called before the walk."""
        self.model = model
        self.info = info
        self.reports = []
        self.facts = []

    def end_file(self) -> None:
        """Called after the walk; rules that defer decisions report here."""

    def record_fact(self, fact: Any) -> None:
        """Keep a JSON-serialisable fact for the project-wide ``reduce`` step (and the cache)."""
        self.facts.append(fact)

    @classmethod
    def reduce(cls, facts: Mapping[str, list[Any]], settings: Any) -> list[Finding]:
        """Project rules: turn the facts of every file into findings."""
        return []

    def report(
        self,
        node: ast.AST,
        message: str,
        *,
        fix: Fix | None = None,
        statement: ast.AST | None = None,
    ) -> None:
        """Record a finding at ``node``; ``statement`` is where a ``# noqa`` may also sit
        (by default the statement around the node at the walk, or found from its parents)."""
        model = self.model
        assert model is not None, "report() called outside a file"
        if statement is None:
            statement = model.enclosing_statement(node) if model.visited(node) else model.statement
        self.reports.append(Report(self.code, node, message, statement, fix))
