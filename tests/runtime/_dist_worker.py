"""One rank of the two-process gloo test (run by test_runtime_distributed.py; not collected).

Usage: python _dist_worker.py RANK WORLD_SIZE PORT
Prints one JSON object: {case: {order: global total_norm}} for this rank's shard.
"""

from __future__ import annotations

import datetime
import json
import math
import sys

import torch
import torch.distributed as dist
from gradlint_runtime import clip_grad_norm_, total_norm

ORDERS = [2.0, 1.0, 3.0, math.inf, -math.inf, 0.0]


def cases() -> dict:
    """Deterministic gradient sets; tensor i belongs to rank i % world_size (unless noted)."""
    gen = torch.Generator().manual_seed(0)
    randn = [torch.randn(n, generator=gen) for n in (10, 300, 20_000, 7)]
    nan = [torch.ones(5), torch.tensor([1.0, math.nan])]
    inf = [torch.ones(5), torch.tensor([1.0, math.inf])]
    return {
        "randn": randn,
        "huge-and-tiny": [torch.full((1000,), 1e-25), torch.full((1000,), 1e20), torch.full((10,), 1e-25)],
        "all-tiny": [torch.full((1000,), 1e-30), torch.full((500,), 1e-30)],
        "nan-on-one-rank": nan,
        "inf-on-one-rank": inf,
        "float64-huge": [
            torch.full((100,), 1e200, dtype=torch.float64),
            torch.full((100,), 1e200, dtype=torch.float64),
        ],
        "one-rank-empty": [torch.randn(50, generator=gen)],
    }


def shard(tensors: list, rank: int, world: int) -> list:
    return [t for i, t in enumerate(tensors) if i % world == rank]


def main() -> None:
    rank, world, port = (int(a) for a in sys.argv[1:4])
    dist.init_process_group(
        "gloo",
        init_method=f"tcp://127.0.0.1:{port}",
        rank=rank,
        world_size=world,
        timeout=datetime.timedelta(seconds=30),
    )
    out: dict = {}
    for name, tensors in cases().items():
        mine = shard(tensors, rank, world)
        out[name] = {str(p): float(total_norm(mine, p, process_group=dist.group.WORLD)) for p in ORDERS}
    # clipping by the global norm: every rank scales its shard by the same coefficient
    params = [torch.nn.Parameter(torch.zeros_like(t)) for t in shard(cases()["huge-and-tiny"], rank, world)]
    for param, t in zip(params, shard(cases()["huge-and-tiny"], rank, world)):
        param.grad = t.clone()
    pre = clip_grad_norm_(params, 2.0, process_group=dist.group.WORLD)
    post = total_norm(params, process_group=dist.group.WORLD)
    out["clip"] = {"pre": float(pre), "post": float(post)}
    dist.destroy_process_group()
    print(json.dumps(out))


if __name__ == "__main__":
    main()
