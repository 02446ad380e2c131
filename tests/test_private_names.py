"""No module reaches into another module's private names (leading underscore): what is shared is
public, so the package, the tests and the benchmarks use only what a reader can rely on."""
import ast
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
SCANNED = ("visualizer", "networks", "cuda_ops", "tests", "benchmarks")


def python_files() -> list[Path]:
    return sorted(p for folder in SCANNED for p in (REPO_ROOT / folder).rglob("*.py") if "build" not in p.parts)


def local_module_names() -> set[str]:
    """Top-level modules that live beside tests and benchmarks (imported without a package)."""
    return {p.stem for folder in ("tests", "benchmarks") for p in (REPO_ROOT / folder).glob("*.py")}


def is_private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def is_ours(module: str | None, local: set[str]) -> bool:
    return module is not None and (module == "eqviz" or module.startswith("eqviz.") or module.split(".")[0] in local)


def private_uses(path: Path, local: set[str]) -> list[str]:
    """'file:line name' for each private name of one of our modules imported, or read off an import."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    where = path.relative_to(REPO_ROOT) if path.is_relative_to(REPO_ROOT) else path.name
    imported = {}  # local name -> module it came from (for `import m`, `import m as x`, `from m import n`)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and is_ours(node.module, local):
            for alias in node.names:
                if is_private(alias.name):
                    found.append(f"{where}:{node.lineno} from {node.module} import {alias.name}")
                imported[alias.asname or alias.name] = node.module
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if is_ours(alias.name, local):
                    if any(is_private(part) for part in alias.name.split(".")):
                        found.append(f"{where}:{node.lineno} import {alias.name}")
                    imported[alias.asname or alias.name.split(".")[0]] = alias.name
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in imported \
                and is_private(node.attr):
            found.append(f"{where}:{node.lineno} {node.value.id}.{node.attr}")
    return sorted(found, key=lambda use: int(use.split(" ", 1)[0].rsplit(":", 1)[1]))


def test_the_scan_sees_the_kinds_of_private_use(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text("from eqviz.cli.main import _normalise_argv\nimport eqviz.cli.main as cli\n"
                      "from eqviz.video.render import FrameSource\nimport torch\nimport textbook_ops\n"
                      "cli._hidden()\nFrameSource._synthesize\ntorch._C\nobject()._x\ntextbook_ops._helper\n")
    found = private_uses(sample, local_module_names())
    assert [f.split(" ", 1)[1] for f in found] == [
        "from eqviz.cli.main import _normalise_argv", "cli._hidden", "FrameSource._synthesize", "textbook_ops._helper"]


def test_no_private_name_is_imported_from_another_module():
    local = local_module_names()
    found = [use for path in python_files() for use in private_uses(path, local)]
    assert not found, "private names used across modules (make them public or move them):\n" + "\n".join(found)
