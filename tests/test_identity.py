"""No store is replaced by its own gradient: OUTPUT is compared with every input by what it is,
not by how it is spelled (chained and ``file://`` URLs, endpoints of one S3 server spelled two
ways, stores found in the dask graph of ``to_zarr``'s object whatever opened them)."""

from __future__ import annotations

import socket
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

xr = pytest.importorskip("xarray")
zarr = pytest.importorskip("zarr")
pytestmark = pytest.mark.filterwarnings("ignore:Consolidated metadata:UserWarning")

sys.path.insert(0, str(Path(__file__).parent))

import daskgrad  # noqa: E402
from daskgrad.cli import main  # noqa: E402

BUCKET = "ocean"


def ocean() -> xr.Dataset:
    rng = np.random.default_rng(18)
    lat, lon = np.linspace(-60, 60, 9), np.linspace(0, 350, 12)
    return xr.Dataset(
        {
            "temp": (("lat", "lon"), rng.standard_normal((9, 12))),
            "salt": (("lat", "lon"), rng.standard_normal((9, 12))),
        },
        coords={"lat": lat, "lon": lon},
    ).chunk({"lat": 3})


def snapshot(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` with its bytes."""
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


def run_inline(capsys, *args) -> tuple[int, str]:
    code = main(["run", *map(str, args)])
    return code, capsys.readouterr().err


def one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, f"expected one line on stderr, got:\n{err}"
    return lines[0]


@pytest.fixture
def store(tmp_path, monkeypatch) -> Path:
    path = tmp_path / "ocean.zarr"
    ocean().to_zarr(path)
    monkeypatch.chdir(tmp_path)
    return path


# --- local: a chained or file:// URL is the same local store as a path ---------------------


@pytest.mark.parametrize(
    "spelling",
    [
        "simplecache::file://{abs}",
        "filecache::file://{abs}",
        "simplecache::file://ocean.zarr",  # relative, resolved against the current directory
        "file://{abs}/",
        "local://{parent}/./ocean.zarr",
        "simplecache::file://{parent}/../{name}/ocean.zarr/",
        "simplecache::file://{parent}/link.zarr",  # a symbolic link to the store
    ],
)
def test_run_refuses_an_input_url_that_is_the_output_path(capsys, store, spelling):
    (store.parent / "link.zarr").symlink_to(store)
    inp = spelling.format(abs=store, parent=store.parent, name=store.parent.name)
    before = snapshot(store)
    code, err = run_inline(capsys, inp, store, "--dim", "lat", "--overwrite")
    line = one_line(err)
    assert code == 2
    assert f"output {store} is the input" in line and inp.rstrip("/") in line, line
    assert snapshot(store) == before


@pytest.mark.parametrize("spelling", ["simplecache::file://{abs}", "file://{abs}/sub.zarr"])
def test_run_refuses_an_output_url_that_is_the_input_or_inside_it(capsys, store, spelling):
    out = spelling.format(abs=store)
    before = snapshot(store)
    code, err = run_inline(capsys, store, out, "--dim", "lat", "--overwrite")
    line = one_line(err)
    assert code == 2
    assert ("is the input" in line or "is inside the input" in line) and str(store) in line
    assert snapshot(store) == before


# --- Python API: the stores the object reads from, whatever opened them ---------------------


def _from_zarr(path):
    import dask.array as da

    return da.from_zarr(str(path), component="temp")


def _zarr_open(path):
    import dask.array as da

    return da.from_array(zarr.open(str(path), mode="r")["temp"], chunks=3)


def _local_store(path):
    import dask.array as da

    z = zarr.open_array(zarr.storage.LocalStore(str(path), read_only=True), path="temp")
    return da.from_array(z, chunks=(3, 12))


def _fsspec_store(path):
    import dask.array as da

    s = zarr.storage.FsspecStore.from_url(f"file://{path}", read_only=True)
    return da.from_array(zarr.open_array(s, path="temp"), chunks=(3, 12))


def _fsspec_mapper(path):
    import fsspec

    return xr.open_zarr(fsspec.get_mapper(f"simplecache::file://{path}")).temp.data


def _open_zarr(path):
    return xr.open_zarr(path).temp.data


def _open_dataset(path):
    return xr.open_dataset(path, engine="zarr", chunks={}).temp.data


OPENERS = [_from_zarr, _zarr_open, _local_store, _fsspec_store, _fsspec_mapper, _open_zarr]
OPENERS += [_open_dataset]


@pytest.mark.parametrize("opener", OPENERS, ids=lambda f: f.__name__.strip("_"))
@pytest.mark.parametrize("kind", ["Dataset", "DataArray"])
def test_to_zarr_refuses_a_store_the_object_reads_from(store, opener, kind):
    arr = opener(store)
    ds = xr.Dataset({"temp": (("lat", "lon"), arr)}, coords={"lon": np.arange(12.0)})
    result = ds.grad("lon")
    obj = result if kind == "Dataset" else result["dtemp_dlon"]
    before = snapshot(store)
    for spelling in (str(store), "ocean.zarr", f"file://{store}/", f"{store.parent}/./ocean.zarr"):
        with pytest.raises(ValueError, match="is the input") as e:
            daskgrad.to_zarr(obj, spelling, overwrite=True)
        assert len(str(e.value).splitlines()) == 1
        assert str(store) in str(e.value)
    with pytest.raises(ValueError, match="contains the input"):
        daskgrad.to_zarr(obj, store.parent, overwrite=True)
    assert snapshot(store) == before
    # another path is written, and holds the derivative of what was read
    out = daskgrad.to_zarr(obj, store.parent / "grad.zarr")
    expect = np.gradient(ocean().temp.values, axis=1)
    np.testing.assert_allclose(xr.open_zarr(out).dtemp_dlon.values, expect, rtol=1e-12)


@pytest.mark.parametrize(
    "opener",
    [
        lambda p: xr.open_dataset(p, engine="zarr"),
        lambda p: xr.open_zarr(p, chunks=None),
        lambda p: xr.open_zarr(p).persist(),
    ],
    ids=["open_dataset", "open_zarr-chunks-None", "persist"],
)
@pytest.mark.parametrize("how", ["grad", "geospatial"])
def test_to_zarr_refuses_a_result_computed_into_memory_from_its_store(store, opener, how):
    """The adversarial trial's data loss: a Dataset opened without dask (xarray's default) has
    no graph; its derivatives keep the store the Dataset names in ``encoding["source"]``."""
    ds = opener(store)[["temp"]]
    result = ds.grad("lat") if how == "grad" else ds.grad.geospatial()
    before = snapshot(store)
    with pytest.raises(ValueError, match="is the input"):
        daskgrad.to_zarr(result, store, overwrite=True)
    assert snapshot(store) == before


# --- S3: one server spelled two ways -----------------------------------------------------


@pytest.fixture(scope="module")
def s3():
    pytest.importorskip("s3fs", reason="the object-store tests need daskgrad[s3]")
    pytest.importorskip("moto.server", reason="the object-store tests need moto[server]")
    import s3_server

    server = s3_server.start()
    server.make_bucket(BUCKET)
    ocean().to_zarr(f"s3://{BUCKET}/v.zarr", storage_options=server.options())
    ocean().to_zarr(f"s3://{BUCKET}/nest/v.zarr", storage_options=server.options())
    try:
        yield server
    finally:
        server.stop()


def s3_snapshot(s3, prefix: str) -> dict[str, bytes]:
    fs = s3.fs()
    return {p: fs.cat(p) for p in sorted(fs.find(f"{BUCKET}/{prefix}"))}


def spell(endpoint: str, how: str) -> str:
    port = endpoint.rsplit(":", 1)[1]
    return {
        "localhost": f"http://localhost:{port}",
        "slash": f"{endpoint}/",
        "localhost/": f"http://localhost:{port}/",
        "dot": f"http://127.0.0.1:{port}/.",
    }[how]


def creds(s3, flag="--storage-option=") -> list[str]:
    return [f"{flag}key={s3.keys['key']}", f"{flag}secret={s3.keys['secret']}"]


@pytest.mark.parametrize(
    "inp, out, how, rel",
    [
        ("s3://ocean/v.zarr", "s3://ocean/v.zarr", "localhost", "is the input"),
        ("s3://ocean/v.zarr", "s3://ocean/v.zarr", "slash", "is the input"),
        ("s3://ocean/v.zarr", "s3://ocean/v.zarr", "localhost/", "is the input"),
        ("s3://ocean/v.zarr", "s3://ocean/v.zarr", "dot", "is the input"),
        ("s3://ocean/v.zarr", "s3://ocean/v.zarr/grad.zarr", "localhost", "is inside the input"),
        ("s3://ocean/nest/v.zarr", "s3://ocean/nest", "slash", "contains the input"),
        # s3://ocean//v.zarr/ is refused for its '//' alone (tests/test_s3_key_spelling.py)
    ],
)
def test_run_refuses_one_s3_store_through_two_spellings_of_its_endpoint(
    capsys, s3, inp, out, how, rel
):
    other = spell(s3.endpoint, how)
    before = s3_snapshot(s3, "")
    code, err = run_inline(
        capsys, inp, out, "--dim", "lat", "--overwrite", *creds(s3),
        f"--input-storage-option=endpoint_url={other}",
        f"--output-storage-option=endpoint_url={s3.endpoint}",
    )  # fmt: skip
    line = one_line(err)
    assert code == 2, err
    assert f"output {out.rstrip('/')}" in line and f"input {inp}" in line, line
    assert rel in line and other.rstrip("/") in line and s3.endpoint in line, line
    assert s3_snapshot(s3, "") == before


@pytest.mark.parametrize("how", ["localhost", "slash"])
def test_to_zarr_refuses_one_s3_store_through_two_spellings_of_its_endpoint(s3, how):
    other = {**s3.options(), "client_kwargs": {"endpoint_url": spell(s3.endpoint, how)}}
    ds = xr.open_zarr(f"s3://{BUCKET}/v.zarr", storage_options=other)
    before = s3_snapshot(s3, "")
    with pytest.raises(ValueError, match="is the input") as e:
        daskgrad.to_zarr(
            ds.grad("lat"), f"s3://{BUCKET}/v.zarr", overwrite=True, storage_options=s3.options()
        )
    assert len(str(e.value).splitlines()) == 1 and s3.endpoint in str(e.value)
    assert s3_snapshot(s3, "") == before


def test_a_chained_s3_input_is_the_s3_output_under_it(s3):
    """``simplecache::s3://`` reads the same objects as ``s3://``: the cache is no other store."""
    from daskgrad.errors import UsageError
    from daskgrad.io.locations import locate
    from daskgrad.io.remote import check_remote_output

    inner = {**s3.options(), "client_kwargs": {"endpoint_url": spell(s3.endpoint, "localhost")}}
    inp = locate(f"simplecache::s3://{BUCKET}/v.zarr", {"s3": inner})
    out = locate(f"s3://{BUCKET}/v.zarr", s3.options(), "output")
    with pytest.raises(UsageError, match="is the input simplecache::s3://ocean/v.zarr"):
        check_remote_output(out, True, [inp])


class Proxy:
    """A TCP forwarder on 127.0.0.1 to ``target``'s port: one S3 server at another address."""

    def __init__(self, endpoint: str) -> None:
        self.target = ("127.0.0.1", int(endpoint.rsplit(":", 1)[1]))
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.endpoint = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.threads = [threading.Thread(target=self._accept, daemon=True)]
        self.threads[0].start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.sock.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            for a, b in ((client, upstream), (upstream, client)):
                t = threading.Thread(target=self._pump, args=(a, b), daemon=True)
                t.start()

    @staticmethod
    def _pump(a: socket.socket, b: socket.socket) -> None:
        try:
            while data := a.recv(65536):
                b.sendall(data)
        except OSError:
            pass
        finally:
            for s in (a, b):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def close(self) -> None:
        self.sock.close()


def test_run_refuses_one_s3_store_behind_a_proxy(capsys, s3):
    """Other address, other port, same server: only the probe object can tell."""
    proxy = Proxy(s3.endpoint)
    try:
        before = s3_snapshot(s3, "")
        code, err = run_inline(
            capsys, "s3://ocean/v.zarr", "s3://ocean/v.zarr", "--dim", "lat", "--overwrite",
            *creds(s3), f"--input-storage-option=endpoint_url={proxy.endpoint}",
            f"--output-storage-option=endpoint_url={s3.endpoint}",
        )  # fmt: skip
        line = one_line(err)
        assert code == 2
        assert "is the input" in line and "seen through the input's" in line, line
        assert s3_snapshot(s3, "") == before
        assert not [k for k in s3.fs().find(BUCKET) if k.endswith(".probe")]
    finally:
        proxy.close()


def test_to_zarr_writes_the_same_key_on_a_provably_different_server(s3, tmp_path):
    """Same bucket and key on two servers: not one store, so written (the probe is not seen)."""
    import s3_server

    other = s3_server.start(in_process=False)  # moto's state is per process
    try:
        other.make_bucket(BUCKET)
        ocean().to_zarr(f"s3://{BUCKET}/v.zarr", storage_options=other.options())
        ds = xr.open_zarr(f"s3://{BUCKET}/v.zarr", storage_options=s3.options())
        before = s3_snapshot(s3, "")
        daskgrad.to_zarr(
            ds.grad("lat"), f"s3://{BUCKET}/v.zarr", overwrite=True,
            storage_options=other.options(), progress=False,
        )  # fmt: skip
        assert s3_snapshot(s3, "") == before
        got = xr.open_zarr(f"s3://{BUCKET}/v.zarr", storage_options=other.options())
        lat = ocean().lat.values
        np.testing.assert_allclose(
            got.dtemp_dlat.values, np.gradient(ocean().temp.values, lat, axis=0), rtol=1e-12
        )
    finally:
        other.stop()


def test_same_s3_key_is_refused_when_the_input_endpoint_cannot_be_asked(s3):
    """The input's endpoint does not answer (a TEST-NET address): whether it is the output's
    server cannot be told, so OUTPUT is refused."""
    from daskgrad.io.locations import locate
    from daskgrad.io.remote import check_remote_output

    out = locate(f"s3://{BUCKET}/v.zarr", s3.options(), "output")
    unanswered = {"endpoint_url": "http://192.0.2.1:9"}
    config = {"connect_timeout": 1, "retries": {"max_attempts": 1}}
    inp = locate(
        f"s3://{BUCKET}/v.zarr",
        {**s3.options(), "client_kwargs": unanswered, "config_kwargs": config},
    )
    with pytest.raises(daskgrad.errors.UsageError, match="cannot tell"):
        check_remote_output(out, True, [inp])
