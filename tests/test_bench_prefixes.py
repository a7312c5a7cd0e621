"""The out-of-core benchmark's breakdown of the workers' time by task name (``measure``'s
``prefixes``): what finds where a row's excess over its floor goes (reads, ghost planes, the
kernel fused with its writes), by the tasks' names without their tokens and chunk indices."""

from __future__ import annotations

import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pytest

distributed = pytest.importorskip("distributed")
pytest.importorskip("psutil")
da = pytest.importorskip("dask.array")

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))

from bench_out_of_core import measure  # noqa: E402


def _slow_sum(block: np.ndarray) -> np.ndarray:
    time.sleep(0.01)
    return block.sum(keepdims=True)


def test_prefixes_count_each_task_name_and_its_compute_time():
    """6 chunks: 6 ``ones_like`` tasks and 6 ``_slow_sum`` ones (each at least 10 ms of
    compute), whatever their tokens and indices."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cluster = distributed.LocalCluster(
            n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None
        )
    with cluster, distributed.Client(cluster) as client:
        x = da.ones((6, 4), chunks=(1, 4)).map_blocks(_slow_sum, chunks=(1, 1), name="slow-sum")
        m = measure(client, lambda: x.compute())
    names = m["prefixes"]
    assert names["slow-sum"][0] == 6, names
    assert names["slow-sum"][1] >= 0.06, names
    assert sum(n for n, _ in names.values()) == m["tasks"], names
