"""The package's layout: folders are layers, imports run downward only, no import circles."""

from __future__ import annotations

import ast
import functools
import pathlib

import daskgrad

PKG = pathlib.Path(daskgrad.__file__).parent

# what each folder (or top-level module) may import from the package, besides itself
ALLOWED = {
    "errors": set(),
    "compat": set(),
    "signals": set(),
    "version": set(),
    "core": {"compat", "errors"},
    "xr": {"compat", "core", "errors"},
    "io": {"compat", "errors", "signals"},
    "cluster": {"compat", "errors", "signals"},
    "api": {"compat", "core", "xr", "errors"},
    "operators": {"compat", "core", "xr", "errors"},
    # the public functions import the layers below, not each other (what they share is in
    # core.plan and xr's base modules)
    "kinematics": {"compat", "core", "xr", "errors"},
    "kinematics_vertical": {"compat", "core", "xr", "errors"},
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
        "version",
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
        "version",
    },
    "__main__": {"compat", "cli"},
}


@functools.cache
def parsed(text: str) -> ast.Module:
    """``ast.parse(text)``, once per text for the module's tests (which only read the trees):
    the copies of the package in ``test_the_duplication_rules_catch_a_copy`` are its files'
    texts, parsed once for every rule."""
    return ast.parse(text)


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
        for node in ast.walk(parsed(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level:
                base = package[: len(package) - (node.level - 1)]
                if node.module:
                    deps.add(".".join([*base, node.module]))
                else:
                    deps.update(".".join([*base, a.name]) for a in node.names)
            elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("daskgrad."):
                deps.add(node.module.removeprefix("daskgrad."))
            elif isinstance(node, ast.Import):  # ``import daskgrad`` is the package's __init__
                deps.update(
                    a.name[9:]
                    for a in node.names
                    if a.name == "daskgrad" or a.name.startswith("daskgrad.")
                )
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
        for node in ast.walk(parsed(path.read_text())):
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
        for node in ast.walk(parsed(path.read_text())):
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
        for node in ast.walk(parsed(path.read_text())):
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


_STUB = ast.dump(
    ast.Module(body=[ast.Expr(ast.Constant(...))], type_ignores=[]), annotate_fields=False
)
_PASS = ast.dump(ast.Module(body=[ast.Pass()], type_ignores=[]), annotate_fields=False)
_EMPTY = ast.dump(ast.Module(body=[], type_ignores=[]), annotate_fields=False)


def _body(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> str:
    """A function's body without its docstring, as a comparable string."""
    body = fn.body
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]
    return ast.dump(ast.Module(body=body, type_ignores=[]), annotate_fields=False)


@functools.cache
def _functions(text: str) -> tuple[tuple[str, str, int], ...]:
    """(name, body as ``_body`` gives it, line) of the functions and methods of a module's
    ``text``, stubs (``...``, ``pass``) left out."""
    found = []
    for node in ast.walk(parsed(text)):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            body = _body(node)
            if body not in (_STUB, _PASS, _EMPTY):
                found.append((node.name, body, node.lineno))
    return tuple(found)


def duplicate_functions(root: pathlib.Path) -> list[list[str]]:
    """Functions and methods of the same name and the same body (docstrings aside) in more
    than one module: logic written out twice. Stubs (``...``, ``pass``) do not count."""
    seen: dict[tuple[str, str], list[str]] = {}
    for path in sorted(root.rglob("*.py")):
        for name, body, lineno in _functions(path.read_text()):
            rel = str(path.relative_to(root))
            seen.setdefault((name, body), []).append(f"{rel}:{lineno} {name}")
    return [places for places in seen.values() if len({p.split(":")[0] for p in places}) > 1]


def duplicate_constants(root: pathlib.Path) -> dict[str, list[str]]:
    """Module-level CONSTANTS (upper-case names) assigned in more than one module: one of
    them is a copy that can drift (ZARR_MARKERS had two different contents)."""
    where: dict[str, list[str]] = {}
    for path in sorted(root.rglob("*.py")):
        for node in parsed(path.read_text()).body:
            targets = node.targets if isinstance(node, ast.Assign) else []
            if isinstance(node, ast.AnnAssign):
                targets = [node.target]
            for t in targets:
                if isinstance(t, ast.Name) and t.id.lstrip("_").isupper() and t.id != "__all__":
                    where.setdefault(t.id, []).append(str(path.relative_to(root)))
    return {name: paths for name, paths in where.items() if len(paths) > 1}


def test_no_logic_written_out_twice():
    assert not duplicate_functions(PKG)


def test_no_constant_defined_twice():
    assert not duplicate_constants(PKG)


def test_the_duplication_rules_catch_a_copy(tmp_path):
    """Each rule above fails on a tree with a copy put back: the xarray test of ``api`` in
    ``operators`` (same name, same body, another docstring), ZARR_MARKERS in ``io/target``."""
    import shutil

    tree = tmp_path / "daskgrad"
    shutil.copytree(PKG, tree, ignore=shutil.ignore_patterns("__pycache__"))
    assert not duplicate_functions(tree) and not duplicate_constants(tree)
    units = ast.parse((PKG / "xr" / "units.py").read_text())
    (is_xarray,) = [n for n in units.body if getattr(n, "name", "") == "is_xarray"]
    copy = ast.unparse(is_xarray).replace('"""', '"""A copy: ', 1)
    with open(tree / "operators.py", "a") as f:
        f.write("\n\n" + copy + "\n")
    with open(tree / "io" / "target.py", "a") as f:
        f.write('\nZARR_MARKERS = ("zarr.json", ".zgroup", ".zarray", ".zmetadata")\n')
    (dup,) = duplicate_functions(tree)
    assert [p.split(":")[0] for p in dup] == ["operators.py", "xr/units.py"]
    assert duplicate_constants(tree) == {"ZARR_MARKERS": ["io/locations.py", "io/target.py"]}
