"""Layout figures of issue 19, printed as a table: import depth, longest function, the hops of
``accuracy`` from the command line to the kernel, and the places that check each option.

    python benchmarks/layout_metrics.py [--no-trace]

How each figure is counted:

- **import depth**: the modules of the longest chain of package imports, each module counted
  once (a module that imports nothing of the package is 1 level). Only imports executed when
  the module is imported count: statements at module level (also inside a module-level
  ``if``/``try``/``with``), not those inside functions or classes, nor ``if TYPE_CHECKING``.
  ``from .pkg import name`` counts ``pkg.name`` when that is a module, else ``pkg``; the
  implicit import of a parent package's ``__init__`` is not counted; ``import daskgrad``
  counts ``__init__``.
- **longest function**: ``def`` line to last line (``end_lineno - lineno + 1``, docstring
  and comments included, decorators not), over every function and method, nested ones too.
- **accuracy hops**: ``daskgrad run memory://in.zarr memory://out.zarr --accuracy 4`` run in
  this process (a memory:// store computes on this process's threads), traced with
  ``sys.setprofile`` and ``threading.setprofile``. The chain is the stack of daskgrad frames
  that hold the value (an argument named ``accuracy``, or a dict, Namespace or object with
  an ``accuracy`` item or attribute) at the deepest point on the main thread, followed by
  the daskgrad frames of the worker thread down to the kernel (``core.kernel.gradient_block``).
  Hops are the calls between them (frames - 1); modules the distinct modules on the chain.
- **checks per option**: the functions whose ``raise`` statements name the option (its
  ``{opt:NAME}`` field, an ``Option*Error("NAME", …)``, ``NAME=``/``--flag`` in the
  message, or a message that opens with it as its subject: ``"periodic must …"``,
  ``"spacing given for …"``, ``"spacing[0] …"``): each function counts once. A mention
  right after "pass", "with" or "use" is a hint of what to do instead ("pass dim=... for
  the dims"), not a refusal of the option, and does not count. A raise of an error that
  names its option as its first argument
  (``OptionError("edge_order", "… {opt:accuracy=4} …")``) counts for that option only: it
  checks ``edge_order``, its message mentions ``accuracy``. An argparse ``choices=`` of the
  option's flag is reported apart: "from CONSTANT" when ``choices=`` is a name (or
  attribute) defined outside argparse's call, else "literal" (a copy of the rule, which the
  issue forbids); both are listed, neither hidden.
- **flag rules** (reported apart, per option, under "flag rules of the command line"): a
  ``UsageError`` raised in ``cli/`` whose message names two or more flags ("--dim does not
  go with --geospatial", "required: --dim (or --geospatial)", "--vertical X is a --dim
  too"). These say which flags go together on the command line, as argparse's required
  and mutually exclusive rules do (which are no checks of an option either): the value of
  each option is still checked by its one place; they are listed, not hidden.
- A check may leave the deciding to private helpers that return what is wrong (an error
  class and its message, ``core.plan.Fault``) without raising: the function that raises
  is the place counted, and it is the only caller of those helpers.
- ``dims`` is the API's alias of ``dim`` (operators, kinematics): the check that refuses
  both given is the alias's (``OptionTypeError("dims", …)``), listed as its own row.
- **longest function code**: the same without its docstring (the numpydoc Parameters,
  Returns and Examples the house rules ask of every public function).
"""

from __future__ import annotations

import argparse
import ast
import pathlib
import re
import sys
import threading
from typing import Any

ROOT = pathlib.Path(__file__).resolve().parents[1]
PKG = ROOT / "daskgrad"
OPTIONS = (
    "accuracy",
    "edge_order",
    "nan_policy",
    "periodic",
    "spacing",
    "dim",
    "dims",
    "datetime_unit",
    "overwrite",
    "zarr_format",
    "store_timeout",
    "earth",
)


def module_name(path: pathlib.Path) -> str:
    rel = path.relative_to(PKG).with_suffix("")
    parts = [p for p in rel.parts if p != "__init__"]
    return ".".join(parts) or "__init__"


def _exists(parts: list[str]) -> bool:
    return bool(parts) and (
        PKG.joinpath(*parts).with_suffix(".py").exists()
        or PKG.joinpath(*parts, "__init__.py").exists()
    )


def _module_level(body: list[ast.stmt]) -> list[ast.stmt]:
    """The statements that run when the module is imported (no function or class bodies, no
    ``if TYPE_CHECKING``)."""
    out: list[ast.stmt] = []
    for node in body:
        if isinstance(node, ast.If):
            if "TYPE_CHECKING" in ast.unparse(node.test):
                out += _module_level(node.orelse)
                continue
            out += _module_level(node.body) + _module_level(node.orelse)
        elif isinstance(node, ast.Try):
            for block in (node.body, node.orelse, node.finalbody, *(h.body for h in node.handlers)):
                out += _module_level(block)
        elif isinstance(node, ast.With):
            out += _module_level(node.body)
        else:
            out.append(node)
    return out


def import_graph(module_level_only: bool = True) -> dict[str, set[str]]:
    """{module: package modules it imports at module level (or anywhere)}."""
    graph: dict[str, set[str]] = {}
    for path in sorted(PKG.rglob("*.py")):
        me = module_name(path)
        # the package a relative import starts from
        here = [p for p in path.parent.relative_to(PKG).parts if p]
        deps: set[str] = set()
        tree = ast.parse(path.read_text())
        nodes = _module_level(tree.body) if module_level_only else list(ast.walk(tree))
        for node in nodes:
            targets: list[list[str]] = []
            if isinstance(node, ast.ImportFrom):
                if node.level:
                    base = here[: len(here) - (node.level - 1)]
                elif (node.module or "").split(".")[0] == "daskgrad":
                    base = []
                else:
                    continue
                mod = [p for p in (node.module or "").split(".") if p and p != "daskgrad"]
                for a in node.names:
                    full = [*base, *mod, a.name]
                    targets.append(full if _exists(full) else [*base, *mod])
            elif isinstance(node, ast.Import):
                targets = [  # ``import daskgrad`` is the package's ``__init__``
                    a.name.split(".")[1:]
                    for a in node.names
                    if a.name == "daskgrad" or a.name.startswith("daskgrad.")
                ]
            for t in targets:
                while t and not _exists(t):
                    t = t[:-1]
                dep = ".".join(t) or "__init__"
                if dep != me:
                    deps.add(dep)
        graph[me] = deps
    return graph


def longest_chain(graph: dict[str, set[str]]) -> list[str]:
    memo: dict[str, list[str]] = {}

    def chain(mod: str) -> list[str]:
        if mod not in memo:
            memo[mod] = [mod]  # no cycles (tests/test_layout.py); guards against one anyway
            below = [chain(d) for d in graph.get(mod, ()) if d in graph]
            memo[mod] = [mod, *max(below, key=len, default=[])]
        return memo[mod]

    return max((chain(m) for m in graph), key=len)


def functions(size: Any = None) -> list[tuple[int, str]]:
    """(lines, module.function) of every function, longest first; ``size(node)`` counts the
    lines (default: ``def`` line to last line)."""
    out = []
    for path in PKG.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                n = (node.end_lineno or node.lineno) - node.lineno + 1
                out.append((size(node) if size else n, f"{module_name(path)}.{node.name}"))
    return sorted(out, reverse=True)


def checks(
    rules: dict[str, list[str]] | None = None,
) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """({option: functions that raise on it}, {option: its flag's argparse choices, each
    "function (from CONSTANT)" or "function (literal)"}); the command line's flag rules
    (see the module's docstring) go to ``rules`` {option: functions}, not to the first."""
    places: dict[str, set[str]] = {o: set() for o in OPTIONS}
    choices: dict[str, set[str]] = {o: set() for o in OPTIONS}
    flag_rules: dict[str, set[str]] = {o: set() for o in OPTIONS}
    for path in PKG.rglob("*.py"):
        text = path.read_text()
        tree = ast.parse(text)
        for fn in ast.walk(tree):
            if not isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            where = f"{module_name(path)}.{fn.name}"
            for node in ast.walk(fn):
                seg, found, label = "", places, where
                if isinstance(node, ast.Raise) and node.exc is not None:
                    seg = ast.get_source_segment(text, node.exc) or ""
                    named = _option_named(node.exc)
                    if named in places:  # OptionError("edge_order", "… {opt:accuracy=4} …")
                        places[named].add(where)
                        continue
                    if _flag_rule(where, node.exc, seg):
                        found = flag_rules
                elif isinstance(node, ast.Call) and any(k.arg == "choices" for k in node.keywords):
                    names = [a.value for a in node.args if isinstance(a, ast.Constant)]
                    seg = " ".join(n for n in names if isinstance(n, str) and n.startswith("--"))
                    given = next(k.value for k in node.keywords if k.arg == "choices")
                    shared = isinstance(given, ast.Name | ast.Attribute)
                    how = f"from {ast.unparse(given)}" if shared else "literal"
                    found, label = choices, f"{where} ({how})"
                if not seg:
                    continue
                for o in OPTIONS:
                    if found is not choices:
                        seg = _without_hints(seg, o)
                    flag = "--" + o.replace("_", "-")
                    pattern = (
                        rf"\{{opt:{o}\b|Error\(\s*['\"]{o}['\"]|\b{o}=|{re.escape(flag)}\b"
                        rf"|\(\s*f?['\"]{o}[\[ ]"
                    )
                    if re.search(pattern, seg):
                        found[o].add(label)
    if rules is not None:
        rules.update({o: sorted(p) for o, p in flag_rules.items()})
    return (
        {o: sorted(p) for o, p in places.items()},
        {o: sorted(p) for o, p in choices.items()},
    )


def _flag_rule(where: str, exc: ast.expr, message: str) -> bool:
    """Whether a raise is a flag rule of the command line: a ``UsageError`` raised in
    ``cli/`` whose message names two or more flags (see the module's docstring)."""
    called = exc.func if isinstance(exc, ast.Call) else exc
    name = called.attr if isinstance(called, ast.Attribute) else getattr(called, "id", "")
    flags = set(re.findall(r"--[a-z][a-z-]*", message))
    return where.startswith("cli.") and name == "UsageError" and len(flags) >= 2


def _without_hints(message: str, option: str) -> str:
    """``message`` without the hints that name ``option`` as what to do instead ("pass
    dim=... for the dims", "geospatial=False with dim= to use it"): a mention right after
    "pass", "with" or "use" is advice, not a refusal of the option."""
    flag = "--" + option.replace("_", "-")
    return re.sub(rf"\b(pass|with|use)\s+(\{{opt:)?({re.escape(flag)}|{option}\b)\S*", "", message)


def _option_named(exc: ast.expr) -> str | None:
    """NAME of a raised ``SomethingError("NAME", …)`` (an error that knows its option): the
    check is of that option, whatever other options its message names."""
    if isinstance(exc, ast.Call) and exc.args and isinstance(exc.args[0], ast.Constant):
        first = exc.args[0].value
        return first if isinstance(first, str) and first in OPTIONS else None
    return None


def code_lines(node: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    """Lines of a function without its docstring."""
    n = (node.end_lineno or node.lineno) - node.lineno + 1
    first = node.body[0] if node.body else None
    if (
        isinstance(first, ast.Expr)
        and isinstance(first.value, ast.Constant)
        and isinstance(first.value.value, str)
    ):
        n -= (first.end_lineno or first.lineno) - first.lineno + 1
    return n


def trace_accuracy() -> tuple[list[str], str]:
    """The chain of daskgrad frames ``accuracy`` passes through, from the command line to the
    kernel (see the module's docstring)."""
    import numpy as np
    import xarray as xr

    from daskgrad.cli import main

    xr.Dataset({"t": (("y", "x"), np.random.default_rng(0).random((8, 16)))}).chunk(
        {"x": 8}
    ).to_zarr("memory://layout-metrics/in.zarr", mode="w")
    pkg = str(PKG) + "/"

    def holds(v: Any) -> bool:
        if isinstance(v, dict):
            return "accuracy" in v
        return "accuracy" in getattr(v, "__dict__", {}) or "accuracy" in getattr(
            type(v), "__dataclass_fields__", {}
        )

    def carries(frame: Any) -> bool:
        code = frame.f_code
        n = code.co_argcount + code.co_kwonlyargcount
        n += bool(code.co_flags & 0x04) + bool(code.co_flags & 0x08)  # *args, **kwargs
        for var in code.co_varnames[:n]:
            v = frame.f_locals.get(var)
            if var == "accuracy" or holds(v):
                return True
            if isinstance(v, tuple | list) and any(holds(x) for x in v):
                return True
        return False

    def name(frame: Any) -> str:
        mod = module_name(pathlib.Path(frame.f_code.co_filename))
        return f"{mod}.{frame.f_code.co_qualname}"

    main_thread = threading.get_ident()
    stacks: dict[int, list[tuple[Any, str]]] = {}
    deepest: list[str] = []  # the main thread's daskgrad frames at the deepest one holding it
    worker: list[str] = []

    def profile(frame: Any, event: str, arg: Any) -> None:
        nonlocal deepest, worker
        if event not in ("call", "return") or not frame.f_code.co_filename.startswith(pkg):
            return
        stack = stacks.setdefault(threading.get_ident(), [])
        if event == "return":
            if stack and stack[-1][0] is frame:
                stack.pop()
            return
        stack.append((frame, name(frame)))
        if threading.get_ident() == main_thread:
            if len(stack) > len(deepest) and carries(frame):
                deepest = [n for _, n in stack]
        elif frame.f_code.co_name == "gradient_block" and not worker:
            worker = [n for _, n in stack]

    sys.setprofile(profile)
    threading.setprofile(profile)
    try:
        argv = [
            "run",
            "memory://layout-metrics/in.zarr",
            "memory://layout-metrics/out.zarr",
            "--dim",
            "x",
            "--accuracy",
            "4",
            "--overwrite",
            "--no-progress",
        ]
        code = main(argv)
    finally:
        sys.setprofile(None)
        threading.setprofile(None)  # type: ignore[arg-type]
    if code:
        raise SystemExit(f"the traced run failed with exit status {code}")
    return deepest, " -> ".join(worker)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-trace", action="store_true", help="skip the traced CLI run")
    args = parser.parse_args()
    graph = import_graph()
    chain = longest_chain(graph)
    every = longest_chain(import_graph(module_level_only=False))
    fns = functions()
    code = functions(code_lines)
    rows = [
        ("modules (files)", str(len(graph)), ""),
        ("import depth (levels)", str(len(chain)), " -> ".join(chain)),
        ("  with function-level imports", str(len(every)), " -> ".join(every)),
        ("longest function (lines)", str(fns[0][0]), fns[0][1]),
        ("next longest", f"{fns[1][0]}, {fns[2][0]}", f"{fns[1][1]}, {fns[2][1]}"),
        ("longest function code (lines)", str(code[0][0]), code[0][1] + " (docstring excluded)"),
    ]
    if not args.no_trace:
        main_chain, worker = trace_accuracy()
        frames = [*main_chain, *worker.split(" -> ")] if worker else main_chain
        mods = list(dict.fromkeys(module_name_of(f) for f in frames))
        rows.append(("accuracy hops (calls)", str(len(frames) - 1), " -> ".join(main_chain)))
        rows.append(("  then on a compute thread", "", worker or "(no kernel call seen)"))
        rows.append(("accuracy modules passed", str(len(mods)), ", ".join(mods)))
    rules: dict[str, list[str]] = {}
    raising, choices = checks(rules)
    for opt, places in raising.items():
        rows.append((f"checks of {opt}", str(len(places)), ", ".join(places)))
        if rules[opt]:
            rows.append(("  flag rules of the cli", str(len(rules[opt])), ", ".join(rules[opt])))
        if choices[opt]:
            rows.append(("  choices of its flag", str(len(choices[opt])), ", ".join(choices[opt])))
    width = max(len(r[0]) for r in rows)
    print(f"{'figure':<{width}}  {'value':>7}  detail")
    for label, value, detail in rows:
        print(f"{label:<{width}}  {value:>7}  {detail}")


def module_name_of(qualified: str) -> str:
    """'xr.gradient' of 'xr.gradient.gradient_xarray.<locals>.f'."""
    parts = qualified.split(".")
    for i in range(len(parts), 0, -1):
        if _exists(parts[:i]):
            return ".".join(parts[:i])
    return parts[0]


if __name__ == "__main__":
    main()
