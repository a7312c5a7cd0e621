"""The package's layout: folders are layers, imports run downward only, no import circles."""

from __future__ import annotations

import ast
import pathlib

import daskgrad

PKG = pathlib.Path(daskgrad.__file__).parent

# what each folder (or top-level module) may import from the package, besides itself
ALLOWED = {
    "errors": set(),
    "compat": set(),
    "signals": set(),
    "core": {"compat", "errors"},
    "xr": {"compat", "core", "errors"},
    "io": {"compat", "errors", "signals"},
    "cluster": {"compat", "errors", "signals"},
    "api": {"compat", "core", "xr", "errors"},
    "operators": {"compat", "core", "xr", "errors"},
    "kinematics": {"compat", "core", "xr", "errors", "operators", "kinematics_vertical"},
    "kinematics_vertical": {"compat", "core", "xr", "errors", "operators"},
    "accessor": {
        "compat",
        "api",
        "operators",
        "kinematics",
        "kinematics_vertical",
        "xr",
        "errors",
    },
    "cli": {
        "compat",
        "core",
        "xr",
        "io",
        "cluster",
        "api",
        "operators",
        "kinematics",
        "kinematics_vertical",
        "errors",
        "signals",
        "__init__",
    },
    "__init__": {
        "compat",
        "api",
        "operators",
        "kinematics",
        "kinematics_vertical",
        "accessor",
        "io",
        "xr",
        "signals",
    },
    "__main__": {"compat", "cli"},
}


def module_name(path: pathlib.Path) -> str:
    rel = path.relative_to(PKG).with_suffix("")
    return ".".join(rel.parts)


def resolve(dep: str) -> str:
    """The module or package a dotted name under the package refers to (a name imported from a
    package, such as ``__version__``, refers to its ``__init__``)."""
    parts = [p for p in dep.split(".") if p and p != "__init__"]
    while parts and not (
        PKG.joinpath(*parts).with_suffix(".py").exists() or PKG.joinpath(*parts).is_dir()
    ):
        parts.pop()
    return ".".join(parts) or "__init__"


def package_imports() -> dict[str, set[str]]:
    """{module: modules of the package it imports}, function-level imports included."""
    graph: dict[str, set[str]] = {}
    for path in PKG.rglob("*.py"):
        me = module_name(path)
        package = me.split(".")[:-1] if path.name != "__init__.py" else me.split(".")[:-1]
        deps: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level:
                base = package[: len(package) - (node.level - 1)]
                if node.module:
                    deps.add(".".join([*base, node.module]))
                else:
                    deps.update(".".join([*base, a.name]) for a in node.names)
            elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("daskgrad."):
                deps.add(node.module.removeprefix("daskgrad."))
            elif isinstance(node, ast.Import):
                deps.update(a.name[9:] for a in node.names if a.name.startswith("daskgrad."))
        graph[me] = {resolve(d) for d in deps}
    return graph


def layer(mod: str) -> str:
    return mod.split(".")[0]


def test_every_module_imports_only_downward():
    graph = package_imports()
    for mod, deps in graph.items():
        for dep in deps:
            if layer(dep) == layer(mod):
                continue
            assert layer(dep) in ALLOWED[layer(mod)], f"{mod} imports {dep}"


def test_no_import_circle():
    graph = package_imports()
    known = set(graph)

    def reaches(src, dst, seen=()):
        return any(
            d == dst or (d not in seen and reaches(d, dst, (*seen, d)))
            for d in graph.get(src, ())
            if d in known
        )

    for mod in graph:
        if not mod.endswith("__init__"):
            assert not reaches(mod, mod), f"{mod} imports itself through a cycle"


def test_core_knows_nothing_of_xarray():
    for path in (PKG / "core").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and not node.level:
                names = [node.module or ""]
            assert not any(n.split(".")[0] in ("xarray", "pint") for n in names), path.name


def test_no_module_reaches_for_another_modules_private_names():
    """What another module needs is public there: no ``from .x import _name``, and no
    ``module._name`` of a daskgrad module (``import ... as _alias`` of a module is fine)."""
    reaches = []
    for path in PKG.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (
                node.level or (node.module or "").startswith("daskgrad")
            ):
                reaches += [
                    f"{module_name(path)}: {a.name}"
                    for a in node.names
                    if a.name.startswith("_")
                    and not a.name.startswith("__")
                    and not (PKG / f"{a.name}.py").exists()
                ]
    assert not reaches, reaches


def test_other_libraries_private_apis_are_used_from_compat_only():
    """dask's task spec and xarray's private helpers are imported in ``daskgrad/compat.py``
    alone (one place to change when a release moves them; tests/test_compat.py checks them)."""
    users = []
    for path in PKG.rglob("*.py"):
        if path.name == "compat.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and not node.level:
                names = [node.module or ""] + [f"{node.module}.{a.name}" for a in node.names]
            private = [
                n
                for n in names
                if n.split(".")[0] in ("dask", "distributed", "xarray", "zarr")
                and any(part.startswith("_") for part in n.split(".")[1:])
            ]
            users += [f"{module_name(path)}: {n}" for n in private]
    assert not users, users
