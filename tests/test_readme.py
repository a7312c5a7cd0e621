"""The README runs as pasted: its code blocks, on small inputs made under its names.

A new user installs with the first block, activates the environment and pastes the others in a
directory, one of them making the inputs the rest read (ocean.zarr, ocean.nc, big.zarr,
in.zarr). Here the blocks run in sections (``SECTIONS``), each a test in a directory of its own
where the inputs block has run first, its blocks in README order (and no section making a file
another section's blocks name). Each ```python block runs in a fresh process as ``python
block.py`` would run it (its own ``__main__``, exit status and process group), forked from an
interpreter that has only imported the libraries of ``PRELOAD`` (not daskgrad, whose import
registers the accessor: a block must import it as pasted), which saves each block their import;
each ```bash block runs in ``bash -e`` (every line must succeed), in a temporary directory that
is also ``$HOME`` (for ``~`` paths), with this environment's ``bin`` first on ``PATH`` and none
of its ``AWS_*``. A block must stop the background jobs it starts (``dask scheduler &``): what
is left running of its process group when it ends fails the test (then it is killed). No block
may print a server's HTTP request log. Where the README claims a result, a check below asserts
it. The first block (install + demo, install + pytest) is checked, not run: it would run this
test suite again. Plain ``` blocks are listings (the module map), not commands.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import select
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
FENCE = re.compile(r"^```(?P<lang>[\w-]*)\n(?P<code>.*?)^```", re.M | re.S)
SETUP = (
    'python3 -m venv .venv && .venv/bin/pip install -e ".[all]" && .venv/bin/daskgrad demo',
    'python3 -m venv .venv && .venv/bin/pip install -e ".[test]" && .venv/bin/python -m pytest',
)
HTTP_LOG = re.compile(r'(GET|HEAD|PUT|POST|DELETE) /\S* HTTP/1\.[01]\S*" \d{3}')  # werkzeug's log
TIMEOUT = {"python": 60, "bash": 150}  # seconds per block


def readme_blocks() -> list[tuple[str, str, int]]:
    """(language, code, line number) of every fenced block of README.md, in order."""
    text = README.read_text()
    return [
        (m["lang"], m["code"], text.count("\n", 0, m.start()) + 1) for m in FENCE.finditer(text)
    ]


def test_first_block_is_the_setup():
    """Install + demo and install + tests, as CI runs them; the extras they name exist."""
    lang, code, _ = readme_blocks()[0]
    assert lang == "bash"
    assert tuple(code.splitlines()) == SETUP
    pyproject = (ROOT / "pyproject.toml").read_text()
    for extra in ("all", "test"):
        assert re.search(rf"^{extra} = \[", pyproject, re.M), f"no extra [{extra}]"
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    assert ci[-1] == ".venv/bin/python -m pytest"
    install = next(line for line in ci if "pip install" in line and "-e" in line)
    assert '".[test]"' in install
    torch = re.search(r"torch==[\d.]+", README.read_text())[0]
    assert torch in install, f"the README says CI installs {torch}; .ci/run: {install}"


@pytest.mark.parametrize(
    "doc", ["README.md", "notebooks/quickstart.ipynb", "notebooks/out-of-core.ipynb"]
)
def test_files_named_are_in_the_repository(doc):
    """The user's documents name only files a clone has (DESIGN.md, for one, it has not)."""
    text = (ROOT / doc).read_text()
    assert "DESIGN" not in text
    named = set(re.findall(r"[\w./-]+\.(?:py|md|ipynb|toml|txt)\b", text))
    named = {n for n in named if "/" in n or n.endswith((".md", ".ipynb", ".toml"))}
    missing = sorted(n for n in named if not (ROOT / n).exists())
    assert not missing, f"{doc} names files the repository does not have: {missing}"


# --------------------------------------------------------------------------- the inputs


# --------------------------------------------------------------------------- the checks
# Keyed by a line that must appear in exactly one block. Python checks run after their block in
# the same interpreter; bash checks run here, in the working directory, after their block.

PYTHON_CHECKS = {
    "f = np.random.rand(64, 128, 256)": """
        # NumPy in -> NumPy out, equal to numpy.gradient; the subset and coordinates forms
        assert all(type(g) is np.ndarray for g in (dz, dy, dx, dlon))
        np.testing.assert_allclose(dy, np.gradient(f, axis=1), rtol=1e-12)
        ref_z, ref_x = np.gradient(f, 2.0, x, axis=(0, 2), edge_order=2)
        np.testing.assert_allclose(dz, ref_z, rtol=1e-12, atol=1e-12)  # f is O(1)
        np.testing.assert_allclose(dx, ref_x, rtol=1e-12, atol=1e-12)
        # dask in -> lazy dask out, with the input's chunks
        assert all(isinstance(g, da.Array) and g.chunks == big.chunks for g in grads)
        # periodic: the wrap-around neighbours, as numpy.gradient on a padded array
        padded = np.concatenate([f[..., -1:], f, f[..., :1]], axis=-1)
        lon_p = np.concatenate([[lon[-1] - 360.0], lon, [lon[0] + 360.0]])
        ref = np.gradient(padded, lon_p, axis=2)[..., 1:-1]
        np.testing.assert_allclose(dlon, ref, rtol=1e-9, atol=1e-9 * np.abs(ref).max())
    """,
    'ds = xr.open_zarr("ocean.zarr")': """
        import numpy as np
        assert (dT_dlat.name, dT_dlon.name) == ("dtemp_dlat", "dtemp_dlon")
        assert dT_dlat.attrs["units"] == f"{ds.temp.units} {ds.lat.units}-1"
        assert {"dtemp_dlat", "dtemp_dlon"} <= set(grads.data_vars)
        ref = ds.temp.differentiate("lat", edge_order=2)
        np.testing.assert_allclose(grads.dtemp_dlat, ref, rtol=1e-5, atol=1e-6)
        inner = dict(lon=slice(1, -1))  # periodic lon: the edges wrap, differentiate's do not
        np.testing.assert_allclose(
            dT_dlon.isel(inner), ds.temp.differentiate("lon").isel(inner), rtol=1e-5, atol=1e-6
        )
        # the time derivative is one DataArray, in K per hour, like differentiate's
        assert isinstance(dT_dt, xr.DataArray) and dT_dt.attrs["units"] == "K h-1"
        ref = ds.temp.differentiate("time", datetime_unit="h")
        np.testing.assert_allclose(dT_dt, ref, rtol=1e-5, atol=1e-6)
    """,
}


def _open(path):
    import xarray as xr

    return xr.open_zarr(path, consolidated=None)


def check_cli(cwd: Path, out: str) -> None:
    import xarray as xr

    grad = _open(cwd / "grad.zarr")
    ocean = xr.open_dataset(cwd / "ocean.nc")
    assert set(grad.data_vars) == {f"d{v}_d{d}" for v in ("temp", "salt") for d in ("lat", "lon")}
    assert set(ocean.coords) <= set(grad.coords)
    ref = np.gradient(ocean.temp.values, ocean.lat.values, axis=2, edge_order=2)
    np.testing.assert_allclose(grad.dtemp_dlat.values, ref, rtol=1e-5, atol=1e-6)
    assert grad.dtemp_dlat.attrs["units"] == "K degrees_north-1"
    big, dbig = _open(cwd / "big.zarr"), _open(cwd / "big-grad.zarr")
    assert set(dbig.data_vars) == {"dv_dx", "dv_dy"}
    assert dbig.dv_dx.chunks[0] == (8,)  # --chunks time=8: two stored chunks per task
    assert dbig.dv_dx.chunks[1:] == big.v.chunks[1:]  # otherwise the input's chunks
    np.testing.assert_allclose(dbig.dv_dx.values, np.gradient(big.v.values, big.x.values, axis=2))
    assert "PASS" in out and "FAIL" not in out
    assert (cwd / "daskgrad-demo" / "gradient.zarr").is_dir()  # ~ is the working directory


def check_clusters(cwd: Path, out: str) -> None:
    inp, res = _open(cwd / "in.zarr"), _open(cwd / "out.zarr")
    np.testing.assert_allclose(res.dv_dx.values, np.gradient(inp.v.values, inp.x.values, axis=1))
    assert res.dv_dx.chunks == inp.v.chunks
    assert "connected to" in out


BASH_CHECKS = {
    "daskgrad run ocean.nc grad.zarr": check_cli,
    "dask scheduler --scheduler-file ~/sched.json &": check_clusters,
}


# --------------------------------------------------------------------------- running


def kill_group(pgid: int) -> None:
    """End the block's process group (its background jobs with it): TERM, then KILL."""
    for sig, grace in ((signal.SIGTERM, 5.0), (signal.SIGKILL, 0.0)):
        try:
            os.killpg(pgid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            try:
                os.killpg(pgid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.1)


def group_members(pgid: int) -> list[str]:
    """The command lines of the live (not zombie) processes of a process group (Linux)."""
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if fields[0] != "Z" and int(fields[2]) == pgid:
                cmd = (stat.parent / "cmdline").read_bytes().replace(b"\0", b" ").decode()
                members.append(f"{stat.parent.name}: {cmd.strip()}")
        except (OSError, IndexError, ValueError):
            continue
    return members


# The libraries a python block's process has imported before the block runs (see the docstring).
PRELOAD = ("numpy", "pandas", "dask.array", "xarray", "zarr")

# Forks one process per request line (a block's path and its log's); replies with the child's
# pid, then with its exit status as subprocess gives it (-N for a signal).
ZYGOTE = r"""
import json, os, runpy, sys, traceback
for name in sys.argv[1:]:
    __import__(name)
replies = os.fdopen(os.dup(1), "w")
os.dup2(os.open(os.devnull, os.O_WRONLY), 1)
for line in sys.stdin:
    script, log = json.loads(line)
    sys.stdout.flush(); sys.stderr.flush(); replies.flush()
    pid = os.fork()
    if pid == 0:
        os.setsid()
        replies.close()
        fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
        os.dup2(fd, 1); os.dup2(fd, 2); os.close(fd)
        os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
        sys.argv, sys.path[0] = [script], os.path.dirname(script)
        try:
            runpy.run_path(script, run_name="__main__")
        except SystemExit:
            raise
        except BaseException:
            traceback.print_exc()
            sys.exit(1)
        sys.exit(0)
    print(pid, file=replies, flush=True)
    _, status = os.waitpid(pid, 0)
    print(os.waitstatus_to_exitcode(status), file=replies, flush=True)
"""


class Zygote:
    """An interpreter with PRELOAD imported, in the blocks' directory and environment, that
    forks each python block's process."""

    def __init__(self, cwd: Path, env: dict) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", ZYGOTE, *PRELOAD],
            cwd=cwd,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

    def start(self, script: Path, log: Path) -> int:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(json.dumps([str(script), str(log)]) + "\n")
        self.proc.stdin.flush()
        return int(self.proc.stdout.readline())

    def wait(self, timeout: float) -> int | None:
        """The block's exit status, or None if it has not ended within ``timeout`` s."""
        assert self.proc.stdout is not None
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
        return int(self.proc.stdout.readline()) if ready else None

    def close(self) -> None:
        """End it at once: it holds nothing to save, and its blocks have ended."""
        self.proc.kill()
        self.proc.wait()
        for pipe in (self.proc.stdin, self.proc.stdout):
            if pipe is not None:
                pipe.close()


def run_block(
    lang: str, code: str, cwd: Path, env: dict, zygote: Zygote | None = None
) -> tuple[int | None, str, list[str]]:
    """Run one block (a python block forked by ``zygote`` if given); its exit code, its output
    (stdout and stderr) and what it left running (a pasted block must stop what it starts).
    Files, not pipes, take the output: a background job holding a pipe open would keep it from
    ending."""
    script = cwd / f".block.{'py' if lang == 'python' else 'sh'}"
    script.write_text(code)
    log = cwd / ".block.log"
    if lang == "python" and zygote is not None:
        pid = zygote.start(script, log)
        rc = zygote.wait(TIMEOUT[lang])

        def reap() -> None:
            if rc is None:
                zygote.wait(10)  # its status, once killed
    else:
        cmd = [sys.executable, str(script)] if lang == "python" else ["bash", "-e", str(script)]
        with open(log, "w") as out:
            proc = subprocess.Popen(
                cmd, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )
        pid = proc.pid
        try:
            rc = proc.wait(timeout=TIMEOUT[lang])
        except subprocess.TimeoutExpired:
            rc = None

        def reap() -> None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=5)

    left = []
    try:
        deadline = time.monotonic() + 20  # a worker stopped by SIGTERM closes gracefully
        while rc is not None and (left := group_members(pid)):
            if time.monotonic() > deadline:
                break
            time.sleep(0.2)
    finally:
        kill_group(pid)
        reap()
    return rc, log.read_text(), left


def port_is_free(port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as tornado binds
        try:
            s.bind(("", port))
        except OSError:
            return False
    return True


# --------------------------------------------------------------------------- the sections
# The README's blocks run in sections, each a test of its own (pytest-xdist runs them side by
# side): each in a fresh directory where the block that makes the inputs (``INPUTS``) has run,
# then the section's blocks in README order. A block belongs to the section whose key line it
# holds, else to "api" (the API examples, and any new block). What a section leaves in its
# directory must not be named by another section's blocks: pasted in order in one directory,
# a block could otherwise meet (or clobber) another section's output, which a section's own
# directory would not show.

INPUTS = '.to_zarr("ocean.zarr", mode="w")'
SECTIONS = {
    "cli": "daskgrad run ocean.nc grad.zarr",
    "cluster": "dask scheduler --scheduler-file",
    "s3": "127.0.0.1:5555",  # the two blocks that start a moto server on that port, in turn
}
SCRATCH = {".block.py", ".block.sh", ".block.log"}


def runnable_blocks() -> list[tuple[str, str, int]]:
    """The python and bash blocks after the first (the setup, checked not run)."""
    return [(lang, code, line) for lang, code, line in readme_blocks()[1:] if lang != ""]


def section_of(code: str) -> str:
    return next((name for name, key in SECTIONS.items() if key in code), "api")


def sections() -> dict[str, list[tuple[str, str, int]]]:
    """{section: its blocks in README order}, without the INPUTS block (every section's start)."""
    got: dict[str, list[tuple[str, str, int]]] = {name: [] for name in ("api", *SECTIONS)}
    for lang, code, line in runnable_blocks():
        if INPUTS not in code:
            got[section_of(code)].append((lang, code, line))
    return got


def test_blocks_are_python_bash_or_listings_and_each_check_has_its_block():
    blocks = readme_blocks()
    odd = [(lang, line) for lang, _, line in blocks if lang not in ("python", "bash", "")]
    assert not odd, f"blocks neither ```python, ```bash nor a plain listing: {odd}"
    runnable = runnable_blocks()
    assert runnable, "no code blocks after the first"
    for checks in (PYTHON_CHECKS, BASH_CHECKS, {INPUTS: None}):
        for key in checks:
            hits = [line for _, code, line in runnable if key in code]
            assert len(hits) == 1, f"check {key!r} matches {len(hits)} README blocks"
    inputs = next(line for _, code, line in runnable if INPUTS in code)
    first = min(line for _, code, line in runnable if section_of(code) != "api")
    assert inputs < first, f"the inputs (README.md line {inputs}) come after a block using them"
    for name, blocks_of in sections().items():
        assert blocks_of, f"no README block holds section {name!r}'s key {SECTIONS.get(name)!r}"
        for _, code, line in blocks_of:
            others = [k for n, k in SECTIONS.items() if n != name and k in code]
            assert not others, f"README.md line {line} holds the keys of two sections: {others}"


def block_env(tmp_path: Path) -> dict:
    """The blocks' environment: this environment's ``bin`` first on PATH, HOME the working
    directory, none of its AWS set-up."""
    bindir = str(Path(sys.executable).parent)
    env = {
        **os.environ,
        "HOME": str(tmp_path),
        "PATH": bindir + os.pathsep + os.environ.get("PATH", ""),
        "MPLBACKEND": "Agg",
    }
    env.pop("PYTHONPATH", None)
    for name in [n for n in env if n.startswith("AWS_")]:  # no AWS set-up but the README's
        del env[name]
    env["AWS_CONFIG_FILE"] = env["AWS_SHARED_CREDENTIALS_FILE"] = str(tmp_path / "no-such-file")
    return env


def run_as_pasted(lang: str, code: str, line: int, cwd: Path, env: dict, zygote: Zygote) -> None:
    """Run one README block as pasted, with its check; fail with the block's line."""
    check = next((v for k, v in {**PYTHON_CHECKS, **BASH_CHECKS}.items() if k in code), None)
    if lang == "python" and check is not None:
        code = code + "\n" + textwrap.dedent(check)
    start = time.perf_counter()
    rc, out, left = run_block(lang, code, cwd, env, zygote)
    took = time.perf_counter() - start
    where = f"README.md line {line} ({lang} block, {took:.0f} s)"
    assert rc is not None, f"{where} did not end within {TIMEOUT[lang]} s:\n{out}"
    assert rc == 0, f"{where} failed as pasted (exit {rc}):\n{code}\n--- output:\n{out}"
    assert not left, f"{where} left processes running:\n" + "\n".join(left)
    # a server's request log (werkzeug's, moto's) is not for the user to read
    assert not HTTP_LOG.search(out), f"{where} printed HTTP request logs:\n{out[:2000]}"
    if lang == "bash" and check is not None:
        check(cwd, out)


def named_in(name: str, code: str) -> bool:
    """Whether ``code`` names the local path ``name`` (not as part of a longer name or of a
    URL's path: s3://ocean/grad.zarr is not grad.zarr)."""
    return re.search(rf"(?<![\w./~-]){re.escape(name)}(?![\w-])", code) is not None


def test_named_in():
    assert named_in("grad.zarr", "daskgrad run ocean.nc grad.zarr --dim lat")
    assert named_in("grad.zarr", 'xr.open_zarr("grad.zarr")')
    assert not named_in("grad.zarr", "daskgrad run big.zarr big-grad.zarr")
    assert not named_in("grad.zarr", "s3://ocean/grad.zarr")
    assert not named_in("grad.zarr", "grads.zarr")


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:Consolidated metadata")
@pytest.mark.parametrize("section", ["api", *SECTIONS])
def test_blocks_run_as_pasted(section, tmp_path, request):
    """The inputs block, then the section's blocks in README order, each as pasted."""
    blocks = sections()[section]
    if any("dask scheduler" in code and "--port" not in code for _, code, _ in blocks):
        # else `dask scheduler` fails and the README's wait for its file would time out
        assert port_is_free(8786), "port 8786 (dask scheduler's default) is taken on this machine"
    env = block_env(tmp_path)
    zygote = Zygote(tmp_path, env)
    request.addfinalizer(zygote.close)
    (inputs,) = [b for b in runnable_blocks() if INPUTS in b[1]]
    run_as_pasted(*inputs, tmp_path, env, zygote)
    before = set(os.listdir(tmp_path))
    for lang, code, line in blocks:
        run_as_pasted(lang, code, line, tmp_path, env, zygote)
    made = sorted(set(os.listdir(tmp_path)) - before - SCRATCH)
    for other, their_blocks in sections().items():
        for _, code, line in their_blocks if other != section else ():
            named = [n for n in made if named_in(n, code)]
            assert not named, (
                f"README.md line {line} (section {other!r}) names {named}, which section "
                f"{section!r} makes: pasted in order they meet; put them in one section"
            )
