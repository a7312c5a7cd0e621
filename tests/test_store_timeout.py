"""Object stores that stop answering: every request is bounded (``--store-timeout``,
``to_zarr(store_timeout=)``), a run fails in one line naming the store and leaves the old
OUTPUT as it was. The store is moto's real S3 server behind a TCP proxy that runs as its own
process, frozen with SIGSTOP (the kernel still accepts connections; nothing is answered).
Also: storage options that must stay text, and a chained ``simplecache::s3://`` input."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest

xr = pytest.importorskip("xarray")
pytest.importorskip("distributed")
pytest.importorskip("s3fs", reason="the object-store tests need daskgrad[s3]")
pytest.importorskip("moto.server", reason="the object-store tests need moto[server]")
pytestmark = pytest.mark.filterwarnings("ignore:Consolidated metadata:UserWarning")

HERE = Path(__file__).parent

from daskgrad.cli import main  # noqa: E402

from .conftest import assert_gradients_close, popen_tied  # noqa: E402

BUCKET = "daskgrad-timeout"
TIMEOUT = ["--store-timeout", "5"]
LEAN = ["--workers", "1", "--threads-per-worker", "1", "--no-progress"]


def dataset(shape=(48, 32, 32), chunks=(1, 16, 16), seed=0):
    rng = np.random.default_rng(seed)
    return xr.Dataset(
        {"t": (("time", "y", "x"), rng.standard_normal(shape))},
        coords={"x": np.cumsum(rng.uniform(0.5, 2.0, shape[2]))},
    ).chunk(dict(zip(("time", "y", "x"), chunks, strict=True)))


# the session's moto_server process (tests/s3_fixtures.py), shared with the modules that
# import ``s3`` from here
pytest_plugins = ["tests.s3_fixtures"]


@pytest.fixture(scope="module")
def s3(moto_process):
    """moto's server as a process of its own (the runs below hammer it at once: it must not
    wait for this process's interpreter lock; one for the session: tests/s3_fixtures.py), a
    bucket with an input of 192 small chunks (a run of 48 tasks, --chunks time=1: long enough
    to be frozen while it computes); made by the first module that asks for them, each
    module's tests write under names of their own."""
    fs = moto_process.fs()
    if not fs.exists(BUCKET):
        moto_process.make_bucket(BUCKET)
    if not fs.exists(f"{BUCKET}/in.zarr/zarr.json"):
        dataset().to_zarr(f"s3://{BUCKET}/in.zarr", storage_options=moto_process.options())
    return moto_process


def start_proxy(s3):
    """A TCP proxy process to moto (tied to pytest: it dies with it); its endpoint and process."""
    proc = popen_tied(
        [sys.executable, str(HERE / "tcp_proxy.py"), s3.endpoint.rsplit(":", 1)[1]],
        stdout=subprocess.PIPE,
        text=True,
    )
    return f"http://127.0.0.1:{int(proc.stdout.readline())}", proc


def flags(s3, role: str, endpoint: str) -> list[str]:
    options = {**s3.options(), "client_kwargs": {"endpoint_url": endpoint}}
    return [
        f"--{role}-storage-option={k}={json.dumps(v) if isinstance(v, dict) else v}"
        for k, v in options.items()
    ]


def objects(s3, prefix: str) -> dict[str, bytes]:
    fs = s3.fs()
    fs.invalidate_cache()
    return {p: fs.cat(p) for p in fs.find(f"{BUCKET}/{prefix}")}


def written(s3, names: list[str]) -> dict[str, int]:
    """Chunks written so far by the --overwrite runs to each of ``names`` (into its temporary
    sibling): one listing of the bucket for all."""
    fs = s3.fs()
    fs.invalidate_cache()
    listing = [p.split("/")[-1] for p in fs.ls(BUCKET, detail=False)]
    return {
        name: sum(
            len(fs.find(f"{BUCKET}/{p}"))
            for p in listing
            if p.startswith(f".{name}.daskgrad-") and p.endswith(".tmp")
        )
        for name in names
    }


def one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, f"expected one line on stderr, got:\n{err}"
    return lines[0]


TO_ZARR = """
import sys, json, numpy as np, xarray as xr, daskgrad
opts = json.loads(sys.argv[2])
ds = xr.Dataset({"t": (("y", "x"), np.arange(512 * 4096.0).reshape(512, 4096))}).chunk({"y": 1})
try:
    daskgrad.to_zarr(ds, sys.argv[1], storage_options=opts, store_timeout=5, overwrite=True)
except TimeoutError as e:
    print(e)
    sys.exit(3)
"""


@dataclass
class Frozen:
    """One run against a store that stops answering: what it left and said."""

    name: str  # the OUTPUT's name in the bucket
    cmd: list[str]
    proxy: Any
    before: dict[str, bytes]
    proc: Any = None
    problem: str | None = None  # the run ended before its store was frozen, or hung
    returncode: int | None = None
    out: str = ""
    err: str = ""
    after: dict[str, bytes] = field(default_factory=dict)


def run_frozen(s3, frozen: str) -> Frozen:
    """A run whose INPUT or OUTPUT store (``frozen``), or whose ``daskgrad.to_zarr`` store
    ("api"), is reached through a proxy; "before": INPUT's, frozen before the run starts."""
    endpoint, stop = start_proxy(s3)
    name = {"api": "api.zarr", "before": "never.zarr"}.get(frozen, f"old-{frozen}.zarr")
    url = f"s3://{BUCKET}/{name}"
    if frozen == "before":
        os.kill(stop.pid, signal.SIGSTOP)
        cmd = [sys.executable, "-m", "daskgrad", "run", f"s3://{BUCKET}/in.zarr", url,
               "--dim", "x", *LEAN, *TIMEOUT,
               *flags(s3, "input", endpoint), *flags(s3, "output", s3.endpoint)]  # fmt: skip
    elif frozen == "api":
        dataset(shape=(4, 8, 8), chunks=(2, 4, 4), seed=3).to_zarr(
            url, storage_options=s3.options()
        )
        options = {**s3.options(), "client_kwargs": {"endpoint_url": endpoint}}
        cmd = [sys.executable, "-c", TO_ZARR, url, json.dumps(options)]
    else:
        dataset(shape=(4, 8, 8), chunks=(2, 4, 4), seed=7).to_zarr(
            url, storage_options=s3.options()
        )
        roles = {"input": s3.endpoint, "output": s3.endpoint, frozen: endpoint}
        cmd = [sys.executable, "-m", "daskgrad", "run", f"s3://{BUCKET}/in.zarr", url,
               "--dim", "x", "--chunks", "time=1", "--overwrite", *LEAN, *TIMEOUT,
               *flags(s3, "input", roles["input"]),
               *flags(s3, "output", roles["output"])]  # fmt: skip
    return Frozen(name, cmd, stop, objects(s3, name))


@pytest.fixture(scope="module")
def frozen_runs(s3):
    """The four runs of the tests below at once (each mostly waits for its bound), each with a
    proxy of its own, SIGSTOPped as soon as its run has written its first chunks (it is
    computing), or before it starts ("before"). {kind: Frozen}."""
    runs: dict[str, Frozen] = {}
    try:
        for kind in ("output", "input", "api", "before"):
            runs[kind] = run_frozen(s3, kind)
        for r in runs.values():  # tied: an interrupted pytest leaves none of them
            r.proc = popen_tied(r.cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        pending = {r.name: r for k, r in runs.items() if k != "before"}
        deadline = time.monotonic() + 180
        while pending and time.monotonic() < deadline:
            for name, n in written(s3, list(pending)).items():
                r = pending[name]
                if r.proc.poll() is not None:
                    r.problem = "the run ended before its store was frozen"
                elif n >= 2:
                    os.kill(r.proxy.pid, signal.SIGSTOP)
                else:
                    continue
                del pending[name]
            time.sleep(0.1)
        for r in pending.values():
            r.problem = "the run never started writing"
        deadline = time.monotonic() + 300
        for r in runs.values():
            try:
                r.out, r.err = r.proc.communicate(timeout=max(deadline - time.monotonic(), 1))
            except subprocess.TimeoutExpired:
                r.problem = "the run did not end within 300 s"
                r.proc.kill()
                r.out, r.err = r.proc.communicate()
            r.returncode = r.proc.returncode
            r.after = objects(s3, r.name)
        yield runs
    finally:
        for r in runs.values():
            if r.proc is not None and r.proc.poll() is None:
                r.proc.kill()
                r.proc.communicate()
            os.kill(r.proxy.pid, signal.SIGCONT)
            r.proxy.kill()
            r.proxy.wait(10)
            r.proxy.stdout.close()


@pytest.mark.parametrize("frozen", ["output", "input"])
def test_a_store_that_stops_answering_fails_in_one_line_and_keeps_the_old_output(
    frozen_runs, s3, frozen
):
    """The store behind INPUT or behind OUTPUT stops answering while the run computes, with
    --overwrite: exit 1, one line naming that store, the old OUTPUT's objects unchanged."""
    r = frozen_runs[frozen]
    assert r.problem is None, (r.problem, r.out, r.err)
    assert r.returncode == 1, r.err
    out = f"s3://{BUCKET}/{r.name}"
    store = f"s3://{BUCKET}/in.zarr" if frozen == "input" else out
    line = one_line(r.err)
    assert line.startswith(
        f"daskgrad: error: computation failed: {frozen} {store}: the object store stopped "
        "answering (no reply within --store-timeout 5 s)"
    ), line
    assert r.after == r.before
    for secret in s3.keys.values():
        assert secret not in r.err


def test_a_store_that_does_not_answer_before_computing_is_a_usage_error(frozen_runs):
    """Frozen before the run: the checks that run before any cluster starts give exit 2 and
    one line naming INPUT, within the bound (the fixture's 300 s guards a hang)."""
    r = frozen_runs["before"]
    assert r.problem is None, (r.problem, r.out, r.err)
    assert r.returncode == 2, r.err
    assert one_line(r.err).startswith(
        f"daskgrad: error: input s3://{BUCKET}/in.zarr: cannot reach the storage endpoint"
    )
    assert r.after == {}


def test_to_zarr_is_bounded_by_store_timeout(frozen_runs):
    """daskgrad.to_zarr(store_timeout=5) on dask's threads: the store freezes while its chunks
    are written; TimeoutError naming the store, the old store untouched."""
    r = frozen_runs["api"]
    assert r.problem is None, (r.problem, r.out, r.err)
    assert r.returncode == 3, r.err
    assert r.out.strip() == (
        f"to_zarr: store s3://{BUCKET}/api.zarr: the object store stopped answering (no reply "
        "within store_timeout=5 s); the old store is as it was"
    )
    assert r.after == r.before


def test_store_timeout_reaches_the_backend(tmp_path):
    """The bound reaches s3fs (its config) for a plain and for a chained URL, and a user's
    own config_kwargs win; an s3fs request with its 5 retries fits in the bound."""
    import s3fs

    from daskgrad.io.locations import locate

    loc = locate("s3://b/x.zarr", {"anon": True}, timeout=60)
    config = loc.fs._prepare_config_kwargs()
    attempts = s3fs.S3FileSystem.retries
    # each attempt, connect included, ends within the read timeout (BoundedSession's total)
    each = config["read_timeout"]
    assert config["connect_timeout"] <= each
    assert attempts * each + sum(0.1 * 1.7**i for i in range(attempts)) <= 60
    assert config["retries"] == {"total_max_attempts": 1}
    cache = {"cache_storage": str(tmp_path)}  # not a temporary directory left behind
    chained = locate(
        "simplecache::s3://b/x.zarr", {"s3": {"anon": True}, "simplecache": cache}, timeout=60
    )
    assert chained.fs.fs._prepare_config_kwargs()["read_timeout"] == config["read_timeout"]
    own = locate("s3://b/y.zarr", {"config_kwargs": {"read_timeout": 99}}, timeout=60)
    assert own.fs._prepare_config_kwargs()["read_timeout"] == 99


def test_store_timeout_flag_is_checked(capsys):
    args = ["run", "s3://b/i.zarr", "s3://b/o.zarr", "--dim", "x", "--store-timeout", "1"]
    assert main(args) == 2
    assert one_line(capsys.readouterr().err) == (
        "daskgrad: error: --store-timeout must be at least 5 seconds; got 1"
    )


# ------------------------------------------------------------- storage options that are text


def test_credentials_that_read_as_numbers_stay_text(s3, capsys):
    """--storage-option key=98765432101234 (a key id of digits) is a string, as s3fs needs:
    the run reaches the server and is refused for the wrong key, not a TypeError."""
    code = main(
        ["run", f"s3://{BUCKET}/in.zarr", f"s3://{BUCKET}/digits.zarr", "--dim", "x",
         "--storage-option=key=98765432101234", "--storage-option=secret=12345678",
         f'--storage-option=client_kwargs={{"endpoint_url": "{s3.endpoint}"}}']
    )  # fmt: skip
    err = capsys.readouterr().err
    assert code == 2
    line = one_line(err)
    assert "TypeError" not in line and "bad storage option" not in line
    assert line.startswith(f"daskgrad: error: input s3://{BUCKET}/in.zarr: ")
    assert "98765432101234" not in line and "12345678" not in line


# --------------------------------------------------------------- chained simplecache::s3://


def test_chained_simplecache_input_says_one_line(s3, tmp_path, dask_cluster):
    """simplecache::s3:// INPUT: a missing store is one line, no zarr warning before it;
    an existing one is read on a cluster's workers (the session's; the result equals
    numpy.gradient of the stored data)."""
    from .conftest import cli

    s3_opts = json.dumps(s3.options())
    # the chain's cache under tmp_path (by default a temporary directory of each process that
    # reads, which the session cluster's killed workers would leave behind)
    cache = json.dumps({"cache_storage": str(tmp_path / "cache")})
    common = [f"--input-storage-option=s3={s3_opts}", f"--input-storage-option=simplecache={cache}"]
    r = cli(
        "run", f"simplecache::s3://{BUCKET}/missing.zarr", tmp_path / "a.zarr", "--dim", "x",
        *common, *LEAN,
    )  # fmt: skip
    assert r.returncode == 2
    assert one_line(r.stderr) == (
        f"daskgrad: error: input simplecache::s3://{BUCKET}/missing.zarr does not exist"
    )
    r = cli(
        "run", f"simplecache::s3://{BUCKET}/in.zarr", tmp_path / "b.zarr", "--dim", "x",
        *common, "--scheduler-file", dask_cluster, "--no-progress",
    )  # fmt: skip
    assert r.stderr == "" and r.returncode == 0, r.stderr
    src = dataset()
    got = xr.open_zarr(tmp_path / "b.zarr").dt_dx.values
    f, x = src.t.values, src.x.values
    assert_gradients_close([got], [np.gradient(f, x, axis=2)], f, [x])
