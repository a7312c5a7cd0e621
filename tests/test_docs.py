"""Every public function (``daskgrad.__all__``) and every public method of the ``.grad``
accessor has numpydoc Parameters, Returns and Examples sections, documents exactly the
parameters of its signature, and its examples run.

numpydoc is not a dependency: a small parser of numpydoc's section layout (a title underlined
with dashes) reads the docstrings.
"""

from __future__ import annotations

import doctest
import inspect
import sys

import pytest

pytest.importorskip("xarray")

import xarray as xr  # noqa: E402

import daskgrad  # noqa: E402
from daskgrad.accessor import GradAccessor  # noqa: E402

ACCESSOR_METHODS = sorted(
    name
    for name, value in vars(GradAccessor).items()
    if inspect.isfunction(value) and (not name.startswith("_") or name == "__call__")
)

OBJECTS = [(name, getattr(daskgrad, name)) for name in sorted(daskgrad.__all__)] + [
    (f"GradAccessor.{name}", getattr(GradAccessor, name)) for name in ACCESSOR_METHODS
]


def sections(doc: str) -> dict[str, list[str]]:
    """The numpydoc sections of ``doc``: title -> its lines (the summary is under "")."""
    lines = inspect.cleandoc(doc).splitlines()
    out: dict[str, list[str]] = {"": []}
    current = ""
    i = 0
    while i < len(lines):
        title = lines[i]
        under = lines[i + 1] if i + 1 < len(lines) else ""
        if (
            title.strip()
            and not title.startswith(" ")
            and under.strip()
            and set(under.strip()) == {"-"}
            and len(under.strip()) == len(title.strip())
        ):
            current = title.strip()
            assert current not in out, f"section {current!r} appears twice"
            out[current] = []
            i += 2
            continue
        out[current].append(lines[i])
        i += 1
    return out


def documented_parameters(lines: list[str]) -> list[str]:
    """Names of the entries of a Parameters section: its unindented lines, ``name : type``
    or ``name1, name2 : type`` or a bare ``name`` (``**options`` for keyword groups)."""
    names = []
    for line in lines:
        if not line.strip() or line.startswith((" ", "\t")):
            continue
        head = line.split(" : ", 1)[0]
        names += [n.strip() for n in head.split(",")]
    return names


def signature_parameters(func) -> list[str]:
    """The parameters numpydoc asks to document: ``*args`` and ``**kwargs`` with their stars,
    without ``self``."""
    names = []
    for p in inspect.signature(func).parameters.values():
        if p.name == "self":
            continue
        if p.kind is p.VAR_POSITIONAL:
            names.append("*" + p.name)
        elif p.kind is p.VAR_KEYWORD:
            names.append("**" + p.name)
        else:
            names.append(p.name)
    return names


def test_the_public_surface_is_covered():
    assert set(daskgrad.__all__) >= {
        "gradient",
        "np_gradient",
        "geospatial_gradient",
        "divergence",
        "vorticity",
        "laplacian",
        "to_zarr",
    }
    assert set(ACCESSOR_METHODS) >= {
        "__call__",
        "geospatial",
        "divergence",
        "vorticity",
        "laplacian",
    }
    # one accessor class serves both
    assert type(xr.DataArray([1.0]).grad) is GradAccessor
    assert type(xr.Dataset().grad) is GradAccessor


@pytest.mark.parametrize("name, func", OBJECTS, ids=[name for name, _ in OBJECTS])
def test_numpydoc_sections(name, func):
    doc = func.__doc__  # its own, not one inherited
    assert doc, f"{name} has no docstring"
    found = sections(doc)
    assert found[""] and found[""][0].strip(), f"{name}: no one-line summary"
    for title in ("Parameters", "Returns", "Examples"):
        assert title in found, f"{name}: no {title} section (has {sorted(found)[1:]})"
        assert any(line.strip() for line in found[title]), f"{name}: empty {title} section"
    documented = documented_parameters(found["Parameters"])
    wanted = signature_parameters(func)
    assert len(documented) == len(set(documented)), f"{name}: a parameter documented twice"
    missing = [p for p in wanted if p not in documented]
    extra = [p for p in documented if p not in wanted]
    assert not missing, f"{name}: parameters not documented: {missing}"
    assert not extra, f"{name}: documented parameters not in the signature: {extra}"
    assert any(line.lstrip().startswith(">>> ") for line in found["Examples"]), (
        f"{name}: Examples has no >>> line"
    )


@pytest.mark.parametrize("name, func", OBJECTS, ids=[name for name, _ in OBJECTS])
def test_examples_run(name, func):
    module = sys.modules[func.__module__]
    finder = doctest.DocTestFinder(recurse=False)
    tests = finder.find(func, name=name, module=module, globs=dict(vars(module)))
    report: list[str] = []
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    for test in tests:
        runner.run(test, out=report.append)
    assert runner.tries > 0, f"{name}: no examples ran"
    assert runner.failures == 0, "".join(report)


def test_the_xarray_layer_exports_no_unit_helper():
    """issue 19: ``divide_units`` is a helper of the xarray layer, not part of what
    its gradient module offers."""
    from daskgrad.xr import gradient

    assert "divide_units" not in gradient.__all__
