"""Benchmark gradlint_runtime's helpers against torch.nn.utils.get_total_norm (same run, same tensors).

The gradients have the parameter shapes of real architectures (biases, norms, embeddings, odd
vocabulary sizes), at about 1M, 25M and 100M parameters:

- gpt2: GPT-2 (token and position embeddings, 12 tensors per block: fused qkv, projections,
  MLP, two LayerNorms with biases, final LayerNorm); vocabularies 2003 / 10007 / 50257.
- resnet: CIFAR ResNet-56 (0.86M), torchvision ResNet-50 (25.6M) and Wide ResNet-101-2
  (126.9M): 4-d conv weights, BatchNorm weights and biases, the classifier.

For each model, dtype (float32, bfloat16) and thread count it prints, per helper, the median
time as a ratio to get_total_norm, the relative error of the returned norm against a float64
reference, and the peak extra memory of one call, then whether each target is met:
total_norm <= 1.15x and collect+materialize <= 1.5x get_total_norm, extra memory <= 5% of the
gradient bytes. Every method runs once per round (the order rotates from round to round), and
the median over the rounds is kept.

    python benchmarks/runtime_bench.py                      # everything: 1 thread, CPU time
    python benchmarks/runtime_bench.py --models gpt2 --sizes 1M,25M --dtypes bf16 --threads 1,2
    python benchmarks/runtime_bench.py --device cuda --clock wall

Clock: ``cpu`` (default) is the process CPU time (``time.process_time``): on a shared machine it
does not count time spent waiting for a core. With 2 threads it is the CPU time of both.
Peak memory (of one call after a warm-up): on CUDA the caching allocator's peak counter; on CPU
the peak resident set (VmHWM, reset through /proc/self/clear_refs) of a child process run with
MALLOC_MMAP_THRESHOLD_=65536, so freed temporaries go back to the OS (the timed runs do not
use that setting: it would slow every allocation).
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable

import gradlint_runtime as gr
import torch

TARGETS = {"total_norm": 1.15, "collect+materialize": 1.5}
MEMORY_TARGET = 0.05
DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}

Shape = tuple[int, ...]


def gpt2_shapes(layers: int, width: int, vocab: int, positions: int) -> list[Shape]:
    """GPT-2's parameters in ``named_parameters`` order (the LM head is tied to the embedding)."""
    d = width
    block = [(d,), (d,), (d, 3 * d), (3 * d,), (d, d), (d,), (d,), (d,), (d, 4 * d), (4 * d,), (4 * d, d), (d,)]
    return [(vocab, d), (positions, d)] + block * layers + [(d,), (d,)]


def _bn(channels: int) -> list[Shape]:
    return [(channels,), (channels,)]


def cifar_resnet_shapes(blocks_per_stage: int, classes: int = 100) -> list[Shape]:
    """He et al.'s CIFAR ResNet (6n+2 layers, 16/32/64 channels, basic blocks; option-A
    shortcuts have no parameters)."""
    shapes: list[Shape] = [(16, 3, 3, 3), *_bn(16)]
    inplanes = 16
    for planes in (16, 32, 64):
        for _ in range(blocks_per_stage):
            shapes += [(planes, inplanes, 3, 3), *_bn(planes), (planes, planes, 3, 3), *_bn(planes)]
            inplanes = planes
    return shapes + [(classes, 64), (classes,)]


def bottleneck_resnet_shapes(layers: list[int], width_per_group: int = 64, classes: int = 1000) -> list[Shape]:
    """torchvision's ResNet with Bottleneck blocks (ResNet-50/101/152, Wide ResNet)."""
    shapes: list[Shape] = [(64, 3, 7, 7), *_bn(64)]
    inplanes = 64
    for stage, count in enumerate(layers):
        planes = 64 * 2**stage
        width = planes * width_per_group // 64
        for block in range(count):
            shapes += [(width, inplanes, 1, 1), *_bn(width), (width, width, 3, 3), *_bn(width)]
            shapes += [(planes * 4, width, 1, 1), *_bn(planes * 4)]
            if block == 0:
                shapes += [(planes * 4, inplanes, 1, 1), *_bn(planes * 4)]
            inplanes = planes * 4
    return shapes + [(classes, inplanes), (classes,)]


MODELS: dict[str, dict[str, Callable[[], list[Shape]]]] = {
    "gpt2": {
        "1M": lambda: gpt2_shapes(4, 128, 2003, 256),
        "25M": lambda: gpt2_shapes(6, 512, 10007, 1024),
        "100M": lambda: gpt2_shapes(9, 768, 50257, 1024),
    },
    "resnet": {
        "1M": lambda: cifar_resnet_shapes(9),  # ResNet-56
        "25M": lambda: bottleneck_resnet_shapes([3, 4, 6, 3]),  # ResNet-50
        "100M": lambda: bottleneck_resnet_shapes([3, 4, 23, 3], width_per_group=128),  # Wide ResNet-101-2
    },
}


def make_params(shapes: list[Shape], dtype: torch.dtype, device: torch.device) -> list[torch.nn.Parameter]:
    gen = torch.Generator(device="cpu").manual_seed(0)
    params = []
    for shape in shapes:
        p = torch.nn.Parameter(torch.empty(shape, dtype=dtype, device=device))  # never read: pages stay untouched
        p.grad = (torch.randn(shape, generator=gen) * 1e-3).to(device=device, dtype=dtype)
        params.append(p)
    return params


def reference_norm(grads: list[torch.Tensor]) -> float:
    return math.sqrt(math.fsum(float(torch.linalg.vector_norm(g, dtype=torch.float64)) ** 2 for g in grads))  # noqa: GL001 (float64 reference)


def methods(params: list[torch.nn.Parameter]) -> dict[str, Callable[[], object]]:
    grads = [p.grad for p in params]
    split = int(len(params) * 0.9)
    collector = gr.GradientCollector()
    dual = gr.DualGradientCollector()
    return {
        "get_total_norm (baseline)": lambda: torch.nn.utils.get_total_norm(grads),
        "total_norm": lambda: gr.total_norm(grads),
        "collect+materialize": lambda: collector.collect(params).total_norm,
        "collect_and_clip (max_norm=1e30)": lambda: collector.collect_and_clip(params, 1e30).total_norm,
        "clip_grad_norm_ (max_norm=1e30)": lambda: gr.clip_grad_norm_(params, 1e30),
        "torch clip_grad_norm_ (ref)": lambda: torch.nn.utils.clip_grad_norm_(params, 1e30),
        "collect_dual+materialize": lambda: dual.collect(params[:split], params[split:]),
        "foreach_norm": lambda: gr.foreach_norm(grads),
    }


def value_of(name: str, result: object) -> float | None:
    if name == "foreach_norm":
        return math.sqrt(math.fsum(float(n) ** 2 for n in result))  # type: ignore[union-attr]
    if name == "collect_dual+materialize":
        return math.hypot(result.host.total_norm, result.seed.total_norm)  # type: ignore[attr-defined]
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
        gc.collect()
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")  # reset the peak resident set size
        before = _status("VmRSS")
        fn()
        return max(_status("VmHWM") - before, 0)
    except OSError:
        return None


def memory_of(model: str, size: str, dtype_name: str, device: torch.device) -> dict[str, int | None]:
    """Peak extra bytes of one (warmed-up) call of each method, measured in a child process:
    freed temporaries must go back to the OS there (MALLOC_MMAP_THRESHOLD_), which would slow
    every allocation of the timed runs."""
    if device.type == "cuda":
        params = make_params(MODELS[model][size](), DTYPES[dtype_name], device)
        table = methods(params)
        for fn in table.values():
            fn()
        return {name: peak_extra_bytes(fn, device) for name, fn in table.items()}
    env = {**os.environ, "MALLOC_MMAP_THRESHOLD_": "65536"}
    args = [sys.executable, __file__, "--memory-of", f"{model},{size},{dtype_name}"]
    out = subprocess.run(args, env=env, capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def _memory_child(spec: str) -> None:
    model, size, dtype_name = spec.split(",")
    torch.set_num_threads(1)
    params = make_params(MODELS[model][size](), DTYPES[dtype_name], torch.device("cpu"))
    table = methods(params)
    for fn in table.values():  # warm up: first-call allocations, lazy init, plan caches
        fn()
    print(json.dumps({name: peak_extra_bytes(fn, torch.device("cpu")) for name, fn in table.items()}))


def run(model: str, size: str, dtype_name: str, threads: int, repeats: int, device: torch.device, clock_name: str) -> list[str]:
    torch.set_num_threads(threads)
    clock = time.process_time if clock_name == "cpu" else time.perf_counter
    shapes = MODELS[model][size]()
    memory = memory_of(model, size, dtype_name, device)
    params = make_params(shapes, DTYPES[dtype_name], device)
    grads = [p.grad for p in params]
    grad_bytes = sum(g.numel() * g.element_size() for g in grads)
    numel = sum(g.numel() for g in grads)
    exact = reference_norm(grads)
    table = methods(params)
    for fn in table.values():  # warm up
        fn()
    times: dict[str, list[float]] = {name: [] for name in table}
    values: dict[str, float | None] = {}
    names = list(table)
    for round_ in range(repeats):  # interleaved rounds: noise from neighbours hits every method alike
        # rotated each round, so that no method always follows the same one (with 2 threads the
        # first parallel kernel after a serial one pays for waking the OpenMP workers)
        for name in names[round_ % len(names) :] + names[: round_ % len(names)]:
            fn = table[name]
            elapsed, result = timed(fn, device, clock)
            times[name].append(elapsed)
            values[name] = value_of(name, result)
    base = statistics.median(times["get_total_norm (baseline)"])
    print(
        f"\n## {model} {size}: {len(grads)} tensors, {numel / 1e6:.2f}M {dtype_name} elements "
        f"({grad_bytes / 2**20:.0f} MiB), device={device}, threads={threads}, clock={clock_name}, repeats={repeats}"
    )
    print("| helper | median ms | x get_total_norm | rel err vs f64 | peak extra MiB | % of grads | target |")
    print("|---|---|---|---|---|---|---|")
    verdicts_out = []
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
            met = ratio <= TARGETS[name]
            verdicts.append(f"time <= {TARGETS[name]}x: {'MET' if met else 'NOT MET'}")
            verdicts_out.append(f"{model} {size} {dtype_name} {threads}T {name}: {ratio:.2f}x {'MET' if met else 'NOT MET'}")
        if not name.endswith("(ref)") and not name.startswith("get_total_norm") and mem is not None:
            verdicts.append(f"mem <= 5%: {'MET' if mem <= MEMORY_TARGET * grad_bytes else 'NOT MET'}")
        print(f"| {name} | {ms:.2f} | {ratio:.2f} | {err:.1e} | {mem_txt} | {pct_txt} | {'; '.join(verdicts)} |")
    sys.stdout.flush()
    return verdicts_out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", default="gpt2,resnet", help=f"comma-separated, from {', '.join(MODELS)}")
    parser.add_argument("--sizes", default="1M,25M,100M", help="comma-separated, from 1M, 25M, 100M")
    parser.add_argument("--dtypes", default="fp32,bf16", help=f"comma-separated, from {', '.join(DTYPES)}")
    parser.add_argument("--threads", default="1", help="comma-separated thread counts (torch.set_num_threads)")
    parser.add_argument("--repeats", type=int, default=15, help="timed rounds per method (median reported)")
    parser.add_argument("--device", default="cpu", help="cpu or cuda (cuda syncs around every timed call)")
    parser.add_argument("--memory-of", default=None, help=argparse.SUPPRESS)  # internal: the memory child
    parser.add_argument(
        "--clock",
        choices=["wall", "cpu"],
        default="cpu",
        help="cpu: process CPU time (immune to neighbours on a shared machine); wall: perf_counter",
    )
    args = parser.parse_args(argv)
    if args.memory_of:
        _memory_child(args.memory_of)
        return
    device = torch.device(args.device)
    if device.type == "cuda" and args.clock == "cpu":
        parser.error("--clock cpu measures host CPU time; use --clock wall with --device cuda")
    if device.type == "cuda" and not torch.cuda.is_available():
        parser.error("--device cuda but CUDA is not available")
    models = [m.strip() for m in args.models.split(",") if m.strip()]
    sizes = [s.strip() for s in args.sizes.split(",") if s.strip()]
    dtypes = [d.strip() for d in args.dtypes.split(",") if d.strip()]
    threads = [int(t) for t in args.threads.split(",") if t.strip()]
    for name, choices in (("model", models), ("size", sizes), ("dtype", dtypes)):
        allowed = {"model": MODELS, "size": MODELS["gpt2"], "dtype": DTYPES}[name]
        unknown = [c for c in choices if c not in allowed]
        if unknown:
            parser.error(f"unknown {name} {unknown}; choose from {list(allowed)}")
    print(f"torch {torch.__version__}, gradlint_runtime {gr.__version__}")
    summary = []
    for model in models:
        for size in sizes:
            for dtype_name in dtypes:
                for count in threads:
                    summary += run(model, size, dtype_name, count, args.repeats, device, args.clock)
                    gc.collect()
    print("\n## Targets\n")
    for line in summary:
        print(f"- {line}")


if __name__ == "__main__":
    main()
