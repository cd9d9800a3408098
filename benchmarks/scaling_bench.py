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


def per_line_cpu(engine: Engine, text: str, path: str) -> float:
    """Best-of-3 CPU seconds per line of one check of ``text``."""
    info = FileInfo(path, "bench", False)
    best = float("inf")
    for _ in range(REPEATS):
        start = time.process_time()
        engine.check_text(text, info)
        best = min(best, time.process_time() - start)
    return best / max(1, text.count("\n"))


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
    print("| rules | script us/line | median file us/line | ratio |")
    print("|---|---|---|---|")
    selections = [(rule.code,) for rule in all_rules()] + [tuple(rule.code for rule in all_rules())]
    for select in selections:
        engine = Engine(replace(Settings(), select=select))
        script_cost = per_line_cpu(engine, script, "long_script.py")
        costs = [per_line_cpu(engine, text, path) for path, text in files]
        median = statistics.median(costs)
        name = select[0] if len(select) == 1 else "all"
        print(f"| {name} | {script_cost * 1e6:.1f} | {median * 1e6:.1f} | {script_cost / median:.2f}x |")
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
