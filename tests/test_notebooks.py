"""The notebooks run top to bottom: their cells assert on the numbers they show.

``python tests/test_notebooks.py [NAME ...]`` re-executes them and writes them back with their
outputs, for notebook viewers: no execution metadata, and each run of stream output coalesced
to what a notebook shows (a progress bar's last state, not every redraw).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")
pytest.importorskip("matplotlib")

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
NAMES = ("quickstart.ipynb", "out-of-core.ipynb")


def run_notebook(name: str, timeout: int = 600):
    """Execute ``notebooks/name`` in a fresh ``python3`` kernel and return it; a failing cell
    raises.

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
        nb,
        km=km,
        timeout=timeout,
        record_timing=False,
        resources={"metadata": {"path": str(NOTEBOOKS)}},
    )
    try:
        client.execute()
    finally:  # nbclient leaves a kernel it was given running: it would idle until pytest ends
        if client.kc is not None:
            client.kc.stop_channels()
        if km.has_kernel:
            km.shutdown_kernel(now=True)
    images = [
        o
        for cell in nb.cells
        if cell.cell_type == "code"
        for o in cell.outputs
        if "image/png" in o.get("data", {})
    ]
    assert images, f"{name} drew no figure"
    nb.cells.pop(0)
    return nb


def as_shown(text: str) -> str:
    """Stream text as a notebook renders it: a carriage return overwrites its line from the
    start, and the 'erase line' a console progress bar ends with is not rendered.

    >>> as_shown("a\\r[##  ] 50%\\r[####] 100%\\x1b[2K\\r\\ndone\\n")
    '[####] 100%\\ndone\\n'
    """
    lines = []
    for line in text.replace("\x1b[2K", "").split("\n"):
        shown = ""
        for part in line.split("\r"):
            shown = part + shown[len(part) :]
        lines.append(shown)
    return "\n".join(lines)


def for_viewers(nb):
    """``nb`` as it is committed: stream outputs coalesced as shown, no execution metadata,
    execution counts from 1."""
    count = 0
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
        if cell.cell_type != "code":
            continue
        merged = []
        for out in cell.outputs:
            last = merged[-1] if merged else None
            if out.output_type == "stream" and last and last.get("name") == out.name:
                last.text += out.text
            else:
                merged.append(out)
        for out in merged:
            if out.output_type == "stream":
                out.text = as_shown(out.text)
            if "execution_count" in out:
                out.execution_count = count + 1
        cell.outputs = merged
        count += 1
        cell.execution_count = count
    return nb


def test_quickstart():
    run_notebook("quickstart.ipynb")


@pytest.mark.slow
def test_out_of_core(monkeypatch):
    """At the size the notebook names for tests: its input still larger than the cluster's
    memory, which the notebook asserts, with every other check of the full size."""
    pytest.importorskip("distributed")
    pytest.importorskip("zarr")
    monkeypatch.setenv("DASKGRAD_NOTEBOOK_SIZE", "small")  # the kernel and its CLI inherit it
    run_notebook("out-of-core.ipynb")


@pytest.mark.parametrize("name", NAMES)
def test_committed_with_outputs(name):
    """The committed notebooks carry their outputs, figures included, for notebook viewers."""
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.execution_count is not None for c in code), f"{name} is not fully executed"
    errors = [o for c in code for o in c.outputs if o.output_type == "error"]
    assert not errors, f"{name} was committed with an error output"
    assert any("image/png" in o.get("data", {}) for c in code for o in c.outputs)
    assert not any("execution" in c.metadata for c in nb.cells), "execution metadata left in"


@pytest.mark.parametrize("name", NAMES)
def test_a_progress_bar_said_is_shown(name):
    """A text that says a progress bar is shown is followed by a cell that shows one, done."""
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    said = False
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            said = "progress bar" in cell.source.lower()
        elif said:
            text = "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")
            assert "100%" in text, f"{name}: a progress bar is announced but not shown"
            said = False


def main(names: list[str]) -> None:
    for name in names or NAMES:
        print("executing", name, flush=True)
        nbformat.write(for_viewers(run_notebook(name)), NOTEBOOKS / name)


if __name__ == "__main__":
    main(sys.argv[1:])
