"""An object store that stops answering after the new store is committed, while the run's
marker beside it is removed (``RemoteTarget.commit``'s last request): the one line that
``--store-timeout`` / ``store_timeout=`` promises, naming the store and saying that it is
complete and only the marker's removal failed; the next run removes the marker.

The store is moto's server behind a TCP proxy process frozen with SIGSTOP (tests/tcp_proxy.py).
The freeze must land between the commit and the marker's removal, a window no poll from outside
hits: the run's own process sends the SIGSTOP from the ``on_commit`` callback that
``RemoteTarget.commit`` calls right before removing the marker (its commit wrapped to pass one;
dask, zarr, xarray and the S3 server are the real ones)."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys

import numpy as np
import pytest

xr = pytest.importorskip("xarray")
pytest.importorskip("s3fs", reason="the object-store tests need daskgrad[s3]")
pytest.importorskip("moto.server", reason="the object-store tests need moto[server]")
pytestmark = pytest.mark.filterwarnings("ignore:Consolidated metadata:UserWarning")

from .conftest import popen_tied  # noqa: E402
from .test_store_timeout import (  # noqa: E402
    BUCKET,
    flags,
    one_line,
    s3,  # noqa: F401 (a fixture)
    start_proxy,
)

# the s3 fixture's session-wide server (tests/s3_fixtures.py)
pytest_plugins = ["tests.s3_fixtures"]

# Run in a process of its own: RemoteTarget.commit's on_commit freezes the proxy (argv[1]) as
# soon as the new store is committed, before the marker's removal. Then to_zarr or the command
# line (argv[2]: "api" or "cli") against the proxied store.
FREEZE = """
import json, os, signal, sys
from daskgrad.io.remote import RemoteTarget

proxy, how, url, opts = int(sys.argv[1]), sys.argv[2], sys.argv[3], json.loads(sys.argv[4])
commit = RemoteTarget.commit

def frozen_once_committed(self, on_commit=None):
    def committed():
        if on_commit is not None:
            on_commit()
        os.kill(proxy, signal.SIGSTOP)

    commit(self, committed)

RemoteTarget.commit = frozen_once_committed
if how == "api":
    import numpy as np, xarray as xr, daskgrad

    ds = xr.Dataset({"t": (("y", "x"), (np.arange(64.0) ** 2).reshape(8, 8))}).chunk(4)
    try:
        daskgrad.to_zarr(ds.grad("x"), url, storage_options=opts, store_timeout=5)
    except TimeoutError as e:
        print(e)
        sys.exit(3)
else:
    from daskgrad.cli import main

    sys.exit(main(["run", sys.argv[5], url, "--dim", "x", "--store-timeout", "5",
                   "--no-progress", *sys.argv[6:]]))
"""

MARKER = r"s3://{bucket}/\.{name}\.daskgrad-{host}-\d+-[0-9a-f]{{8}}\.writing"


def field() -> np.ndarray:
    return (np.arange(64.0) ** 2).reshape(8, 8)


@pytest.fixture(scope="module")
def frozen_runs(s3, tmp_path_factory):  # noqa: F811
    """to_zarr and `daskgrad run`, each to a new store through a proxy of its own frozen once
    the store is committed; run at once (each waits for its bound). {how: (returncode, stdout,
    stderr)}."""
    src = tmp_path_factory.mktemp("commit") / "in.zarr"
    xr.Dataset({"t": (("y", "x"), field())}).chunk(4).to_zarr(src)
    proxies, procs = [], {}
    try:
        for how in ("api", "cli"):
            endpoint, proxy = start_proxy(s3)
            proxies.append(proxy)
            opts = {**s3.options(), "client_kwargs": {"endpoint_url": endpoint}}
            cmd = [sys.executable, "-c", FREEZE, str(proxy.pid), how,
                   f"s3://{BUCKET}/commit-{how}.zarr", json.dumps(opts)]  # fmt: skip
            if how == "cli":
                cmd += [str(src), *flags(s3, "output", endpoint)]
            procs[how] = popen_tied(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        done = {}
        for how, proc in procs.items():
            try:
                out, err = proc.communicate(timeout=240)
            except subprocess.TimeoutExpired:
                proc.kill()
                out, err = proc.communicate()
                err += "\n(the run did not end within 240 s)"
            done[how] = (proc.returncode, out, err)
        yield done
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
        for proxy in proxies:
            os.kill(proxy.pid, signal.SIGCONT)
            proxy.kill()
            proxy.wait(10)
            proxy.stdout.close()


def markers(s3, name: str) -> list[str]:  # noqa: F811
    fs = s3.fs()
    fs.invalidate_cache()
    return [
        p
        for p in fs.ls(BUCKET, detail=False)
        if p.rpartition("/")[2].startswith(f".{name}.daskgrad-") and p.endswith(".writing")
    ]


def test_a_store_frozen_after_its_commit_says_the_output_is_complete(s3, frozen_runs):  # noqa: F811
    """to_zarr: a TimeoutError in one line naming the store, saying it is complete and that
    only the marker's removal failed; the store reads back as numpy.gradient of the data, its
    marker is left, and the next to_zarr to it (another process: this one) removes it."""
    import daskgrad

    code, out, err = frozen_runs["api"]
    assert code == 3, (out, err)
    url = f"s3://{BUCKET}/commit-api.zarr"
    marker = MARKER.format(bucket=BUCKET, name=r"commit-api\.zarr", host=socket.gethostname())
    assert re.fullmatch(
        re.escape(
            f"to_zarr: store {url}: the object store stopped answering (no reply within "
            "store_timeout=5 s) after the new store was written: it is complete; only "
            "removing this run's marker "
        )
        + marker
        + re.escape(
            " failed, which the next run to it from this host removes (once this process has ended)"
        ),
        one_line(out),
    ), out
    got = xr.open_zarr(url, storage_options=s3.options()).dt_dx.values
    np.testing.assert_allclose(got, np.gradient(field(), axis=1), rtol=1e-12)
    assert len(markers(s3, "commit-api.zarr")) == 1
    ds = xr.Dataset({"t": (("y", "x"), field())}).chunk(4)
    daskgrad.to_zarr(ds.grad("y"), url, storage_options=s3.options(), overwrite=True)
    assert markers(s3, "commit-api.zarr") == []
    got = xr.open_zarr(url, storage_options=s3.options()).dt_dy.values
    np.testing.assert_allclose(got, np.gradient(field(), axis=0), rtol=1e-12)


def test_a_run_whose_output_store_freezes_after_its_commit_says_it_is_complete(
    s3,  # noqa: F811
    frozen_runs,
):
    """`daskgrad run`: exit 1 and one line naming OUTPUT, saying it is complete and only the
    marker's removal failed; OUTPUT reads back as numpy.gradient of the input."""
    code, out, err = frozen_runs["cli"]
    assert code == 1, (out, err)
    url = f"s3://{BUCKET}/commit-cli.zarr"
    marker = MARKER.format(bucket=BUCKET, name=r"commit-cli\.zarr", host=socket.gethostname())
    assert re.fullmatch(
        re.escape(
            f"daskgrad: error: computation failed: output {url}: the object store stopped "
            "answering (no reply within --store-timeout 5 s) after OUTPUT was written: it is "
            "complete; only removing this run's marker "
        )
        + marker
        + re.escape(
            " failed, which the next run to it from this host removes (once this process has ended)"
        ),
        one_line(err),
    ), err
    got = xr.open_zarr(url, storage_options=s3.options()).dt_dx.values
    np.testing.assert_allclose(got, np.gradient(field(), axis=1), rtol=1e-12)
    for secret in s3.keys.values():
        assert secret not in err
