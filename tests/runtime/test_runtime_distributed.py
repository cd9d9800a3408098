"""process_group: the global norm of a model sharded over two gloo processes on localhost."""

from __future__ import annotations

import importlib.util
import json
import math
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from gradlint_runtime import total_norm

WORKER = Path(__file__).with_name("_dist_worker.py")
TIMEOUT_S = 60


def _load_worker():
    spec = importlib.util.spec_from_file_location("gradlint_runtime_dist_worker", WORKER)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def two_rank_results() -> list:
    assert torch.distributed.is_available()
    port = _free_port()
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    procs = [
        subprocess.Popen(
            [sys.executable, str(WORKER), str(rank), "2", str(port)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for rank in range(2)
    ]
    results = []
    try:
        for proc in procs:
            out, err = proc.communicate(timeout=TIMEOUT_S)
            assert proc.returncode == 0, err
            results.append(json.loads(out.strip().splitlines()[-1]))
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    return results


def test_global_norm_equals_single_process_norm(two_rank_results: list) -> None:
    worker = _load_worker()
    for name, tensors in worker.cases().items():
        for p in worker.ORDERS:
            expected = float(total_norm(tensors, p))
            for rank, result in enumerate(two_rank_results):
                got = result[name][str(p)]
                where = f"{name}, p={p}, rank {rank}"
                if math.isnan(expected):
                    assert math.isnan(got), where
                elif math.isinf(expected):
                    assert got == expected, where
                else:
                    assert got == pytest.approx(expected, rel=1e-6), where


def test_scaling_survives_the_all_reduce(two_rank_results: list) -> None:
    # squares of 1e20 overflow float32 and 1e-30 squares underflow it: both must survive
    for result in two_rank_results:
        assert result["huge-and-tiny"]["2.0"] == pytest.approx(math.sqrt(1000) * 1e20, rel=1e-6)
        assert result["all-tiny"]["2.0"] == pytest.approx(math.sqrt(1500) * 1e-30, rel=1e-6)
        assert result["float64-huge"]["2.0"] == pytest.approx(math.sqrt(200) * 1e200, rel=1e-12)
        assert math.isnan(result["nan-on-one-rank"]["2.0"])
        assert result["inf-on-one-rank"]["2.0"] == math.inf


def test_clip_grad_norm_by_the_global_norm(two_rank_results: list) -> None:
    for result in two_rank_results:
        assert result["clip"]["pre"] == pytest.approx(math.sqrt(1000) * 1e20, rel=1e-6)
        assert result["clip"]["post"] == pytest.approx(2.0, rel=1e-6)  # float32 squares would overflow
