"""Security checks that need no browser: SQL built only from allowlisted fragments, user text that
cannot inject, identity and role mapping, the append-only audit log, and the hardened config.toml."""

from __future__ import annotations

import ast
import json
import multiprocessing
import os
import tomllib
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# ============================================================================ static SQL check
#
# Every argument that reaches a SQL sink (read_frame, read_value, execute, text(), sql(), …) must
# be *clean*: built only from string constants, the allowlisted fragment builders in scope.py,
# table metadata from tables.py (TableSpec / Column / RowRule values), module constants
# (including a constant looked up with a user key: the value still comes from the allowlist),
# numbers forced with int()/float()/len(), and parameters guarded by `if p not in CONST: raise`.
# Anything else (a parameter, Filters attributes, user text, a call we cannot see into) that is
# f-stringed, .format()ed, %-formatted or concatenated into SQL is reported. The check follows
# values through local variables, tuple unpacking, loops and comprehensions, and into calls of
# functions in data_access/ with the actual arguments of each call (context-sensitive).

SINKS = {
    "read_frame": 1,
    "read_value": 1,
    "execute": 0,
    "executemany": 0,
    "exec_driver_sql": 0,
    "text": 0,
    "sql": 0,
    "query": 0,
}
# db's own plumbing runs the text it is handed (checked where it is built); _run and _make_macro
# turn it into a macro of the same text and a call of that macro with the same bound parameters,
# and _execute sends a text to DuckDB with its :name parameters spelt $name, the values still bound
# A query function made with db.reads yields its statements as (sql, params) instead of calling
# read_frame: each such yield is a sink too (its first element checked).
SINK_WRAPPERS = {
    ("data_access.db", "read_frames"),
    ("data_access.db", "read_frame"),
    ("data_access.db", "read_value"),
    ("data_access.db", "_run"),
    ("data_access.db", "_make_macro"),
    ("data_access.db", "_execute"),
}
FRAGMENT_BUILDERS = {"in_list", "feedback_scope", "staffing_scope"}
# frozen declarations made in code: tables.py (tables, columns, row rules) and rollups.py (roll-up SELECTs)
METADATA_TYPES = {"TableSpec", "Column", "RowRule", "Rollup"}
SAFE_CALLS = {"int", "float", "len", "bool", "round", "abs"}  # results cannot carry SQL text
PURE_CALLS = {"str", "min", "max", "sorted", "tuple", "list", "dict", "set", "enumerate", "zip", "range"}
MAX_DEPTH = 40


def _is_reads(func: ast.FunctionDef) -> bool:
    """Decorated with db.reads: a query function whose yields are its statements."""
    return any(
        (isinstance(d, ast.Name) and d.id == "reads") or (isinstance(d, ast.Attribute) and d.attr == "reads")
        for d in func.decorator_list
    )


@dataclass
class _Module:
    name: str
    tree: ast.Module
    defs: dict[str, ast.AST] = field(default_factory=dict)  # functions and classes
    consts: dict[str, list[ast.expr]] = field(default_factory=dict)
    imports: dict[str, tuple[str, str | None]] = field(default_factory=dict)  # local -> (module, name)


@dataclass(frozen=True)
class _Scope:
    module: str
    func: ast.FunctionDef | None
    params: tuple[tuple[str, bool], ...]  # parameter -> clean?
    bound: tuple[tuple[str, bool], ...] = ()  # comprehension variables
    parent: _Scope | None = None  # the enclosing function's scope, for closures


class SqlBuildChecker:
    def __init__(self, sources: dict[str, str]) -> None:
        self.modules = {name: self._load(name, src) for name, src in sources.items()}
        self._stack: set[tuple] = set()
        self._memo: dict[tuple, bool] = {}
        self._stores: dict[int, set[str]] = {}
        self._sites: dict[int, dict[str, list[ast.AST]]] = {}
        self._owned: dict[int, list[ast.expr]] = {}
        self._parents: dict[str, dict[int, ast.FunctionDef]] = {}

    # -- loading
    @staticmethod
    def _load(name: str, src: str) -> _Module:
        mod = _Module(name, ast.parse(src))
        for node in mod.tree.body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                mod.defs[node.name] = node
            elif isinstance(node, (ast.Assign, ast.AnnAssign)) and node.value is not None:
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                for t in targets:
                    if isinstance(t, ast.Name):
                        mod.consts.setdefault(t.id, []).append(node.value)
        for node in ast.walk(mod.tree):  # imports anywhere, including inside functions
            if isinstance(node, ast.ImportFrom) and node.module:
                for a in node.names:
                    mod.imports[a.asname or a.name] = (node.module, a.name)
            elif isinstance(node, ast.Import):
                for a in node.names:
                    mod.imports[a.asname or a.name.split(".")[0]] = (a.name, None)
        return mod

    # -- entry: every sink call in every function and at module level
    def problems(self) -> list[str]:
        found = []
        for mod in self.modules.values():
            for func, calls in self._sink_calls(mod):
                if func is not None and (mod.name, func.name) in SINK_WRAPPERS:
                    continue
                scope = self._entry_scope(mod, func)
                for call, arg in calls:
                    if not self.clean(arg, scope):
                        where = f"{mod.name}:{call.lineno}"
                        found.append(
                            f"{where}: SQL built from a non-allowlisted value: {ast.unparse(arg)[:120]}"
                        )
        return found

    def _sink_calls(self, mod: _Module):
        """(innermost function or None, [(call, sql argument)]) for every sink call in the module."""
        by_func: dict[int, tuple[ast.FunctionDef | None, list]] = {0: (None, [])}

        def visit(node: ast.AST, owner: ast.FunctionDef | None) -> None:
            for child in ast.iter_child_nodes(node):
                if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    by_func[id(child)] = (child, [])
                    visit(child, child)
                    continue
                if (
                    isinstance(child, ast.Yield)
                    and owner is not None
                    and _is_reads(owner)
                    and isinstance(child.value, ast.Tuple)
                    and child.value.elts
                ):
                    by_func[id(owner)][1].append((child, child.value.elts[0]))
                if isinstance(child, ast.Call):
                    f = child.func
                    name = f.attr if isinstance(f, ast.Attribute) else getattr(f, "id", None)
                    idx = SINKS.get(name or "")
                    if idx is not None and len(child.args) > idx:
                        by_func[id(owner) if owner else 0][1].append((child, child.args[idx]))
                visit(child, owner)

        visit(mod.tree, None)
        yield from by_func.values()

    @staticmethod
    def _enclosing(mod: _Module) -> dict[int, ast.FunctionDef]:
        """id(nested function) -> the function it is defined in."""
        out: dict[int, ast.FunctionDef] = {}

        def visit(node: ast.AST, owner: ast.FunctionDef | None) -> None:
            for child in ast.iter_child_nodes(node):
                if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    if owner is not None:
                        out[id(child)] = owner
                    visit(child, child)
                else:
                    visit(child, owner)

        visit(mod.tree, None)
        return out

    def _entry_scope(self, mod: _Module, func: ast.FunctionDef | None) -> _Scope:
        """A function as seen from outside: parameters untrusted unless annotated as metadata or guarded."""
        if func is None:
            return _Scope(mod.name, None, ())
        if mod.name not in self._parents:
            self._parents[mod.name] = self._enclosing(mod)
        enclosing = self._parents[mod.name].get(id(func))
        params = tuple((a.arg, self._param_trusted(func, a)) for a in self._all_args(func))
        parent = self._entry_scope(mod, enclosing) if enclosing is not None else None
        return _Scope(mod.name, func, params, (), parent)

    @staticmethod
    def _all_args(func: ast.FunctionDef) -> list[ast.arg]:
        a = func.args
        return [
            *a.posonlyargs,
            *a.args,
            *a.kwonlyargs,
            *([a.vararg] if a.vararg else []),
            *([a.kwarg] if a.kwarg else []),
        ]

    def _param_trusted(self, func: ast.FunctionDef, arg: ast.arg) -> bool:
        """Annotated as table metadata, or rejected unless in a constant collection before any use."""
        ann = arg.annotation
        if ann is not None:
            names = {n.id for n in ast.walk(ann) if isinstance(n, ast.Name)}
            names |= {n.attr for n in ast.walk(ann) if isinstance(n, ast.Attribute)}
            if names and names <= METADATA_TYPES | {"None"}:
                return True
        for stmt in func.body:
            test = None
            if isinstance(stmt, ast.If) and stmt.body and isinstance(stmt.body[0], ast.Raise):
                test, want = stmt.test, ast.NotIn
            elif isinstance(stmt, ast.Assert):
                test, want = stmt.test, ast.In
            if (
                isinstance(test, ast.Compare)
                and isinstance(test.left, ast.Name)
                and test.left.id == arg.arg
                and len(test.ops) == 1
                and isinstance(test.ops[0], want)
                and self._is_module_constant(test.comparators[0])
            ):
                return True
        return False

    def _is_module_constant(self, node: ast.expr) -> bool:
        if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
            return all(isinstance(e, ast.Constant) for e in node.elts)
        return isinstance(node, ast.Name)  # a named module-level collection (GRAINS, LOG_SORTS)

    # -- the core: is this expression clean in this scope?
    def clean(self, node: ast.AST | None, scope: _Scope, depth: int = 0) -> bool:
        if node is None:
            return True
        if depth > MAX_DEPTH:
            return False
        c = lambda n: self.clean(n, scope, depth + 1)  # noqa: E731
        match node:
            case ast.Constant():
                return True
            case ast.JoinedStr():
                return all(c(v) for v in node.values)
            case ast.FormattedValue():
                return c(node.value) and c(node.format_spec)
            case ast.BinOp():
                return c(node.left) and c(node.right)
            case ast.UnaryOp():
                return c(node.operand)
            case ast.Compare() | ast.BoolOp():
                return True  # a bool
            case ast.IfExp():
                return c(node.body) and c(node.orelse)
            case ast.Tuple() | ast.List() | ast.Set():
                return all(c(e) for e in node.elts)
            case ast.Dict():
                return all(c(k) for k in node.keys if k is not None) and all(c(v) for v in node.values)
            case ast.Starred():
                return c(node.value)
            case ast.Subscript():
                return c(node.value)  # a constant mapping looked up by any key yields an allowlisted value
            case ast.Attribute():
                return self._attribute(node, scope, depth)
            case ast.Name():
                return self._name(node.id, scope, depth)
            case ast.Call():
                return self._call(node, scope, depth)
            case ast.GeneratorExp() | ast.ListComp() | ast.SetComp():
                inner = self._bind_comprehension(node, scope, depth)
                return inner is not None and self.clean(node.elt, inner, depth + 1)
            case ast.DictComp():
                inner = self._bind_comprehension(node, scope, depth)
                return (
                    inner is not None
                    and self.clean(node.key, inner, depth + 1)
                    and self.clean(node.value, inner, depth + 1)
                )
        return False

    def _bind_comprehension(self, node, scope: _Scope, depth: int) -> _Scope | None:
        bound = dict(scope.bound)
        for gen in node.generators:
            here = _Scope(scope.module, scope.func, scope.params, tuple(bound.items()), scope.parent)
            ok = self.clean(gen.iter, here, depth + 1)
            for t in ast.walk(gen.target):
                if isinstance(t, ast.Name):
                    bound[t.id] = ok
        return _Scope(scope.module, scope.func, scope.params, tuple(bound.items()), scope.parent)

    def _attribute(self, node: ast.Attribute, scope: _Scope, depth: int) -> bool:
        if isinstance(node.value, ast.Name):
            target = self._resolve_module(node.value.id, scope)
            if target is not None:  # module.attribute
                return target in self.modules and self._global(target, node.attr, depth)
        return self.clean(node.value, scope, depth + 1)

    def _resolve_module(self, name: str, scope: _Scope) -> str | None:
        if self._is_local(name, scope):
            return None
        mod, attr = self.modules[scope.module].imports.get(name, (None, None))
        if mod is None:
            return None
        full = mod if attr is None else f"{mod}.{attr}"
        return full if attr is None or full in self.modules else None

    def _is_local(self, name: str, scope: _Scope) -> bool:
        if name in dict(scope.bound) or name in dict(scope.params):
            return True
        if scope.func is None:
            return False
        if id(scope.func) not in self._stores:
            self._stores[id(scope.func)] = {
                n.id for n in ast.walk(scope.func) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)
            }
        return name in self._stores[id(scope.func)]

    def _name(self, name: str, scope: _Scope, depth: int) -> bool:
        bound = dict(scope.bound)
        if name in bound:
            return bound[name]
        if scope.func is not None:
            params = dict(scope.params)
            if id(scope.func) not in self._sites:
                self._sites[id(scope.func)] = {}
            per_func = self._sites[id(scope.func)]
            if name not in per_func:
                per_func[name] = self._bindings(scope.func, name)
            sites = per_func[name]
            if name in params or sites:
                ok = params.get(name, True)
                key = ("name", scope.module, id(scope.func), scope.params, name)
                if key in self._stack:
                    return ok  # a loop-carried rebinding (x += ...): judged by its other bindings
                self._stack.add(key)
                try:
                    return ok and all(self._binding_clean(site, name, scope, depth) for site in sites)
                finally:
                    self._stack.discard(key)
        if scope.parent is not None:
            return self._name(name, scope.parent, depth + 1)
        return self._global(scope.module, name, depth)

    def _global(self, module: str, name: str, depth: int) -> bool:
        mod = self.modules.get(module)
        if mod is None:
            return False
        if name in mod.defs:
            return True  # a function or class object itself (calls are judged in _call)
        if name in mod.consts:
            return all(self.clean(v, _Scope(module, None, ()), depth + 1) for v in mod.consts[name])
        if name in mod.imports:
            src, attr = mod.imports[name]
            if attr is not None and src in self.modules:
                return self._global(src, attr, depth + 1)
        return False

    @staticmethod
    def _bindings(func: ast.FunctionDef, name: str) -> list[ast.AST]:
        sites = []
        for n in ast.walk(func):
            if isinstance(
                n, (ast.Assign, ast.AugAssign, ast.AnnAssign, ast.For, ast.withitem, ast.NamedExpr)
            ):
                targets = (
                    n.targets
                    if isinstance(n, ast.Assign)
                    else [n.optional_vars]
                    if isinstance(n, ast.withitem)
                    else [n.target]
                )
                if any(
                    isinstance(t, ast.Name) and t.id == name for tt in targets if tt for t in ast.walk(tt)
                ):
                    sites.append(n)
        return sites

    def _binding_clean(self, site: ast.AST, name: str, scope: _Scope, depth: int) -> bool:
        if isinstance(site, ast.For):
            return self.clean(site.iter, scope, depth + 1)
        if isinstance(site, ast.withitem):
            return False
        if isinstance(site, ast.AugAssign):
            return self.clean(site.value, scope, depth + 1)
        value = site.value
        if value is None:
            return True
        targets = site.targets if isinstance(site, ast.Assign) else [site.target]
        for t in targets:
            if isinstance(t, ast.Name) and t.id == name:
                return self.clean(value, scope, depth + 1)
            if isinstance(t, (ast.Tuple, ast.List)):
                idx = next(
                    (i for i, e in enumerate(t.elts) if isinstance(e, ast.Name) and e.id == name),
                    None,
                )
                if idx is None:
                    return self.clean(value, scope, depth + 1)
                if isinstance(value, (ast.Tuple, ast.List)) and len(value.elts) == len(t.elts):
                    return self.clean(value.elts[idx], scope, depth + 1)
                if isinstance(value, ast.Call):
                    return self._call(value, scope, depth, element=idx)
                return self.clean(value, scope, depth + 1)
        return self.clean(value, scope, depth + 1)

    def _call(self, node: ast.Call, scope: _Scope, depth: int, element: int | None = None) -> bool:
        def args_clean() -> bool:
            return all(self.clean(a, scope, depth + 1) for a in node.args) and all(
                self.clean(k.value, scope, depth + 1) for k in node.keywords
            )

        f = node.func
        callee = f.attr if isinstance(f, ast.Attribute) else getattr(f, "id", "")
        if callee in ("text", "sql") and node.args:
            return True  # a sink itself (sa.text(...)): its own argument is checked where it is called
        if isinstance(f, ast.Name):
            if f.id in SAFE_CALLS:
                return True
            if f.id in PURE_CALLS:
                return args_clean()
            if self._is_local(f.id, scope):
                return False
            target = self._resolve_function(scope.module, f.id)
            if target is None:
                return False
            mod, fn = target
            if fn.name in FRAGMENT_BUILDERS or isinstance(fn, ast.ClassDef):
                return args_clean()
            return self._returns_clean(mod, fn, node, scope, depth, element)
        if isinstance(f, ast.Attribute):
            if isinstance(f.value, ast.Name):
                module = self._resolve_module(f.value.id, scope)
                if module is not None:
                    if module not in self.modules or f.attr not in self.modules[module].defs:
                        return False
                    fn = self.modules[module].defs[f.attr]
                    if fn.name in FRAGMENT_BUILDERS or isinstance(fn, ast.ClassDef):
                        return args_clean()
                    return self._returns_clean(module, fn, node, scope, depth, element)
            # a method on a clean value with clean arguments: ", ".join(...), s.replace(...), s.format(...)
            return self.clean(f.value, scope, depth + 1) and args_clean()
        return False

    def _resolve_function(self, module: str, name: str) -> tuple[str, ast.AST] | None:
        mod = self.modules[module]
        if name in mod.defs:
            return module, mod.defs[name]
        alias = mod.consts.get(name, [])
        if len(alias) == 1 and isinstance(alias[0], ast.Name):  # C = Column
            return self._resolve_function(module, alias[0].id)
        if name in mod.imports:
            src, attr = mod.imports[name]
            if attr is not None and src in self.modules:
                return self._resolve_function(src, attr)
        return None

    def _returns_clean(
        self, module, fn, call: ast.Call, scope: _Scope, depth: int, element: int | None
    ) -> bool:
        """Judge the callee's return (or yield) values with its parameters as clean as this call's arguments."""
        if not isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
            return False
        params = self._all_args(fn)
        clean_of: dict[str, bool] = {}
        positional = [*fn.args.posonlyargs, *fn.args.args]
        defaults = dict(
            zip(
                [a.arg for a in positional][-len(fn.args.defaults) :] if fn.args.defaults else [],
                fn.args.defaults,
                strict=True,
            )
        )
        defaults.update({a.arg: d for a, d in zip(fn.args.kwonlyargs, fn.args.kw_defaults, strict=True) if d})
        for p in params:
            clean_of[p.arg] = self._param_trusted(fn, p) or (
                p.arg in defaults and self.clean(defaults[p.arg], _Scope(module, None, ()), depth + 1)
            )
        for i, a in enumerate(call.args):
            if isinstance(a, ast.Starred):
                return False
            if i < len(positional):
                p = positional[i].arg
                clean_of[p] = self._param_trusted(fn, positional[i]) or self.clean(a, scope, depth + 1)
        for k in call.keywords:
            if k.arg is None:
                return False
            arg = next((p for p in params if p.arg == k.arg), None)
            if arg is not None:
                clean_of[k.arg] = self._param_trusted(fn, arg) or self.clean(k.value, scope, depth + 1)
        inner = _Scope(module, fn, tuple(clean_of.items()))
        key = ("call", module, fn.name, inner.params, element)
        if key in self._memo:
            return self._memo[key]
        if key in self._stack:
            return False
        self._stack.add(key)
        try:
            if id(fn) not in self._owned:
                self._owned[id(fn)] = [
                    n.value
                    for n in ast.walk(fn)
                    if isinstance(n, (ast.Return, ast.Yield))
                    and n.value is not None
                    and self._owned_by(fn, n)
                ]
            ok = True
            for v in self._owned[id(fn)]:
                if element is not None and isinstance(v, ast.Tuple) and len(v.elts) > element:
                    v = v.elts[element]
                if not self.clean(v, inner, depth + 1):
                    ok = False
                    break
        finally:
            self._stack.discard(key)
        if depth == 0 or ok:  # a failure deep in a recursion guard may be spurious: cache only successes
            self._memo[key] = ok
        return ok

    @staticmethod
    def _owned_by(fn: ast.AST, node: ast.AST) -> bool:
        """The return belongs to fn itself, not to a nested function."""
        for sub in ast.walk(fn):
            if sub is not fn and isinstance(sub, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                if any(x is node for x in ast.walk(sub)):
                    return False
        return True


def _data_access_sources(extra: dict[str, str] | None = None) -> dict[str, str]:
    sources = {f"data_access.{p.stem}": p.read_text() for p in sorted((ROOT / "data_access").glob("*.py"))}
    return {**sources, **(extra or {})}


def test_no_sql_in_data_access_is_built_from_a_user_value():
    problems = SqlBuildChecker(_data_access_sources()).problems()
    assert problems == []


SCOPE_IMPORT = "from data_access.scope import meeting_scope, in_list, COMMUNITY_STATUS_CTE\n"
BAD_SNIPPETS = {
    "f-string with the search text": """
def log(conn, f, search):
    return read_frame(conn, f"select * from meetings where notes like '%{search}%'", f.params())
""",
    "f-string via a local variable": """
def log(conn, f, search):
    where = f"notes = '{search}'"
    sql = f"select * from meetings where {where} and {meeting_scope('m')}"
    return read_frame(conn, sql, f.params())
""",
    ".format with a filter value": """
def log(conn, f):
    return read_frame(conn, "select * from meetings where community_id = '{}'".format(f.communities[0]))
""",
    "% formatting": """
def log(conn, f, division):
    return read_value(conn, "select count(*) from meetings where division_code = '%s'" % division)
""",
    "concatenation of a parameter": """
def log(conn, f, sort):
    return read_frame(conn, "select * from meetings order by " + sort)
""",
    "a helper that returns user text": """
def _where(text):
    return f"c.name = '{text}'"
def log(conn, f, name):
    return read_frame(conn, f"select * from communities c where {_where(name)}")
""",
    "tuple unpacking from a helper": """
def _pred(text):
    return f"notes = '{text}'", {}
def log(conn, f, text):
    predicate, binds = _pred(text)
    return read_frame(conn, f"select * from meetings m where {predicate}", binds)
""",
    "a fragment builder fed a user column": """
def log(conn, f, column):
    return read_frame(conn, f"select * from meetings m where {in_list('units', column)}", f.params())
""",
    "the Filters period formatted in": """
def log(conn, f):
    return read_frame(conn, f"select * from meetings where meeting_date >= '{f.start}'")
""",
    "duckdb execute on a built string": """
def load(con, table_name):
    con.execute(f"delete from {table_name}")
""",
    "a statement yielded by a reads function": """
from data_access.db import reads
@reads
def log(conn, f, search):
    df = yield f"select * from meetings where notes like '%{search}%'", f.params()
    return df
""",
    "the second statement a reads function yields": """
from data_access.db import reads
@reads
def log(conn, f, sort):
    first = yield "select count(*) as n from meetings", {}
    return (yield "select * from meetings order by " + sort, {})
""",
    "a loop over user values": """
def log(conn, f, codes):
    for code in codes:
        read_frame(conn, f"select * from meetings where community_id = '{code}'")
""",
}
GOOD_SNIPPETS = {
    "bound values and scope fragments": """
def log(conn, f):
    sql = f"with {COMMUNITY_STATUS_CTE} select * from meetings m where {meeting_scope('m')} and m.notes ilike :p"
    return read_frame(conn, sql, {**f.params(), "p": "%x%"})
""",
    "sort column from an allowlist mapping": """
SORTS = {"date": "m.meeting_date", "community": "c.name"}
def log(conn, f, sort, descending):
    direction = "desc" if descending else "asc"
    return read_frame(conn, f"select * from meetings m order by {SORTS[sort]} {direction}", f.params())
""",
    "a reads function yielding bound values": """
from data_access.db import reads
@reads
def log(conn, f, search):
    return (yield f"select * from meetings m where {meeting_scope('m')} and m.notes ilike :p", {"p": search})
""",
    "guarded parameter": """
GRAINS = ("week", "month")
def by_grain(conn, f, grain):
    if grain not in GRAINS:
        raise ValueError(grain)
    return read_frame(conn, f"select date_trunc('{grain}', meeting_date) from meetings", f.params())
""",
    "private helper called with constants, numbers via int()": """
def _cte(columns="m.*"):
    return f"scoped as (select {columns} from meetings m where {meeting_scope('m')})"
def top(conn, f, n):
    return read_frame(conn, f"with {_cte('m.community_id')} select * from scoped limit {int(n)}", f.params())
""",
}


def _check_snippet(src: str) -> list[str]:
    header = "from data_access.db import read_frame, read_value\n" + SCOPE_IMPORT
    return SqlBuildChecker(_data_access_sources({"data_access.snippet": header + src})).problems()


@pytest.mark.parametrize("name", list(BAD_SNIPPETS))
def test_sql_check_catches_a_user_value_formatted_into_sql(name):
    problems = _check_snippet(BAD_SNIPPETS[name])
    assert problems and all("data_access.snippet" in p for p in problems), problems


@pytest.mark.parametrize("name", list(GOOD_SNIPPETS))
def test_sql_check_accepts_allowlisted_fragments(name):
    assert _check_snippet(GOOD_SNIPPETS[name]) == []


def test_sql_check_catches_a_mutation_of_the_real_query_modules():
    """The same check over the real overview.py with one bind parameter turned into formatting."""
    src = (ROOT / "data_access" / "overview.py").read_text()
    assert "m.meeting_date between :start and :end" in src
    mutated = src.replace(
        "m.meeting_date between :start and :end", "m.meeting_date between '{f.start}' and :end", 1
    )
    problems = SqlBuildChecker(_data_access_sources({"data_access.overview": mutated})).problems()
    # caught wherever the mutated SQL is run: meeting_totals, the two-period read and the tiles'
    # one statement (whose `sql` holds it)
    assert problems and all(p.startswith("data_access.overview:") for p in problems), problems
    assert all("_meeting_totals_sql(conn, f)" in p or p.endswith(": sql") for p in problems), problems
    assert sum("_meeting_totals_sql(conn, f)" in p for p in problems) >= 2, problems
    assert SqlBuildChecker(_data_access_sources({"data_access.overview": src})).problems() == []


def test_pages_and_ui_run_no_sql_of_their_own():
    """Pages and ui/ reach data only through ui.cache and data_access functions."""
    offenders = []
    for path in [
        *sorted((ROOT / "pages").glob("*.py")),
        *sorted((ROOT / "ui").glob("*.py")),
        ROOT / "app.py",
    ]:
        tree = ast.parse(path.read_text())
        for n in ast.walk(tree):
            if isinstance(n, (ast.Import, ast.ImportFrom)):
                mods = [a.name for a in n.names] if isinstance(n, ast.Import) else [n.module or ""]
                offenders += [
                    f"{path.name}: imports {m}" for m in mods if m.split(".")[0] in ("duckdb", "sqlalchemy")
                ]
                if isinstance(n, ast.ImportFrom) and n.module == "data_access.db":
                    bad = {a.name for a in n.names} & {"read_frame", "read_value"}
                    offenders += [f"{path.name}: imports {b}" for b in bad]
    assert offenders == []


# ============================================================================ identity and roles


def _identify(headers=(), oidc=None, secrets=None, env=None):
    from ui.auth import identify

    return identify(headers=list(headers), oidc_user=oidc or {}, secrets=secrets or {}, env=env or {})


PROXY_ENV = {"CED_TRUSTED_USER_HEADER": "X-Forwarded-User", "CED_TRUSTED_ROLE_HEADER": "X-Forwarded-Role"}
ROLES_CONF = {
    "default": "viewer",
    "users": {"Major.Jones@Example.gov": "admin"},
    "groups": {"ced-analysts": "analyst", "ced-admins": "admin"},
}


def test_local_demo_is_admin_and_says_so():
    user = _identify()
    assert (user.role, user.source) == ("admin", "local demo")


def test_oidc_maps_user_then_groups_then_default():
    secrets = {"auth": {"client_id": "x"}, "roles": ROLES_CONF}
    assert _identify(oidc={"is_logged_in": False}, secrets=secrets) is None
    by_user = _identify(oidc={"is_logged_in": True, "email": "major.jones@example.gov"}, secrets=secrets)
    assert (by_user.name, by_user.role, by_user.source) == ("major.jones@example.gov", "admin", "oidc")
    by_group = _identify(
        oidc={"is_logged_in": True, "email": "a@x", "groups": ["staff", "ced-analysts"]}, secrets=secrets
    )
    assert by_group.role == "analyst"
    highest = _identify(
        oidc={"is_logged_in": True, "email": "b@x", "groups": ["ced-analysts", "ced-admins"]}, secrets=secrets
    )
    assert highest.role == "admin"
    assert _identify(oidc={"is_logged_in": True, "email": "c@x"}, secrets=secrets).role == "viewer"
    # logged in but with no usable identity claim: refused, never a default admin
    assert _identify(oidc={"is_logged_in": True}, secrets=secrets) is None


def test_oidc_without_roles_table_defaults_to_viewer():
    user = _identify(oidc={"is_logged_in": True, "email": "x@y"}, secrets={"auth": {"client_id": "x"}})
    assert user.role == "viewer"


def test_proxy_header_identity_and_role():
    env = {**PROXY_ENV, "CED_TRUSTED_GROUPS_HEADER": "X-Forwarded-Groups"}
    secrets = {"roles": ROLES_CONF}
    assert _identify([], env=env, secrets=secrets) is None  # bypassed the proxy
    assert _identify([("x-forwarded-user", "  ")], env=env) is None
    v = _identify([("X-Forwarded-User", "v@x"), ("X-Forwarded-Role", "viewer")], env=env)
    assert (v.name, v.role, v.source) == ("v@x", "viewer", "proxy header")
    a = _identify([("x-forwarded-user", "a@x"), ("x-forwarded-role", "Admin")], env=env)  # case-insensitive
    assert a.role == "admin"
    # an unknown role name falls back to the mapping, never upwards
    assert (
        _identify([("x-forwarded-user", "z@x"), ("x-forwarded-role", "superuser")], env=env).role == "viewer"
    )
    g = _identify(
        [("x-forwarded-user", "g@x"), ("x-forwarded-groups", "ops, ced-analysts")], env=env, secrets=secrets
    )
    assert g.role == "analyst"
    u = _identify([("x-forwarded-user", "MAJOR.JONES@example.gov")], env=env, secrets=secrets)
    assert u.role == "admin"


def test_repeated_identity_header_is_refused():
    """A client-sent header that a proxy appended to (instead of overwriting) is ambiguous."""
    headers = [
        ("X-Forwarded-User", "attacker"),
        ("X-Forwarded-User", "real@x"),
        ("X-Forwarded-Role", "admin"),
    ]
    assert _identify(headers, env=PROXY_ENV) is None
    folded = [("X-Forwarded-User", "attacker, real@x"), ("X-Forwarded-Role", "admin")]  # merged by a proxy
    assert _identify(folded, env=PROXY_ENV) is None
    two_roles = [("X-Forwarded-User", "u@x"), ("X-Forwarded-Role", "admin"), ("X-Forwarded-Role", "viewer")]
    assert _identify(two_roles, env=PROXY_ENV).role == "viewer"  # ambiguous role -> mapping default


def test_proxy_shared_secret():
    env = {**PROXY_ENV, "CED_PROXY_SECRET": "s3cret-value"}
    who = [("X-Forwarded-User", "u@x"), ("X-Forwarded-Role", "analyst")]
    assert _identify(who, env=env) is None
    assert _identify([*who, ("X-CED-Proxy-Secret", "wrong")], env=env) is None
    assert _identify([*who, ("x-ced-proxy-secret", "s3cret-value")], env=env).role == "analyst"


def test_identity_loses_control_and_invisible_characters():
    user = _identify([("X-Forwarded-User", "ev\u202eil\u200b\x07@x")], env=PROXY_ENV)
    assert user.name == "evil@x"


def test_bad_role_configuration_fails_loudly():
    with pytest.raises(ValueError, match="superadmin"):
        _identify(
            oidc={"is_logged_in": True, "email": "x"},
            secrets={"auth": {}, "roles": {"default": "superadmin"}},
        )


def test_oidc_wins_over_proxy_headers_when_both_configured():
    secrets = {"auth": {"client_id": "x"}}
    user = _identify(
        [("X-Forwarded-User", "a"), ("X-Forwarded-Role", "admin")],
        {"is_logged_in": False},
        secrets,
        PROXY_ENV,
    )
    assert user is None


def test_permissions_ladder():
    from ui.auth import PERMISSIONS, User, allowed

    expected = {
        "viewer": {"view_comments": False, "export": False, "import": False},
        "analyst": {"view_comments": True, "export": True, "import": False},
        "admin": {"view_comments": True, "export": True, "import": True},
    }
    for role, actions in expected.items():
        for action in PERMISSIONS:
            assert allowed(action, User("u", role, "test")) is actions[action], (role, action)


# ============================================================================ audit log


def test_audit_line_has_the_fields_in_utc(tmp_path):
    from data_access import audit

    path = tmp_path / "audit.jsonl"
    when = datetime(2026, 11, 20, 18, 30, tzinfo=UTC)
    audit.record("export", user="a@x", role="analyst", detail="meetings.csv (12 rows)", path=path, now=when)
    lines = path.read_text().splitlines()
    assert len(lines) == 1
    assert json.loads(lines[0]) == {
        "time": "2026-11-20T18:30:00.000Z",
        "user": "a@x",
        "role": "analyst",
        "event": "export",
        "detail": "meetings.csv (12 rows)",
        "outcome": "ok",
    }
    assert oct(path.stat().st_mode & 0o777) == oct(audit.FILE_MODE)


def test_audit_default_path_is_next_to_the_database(monkeypatch, tmp_path):
    from data_access import audit

    monkeypatch.delenv("CED_AUDIT_LOG", raising=False)
    monkeypatch.setenv("CED_DATABASE_URL", f"duckdb:///{tmp_path / 'x' / 'engagement.duckdb'}")
    assert audit.audit_path() == tmp_path / "x" / "audit.jsonl"
    monkeypatch.setenv("CED_AUDIT_LOG", str(tmp_path / "elsewhere.jsonl"))
    assert audit.audit_path() == tmp_path / "elsewhere.jsonl"


def test_audit_text_cannot_forge_a_line_or_hide_in_a_terminal(tmp_path):
    from data_access import audit

    path = tmp_path / "a.jsonl"
    nasty = 'x"}\n{"time":"forged","user":"admin"\u202e\u200b\x00'
    audit.record("import", user=nasty, role="admin", detail=nasty, outcome="failed", path=path)
    raw = path.read_bytes()
    assert raw.count(b"\n") == 1 and raw.isascii()
    (event,) = audit.read_events(path)
    assert event.user == nasty[:200] and event.detail == nasty


def test_audit_rejects_unknown_events_and_outcomes(tmp_path):
    from data_access import audit

    with pytest.raises(ValueError):
        audit.record("delete_everything", user="u", role="admin", path=tmp_path / "a")
    with pytest.raises(ValueError):
        audit.record("export", user="u", role="admin", outcome="maybe", path=tmp_path / "a")


def test_audit_reader_filters_and_reports_a_damaged_line(tmp_path):
    from data_access import audit

    path = tmp_path / "a.jsonl"
    for i in range(5):
        audit.record("export" if i % 2 else "sign_in", user=f"u{i}", role="viewer", path=path)
    assert [e.user for e in audit.read_events(path, event="export")] == ["u1", "u3"]
    assert [e.user for e in audit.read_events(path, last=2)] == ["u3", "u4"]
    assert audit.read_events(tmp_path / "missing.jsonl") == []
    with path.open("a") as fh:
        fh.write('{"half a line\n')
    with pytest.raises(ValueError, match="line 6"):
        audit.read_events(path)


def _writer(path: str, worker: int, n: int) -> None:
    from data_access import audit

    for i in range(n):
        # 6 KB details: larger than PIPE_BUF, so only the lock keeps lines whole
        audit.record(
            "export", user=f"w{worker}", role="analyst", detail=f"{i}:" + "x" * 6000, path=Path(path)
        )


def test_concurrent_processes_never_interleave_lines(tmp_path):
    from data_access import audit

    path = tmp_path / "audit.jsonl"
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=_writer, args=(str(path), w, 150)) for w in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    events = audit.read_events(path)  # raises if any line were torn or merged
    assert len(events) == 600
    for w in range(4):
        seq = [int(e.detail.split(":")[0]) for e in events if e.user == f"w{w}"]
        assert seq == list(range(150))  # each writer's lines whole and in its own order


def test_audit_module_only_appends():
    """The app offers no way to rewrite the trail: writes open with O_APPEND, nothing truncates or unlinks."""
    src = (ROOT / "data_access" / "audit.py").read_text()
    tree = ast.parse(src)
    opens = [n for n in ast.walk(tree) if isinstance(n, ast.Call) and ast.unparse(n.func) == "os.open"]
    writes = [n for n in opens if "O_WRONLY" in ast.unparse(n) or "O_RDWR" in ast.unparse(n)]
    assert writes and all("O_APPEND" in ast.unparse(n) for n in writes)
    for forbidden in (
        "O_TRUNC",
        "unlink",
        "truncate",
        "os.remove",
        "os.rename",
        "os.replace",
        "shutil",
        '"w"',
        "write_text",
    ):
        assert forbidden not in src, forbidden
    public = {n.name for n in tree.body if isinstance(n, ast.FunctionDef) and not n.name.startswith("_")}
    assert public == {"audit_path", "record", "read_events"}


# ============================================================================ hardened configuration

EXPECTED_CONFIG = {
    "client.showErrorDetails": "none",
    "client.showErrorLinks": False,
    "client.toolbarMode": "minimal",
    "client.disableDataExport": True,
    "browser.gatherUsageStats": False,
    "server.enableXsrfProtection": True,
    "server.enableCORS": True,
    "server.maxUploadSize": 50,
    "server.headless": True,
    "server.runOnSave": False,
    "server.allowRunOnSave": False,
    "server.fileWatcherType": "none",
    "server.enableStaticServing": False,
    "server.enableAgentApi": False,
    "global.developmentMode": False,
    "runner.magicEnabled": False,
}


def _config_toml() -> dict[str, object]:
    with (ROOT / ".streamlit" / "config.toml").open("rb") as fh:
        conf = tomllib.load(fh)
    return {f"{section}.{k}": v for section, opts in conf.items() for k, v in opts.items()}


def test_config_toml_has_the_hardened_values():
    flat = _config_toml()
    for option, value in EXPECTED_CONFIG.items():
        assert flat.get(option) == value, option
    assert "server.corsAllowedOrigins" not in flat  # no cross-origin exceptions in the shipped config


def test_every_config_option_is_one_streamlit_knows():
    """A misspelt option is ignored by Streamlit with only a console warning; fail here instead."""
    from streamlit import config

    known = config.get_config_options()
    unknown = [k for k in _config_toml() if k not in known]
    assert unknown == []


def test_streamlit_reads_the_project_config(monkeypatch):
    """The values Streamlit itself resolves from the project folder (no env overrides) are the hardened ones."""
    from streamlit import config

    for key in list(os.environ):
        if key.startswith("STREAMLIT_"):
            monkeypatch.delenv(key)
    monkeypatch.chdir(ROOT)
    try:
        config.get_config_options(force_reparse=True)
        for option, value in EXPECTED_CONFIG.items():
            assert config.get_option(option) == value, option
            assert config.get_where_defined(option).endswith(".streamlit/config.toml"), option
    finally:
        config.get_config_options(force_reparse=True)


# ============================================================================ injection through data_access

NASTY = [
    "' OR '1'='1",
    "'; DROP TABLE x;--",
    "\u202eCIT",  # right-to-left override
    "C1\u200b",  # zero-width space
    "🤝",
    "\x01\x1b[31m",  # control characters (no NUL)
    "%",
    "_",
    "\\",
]


# the same characters, fewer queries: every filtered query in data_access runs with each of these
NASTY_SWEEP = ["' OR '1'='1", "'; DROP TABLE x;--", "\u202eCIT\u200b🤝\x01\x1b[31m%_\\"]


@pytest.fixture(scope="module")
def nasty_db(tmp_path_factory):
    """Communities whose very codes and names are injection strings, with hand-counted meetings."""
    from tests.fixtures import build, community, meeting, response

    tmp = tmp_path_factory.mktemp("nasty")
    comms = [
        community("' OR '1'='1", "Quote ' OR '1'='1 association"),
        community("'; DROP TABLE x;--", "\u202eRTL \u200bwatch 🤝"),
        community("C-PLAIN", "Plain community", division="NORTH", owner="S2"),
    ]
    meets = [
        meeting("M1", "2026-10-01", "' OR '1'='1", residents=5),
        meeting("M2", "2026-10-02", "' OR '1'='1", residents=7),
        meeting("M3", "2026-10-03", "'; DROP TABLE x;--", residents=11),
        meeting("M4", "2026-10-04", "C-PLAIN", residents=13, division="NORTH", lead="S2"),
        meeting("M5", "2026-10-05", "C-PLAIN", residents=17, division="NORTH", lead="S2"),
        meeting("M6", "2026-10-06", "C-PLAIN", residents=19, division="NORTH", lead="S2"),
    ]
    meets[0]["notes"] = "talked about ' OR '1'='1 and 100% of _ cases"
    meets[3]["notes"] = "\u202ereversed\u200b note 🤝"
    resp = [
        response(
            f"R{i}",
            "2026-10-10",
            safety=7,
            respect=8,
            listen=9,
            community="' OR '1'='1",
            comment=("'; DROP TABLE x;-- great" if i == 0 else f"plain comment {i}"),
            topics="traffic",
        )
        for i in range(12)
    ]
    db = build(tmp, communities=comms, meetings=meets, feedback=resp)
    return db


def _table_counts(db) -> dict[str, int]:
    from data_access.db import read_value

    with db.connect() as conn:
        names = [
            r[0] for r in conn.exec_driver_sql("select table_name from information_schema.tables").fetchall()
        ]
        return {n: int(read_value(conn, f'select count(*) from "{n}"')) for n in names}


def _f(**kw):
    from data_access.filters import Filters

    return Filters(start=date(2026, 9, 1), end=date(2026, 11, 20), **kw)


def test_nasty_community_codes_select_exactly_their_own_rows(nasty_db):
    from data_access.overview import meeting_totals as meeting_counts

    before = _table_counts(nasty_db)
    with nasty_db.connect() as conn:
        assert meeting_counts(conn, _f()) == {"meetings": 6, "residents": 72}
        assert meeting_counts(conn, _f(communities=("' OR '1'='1",))) == {"meetings": 2, "residents": 12}
        assert meeting_counts(conn, _f(communities=("'; DROP TABLE x;--",))) == {
            "meetings": 1,
            "residents": 11,
        }
        for text in NASTY:
            if text in ("' OR '1'='1", "'; DROP TABLE x;--"):
                continue
            for kind in ("communities", "divisions", "units"):
                assert meeting_counts(conn, _f(**{kind: (text,)})) == {"meetings": 0, "residents": 0}, (
                    kind,
                    text,
                )
    assert _table_counts(nasty_db) == before


def _same(a, b) -> bool:
    import dataclasses
    import math

    import pandas as pd

    if isinstance(a, pd.DataFrame):
        return isinstance(b, pd.DataFrame) and a.reset_index(drop=True).equals(b.reset_index(drop=True))
    if dataclasses.is_dataclass(a) and not isinstance(a, type):
        from data_access.filters import Filters

        return type(a) is type(b) and all(
            _same(getattr(a, f.name), getattr(b, f.name))
            for f in dataclasses.fields(a)
            if not isinstance(getattr(a, f.name), Filters)  # the filters it was asked for, echoed
        )
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return a == b


def _filtered_queries():
    """Every public (conn, filters, ...) function in data_access, found by signature."""
    import importlib
    import inspect

    for mod_path in sorted((ROOT / "data_access").glob("*.py")):
        mod = importlib.import_module(f"data_access.{mod_path.stem}")
        for name, fn in inspect.getmembers(mod, inspect.isfunction):
            if fn.__module__ != mod.__name__ or name.startswith("_"):
                continue
            sig = inspect.signature(fn)
            if list(sig.parameters)[:2] in (["conn", "f"], ["conn", "filters"]):
                required = {
                    p
                    for p in list(sig.parameters)[2:]
                    if sig.parameters[p].default is inspect.Parameter.empty
                }
                if required - {"k"}:  # e.g. rollups.meeting_rank_cells(conn, f, kind): SQL text
                    continue
                yield f"{mod.__name__}.{name}", fn, ({"k": 10} if "k" in required else {})


def test_nasty_filters_through_every_filtered_query_match_nothing_and_change_nothing(nasty_db):
    """Each query given injection strings as community, division and unit codes returns exactly what it
    returns for codes that match nothing, and leaves every table as it was."""
    before = _table_counts(nasty_db)
    nothing = _f(communities=("C-NONE",), divisions=("D-NONE",), units=("U-NONE",))
    ran = []
    for name, fn, kwargs in _filtered_queries():
        with nasty_db.connect() as conn:
            try:
                expected = fn(conn, nothing, **kwargs)
            except (PermissionError, ValueError):
                continue
            for text in NASTY_SWEEP:
                got = fn(conn, _f(communities=(text,), divisions=(text,), units=(text,)), **kwargs)
                assert _same(got, expected), (name, text)
        ran.append(name)
    assert len(ran) > 25, ran
    assert _table_counts(nasty_db) == before


def test_meeting_search_and_sort_take_text_literally(nasty_db):
    meetings = pytest.importorskip("data_access.meetings")
    with nasty_db.connect() as conn:
        page = meetings.meeting_log(conn, _f(), search="' OR '1'='1")
        assert set(page.rows["meeting_id"]) == {"M1", "M2"}  # M1's notes; M1 and M2's community name
        assert set(meetings.meeting_log(conn, _f(), search="100%").rows["meeting_id"]) == {"M1"}
        assert meetings.meeting_log(conn, _f(), search="%%%").total == 0  # % is literal, not a wildcard
        assert set(meetings.meeting_log(conn, _f(), search="_ cases").rows["meeting_id"]) == {"M1"}
        assert set(meetings.meeting_log(conn, _f(), search="\u202ereversed").rows["meeting_id"]) == {"M4"}
        assert set(meetings.meeting_log(conn, _f(), search="🤝").rows["meeting_id"]) == {"M3", "M4"}
        assert meetings.meeting_log(conn, _f(), search="'; DROP TABLE x;--").total == 0  # a code, not a name
        for bad_sort in ("date; drop table meetings", "' OR '1'='1", "m.notes", "\u202edate"):
            with pytest.raises(ValueError):
                meetings.meeting_log(conn, _f(), sort=bad_sort)
        assert meeting_count_unchanged(conn)


def meeting_count_unchanged(conn) -> bool:
    from data_access.db import read_value

    return read_value(conn, "select count(*) from meetings") == 6


def test_comment_search_takes_text_literally_and_refuses_viewers(nasty_db):
    feedback = pytest.importorskip("data_access.feedback")
    with nasty_db.connect() as conn:
        hit = feedback.comment_page(conn, _f(role="analyst"), k=10, search="'; DROP TABLE x;--")
        assert list(hit.rows["comment"]) == ["'; DROP TABLE x;-- great"]
        assert feedback.comment_page(conn, _f(role="analyst"), k=10, search="' OR '1'='1").total == 0
        assert feedback.comment_page(conn, _f(role="analyst"), k=10, search="%").total == 0
        assert feedback.comment_page(conn, _f(role="analyst"), k=10, topic="' OR '1'='1").total == 0
        assert feedback.comment_page(conn, _f(role="analyst"), k=10).total == 12
        with pytest.raises(PermissionError):
            feedback.comment_page(conn, _f(role="viewer"), k=10)
        assert feedback.comment_topics(conn, _f(role="viewer"), k=10) == []
    assert _table_counts(nasty_db)["feedback"] == 12


def test_sql_check_sees_the_statements_a_reads_function_yields():
    """The same check over the real meetings.py, whose page sections yield their statements."""
    src = (ROOT / "data_access" / "meetings.py").read_text()
    target = "where m.meeting_date between :prior_start and :end"
    assert target in src and "@reads\ndef meeting_kpis" in src
    mutated = src.replace(target, "where m.meeting_date between '{f.start}' and :end", 1)
    problems = SqlBuildChecker(_data_access_sources({"data_access.meetings": mutated})).problems()
    assert problems and all(p.startswith("data_access.meetings:") for p in problems), problems
