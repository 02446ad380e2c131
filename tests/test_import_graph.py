"""The folder tree reads as the import map: no two packages import each other, directly or around a
loop, counting every import in the source (function-level imports too, which would otherwise hide a
cycle until the function runs), and no two modules of one package import each other either."""
import ast
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
ROOTS = {"eqviz": "visualizer", "eqviz.networks": "networks", "eqviz.cuda_ops": "cuda_ops"}


def module_files() -> dict[str, Path]:
    """Import name -> source file, for every module of the installed namespace."""
    modules = {}
    for name, folder in ROOTS.items():
        for path in (REPO_ROOT / folder).rglob("*.py"):
            parts = list(path.relative_to(REPO_ROOT / folder).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            modules[".".join([name, *parts])] = path
    return modules


def is_type_checking_block(node) -> bool:
    """`if TYPE_CHECKING:`: imports for annotations only, never run, so no dependency at run time."""
    return isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)


def imported_modules(path: Path, name: str, modules: dict[str, Path]) -> set[str]:
    """Our modules that `name` (at `path`) imports anywhere in its source but annotations."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    type_only = {id(n) for block in ast.walk(tree) if is_type_checking_block(block) for n in ast.walk(block)}
    for node in ast.walk(tree):
        if id(node) in type_only:
            continue
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            # `from pkg import sub` imports the module pkg.sub when there is one.
            targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base for a in node.names]
        else:
            continue
        for target in targets:
            while target and target not in modules:  # `import eqviz.x.y` where only eqviz.x is ours
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
    return found


def package_of(module: str, modules: dict[str, Path]) -> str:
    """The feature package a module belongs to: eqviz.<pkg>, eqviz.networks, eqviz.cuda_ops; a module at
    the namespace's root (errors, atomic_io, ...) stands for itself."""
    return ".".join(module.split(".")[:2])


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one node (Tarjan), each sorted."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return sorted(found)


def module_graph() -> dict[str, set[str]]:
    modules = module_files()
    return {name: imported_modules(path, name, modules) for name, path in modules.items()}


def package_graph(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    modules = module_files()
    edges = {}
    for source, targets in graph.items():
        here = package_of(source, modules)
        edges.setdefault(here, set()).update(package_of(t, modules) for t in targets if package_of(t, modules) != here)
    return edges


def describe(graph: dict[str, set[str]], component: list[str], modules_of=None) -> str:
    """One cycle and the imports that make it, for the failure message."""
    lines = [" <-> ".join(component)]
    for source, targets in sorted(graph.items()):
        for target in sorted(targets):
            a, b = (modules_of(source), modules_of(target)) if modules_of else (source, target)
            if a != b and a in component and b in component:
                lines.append(f"    {source} -> {target}")
    return "\n".join(lines)


def test_the_scan_finds_function_level_and_relative_imports(tmp_path):
    source = tmp_path / "sample.py"
    source.write_text("import eqviz.core.images\nfrom . import render\n"
                      "def later():\n    from eqviz.metrics.equivariance import measure\n"
                      "if TYPE_CHECKING:\n    from eqviz.app.app import App\n")
    modules = {"eqviz.core.images": source, "eqviz.app.app": source, "eqviz.video.render": source, "eqviz.video.sample": source,
               "eqviz.metrics.equivariance": source, "eqviz.metrics.equivariance.measure": source}
    assert imported_modules(source, "eqviz.video.sample", modules) == {
        "eqviz.core.images", "eqviz.video.render", "eqviz.metrics.equivariance.measure"}


def test_cycles_are_found_around_a_loop():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_two_packages_import_each_other():
    graph = module_graph()
    modules = module_files()
    found = cycles(package_graph(graph))
    assert not found, "import cycles between packages:\n" + "\n".join(
        describe(graph, c, lambda m: package_of(m, modules)) for c in found)


def test_no_two_modules_import_each_other():
    graph = module_graph()
    found = cycles(graph)
    assert not found, "import cycles between modules:\n" + "\n".join(describe(graph, c) for c in found)
