"""GL003 decides methods when their class ends; ``# noqa`` still belongs to the method's own
lines (the parameter's line and the ``def`` line), never to the class line."""

from __future__ import annotations

from dataclasses import replace

from gradlint.config import Settings
from gradlint.fileinfo import describe_file
from gradlint.engine import Engine

CODE = '''import torch


class Table:  # noqa: GL003
    def __init__(self):
        self.register_buffer("w", torch.ones(3))

    def reported(self, n: int, device="cpu"):
        return torch.arange(n, device=device) * self.w

    def on_def_line(self, n: int, device="cpu"):  # noqa: GL003
        return torch.arange(n, device=device) * self.w

    def on_param_line(
        self,
        n: int,
        device="cuda",  # noqa: GL003
    ):
        return torch.arange(n, device=device) * self.w
'''


def test_noqa_of_deferred_method_reports() -> None:
    engine = Engine(replace(Settings(), select=("GL003",)))
    findings = engine.check_text(CODE, describe_file("table.py")).findings
    assert [f.location.row for f in findings] == [8]
    assert [f.noqa_row for f in findings] == [8]
