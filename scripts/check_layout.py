"""Check the package map of SPEC §16: layers, the temporalio boundary, shims, size and cycles.

Run as ``python scripts/check_layout.py`` (exit 1 and one line per violation)
or call :func:`check` from a test. Rules, in the order a reviewer checks them:

1. A module-level import goes to the same or a lower layer
   (``errors < core < authoring < compiler < execution < agents < temporal <
   integrations < cli``; ``testing`` may use every layer but ``cli``;
   ``mypy`` only itself). ``TYPE_CHECKING`` imports are exempt. An upward
   import inside a function is a *seam*: it needs a comment containing
   ``seam`` on its line or the line above, and there are at most
   :data:`MAX_SEAMS` of them.
2. Only modules under ``temporal/`` import ``temporalio``; ``HAVE_TEMPORAL``
   uses ``importlib.util.find_spec``.
3. Top-level modules other than ``__init__``, ``__main__`` and ``errors``, and
   ``execution/{harness,activities,worker,serve}.py``, are shims: a docstring,
   imports and ``__all__`` (and, for a runnable old path, one
   ``if __name__ == "__main__": main()``), at most 40 lines; no module of ours imports a shim
   (the face preloads the four seed modules whose names collide with public
   functions).
4. No module over 800 lines; no import cycle between modules at module level.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

PACKAGE = "composable_agents"
ROOT = Path(__file__).resolve().parent.parent / "src" / PACKAGE

LAYERS = ["errors", "core", "authoring", "compiler", "execution", "agents", "temporal", "integrations", "cli"]
RANK = {name: i for i, name in enumerate(LAYERS)}
MAX_SEAMS = 5
MAX_LINES = 800
MAX_SHIM_LINES = 40
EXECUTION_SHIMS = {"execution.harness", "execution.activities", "execution.worker", "execution.serve"}
FACE_PRELOADS = {"deploy", "freeze", "session", "validate"}


@dataclass(frozen=True)
class Imp:
    """One import of a module of ours (or of temporalio) found in a source file."""

    target: str  # dotted name without the package prefix ("" for the face)
    line: int
    level: str  # "module", "function" or "typing"
    seam: bool  # a comment naming it a seam on its line or the line above


def module_name(path: Path) -> str:
    """``core.ir`` for ``src/composable_agents/core/ir.py`` (``""`` for the face)."""
    rel = path.relative_to(ROOT).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def layer_of(mod: str) -> str:
    """The layer a module belongs to: a package name, ``face`` or ``shim``."""
    if mod in ("", "__main__"):
        return "face"
    head = mod.split(".")[0]
    if "." not in mod and head not in LAYERS + ["testing", "mypy"]:
        return "shim"
    if mod in EXECUTION_SHIMS:
        return "shim"
    return head


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _targets(node: ast.Import | ast.ImportFrom, mod: str, is_pkg: bool) -> Iterator[str]:
    if isinstance(node, ast.Import):
        for alias in node.names:
            yield alias.name
        return
    base = node.module or ""
    if node.level:
        parts = mod.split(".") if mod else []
        keep = len(parts) - node.level + (1 if is_pkg else 0)
        base = ".".join([PACKAGE, *parts[:keep]] + ([base] if base else []))
    for alias in node.names:
        candidate = f"{base}.{alias.name}"
        rel = candidate.removeprefix(PACKAGE + ".")
        if (ROOT / (rel.replace(".", "/") + ".py")).exists() or (ROOT / rel.replace(".", "/")).is_dir():
            yield candidate
        else:
            yield base


def imports(path: Path) -> list[Imp]:
    """Every import of ours or of temporalio in ``path``, with where it sits."""
    source = path.read_text()
    lines = source.splitlines()
    tree = ast.parse(source)
    mod = module_name(path)
    is_pkg = path.name == "__init__.py"
    found: list[Imp] = []

    def seam_comment(lineno: int) -> bool:
        window = lines[max(0, lineno - 2) : lineno]
        return any("seam" in text.split("#", 1)[1].lower() for text in window if "#" in text)

    def visit(node: ast.AST, level: str) -> None:
        for child in ast.iter_child_nodes(node):
            child_level = level
            if isinstance(child, ast.If) and _is_type_checking(child.test):
                for sub in child.body:
                    visit_one(sub, "typing")
                for sub in child.orelse:
                    visit_one(sub, level)
                continue
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
                child_level = "function"
            visit_one(child, child_level)

    def visit_one(node: ast.AST, level: str) -> None:
        if isinstance(node, ast.Import | ast.ImportFrom):
            for target in _targets(node, mod, is_pkg):
                if target == PACKAGE or target.startswith(PACKAGE + ".") or target.split(".")[0] == "temporalio":
                    found.append(Imp(target, node.lineno, level, seam_comment(node.lineno)))
        elif isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", "")) == "import_module":
            arg = node.args[0] if node.args else None
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                found.append(Imp(arg.value, node.lineno, "function", seam_comment(node.lineno)))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            visit(node, "function")
        else:
            visit(node, level)

    visit(tree, "module")
    return found


def _ours(target: str) -> str | None:
    if target == PACKAGE:
        return ""
    if target.startswith(PACKAGE + "."):
        return target[len(PACKAGE) + 1 :]
    return None


def _is_module(rel: str) -> bool:
    return (ROOT / (rel.replace(".", "/") + ".py")).exists() or (ROOT / rel.replace(".", "/") / "__init__.py").exists()


def check(root: Path | None = None) -> list[str]:
    """Every violation of the layout rules, one readable line each (empty when the map holds).

    ``root`` is the package directory to check (default: this checkout's ``src/composable_agents``).
    """
    global ROOT
    if root is not None:
        ROOT = root
    problems: list[str] = []
    seams: list[str] = []
    graph: dict[str, set[str]] = {}
    files = sorted(ROOT.rglob("*.py"))
    for path in files:
        mod = module_name(path)
        where = f"src/{PACKAGE}/{path.relative_to(ROOT)}"
        layer = layer_of(mod)
        n_lines = len(path.read_text().splitlines())
        if n_lines > MAX_LINES:
            problems.append(f"{where}: {n_lines} lines (rule 4: at most {MAX_LINES})")
        if layer == "shim":
            problems.extend(_check_shim(path, where, n_lines))
        graph.setdefault(mod, set())
        for imp in imports(path):
            if imp.target.split(".")[0] == "temporalio":
                if layer != "temporal":
                    problems.append(f"{where}:{imp.line}: imports temporalio outside temporal/ (rule 2)")
                continue
            rel = _ours(imp.target)
            if rel is None:
                continue
            while rel and not _is_module(rel):
                rel = rel.rpartition(".")[0]
            target_layer = layer_of(rel)
            if target_layer == "shim" and layer != "shim" and not (
                layer == "face" and rel in FACE_PRELOADS and imp.level == "module"
            ):
                problems.append(f"{where}:{imp.line}: imports the shim {PACKAGE}.{rel} (rule 3: import where the code lives)")
            if layer in ("face", "shim") or imp.level == "typing":
                continue
            if imp.level == "module" and rel and rel != mod:
                graph[mod].add(rel)
            upward = _upward(layer, target_layer)
            if upward and imp.level == "module":
                problems.append(f"{where}:{imp.line}: module-level import of {layer} -> {target_layer} ({PACKAGE}.{rel}) runs up the layers (rule 1)")
            elif upward:
                if not imp.seam:
                    problems.append(
                        f"{where}:{imp.line}: function-level import {layer} -> {target_layer} ({PACKAGE}.{rel}) "
                        "without a '# seam: why' comment (rule 1)"
                    )
                seams.append(f"{where}:{imp.line} -> {PACKAGE}.{rel}")
    if len(seams) > MAX_SEAMS:
        problems.append(f"{len(seams)} upward seams, at most {MAX_SEAMS} (rule 1): " + "; ".join(seams))
    face = (ROOT / "__init__.py").read_text()
    if 'find_spec("temporalio")' not in face:
        problems.append(f"src/{PACKAGE}/__init__.py: HAVE_TEMPORAL must use importlib.util.find_spec (rule 2)")
    problems.extend(_cycles(graph))
    return problems


def _upward(layer: str, target: str) -> bool:
    if target in ("face", "shim"):
        return layer not in ("face", "shim")
    if layer == "mypy":
        return target != "mypy"
    if target == "mypy":
        return layer != "mypy"
    if layer == "testing":
        return target == "cli"
    if target == "testing":
        return layer != "testing"
    return RANK[target] > RANK[layer]


def _check_shim(path: Path, where: str, n_lines: int) -> list[str]:
    out: list[str] = []
    if n_lines > MAX_SHIM_LINES:
        out.append(f"{where}: a shim of {n_lines} lines (rule 3: at most {MAX_SHIM_LINES})")
    tree = ast.parse(path.read_text())
    if ast.get_docstring(tree) is None:
        out.append(f"{where}: a shim needs a docstring naming where the code lives (rule 3)")
    for node in tree.body[1:]:
        if isinstance(node, ast.Import | ast.ImportFrom):
            continue
        if isinstance(node, ast.Assign | ast.AnnAssign):
            target = node.targets[0] if isinstance(node, ast.Assign) else node.target
            if isinstance(target, ast.Name) and target.id == "__all__":
                continue
        if _is_main_guard(node):  # an old `python -m` path keeps working through the shim
            continue
        out.append(f"{where}:{node.lineno}: a shim holds only a docstring, imports and __all__ (rule 3)")
    return out


def _is_main_guard(node: ast.stmt) -> bool:
    """``if __name__ == "__main__": main()`` — the one statement a runnable shim may add."""
    if not isinstance(node, ast.If) or node.orelse or len(node.body) != 1:
        return False
    test = node.test
    is_guard = (
        isinstance(test, ast.Compare)
        and isinstance(test.left, ast.Name)
        and test.left.id == "__name__"
        and len(test.comparators) == 1
        and isinstance(test.comparators[0], ast.Constant)
        and test.comparators[0].value == "__main__"
    )
    call = node.body[0]
    return is_guard and isinstance(call, ast.Expr) and isinstance(call.value, ast.Call) and not call.value.args


def _cycles(graph: dict[str, set[str]]) -> list[str]:
    """Module-level import cycles (Tarjan's strongly connected components)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[str] = []
    counter = [0]

    def strong(v: str) -> None:
        work = [(v, iter(sorted(graph.get(v, ()))))]
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        while work:
            node, it = work[-1]
            advanced = False
            for w in it:
                if w not in index:
                    index[w] = low[w] = counter[0]
                    counter[0] += 1
                    stack.append(w)
                    on_stack.add(w)
                    work.append((w, iter(sorted(graph.get(w, ())))))
                    advanced = True
                    break
                if w in on_stack:
                    low[node] = min(low[node], index[w])
            if advanced:
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                comp = []
                while True:
                    w = stack.pop()
                    on_stack.discard(w)
                    comp.append(w)
                    if w == node:
                        break
                if len(comp) > 1:
                    found.append("import cycle at module level (rule 4): " + " -> ".join(sorted(comp)))

    for v in sorted(graph):
        if v not in index:
            strong(v)
    return found


def main() -> int:
    """Print every violation; exit status 1 when there is any."""
    problems = check()
    for line in problems:
        print(line)
    if not problems:
        print("layout ok: layers, temporalio boundary, shims, sizes and cycles")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
