"""Plain data passed between the engine, the runner and the reporters.

Everything here is picklable and free of libcst nodes, so results can cross process
boundaries and be stored in the cache as JSON.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Applicability = Literal["safe", "unsafe"]

PARSE_ERROR_CODE = "GL000"


@dataclass(frozen=True, slots=True, order=True)
class Location:
    """A 1-based line and 1-based column, as editors and ruff's JSON show them."""

    row: int
    column: int


@dataclass(frozen=True, slots=True)
class Edit:
    """Replace the text between two locations with ``content``."""

    content: str
    location: Location
    end_location: Location


@dataclass(frozen=True, slots=True)
class FixInfo:
    """What a finding's fix would do, for reporters (the fix itself is applied by the engine)."""

    applicability: Applicability
    message: str
    edits: tuple[Edit, ...] = ()


@dataclass(frozen=True, slots=True)
class Finding:
    """One diagnostic at one place in one file."""

    path: str
    code: str
    message: str
    location: Location
    end_location: Location
    fix: FixInfo | None = None
    noqa_row: int | None = None
    # In a notebook, the cell (1-based, every cell counted); rows are then within that cell.
    cell: int | None = None

    @property
    def sort_key(self) -> tuple[str, int, int, int, str, str]:
        return (self.path, self.cell or 0, self.location.row, self.location.column, self.code, self.message)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Finding:
        fix = data.get("fix")
        return cls(
            path=data["path"],
            code=data["code"],
            message=data["message"],
            location=Location(**data["location"]),
            end_location=Location(**data["end_location"]),
            fix=None
            if fix is None
            else FixInfo(
                applicability=fix["applicability"],
                message=fix["message"],
                edits=tuple(
                    Edit(
                        content=e["content"],
                        location=Location(**e["location"]),
                        end_location=Location(**e["end_location"]),
                    )
                    for e in fix["edits"]
                ),
            ),
            noqa_row=data.get("noqa_row"),
            cell=data.get("cell"),
        )


@dataclass(slots=True)
class FileResult:
    """Everything the per-file phase learned about one file."""

    path: str
    findings: list[Finding] = field(default_factory=list)
    facts: dict[str, list[Any]] = field(default_factory=dict)
    original: str | None = None
    fixed: str | None = None
    encoding: str = "utf-8"
    fixed_count: int = 0
    fix_errors: list[str] = field(default_factory=list)
    skipped: str | None = None
    internal_error: str | None = None


def parse_error(path: str, message: str, location: Location) -> Finding:
    """A GL000 finding: the file could not be read, decoded or parsed."""
    return Finding(path, PARSE_ERROR_CODE, message, location, location)
