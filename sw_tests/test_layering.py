"""Package dependencies run one way: core <- frontend <- codegen <- adversarial <- cli / the facade.

Every ``import`` / ``from ... import`` in the source tree (module level or inside functions) is parsed with
``ast`` and resolved to a hashhls package; a package may import only itself and the packages below it, so there
is no import cycle between packages.
"""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
#: folder -> package, lowest first; the facade (api/, the top package) sits with cli at the top
LAYERS = [("core", "hashhls.core"), ("frontend", "hashhls.frontend"), ("codegen", "hashhls.codegen"),
          ("adversarial", "hashhls.adversarial"), ("cli", "hashhls.cli"), ("api", "hashhls")]
#: the CLI sits above the facade: its commands call the facade's functions, never the reverse
RANK = {"hashhls.core": 0, "hashhls.frontend": 1, "hashhls.codegen": 2, "hashhls.adversarial": 3, "hashhls": 4,
        "hashhls.cli": 5}
PROGRAM = REPO / "api" / "__main__.py"  # ``python -m hashhls``: the program itself, above every package
LEAVES = ("hashhls.templates", "hashhls.boards")  # package data, importable from anywhere


def _module_name(folder: str, package: str, path: Path) -> str:
    rel = path.relative_to(REPO / folder).with_suffix("")
    parts = [p for p in rel.parts if p != "__init__"]
    return ".".join([package, *parts])


def _package_of(module: str) -> str | None:
    if not (module == "hashhls" or module.startswith("hashhls.")):
        return None
    for leaf in LEAVES:
        if module == leaf or module.startswith(leaf + "."):
            return None
    parts = module.split(".")
    sub = ".".join(parts[:2])
    return sub if sub in RANK else "hashhls"


def _imports(path: Path, module: str, is_pkg: bool) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(), str(path))
    base = module.split(".") if is_pkg else module.split(".")[:-1]
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                anchor = base[:len(base) - node.level + 1]
                target = ".".join(anchor + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            out.append((node.lineno, target))
            if node.module is None or node.level:  # "from . import x" may import a subpackage x
                out += [(node.lineno, f"{target}.{a.name}") for a in node.names]
    return out


def _edges():
    for folder, package in LAYERS:
        for path in sorted(p for p in (REPO / folder).rglob("*.py") if p != PROGRAM):
            module = _module_name(folder, package, path)
            src = _package_of(module) if folder != "api" else "hashhls"
            for line, target in _imports(path, module, path.name == "__init__.py"):
                dst = _package_of(target)
                if dst is not None and dst != src:
                    yield src, dst, f"{path.relative_to(REPO)}:{line} imports {target}"


def test_package_dependencies_run_one_way():
    wrong = [where for src, dst, where in _edges() if RANK[dst] > RANK[src]]
    assert not wrong, "imports against the layering:\n" + "\n".join(wrong)


def test_the_check_sees_imports():
    edges = {(s, d) for s, d, _ in _edges()}
    # a sample of edges that must exist, so the parser is known to find function-level and relative imports
    assert ("hashhls.adversarial", "hashhls.codegen") in edges
    assert ("hashhls.cli", "hashhls") in edges  # the commands call the facade
    assert ("hashhls.codegen", "hashhls.frontend") in edges
