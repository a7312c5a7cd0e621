"""Object stores: ``daskgrad run`` and ``daskgrad.to_zarr`` on fsspec URLs, against moto's real S3
API server over HTTP (authentication enforced) and fsspec's memory filesystem."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

xr = pytest.importorskip("xarray")
pytest.importorskip("zarr")
pytest.importorskip("distributed")
pytest.importorskip("s3fs", reason="the object-store tests need daskgrad[s3]")
pytest.importorskip("moto.server", reason="the object-store tests need moto[server]")
pytestmark = pytest.mark.filterwarnings("ignore:Consolidated metadata:UserWarning")

sys.path.insert(0, str(Path(__file__).parent))
import s3_server  # noqa: E402

import daskgrad  # noqa: E402
from daskgrad.cli import main  # noqa: E402

BUCKET = "daskgrad-test"
LEAN = ["--workers", "1", "--threads-per-worker", "2", "--no-progress"]
# a server that stopped answering fails a request after s3fs's retries only, not botocore's
FAST_FAIL = ['--storage-option=config_kwargs={"retries": {"max_attempts": 1}}']


def dataset(shape=(6, 40, 48), chunks=(2, 20, 16), seed=0):
    rng = np.random.default_rng(seed)
    nt, ny, nx = shape
    time_ = np.datetime64("2024-01-01") + np.arange(nt) * np.timedelta64(6, "h")
    return xr.Dataset(
        {
            "t": (("time", "y", "x"), rng.standard_normal(shape), {"units": "K"}),
            "q": (("time", "y", "x"), rng.standard_normal(shape).astype("float32")),
        },
        coords={
            "time": time_,
            "y": ("y", np.cumsum(rng.uniform(0.5, 2.0, ny)), {"units": "m"}),
            "x": ("x", np.cumsum(rng.uniform(0.5, 2.0, nx)), {"units": "m"}),
        },
        attrs={"title": "s3 test"},
    ).chunk(dict(zip(("time", "y", "x"), chunks, strict=True)))


@pytest.fixture(scope="module", autouse=True)
def _no_machine_aws_configuration(hermetic_aws):
    """Before anything of this module starts: no ~/.aws, no AWS_* of the machine (conftest)."""
    return hermetic_aws


@pytest.fixture(scope="module")
def s3():
    """moto's server in this process at a free port, a bucket, and ``in.zarr`` in it."""
    server = s3_server.start()
    server.make_bucket(BUCKET)
    dataset().to_zarr(f"s3://{BUCKET}/in.zarr", storage_options=server.options())
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def cluster(dask_cluster):
    """The session's external cluster of worker processes (tests/conftest.py; they see no AWS
    configuration of the machine either), shared by the runs that need not start their own."""
    return ["--scheduler-file", str(dask_cluster), "--no-progress"]


@pytest.fixture(scope="module")
def many(s3):
    """An input of 128 small chunks: a run long enough to be cut short."""
    big = dataset(shape=(32, 64, 64), chunks=(1, 32, 32), seed=1)[["t"]]
    big.to_zarr(f"s3://{BUCKET}/many.zarr", storage_options=s3.options())
    return f"s3://{BUCKET}/many.zarr"


def wait_for_objects(s3, proc, prefix: str, n: int) -> None:
    """Until ``n`` objects are under ``prefix`` (the run is writing its chunks)."""
    fs = s3.fs()
    deadline = time.monotonic() + 120
    while len(objects(s3, prefix)) < n:
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline
        fs.invalidate_cache()
        time.sleep(0.2)  # the server shares this process: do not starve it


def run_inline(capsys, *args) -> tuple[int, str, str]:
    """``daskgrad run`` in this process (for failures found before any cluster starts)."""
    code = main(["run", *map(str, args)])
    out, err = capsys.readouterr()
    return code, out, err


def one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, f"expected one line on stderr, got:\n{err}"
    return lines[0]


def objects(s3, prefix: str) -> list[str]:
    fs = s3.fs()
    try:
        return sorted(fs.find(f"{BUCKET}/{prefix}"))
    except FileNotFoundError:
        return []


def readable(s3, name: str) -> bool:
    try:
        xr.open_zarr(f"s3://{BUCKET}/{name}", storage_options=s3.options()).close()
    except Exception:
        return False
    return True


def leftovers(s3, name: str) -> list[str]:
    """Markers and temporary prefixes of ``name`` that a run left in the bucket."""
    fs = s3.fs()
    return [p for p in fs.ls(BUCKET, refresh=True) if p.split("/")[-1].startswith(f".{name}.")]


def local_result(tmp_path, dims, **kw) -> xr.Dataset:
    """The same pipeline on a local copy of the input: what a local run writes."""
    from daskgrad.cli.pipeline import open_input, prepare

    local = tmp_path / "in.zarr"
    dataset().to_zarr(local)
    out = daskgrad.to_zarr(prepare(open_input(local), dims, **kw).result, tmp_path / "out.zarr")
    return xr.open_zarr(out)


def assert_identical_bits(a: xr.Dataset, b: xr.Dataset) -> None:
    assert set(a.variables) == set(b.variables)
    for name in a.variables:
        assert a[name].dtype == b[name].dtype, name
        assert a[name].attrs == b[name].attrs, name
        np.testing.assert_array_equal(a[name].values, b[name].values, strict=True)
        if a[name].dtype.kind == "f":  # the same bits, not just equal values
            assert a[name].values.tobytes() == b[name].values.tobytes(), name
    assert a.attrs == b.attrs


# ---------------------------------------------------------------------------- round trips


def test_round_trip_on_a_cluster_equals_the_local_result(s3, cluster, tmp_path):
    """s3:// in and out on a cluster of worker processes (the session's): the local result, bit
    for bit; the credentials appear nowhere: not in the output, the summary, the attrs or the
    objects."""
    from .conftest import cli

    out = f"s3://{BUCKET}/roundtrip.zarr"
    r = cli(
        "run", f"s3://{BUCKET}/in.zarr", out, "--dim", "x", "--dim", "y", "--edge-order", "2",
        *cluster, *s3.cli_options(),
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert f"s3://{BUCKET}/in.zarr -> {out}: 4 arrays" in r.stdout
    assert r.stderr == ""
    result = xr.open_zarr(out, storage_options=s3.options())
    assert_identical_bits(result.load(), local_result(tmp_path, ["x", "y"], edge_order=2).load())
    assert leftovers(s3, "roundtrip.zarr") == []
    fs = s3.fs()
    stored = b"".join(fs.cat(p) for p in objects(s3, "roundtrip.zarr"))
    for secret in s3.keys.values():
        assert secret not in r.stdout + r.stderr
        assert secret.encode() not in stored
        assert secret not in json.dumps(result.attrs) + repr(result)


def test_memory_round_trip(tmp_path, capsys):
    """memory:// with to_zarr (dask threads) and with the command line (run in this process,
    on its threads: a cluster's worker processes could not see the memory filesystem)."""
    import fsspec

    fs = fsspec.filesystem("memory")
    dataset().to_zarr("memory://daskgrad-test/in.zarr")
    try:
        src = xr.open_zarr("memory://daskgrad-test/in.zarr")
        got = daskgrad.to_zarr(src.grad(["x", "y"]), "memory://daskgrad-test/api.zarr")
        assert got == "memory://daskgrad-test/api.zarr"
        ref = local_result(tmp_path, ["x", "y"]).load()
        assert_identical_bits(xr.open_zarr(got).load(), ref)

        code, out, err = run_inline(
            capsys,
            "memory://daskgrad-test/in.zarr",
            "memory://daskgrad-test/cli.zarr",
            "--dim",
            "x",
            "--dim",
            "y",
            "--no-progress",
        )
        assert code == 0, err
        assert "computing on its threads" in out
        assert_identical_bits(xr.open_zarr("memory://daskgrad-test/cli.zarr").load(), ref)
        assert not [p for p in fs.ls("/daskgrad-test", detail=False) if ".daskgrad-" in p]
    finally:
        fs.rm("/daskgrad-test", recursive=True)


# ---------------------------------------------------------------------------- errors before


def test_missing_bucket_is_a_usage_error(s3, capsys):
    code, out, err = run_inline(
        capsys,
        "s3://no-such-bucket/in.zarr",
        f"s3://{BUCKET}/x.zarr",
        "--dim",
        "x",
        *s3.cli_options(),
    )
    assert code == 2
    assert one_line(err) == (
        "daskgrad: error: input s3://no-such-bucket/in.zarr: bucket 'no-such-bucket' does not exist"
    )
    code, out, err = run_inline(
        capsys,
        f"s3://{BUCKET}/in.zarr",
        "s3://no-such-bucket/out.zarr",
        "--dim",
        "x",
        *s3.cli_options(),
    )
    assert code == 2
    assert "output s3://no-such-bucket/out.zarr: bucket 'no-such-bucket' does not exist" in (
        one_line(err)
    )


@pytest.mark.parametrize("debug", [False, True])
def test_wrong_credentials_are_a_usage_error_and_never_shown(s3, capsys, debug):
    wrong = {"key": "AKIAWRONGWRONGWRONG1", "secret": "not-the-secret-0123456789"}
    args = [f"s3://{BUCKET}/in.zarr", f"s3://{BUCKET}/x.zarr", "--dim", "x"]
    code, out, err = run_inline(capsys, *args, *s3.cli_options(wrong), *["--debug"] * debug)
    assert code == 2
    line = err.strip().splitlines()[-1] if debug else one_line(err)
    # the input is checked before OUTPUT, as for local paths
    assert line.startswith(f"daskgrad: error: input s3://{BUCKET}/in.zarr: permission denied")
    assert "Access Key Id" in line
    for secret in wrong.values():
        assert secret not in out + err
    assert objects(s3, "x.zarr") == [] and leftovers(s3, "x.zarr") == []


def test_the_reader_reads_and_does_not_write(s3):
    """The read-only user the tests rely on: it lists, stats and reads the input (moto 5.2.6
    denied all but GET until its policy named the reads by operation), and writes nothing."""
    fs = s3.fs(s3.reader)
    assert f"{BUCKET}/in.zarr/zarr.json" in fs.ls(f"{BUCKET}/in.zarr")
    assert fs.info(f"{BUCKET}/in.zarr/zarr.json")["size"] > 0
    assert json.loads(fs.cat(f"{BUCKET}/in.zarr/zarr.json"))["zarr_format"] == 3
    assert xr.open_zarr(f"s3://{BUCKET}/in.zarr", storage_options=s3.options(s3.reader)).t.size
    with pytest.raises(PermissionError):
        fs.pipe(f"{BUCKET}/reader.txt", b"x")
    with pytest.raises(PermissionError):
        fs.rm_file(f"{BUCKET}/in.zarr/zarr.json")
    fs.rm(f"{BUCKET}/in.zarr/zarr.json")  # a bulk delete: denied per key, which s3fs ignores
    assert readable(s3, "in.zarr") and objects(s3, "reader.txt") == []


def test_credentials_from_the_environment(s3, capsys, monkeypatch):
    """The backend's usual configuration (here AWS_* variables) is used, and never shown."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", s3.reader["key"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", s3.reader["secret"])
    import s3fs

    s3fs.S3FileSystem.clear_instance_cache()  # a filesystem made before has other credentials
    endpoint = f"--storage-option=endpoint_url={s3.endpoint}"
    args = [f"s3://{BUCKET}/in.zarr", f"s3://{BUCKET}/denied.zarr", "--dim", "x", endpoint]
    code, out, err = run_inline(capsys, *args, *LEAN)
    # the reader may read the input but not write: refused before any computing
    assert code == 2, err
    assert one_line(err).startswith(
        f"daskgrad: error: output s3://{BUCKET}/denied.zarr: permission denied (Access Denied"
    )
    assert "local cluster" not in out  # no cluster was started
    for secret in s3.reader.values():
        assert secret not in out + err
    assert objects(s3, "denied.zarr") == [] and leftovers(s3, "denied.zarr") == []


def test_unreachable_endpoint_is_a_usage_error(capsys):
    import socket

    with socket.socket() as s:  # a port where nothing listens
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    opts = [
        f'--storage-option=client_kwargs={{"endpoint_url": "http://127.0.0.1:{port}"}}',
        "--storage-option=key=k",
        "--storage-option=secret=s3cr3t-value",
        *FAST_FAIL,
    ]
    code, out, err = run_inline(
        capsys, "s3://somewhere/in.zarr", "s3://somewhere/out.zarr", "--dim", "x", *opts
    )
    assert code == 2
    line = one_line(err)
    assert line.startswith(
        "daskgrad: error: input s3://somewhere/in.zarr: cannot reach the storage endpoint"
    )
    assert "s3cr3t-value" not in out + err


def test_missing_backend_names_the_extra(capsys):
    pytest.importorskip("fsspec")
    try:
        import gcsfs  # noqa: F401

        pytest.skip("gcsfs is installed: its absence cannot be shown")
    except ImportError:
        pass
    code, out, err = run_inline(capsys, "gs://bucket/in.zarr", "out.zarr", "--dim", "x")
    assert code == 2
    assert one_line(err) == (
        "daskgrad: error: input gs://bucket/in.zarr: reading gs:// needs a backend that is not "
        "installed; pip install 'daskgrad[gcs]'"
    )


@pytest.mark.parametrize(
    "args, message",
    [
        (["--storage-option", "anon"], "argument --storage-option: expected KEY=VALUE, got 'anon'"),
        (
            ["--storage-option=anon=true", "--storage-option=anon=false"],
            "argument --storage-option: key 'anon' given twice",
        ),
        (
            ["--input-storage-option=anon=true"],
            "argument --input-storage-option: input in.zarr is a local path, not a URL",
        ),
    ],
)
def test_storage_option_mistakes(capsys, args, message):
    code, out, err = run_inline(capsys, "in.zarr", "out.zarr", "--dim", "x", *args)
    assert code == 2
    assert one_line(err) == f"daskgrad: error: {message}"


def test_output_may_not_be_the_input_or_inside_it(s3, capsys):
    cases = (
        ("/in.zarr", "is the input"),
        ("/in.zarr/sub.zarr", "is inside the input"),
        ("", "is a bucket; name a zarr store inside it"),
    )
    for out, why in cases:
        code, _, err = run_inline(
            capsys,
            f"s3://{BUCKET}/in.zarr",
            f"s3://{BUCKET}{out}",
            "--dim",
            "x",
            "--overwrite",
            *s3.cli_options(),
        )
        assert code == 2
        assert why in one_line(err)
    assert readable(s3, "in.zarr")


# ---------------------------------------------------------------------------- failures during


def test_network_failure_mid_write_leaves_no_readable_output(s3, many, cluster):
    """The server stops while chunks are being written: exit 1 with one line, and once it is
    back no readable OUTPUT is there (its metadata is never written). The run is in this
    process (``cli``): a thread stops the server once chunks are written (no signal or exit of
    the interpreter is tested here)."""
    import threading

    import s3fs

    from .conftest import cli

    running, stopped = threading.Event(), threading.Event()

    def stop_mid_write() -> None:
        fs = s3.fs()
        deadline = time.monotonic() + 120
        while running.is_set() and time.monotonic() < deadline:
            if len(objects(s3, "cut.zarr")) >= 5:
                s3.stop()
                stopped.set()
                return
            fs.invalidate_cache()
            time.sleep(0.2)  # the server shares this process: do not starve it

    running.set()
    cutter = threading.Thread(target=stop_mid_write, daemon=True)
    cutter.start()
    try:
        r = cli(
            "run", many, f"s3://{BUCKET}/cut.zarr", "--dim", "x", "--dim", "y", *cluster,
            *s3.cli_options(), *FAST_FAIL,
        )  # fmt: skip
    finally:
        running.clear()
        cutter.join()
        if stopped.is_set():
            s3.restart()
        s3fs.S3FileSystem.clear_instance_cache()  # none keeps a connection to the old server
    assert stopped.is_set(), f"the run ended before 5 objects were written: {r}"
    assert r.returncode == 1, r.stderr
    line = one_line(r.stderr)
    assert line.startswith("daskgrad: error: computation failed: ")
    assert "could not delete the chunks written under s3://" in line
    assert not readable(s3, "cut.zarr")
    assert not [p for p in objects(s3, "cut.zarr") if p.endswith("zarr.json")]


def test_interrupt_deletes_what_was_written(s3, many, cluster):
    proc = subprocess.Popen(
        [sys.executable, "-m", "daskgrad", "run", many, f"s3://{BUCKET}/stopped.zarr",
         "--dim", "x", *cluster, *s3.cli_options()],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        wait_for_objects(s3, proc, "stopped.zarr", 5)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err
    assert one_line(err) == "daskgrad: interrupted; no output written"
    assert objects(s3, "stopped.zarr") == []
    assert leftovers(s3, "stopped.zarr") == []


def test_overwrite_keeps_the_old_store_until_the_new_one_is_whole(s3, cluster, capsys):
    """--overwrite, as the README promises: a failed run leaves the old store readable and
    untouched; a successful one replaces it whole and leaves no temporary behind."""
    fs = s3.fs()
    out = f"s3://{BUCKET}/replace.zarr"
    dataset(seed=5).to_zarr(f"s3://{BUCKET}/bad.zarr", storage_options=s3.options())
    fs.pipe(f"{BUCKET}/bad.zarr/t/c/1/0/1", b"not a chunk")  # damaged: fails while computing
    code, _, err = run_inline(
        capsys,
        f"s3://{BUCKET}/in.zarr",
        out,
        "--dim",
        "x",
        *cluster,
        *s3.cli_options(),
    )
    assert code == 0, err
    before = {p: fs.cat(p) for p in objects(s3, "replace.zarr")}

    code, stdout, err = run_inline(
        capsys,
        f"s3://{BUCKET}/bad.zarr",
        out,
        "--dim",
        "y",
        "--overwrite",
        *cluster,
        *s3.cli_options(),
    )
    assert code == 1
    assert one_line(err).startswith("daskgrad: error: computation failed: reading input")
    assert "stays readable while the new store is computed" in stdout  # said before starting
    assert {p: fs.cat(p) for p in objects(s3, "replace.zarr")} == before
    assert list(xr.open_zarr(out, storage_options=s3.options()).data_vars) == ["dq_dx", "dt_dx"]
    assert leftovers(s3, "replace.zarr") == []

    code, stdout, err = run_inline(
        capsys,
        f"s3://{BUCKET}/in.zarr",
        out,
        "--dim",
        "y",
        "--overwrite",
        *cluster,
        *s3.cli_options(),
    )
    assert code == 0, err
    result = xr.open_zarr(out, storage_options=s3.options())
    assert sorted(result.data_vars) == ["dq_dy", "dt_dy"]
    assert not [p for p in objects(s3, "replace.zarr") if "/dt_dx" in p]  # old objects gone
    assert leftovers(s3, "replace.zarr") == []
    code, _, err = run_inline(
        capsys, f"s3://{BUCKET}/in.zarr", out, "--dim", "y", *s3.cli_options()
    )
    assert code == 2
    assert one_line(err) == f"daskgrad: error: output {out} exists; pass --overwrite to replace it"


def test_a_dead_runs_chunks_are_removed_by_the_next_run(s3, cluster, capsys):
    """A run killed outright leaves chunks without metadata and its marker; the next run to
    that OUTPUT on this host removes them (its pid is gone) and says so in one line."""
    import socket

    fs = s3.fs()
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True).stdout.strip()  # fmt: skip
    marker = f".killed.zarr.daskgrad-{socket.gethostname()}-{dead}-0123abcd.writing"
    fs.pipe(f"{BUCKET}/{marker}", json.dumps({"replace": False}).encode())
    fs.pipe(f"{BUCKET}/killed.zarr/dt_dx/c/0/0/0", b"a chunk of a run that was killed")
    code, out, err = run_inline(
        capsys, f"s3://{BUCKET}/in.zarr", f"s3://{BUCKET}/killed.zarr", "--dim", "x",
        *cluster, *s3.cli_options(),
    )  # fmt: skip
    assert code == 0, err
    assert f"removed the uncommitted chunks under s3://{BUCKET}/killed.zarr, left by a dead run " \
        f"(pid {dead})" in out  # fmt: skip
    assert leftovers(s3, "killed.zarr") == []
    assert fs.cat(f"{BUCKET}/killed.zarr/dt_dx/c/0/0/0") != b"a chunk of a run that was killed"


def test_a_run_writing_elsewhere_is_named_not_overwritten(s3, capsys):
    """Chunks without metadata and the marker of a run on another host: refused, naming it."""
    fs = s3.fs()
    marker = ".busy.zarr.daskgrad-otherhost-4242-0123abcd.writing"
    fs.pipe(f"{BUCKET}/{marker}", json.dumps({"replace": False}).encode())
    fs.pipe(f"{BUCKET}/busy.zarr/dt_dx/c/0/0/0", b"being written")
    for extra in ([], ["--overwrite"]):
        code, _, err = run_inline(
            capsys, f"s3://{BUCKET}/in.zarr", f"s3://{BUCKET}/busy.zarr", "--dim", "x",
            *extra, *s3.cli_options(),
        )  # fmt: skip
        assert code == 2
        assert one_line(err) == (
            f"daskgrad: error: output s3://{BUCKET}/busy.zarr is being written by a run on "
            "otherhost (pid 4242) (no zarr metadata yet); if that run is dead, delete the "
            f"objects under OUTPUT and its marker s3://{BUCKET}/{marker}"
        )
    assert fs.cat(f"{BUCKET}/busy.zarr/dt_dx/c/0/0/0") == b"being written"


def test_input_and_output_storage_options_apply_to_each(s3, cluster, capsys):
    """The reader's keys for INPUT, the admin's for OUTPUT; the other way round is refused."""

    def flags(flag, keys):
        return [f"--{flag}-storage-option={o.split('=', 1)[1]}" for o in s3.cli_options(keys)]

    args = [f"s3://{BUCKET}/in.zarr", f"s3://{BUCKET}/split.zarr", "--dim", "x", *cluster]
    code, out, err = run_inline(capsys, *args, *flags("input", s3.reader), *flags("output", None))
    assert code == 0, err
    assert readable(s3, "split.zarr")
    swapped = [*flags("input", None), *flags("output", s3.reader)]
    args[1] = f"s3://{BUCKET}/split2.zarr"
    code, out, err = run_inline(capsys, *args, *swapped)
    assert code == 2
    assert "output s3://daskgrad-test/split2.zarr: permission denied" in one_line(err)
    for secret in [*s3.reader.values(), *s3.keys.values()]:
        assert secret not in out + err
