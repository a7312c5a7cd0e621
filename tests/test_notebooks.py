"""The notebooks run top to bottom: their cells assert on the numbers they show."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")
pytest.importorskip("matplotlib")

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"


def run_notebook(name: str, timeout: int = 600) -> None:
    """Execute ``notebooks/name`` in a fresh ``python3`` kernel; a failing cell raises.

    With no kernel directories to search, jupyter_client falls back to ipykernel's own
    ``python3`` spec, which runs this interpreter: the notebooks see the tests' environment
    whatever kernelspecs are (or are not) installed, and nothing is registered by hand.
    """
    from jupyter_client import KernelManager
    from jupyter_client.kernelspec import KernelSpecManager

    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    nb.cells.insert(
        0,
        nbformat.v4.new_code_cell(f"import sys\nassert sys.executable == {sys.executable!r}"),
    )
    km = KernelManager(kernel_name="python3", kernel_spec_manager=KernelSpecManager(kernel_dirs=[]))
    client = nbclient.NotebookClient(
        nb, km=km, timeout=timeout, resources={"metadata": {"path": str(NOTEBOOKS)}}
    )
    client.execute()
    images = [
        o
        for cell in nb.cells
        if cell.cell_type == "code"
        for o in cell.outputs
        if "image/png" in o.get("data", {})
    ]
    assert images, f"{name} drew no figure"


def test_quickstart():
    run_notebook("quickstart.ipynb")


@pytest.mark.slow
def test_out_of_core():
    pytest.importorskip("distributed")
    pytest.importorskip("zarr")
    run_notebook("out-of-core.ipynb")


@pytest.mark.parametrize("name", ["quickstart.ipynb", "out-of-core.ipynb"])
def test_committed_with_outputs(name):
    """The committed notebooks carry their outputs, figures included, for notebook viewers."""
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.execution_count is not None for c in code), f"{name} is not fully executed"
    errors = [o for c in code for o in c.outputs if o.output_type == "error"]
    assert not errors, f"{name} was committed with an error output"
    assert any("image/png" in o.get("data", {}) for c in code for o in c.outputs)
