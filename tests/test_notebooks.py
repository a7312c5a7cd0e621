"""The notebooks run top to bottom: their cells assert on the numbers they show."""

from __future__ import annotations

from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")
pytest.importorskip("matplotlib")

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"


def run_notebook(name: str, timeout: int = 600) -> None:
    """Execute ``notebooks/name`` in a fresh ``python3`` kernel; a failing cell raises.

    jupyter_client launches the ``python3`` kernel with this interpreter (``sys.executable``),
    so the notebooks see the same environment as the tests, with nothing registered by hand.
    """
    path = NOTEBOOKS / name
    nb = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        resources={"metadata": {"path": str(NOTEBOOKS)}},
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
