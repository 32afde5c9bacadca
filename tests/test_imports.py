"""The package's imports go one way: no module reaches up to one that imports it, not even
through ``TYPE_CHECKING`` or an import inside a function (both count here), so the job
pipeline's types (``jobspec``) sit below the hooks, the facade and the runner."""

from __future__ import annotations

import ast
import graphlib
from pathlib import Path

import helpers

PACKAGE = helpers.REPO / "nstfilter"


def _modules() -> dict[str, tuple[Path, list[str]]]:
    """Module name -> (file, the package its relative imports start from)."""
    found = {}
    for path in PACKAGE.rglob("*.py"):
        if "_data" in path.parts:  # editor plug-ins shipped as data, not package modules
            continue
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
            found[".".join(parts)] = (path, parts)
        else:
            found[".".join(parts)] = (path, parts[:-1])
    return found


def import_graph() -> dict[str, set[str]]:
    """Module -> the package modules it imports anywhere in its file. ``from . import x``
    counts as ``x`` when it is a module; a module's own parent packages are left out
    (Python runs them first whatever is imported)."""
    modules = _modules()
    graph: dict[str, set[str]] = {}
    for name, (path, package) in modules.items():
        deps = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                base = package[: len(package) - node.level + 1] if node.level else []
                module = ".".join([*base, *([node.module] if node.module else [])])
                targets = [
                    f"{module}.{a.name}" if f"{module}.{a.name}" in modules else module
                    for a in node.names
                ]
            elif isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            else:
                continue
            deps |= {t for t in targets if t in modules and not (name + ".").startswith(t + ".")}
        graph[name] = deps - {name}
    return graph


def test_the_package_has_no_import_cycle():
    graph = import_graph()
    assert "nstfilter.jobspec" in graph and "nstfilter.jobs" in graph["nstfilter.executors.local"]
    try:
        order = list(graphlib.TopologicalSorter(graph).static_order())
    except graphlib.CycleError as exc:
        raise AssertionError(f"import cycle: {' -> '.join(exc.args[1])}") from None
    assert len(order) == len(graph)


def test_the_floor_does_not_reach_up_to_the_runner():
    """Hooks, facade, job log and executors know the job types, not the runner or the CLI."""
    graph = import_graph()
    for low in ("hookspecs", "plugins", "builtins.joblog", "jobspec", "events", "pretrained"):
        assert not graph[f"nstfilter.{low}"] & {"nstfilter.jobs", "nstfilter.api"}, low


def test_a_cycle_is_found(tmp_path):
    """The check itself can fail: two modules importing each other are a cycle."""
    graph = {"a": {"b"}, "b": {"a"}}
    try:
        list(graphlib.TopologicalSorter(graph).static_order())
    except graphlib.CycleError:
        return
    raise AssertionError("no cycle found")


def test_weight_discovery_lives_outside_the_engine():
    """The engine knows tensors, not files: where weights lie is ``nstfilter.pretrained``'s."""
    text = (PACKAGE / "engine" / "backbones.py").read_text(encoding="utf-8")
    assert "os.environ" not in text and "Path.home" not in text and "is_file" not in text


def test_one_module_per_name():
    """A name means one thing: no two modules share a name, nor a singular and its plural
    (``schedule`` beside ``schedules`` was the coarse-to-fine run beside the quality modes;
    ``job`` beside ``jobs`` the clip job beside the runner). A command's module under ``cli/``
    is named after its command, a built-in plug-in after what it registers."""
    names: dict[str, list[str]] = {}
    for module in _modules():
        parts = module.split(".")
        if len(parts) > 1 and parts[1] not in ("cli", "builtins"):
            names.setdefault(parts[-1].removesuffix("s"), []).append(module)
    assert not {k: v for k, v in names.items() if len(v) > 1}


#: What the engine may import from the package: the low floor (events, errors, settings,
#: the palette's maths, the weights' names and paths, TensorFlow's quiet start).
ENGINE_FLOOR = {"events", "errors", "params", "palette", "pretrained", "tfquiet"}
#: Names that read files, the environment or the machine.
IO_NAMES = {"open", "environ", "getenv", "Path", "pathlib", "read_text", "read_bytes",
            "is_file", "expanduser", "home", "os", "io", "sys", "tempfile", "shutil"}  # fmt: skip


def io_uses(source: str) -> set[str]:
    """The :data:`IO_NAMES` a module's source uses (names, attributes, imports)."""
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Name):
            found.add(node.id)
        elif isinstance(node, ast.Attribute):
            found.add(node.attr)
        elif isinstance(node, ast.Import):
            found |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and not node.level:
            found.add((node.module or "").split(".")[0])
    return found & IO_NAMES


def test_the_engine_reads_no_files_and_no_environment():
    """docs/design.md: the engine is tensors in, tensors out. Where weights lie, which CPU
    this is and what ``$NSTFILTER_PRECISION`` asks are decided outside it (``pretrained``,
    ``device``) and handed in; its package imports stay on the low floor."""
    graph = import_graph()
    for path in sorted((PACKAGE / "engine").glob("*.py")):
        assert not io_uses(path.read_text(encoding="utf-8")), path.name
    for name, deps in graph.items():
        if name.startswith("nstfilter.engine"):
            above = {d for d in deps if not d.startswith("nstfilter.engine")}
            assert above <= {f"nstfilter.{m}" for m in ENGINE_FLOOR}, (name, above)


def test_the_io_check_can_fail():
    assert io_uses("import os\nx = os.environ.get('A')") == {"os", "environ"}
    assert io_uses("with open('/proc/cpuinfo') as f: pass") == {"open"}
    assert not io_uses("import numpy as np\ny = np.zeros(3)")
