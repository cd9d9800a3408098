"""Benchmark gradlint_runtime's helpers against torch.nn.utils.get_total_norm (same run, same tensors).

For synthetic transformer-like float32 "models" (1M / 25M / 100M parameters) it prints, per helper,
the median time as a ratio to get_total_norm, the relative error of the returned norm against a
float64 reference, and the peak extra memory during one call, then whether each target is met:
total_norm <= 1.15x, collect+materialize <= 1.5x, peak extra memory < 1% of the gradient bytes.

    python benchmarks/runtime_bench.py --sizes 1M,25M,100M --repeats 11 --device cpu
    python benchmarks/runtime_bench.py --clock cpu     # 1 thread, process CPU time: for busy machines

Peak memory: on CUDA from the caching allocator's peak counter; on CPU from the process's peak
resident set (VmHWM, reset through /proc/self/clear_refs) with MALLOC_MMAP_THRESHOLD_=65536 so
freed temporaries go back to the OS (the script re-executes itself with it set).
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import sys
import time
from collections.abc import Callable

import gradlint_runtime as gr
import torch

# name -> (transformer blocks, width, vocabulary): 12 tensors per block + embedding + final norm
MODELS: dict[str, tuple[int, int, int]] = {
    "1M": (4, 128, 2000),  # 51 tensors, 1.05M params, largest 0.26M
    "25M": (8, 512, 64),  # 99 tensors, 25.2M params, largest 1.05M
    "100M": (24, 576, 8000),  # 291 tensors, 100.2M params, largest 4.6M
}
TARGETS = {"total_norm": 1.15, "collect+materialize": 1.5}
MEMORY_TARGET = 0.01


def model_shapes(blocks: int, width: int, vocab: int) -> list[tuple[int, ...]]:
    d = width
    block = [(3 * d, d), (3 * d,), (d, d), (d,), (d,), (d,), (4 * d, d), (4 * d,), (d, 4 * d), (d,), (d,), (d,)]
    return [(vocab, d)] + block * blocks + [(d,), (d,)]


def make_params(shapes: list[tuple[int, ...]], device: torch.device) -> list[torch.nn.Parameter]:
    gen = torch.Generator(device="cpu").manual_seed(0)
    params = []
    for shape in shapes:
        p = torch.nn.Parameter(torch.empty(shape, device=device))
        p.grad = (torch.randn(shape, generator=gen) * 1e-3).to(device)
        params.append(p)
    return params


def reference_norm(grads: list[torch.Tensor]) -> float:
    return math.sqrt(sum(float(torch.linalg.vector_norm(g, dtype=torch.float64)) ** 2 for g in grads))  # noqa: GL001 (float64 reference)


def health_loop(grads: list[torch.Tensor]) -> float:
    """The typical hand-written per-tensor health loop (one host read per statistic per tensor)."""
    total_sq = 0.0
    for g in grads:
        _zeros = (g == 0).sum().item()
        _nans = torch.isnan(g).sum().item()
        _infs = torch.isinf(g).sum().item()
        total_sq += g.norm().item() ** 2  # noqa: GL001 (the anti-pattern, timed for reference)
    return math.sqrt(total_sq)


def methods(params: list[torch.nn.Parameter]) -> dict[str, Callable[[], float]]:
    grads = [p.grad for p in params]
    split = int(len(params) * 0.9)
    collector = gr.GradientCollector()
    dual = gr.DualGradientCollector()

    return {
        "get_total_norm (baseline)": lambda: torch.nn.utils.get_total_norm(grads),
        "total_norm": lambda: gr.total_norm(grads),
        "foreach_norm": lambda: gr.foreach_norm(grads),
        "clip_grad_norm_ (max_norm=1e30)": lambda: gr.clip_grad_norm_(params, 1e30),
        "torch clip_grad_norm_ (ref)": lambda: torch.nn.utils.clip_grad_norm_(params, 1e30),
        "collect+materialize": lambda: collector.collect(params).total_norm,
        "collect_dual+materialize": lambda: dual.collect(params[:split], params[split:]),
        "per-tensor health loop (ref)": lambda: health_loop(grads),
    }


def value_of(name: str, result: object, grads: list[torch.Tensor]) -> float | None:
    if name == "foreach_norm":
        return math.sqrt(sum(float(n) ** 2 for n in result))  # type: ignore[union-attr]
    if name == "collect_dual+materialize":
        m = result  # combine the two group norms
        return math.hypot(m.host.total_norm, m.seed.total_norm)  # type: ignore[union-attr]
    return float(result)  # type: ignore[arg-type]


def timed(fn: Callable[[], object], device: torch.device, clock: Callable[[], float]) -> tuple[float, object]:
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    start = clock()
    result = fn()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return clock() - start, result


def _status(key: str) -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(key):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f"{key} not in /proc/self/status")


def peak_extra_bytes(fn: Callable[[], object], device: torch.device) -> int | None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
        before = torch.cuda.memory_allocated(device)
        fn()
        torch.cuda.synchronize(device)
        return torch.cuda.max_memory_allocated(device) - before
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")  # reset the peak resident set size
        before = _status("VmRSS")
        fn()
        return max(_status("VmHWM") - before, 0)
    except OSError:
        return None


def run(size: str, repeats: int, device: torch.device, clock_name: str) -> None:
    clock = time.process_time if clock_name == "cpu" else time.perf_counter
    shapes = model_shapes(*MODELS[size])
    params = make_params(shapes, device)
    grads = [p.grad for p in params]
    grad_bytes = sum(g.numel() * g.element_size() for g in grads)
    numel = sum(g.numel() for g in grads)
    exact = reference_norm(grads)
    table = methods(params)
    for fn in table.values():  # warm up (first-call allocations, lazy init)
        fn()
    times: dict[str, list[float]] = {name: [] for name in table}
    values: dict[str, float | None] = {}
    for _ in range(repeats):  # interleaved rounds: noise from neighbours hits every method alike
        for name, fn in table.items():
            elapsed, result = timed(fn, device, clock)
            times[name].append(elapsed)
            values[name] = value_of(name, result, grads)
    memory = {name: peak_extra_bytes(fn, device) for name, fn in table.items()}
    base = statistics.median(times["get_total_norm (baseline)"])
    print(
        f"\n## {size}: {len(grads)} tensors, {numel / 1e6:.1f}M float32 elements ({grad_bytes / 2**20:.0f} MiB), "
        f"device={device}, threads={torch.get_num_threads()}, clock={clock_name}, repeats={repeats}"
    )
    print("| helper | median ms | x get_total_norm | rel err vs f64 | peak extra MiB | % of grads | target |")
    print("|---|---|---|---|---|---|---|")
    for name in table:
        ms = statistics.median(times[name]) * 1e3
        ratio = ms / (base * 1e3)
        value = values[name]
        err = abs(value - exact) / exact if value is not None else float("nan")
        mem = memory[name]
        mem_txt = f"{mem / 2**20:.2f}" if mem is not None else "n/a"
        pct_txt = f"{100 * mem / grad_bytes:.2f}%" if mem is not None else "n/a"
        verdicts = []
        if name in TARGETS:
            verdicts.append(f"time <= {TARGETS[name]}x: {'MET' if ratio <= TARGETS[name] else 'NOT MET'}")
        if not name.endswith("(ref)") and not name.startswith("get_total_norm") and mem is not None:
            verdicts.append(f"mem < 1%: {'MET' if mem < MEMORY_TARGET * grad_bytes else 'NOT MET'}")
        print(f"| {name} | {ms:.2f} | {ratio:.2f} | {err:.1e} | {mem_txt} | {pct_txt} | {'; '.join(verdicts)} |")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1M,25M,100M", help=f"comma-separated, from {', '.join(MODELS)}")
    parser.add_argument("--repeats", type=int, default=11, help="timed rounds per method (median reported)")
    parser.add_argument("--device", default="cpu", help="cpu or cuda (cuda syncs around every timed call)")
    parser.add_argument("--threads", type=int, default=None, help="torch.set_num_threads (default: torch's)")
    parser.add_argument(
        "--clock",
        choices=["wall", "cpu"],
        default="wall",
        help="wall: perf_counter; cpu: process CPU time with 1 thread (immune to neighbours on a shared machine)",
    )
    args = parser.parse_args(argv)
    if args.clock == "cpu":
        if args.device != "cpu":
            parser.error("--clock cpu measures host CPU time; use --clock wall with --device cuda")
        args.threads = 1
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        parser.error("--device cuda but CUDA is not available")
    if args.threads:
        torch.set_num_threads(args.threads)
    sizes = [s.strip() for s in args.sizes.split(",") if s.strip()]
    unknown = [s for s in sizes if s not in MODELS]
    if unknown:
        parser.error(f"unknown sizes {unknown}; choose from {list(MODELS)}")
    print(f"torch {torch.__version__}, gradlint_runtime {gr.__version__}")
    for size in sizes:
        run(size, args.repeats, device, args.clock)


if __name__ == "__main__":
    if os.environ.get("MALLOC_MMAP_THRESHOLD_") is None and sys.platform.startswith("linux"):
        # freed temporaries must return to the OS for the peak-RSS measurement to see them
        os.environ["MALLOC_MMAP_THRESHOLD_"] = "65536"
        os.execv(sys.executable, [sys.executable, *sys.argv])
    main()
