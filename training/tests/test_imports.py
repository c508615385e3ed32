"""inpage_train has no import cycle between its modules, counting every import in a file (those inside functions
too: a deferred import hides a cycle from Python's loader, not from the design)."""
import ast
from pathlib import Path

PKG = Path(__file__).resolve().parents[1] / "inpage_train"


def imports_of(path: Path, modules: set) -> set:
    """The package modules one file imports, wherever the import statement sits."""
    out = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0:
                names = [node.module or ""]
            elif node.module:                  # from .x import y
                names = [f"inpage_train.{node.module}"]
            else:                              # from . import x, y
                names = [f"inpage_train.{a.name}" for a in node.names]
        else:
            continue
        for n in names:
            parts = n.split(".")
            if parts[0] == "inpage_train" and len(parts) > 1 and parts[1] in modules:
                out.add(parts[1])
    return out


def graph() -> dict:
    modules = {p.stem for p in PKG.glob("*.py") if p.stem != "__init__"}
    return {m: imports_of(PKG / f"{m}.py", modules) - {m} for m in sorted(modules)}


def find_cycle(g: dict):
    """One cycle as [a, b, ..., a], or None (depth-first search, grey = on the current path)."""
    state, path = {}, []

    def visit(m):
        state[m] = "grey"; path.append(m)
        for n in sorted(g[m]):
            if state.get(n) == "grey":
                return path[path.index(n):] + [n]
            if n not in state and (c := visit(n)):
                return c
        state[m] = "black"; path.pop()
        return None

    for m in g:
        if m not in state and (c := visit(m)):
            return c
    return None


def test_the_graph_sees_the_package():
    g = graph()
    # known edges, one of them a function-level import: the parser must see both kinds
    assert "evaluate" in g["pipeline"] and "knn" in g["user_model"]
    assert {"pipeline", "general", "general_card", "common"} <= set(g)


def test_find_cycle_reports_one():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_no_import_cycle():
    cycle = find_cycle(graph())
    assert cycle is None, "import cycle in inpage_train: " + " -> ".join(cycle)


def test_pipelines_do_not_import_each_other():
    g = graph()
    assert "general" not in g["pipeline"] and "pipeline" not in g["general"], "shared code belongs in common.py"
