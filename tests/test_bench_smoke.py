"""The benchmark suite runs end to end at its smallest sizes (no timing is asserted)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_run_all_smoke_prints_one_table_and_exits_0(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TMPDIR": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "run_all.py"), "--smoke"],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.splitlines()
    header = [ln for ln in lines if ln.startswith("| script | measurement |")]
    assert len(header) == 1, done.stdout
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
            done.stdout,
        )
    assert not any("failed:" in r for r in rows), done.stdout
    # the ratio column holds numbers
    for r in rows:
        ratio = r.split("|")[6].split()[0]
        assert float(ratio) > 0, r
    # the suite's temporary stores are gone
    assert not list(tmp_path.glob("daskgrad-suite-*")), list(tmp_path.iterdir())
