"""The benchmark suite runs end to end at its smallest sizes (no timing is asserted).

``benchmarks/run_all.py --smoke`` runs in this process, by its own ``main``, in groups of
scripts (``--only``), each group a test (pytest-xdist runs them side by side; the scripts that
share run_all's cluster are in one group, which starts it once); together the groups run every
script of ``run_all.SCRIPTS``: the libraries it
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


#: run_all's scripts in groups, and the rows each group's table must have: every peer and
#: floor of the suite. bench_operators and bench_out_of_core use the cluster run_all shares.
GROUPS = {
    "in memory": {
        "bench_arrays": ["np.gradient", "da.gradient", "3 elementwise passes"],
        "bench_graph": ["minimal graph"],
        "bench_stencil": ["findiff"],
        "bench_geospatial": ["MetPy geospatial_gradient"],
        "bench_projected": ["MetPy vorticity + divergence"],
    },
    "cluster": {
        "bench_operators": ["MetPy vorticity + divergence", "I/O floor"],
        "bench_out_of_core": ["I/O floor"],
    },
    "fresh processes": {"bench_small": ["xarray copy"]},
    "kinematics": {"bench_kinematics": ["MetPy frontogenesis", "daskgrad.gradient of its inputs"]},
}


def load_run_all():
    spec = importlib.util.spec_from_file_location("run_all", ROOT / "benchmarks" / "run_all.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_all_smoke(*args: str) -> tuple[int, str, str]:
    """``python benchmarks/run_all.py --smoke ARGS`` in this process: exit status, stdout,
    stderr."""
    module = load_run_all()
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = module.main(["--smoke", *args])
    return code, out.getvalue(), err.getvalue()


def test_the_groups_are_every_script_once():
    scripts = [name for group in GROUPS.values() for name in group]
    assert sorted(scripts) == sorted(load_run_all().SCRIPTS), "GROUPS and run_all.SCRIPTS differ"
    assert len(set(scripts)) == len(scripts)
    for name in scripts:  # --only NAME selects NAME alone
        assert [n for n in scripts if name in n] == [name], name
        assert (ROOT / "benchmarks" / f"{name}.py").exists(), name


@pytest.mark.filterwarnings("ignore:Port 8787 is already in use")  # dask on a busy machine
@pytest.mark.parametrize("group", GROUPS)
def test_run_all_smoke_prints_one_table_and_exits_0(group, tmp_path, monkeypatch):
    monkeypatch.setenv("PYTHONPATH", str(ROOT))  # the fresh processes of bench_small
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # this process's temporaries
    monkeypatch.setattr(sys, "path", list(sys.path))  # run_all puts benchmarks/ first
    only = [arg for name in GROUPS[group] for arg in ("--only", name)]
    code, stdout, stderr = run_all_smoke(*only)
    assert code == 0, stderr[-3000:]
    lines = stdout.splitlines()
    header = [ln for ln in lines if ln.startswith("| script | measurement |")]
    assert len(header) == 1, stdout
    rows = [ln for ln in lines if ln.startswith("| bench_")]
    # every script of the group ran, every peer and floor has its row, and no script failed
    for script, references in GROUPS[group].items():
        for reference in references:
            assert any(r.startswith(f"| {script} |") and reference in r for r in rows), (
                script,
                reference,
                stdout,
            )
    assert {r.split("|")[1].strip() for r in rows} == set(GROUPS[group]), stdout
    assert not any("failed:" in r for r in rows), stdout
    # the ratio column holds numbers
    for r in rows:
        ratio = r.split("|")[6].split()[0]
        assert float(ratio) > 0, r
    # the suite's temporary stores are gone
    assert not list(tmp_path.glob("daskgrad-suite-*")), list(tmp_path.iterdir())
