"""The default local cluster, chosen by measurement (issue "Close to the limit", item 4): on
up to 2 cores one worker process with a thread per core (1.25-1.4x faster than a process per
core there, README "Clusters"); on more cores distributed's own choice. The memory rule counts
the threads of that one worker."""

from __future__ import annotations

import pytest

pytest.importorskip("distributed")

from distributed.deploy.utils import nprocesses_nthreads  # noqa: E402
from distributed.system import MEMORY_LIMIT  # noqa: E402

from daskgrad.cluster.connect import connect  # noqa: E402
from daskgrad.cluster.memory import default_shape, local_cluster_shape  # noqa: E402
from daskgrad.errors import UsageError  # noqa: E402


@pytest.mark.parametrize("cores", [1, 2, 3, 4, 6, 8, 16, 32, 64])
def test_default_shape(cores):
    want = (1, cores) if cores <= 2 else nprocesses_nthreads(cores)
    assert default_shape(cores) == want


def test_the_embedded_cluster_has_the_default_shape(monkeypatch):
    """connect() with no option starts that shape, all the machine's memory for the one worker
    on 2 cores (a real LocalCluster)."""
    from dask.system import CPU_COUNT

    workers, threads = (1, CPU_COUNT) if CPU_COUNT <= 2 else nprocesses_nthreads(CPU_COUNT)
    assert local_cluster_shape() == (workers, threads, MEMORY_LIMIT // workers)
    lines: list[str] = []
    with connect(say=lines.append) as client:
        info = list(client.scheduler_info()["workers"].values())
    assert len(info) == workers
    assert {w["nthreads"] for w in info} == {threads}
    assert {w["memory_limit"] for w in info} == {MEMORY_LIMIT // workers}
    assert len(lines) == 1 and lines[0].startswith(f"local cluster of {workers} worker")


def test_the_memory_rule_counts_the_default_workers_threads():
    """With the default shape a limit is checked for all the threads of a worker: a limit
    that holds one task of 64 MiB chunks but not two is refused for 1 worker x 2 threads."""
    from daskgrad.cluster.memory import check_memory_limit, task_bytes

    mib = 2**20
    one = 190 * mib + task_bytes(64 * mib, 2)
    limit = int(one / 0.75) + mib
    check_memory_limit(limit, 64 * mib, 2, 1)
    with pytest.raises(UsageError, match="too small"):
        check_memory_limit(limit, 64 * mib, 2, 2)
