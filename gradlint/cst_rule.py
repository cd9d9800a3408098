"""The libcst rule base, kept while rules move to the ast and semantic model (gradlint.rule).

A ``CstRule`` is a batched libcst visitor; the engine parses the file with libcst only when
some enabled ``CstRule`` wants it. New rules derive from :class:`gradlint.rule.Rule`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

import libcst as cst

from gradlint.findings import Applicability, Finding
from gradlint.options import Option
from gradlint.rule import NO_FIX, ImportSpec, Invalid, Valid

__all__ = ["NO_FIX", "CstFix", "CstReport", "CstRule", "ImportSpec", "Invalid", "Option", "Valid"]

if TYPE_CHECKING:
    from gradlint.context import FileContext, FileInfo
    from gradlint.prescreen import AstScreen

VisitorMethod = Callable[[cst.CSTNode], None]


@dataclass(frozen=True, slots=True)
class CstFix:
    """Node replacements that fix one finding, plus the imports they need."""

    applicability: Applicability
    message: str
    replacements: tuple[tuple[cst.CSTNode, cst.CSTNode], ...]
    imports: tuple[ImportSpec, ...] = ()


@dataclass(slots=True)
class CstReport:
    """A finding as a rule produced it: still attached to libcst nodes."""

    code: str
    node: cst.CSTNode
    message: str
    statement: cst.CSTNode | None
    fix: CstFix | None
    # The module-level statement around the report: positions are computed for it alone.
    top: cst.CSTNode | None = None


class CstRule(cst.BatchableCSTVisitor):
    """Base class of all rules.

    Subclasses set the class attributes below, write ``visit_*``/``leave_*`` methods and call
    :meth:`report`. One instance is built per process and reused for every file:
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
    # REDUCER names a function that does the same without importing libcst ("module:function"),
    # so a run served from the cache never imports the rules.
    PROJECT: ClassVar[bool] = False
    REDUCER: ClassVar[str | None] = None
    # Whether the rule offers fixes; by default, whether an INVALID example pins a fix.
    FIXABLE: ClassVar[bool | None] = None

    _visitor_names_cache: ClassVar[dict[type, tuple[str, ...]]] = {}

    def __init__(self, options: Mapping[str, Any] | None = None) -> None:
        super().__init__()
        given = options or {}
        self.options: dict[str, Any] = {
            option.name: given.get(option.name, option.default) for option in self.OPTIONS
        }
        self._visitors = {name: getattr(self, name) for name in self._visitor_names()}
        self.ctx: FileContext | None = None
        self.reports: list[CstReport] = []

    @classmethod
    def _visitor_names(cls) -> tuple[str, ...]:
        """The visit/leave method names of this class, scanned once per class."""
        names = CstRule._visitor_names_cache.get(cls)
        if names is None:
            names = tuple(
                name
                for name in dir(cls)
                if name.startswith(("visit_", "leave_"))
                and callable(getattr(cls, name))
                and not getattr(getattr(cls, name), "_is_no_op", False)
            )
            CstRule._visitor_names_cache[cls] = names
        return names

    def get_visitors(self) -> Mapping[str, VisitorMethod]:
        # libcst rescans every instance with inspect.getmembers on each file; we don't.
        return self._visitors

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

    def prescreen(self, screen: AstScreen) -> bool:
        """Whether the file's stdlib ``ast`` shows a candidate; only then is libcst run.

        Must never return False for a file the rule would report: it is an optimisation,
        and a test compares findings with and without it.
        """
        return True

    def regions(self, screen: AstScreen) -> set[int] | None:
        """Indexes of the module-level statements (``screen.tree.body``) the rule must see,
        or ``None`` for the whole file. Asked only after :meth:`prescreen` said yes; the
        engine parses only those statements (plus imports) when checking."""
        return None

    def wants_file(self, info: FileInfo) -> bool:
        """Whether to run on this file at all (decided from its path, before parsing)."""
        return True

    def begin_file(self, ctx: FileContext) -> None:
        """Reset per-file state; called before the file's tree is visited."""
        self.ctx = ctx
        self.reports = []

    def end_file(self) -> None:
        """Called after the tree is visited; rules that defer decisions report here."""

    def record_fact(self, fact: Any) -> None:
        """Keep a JSON-serialisable fact for the project-wide ``reduce`` step (and the cache)."""
        assert self.ctx is not None, "record_fact() called outside a file"
        self.ctx.facts.setdefault(self.code, []).append(fact)

    @classmethod
    def reduce(cls, facts: Mapping[str, list[Any]], settings: Any) -> list[Finding]:
        """Project rules: turn the facts of every file into findings."""
        return []

    def report(
        self,
        node: cst.CSTNode,
        message: str,
        *,
        fix: CstFix | None = None,
        statement: cst.CSTNode | None = None,
    ) -> None:
        """Record a finding at ``node``; ``statement`` is where a ``# noqa`` may also sit."""
        assert self.ctx is not None, "report() called outside a file"
        if statement is None:
            statement = self.ctx.current_statement()
        top = self.ctx.statements[0] if self.ctx.statements else None
        self.reports.append(CstReport(self.code, node, message, statement, fix, top))
