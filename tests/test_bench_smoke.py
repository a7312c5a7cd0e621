"""The benchmark suite runs end to end at its smallest sizes (no timing is asserted).

``benchmarks/run_all.py --smoke`` runs in this process, by its own ``main``: the libraries it
measures (numpy, dask, xarray, distributed, MetPy, pint, findiff) are imported once for the test
session rather than once more by a fresh interpreter; what a fresh process adds is measured by
the scripts themselves (bench_small runs ``daskgrad`` as fresh processes, which inherit TMPDIR
and PYTHONPATH from here)."""

from __future__ import annotations

import contextlib
import importlib.util
import io
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def run_all_smoke() -> tuple[int, str, str]:
    """``python benchmarks/run_all.py --smoke`` in this process: exit status, stdout, stderr."""
    spec = importlib.util.spec_from_file_location("run_all", ROOT / "benchmarks" / "run_all.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = module.main(["--smoke"])
    return code, out.getvalue(), err.getvalue()


@pytest.mark.filterwarnings("ignore:Port 8787 is already in use")  # dask on a busy machine
def test_run_all_smoke_prints_one_table_and_exits_0(tmp_path, monkeypatch):
    monkeypatch.setenv("PYTHONPATH", str(ROOT))  # the fresh processes of bench_small
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # this process's temporaries
    monkeypatch.setattr(sys, "path", list(sys.path))  # run_all puts benchmarks/ first
    code, stdout, stderr = run_all_smoke()
    assert code == 0, stderr[-3000:]
    lines = stdout.splitlines()
    header = [ln for ln in lines if ln.startswith("| script | measurement |")]
    assert len(header) == 1, stdout
    rows = [ln for ln in lines if ln.startswith("| bench_")]
    # every peer and floor of the suite has its row, and no script failed
    for script, reference in [
        ("bench_arrays", "np.gradient"),
        ("bench_arrays", "da.gradient"),
        ("bench_arrays", "3 elementwise passes"),
        ("bench_graph", "minimal graph"),
        ("bench_stencil", "findiff"),
        ("bench_geospatial", "MetPy geospatial_gradient"),
        ("bench_operators", "MetPy vorticity + divergence"),
        ("bench_operators", "I/O floor"),
        ("bench_out_of_core", "I/O floor"),
    ]:
        assert any(r.startswith(f"| {script} |") and reference in r for r in rows), (
            script,
            reference,
            stdout,
        )
    assert not any("failed:" in r for r in rows), stdout
    # the ratio column holds numbers
    for r in rows:
        ratio = r.split("|")[6].split()[0]
        assert float(ratio) > 0, r
    # the suite's temporary stores are gone
    assert not list(tmp_path.glob("daskgrad-suite-*")), list(tmp_path.iterdir())
