#!/usr/bin/env python3
"""Does a check cost grow with the code, not faster? Per-line CPU of one long script vs. real files.

For every rule on its own (and all rules together), checks each file of the given corpora and
the synthetic 2,000-line training script (``long_script.py``) in this process, and prints the
script's CPU per line as a ratio to the median per-line CPU of the corpora's files (files of
at least 50 lines, so that fixed per-file costs do not dominate). A ratio near 1 means linear
cost; the target is <= 2.

    python benchmarks/scaling_bench.py /path/to/repo [/path/to/other ...] [--profile]

``--profile`` also prints the top functions of a cProfile run over the long script with all
rules (where its time goes).
"""

from __future__ import annotations

import argparse
import ast
import cProfile
import io
import pstats
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from long_script import long_script  # noqa: E402

from gradlint.config import Settings  # noqa: E402
from gradlint.engine import Engine  # noqa: E402
from gradlint.fileinfo import FileInfo  # noqa: E402
from gradlint.rules import all_rules  # noqa: E402
from gradlint.source import decode  # noqa: E402

REPEATS = 3


def check_cpu(engine: Engine, text: str, path: str) -> float:
    """Best-of-3 CPU seconds of one check of ``text``."""
    info = FileInfo(path, "bench", False)
    best = float("inf")
    for _ in range(REPEATS):
        start = time.process_time()
        engine.check_text(text, info)
        best = min(best, time.process_time() - start)
    return best


def size(text: str) -> tuple[int, int]:
    """(lines, ast nodes): dense code has more nodes per line, so both are shown."""
    try:
        nodes = sum(1 for _ in ast.walk(ast.parse(text)))
    except (SyntaxError, ValueError, RecursionError):
        nodes = 0
    return max(1, text.count("\n")), max(1, nodes)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("corpora", nargs="+", type=Path)
    parser.add_argument("--profile", action="store_true")
    options = parser.parse_args()
    script = long_script()
    files: list[tuple[str, str]] = []
    for root in options.corpora:
        for path in sorted(root.rglob("*.py")):
            text = decode(path.read_bytes()).text
            if text.count("\n") >= 50:
                files.append((str(path), text))
    print(f"long script: {script.count(chr(10))} lines; corpus files of >= 50 lines: {len(files)}")
    print()
    script_lines, script_nodes = size(script)
    sizes = [size(text) for _, text in files]
    print("Per line and per ast node, the script against the median file (all files, and the files")
    print("the rule actually analyses: its text trigger matches).")
    print()
    print("| rules | script us/line | median us/line (all / analysed) | ratio | script us/node | median us/node (analysed) | ratio |")
    print("|---|---|---|---|---|---|---|")
    selections = [(rule.code,) for rule in all_rules()] + [tuple(rule.code for rule in all_rules())]
    for select in selections:
        engine = Engine(replace(Settings(), select=select))
        cost = check_cpu(engine, script, "long_script.py")
        per_line, per_line_run, per_node_run = [], [], []
        for (path, text), (lines, nodes) in zip(files, sizes):
            spent = check_cpu(engine, text, path)
            per_line.append(spent / lines)
            if any(rule.may_match(text) for rule in engine.ast_rules + engine.source_rules):
                per_line_run.append(spent / lines)
                per_node_run.append(spent / nodes)
        median = statistics.median(per_line)
        median_run = statistics.median(per_line_run) if per_line_run else float("nan")
        node_run = statistics.median(per_node_run) if per_node_run else float("nan")
        name = select[0] if len(select) == 1 else "all"
        print(
            f"| {name} | {cost / script_lines * 1e6:.1f} | {median * 1e6:.1f} / {median_run * 1e6:.1f} | "
            f"{cost / script_lines / median_run:.2f}x | {cost / script_nodes * 1e6:.2f} | {node_run * 1e6:.2f} | "
            f"{cost / script_nodes / node_run:.2f}x |"
        )
    if options.profile:
        engine = Engine(Settings())
        profile = cProfile.Profile()
        profile.enable()
        engine.check_text(script, FileInfo("long_script.py", "bench", False))
        profile.disable()
        stream = io.StringIO()
        pstats.Stats(profile, stream=stream).sort_stats("cumulative").print_stats(25)
        print(stream.getvalue())


if __name__ == "__main__":
    main()
