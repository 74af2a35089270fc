"""Repository rules for the CPython packages (docs/architecture.md, "Packages and who may
import whom"), checked by walking every module's AST:

- layers: `gbcs` imports nothing of ours; `emulator` imports neither `hil` nor `tools`; `hil`
  does not import `tools` (imports under `if TYPE_CHECKING:` and inside functions count too:
  they are dependencies all the same);
- imports sit at the top of modules: outside `tools/` (and `firmware/`, which has its own rules
  in tests/firmware/test_fw_repo_rules.py) no import of our own packages (absolute or relative)
  inside a function or class body. Module-level `if TYPE_CHECKING:` / `try:` blocks are fine.

`check_tree(root)` is the rule engine: it takes any folder laid out like the checkout, so the
tests below plant one violation per rule in a small tree and check that it is reported.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
OURS = ("gbcs", "emulator", "hil", "tools")
# package -> our packages it must not import
FORBIDDEN = {
    "gbcs": {"emulator", "hil", "tools"},
    "emulator": {"hil", "tools"},
    "hil": {"tools"},
}
# packages whose modules may import our packages inside functions (the thin CLI)
LATE_IMPORTS_ALLOWED = {"tools"}
DYNAMIC_IMPORTERS = {"import_module", "__import__"}


@dataclass(frozen=True, order=True)
class Violation:
    path: str  # relative to the root, posix
    line: int
    rule: str  # "layer" or "late-import"
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: [{self.rule}] {self.message}"


def _module_name(path: Path, root: Path) -> tuple[str, ...]:
    parts = path.relative_to(root).with_suffix("").parts
    return parts[:-1] if parts[-1] == "__init__" else parts


def _resolve(node: ast.ImportFrom, module: tuple[str, ...], is_package: bool) -> str:
    """The absolute module a `from ... import` names (relative ones resolved against the
    importing module's package)."""
    if node.level == 0:
        return node.module or ""
    package = module if is_package else module[:-1]
    base = package[: len(package) - (node.level - 1)] if node.level > 1 else package
    return ".".join(base + ((node.module,) if node.module else ()))


def _imports(tree: ast.Module, module: tuple[str, ...], is_package: bool):
    """Yield (node, absolute names, relative?, at module level?) for every import in `tree`,
    including `importlib.import_module("x")` / `__import__("x")` with a literal name."""

    def visit(node: ast.AST, top_level: bool):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.Import):
                yield child, [a.name for a in child.names], False, top_level
            elif isinstance(child, ast.ImportFrom):
                base = _resolve(child, module, is_package)
                names = (
                    [base]
                    if child.module or child.level == 0
                    else [f"{base}.{a.name}" if base else a.name for a in child.names]
                )
                yield child, names, child.level > 0, top_level
            elif (
                isinstance(child, ast.Call)
                and (
                    (isinstance(child.func, ast.Name) and child.func.id in DYNAMIC_IMPORTERS)
                    or (
                        isinstance(child.func, ast.Attribute)
                        and child.func.attr in DYNAMIC_IMPORTERS
                    )
                )
                and child.args
                and isinstance(child.args[0], ast.Constant)
                and isinstance(child.args[0].value, str)
            ):
                yield child, [child.args[0].value], False, top_level
            nested = isinstance(
                child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.Lambda
            )
            yield from visit(child, top_level and not nested)

    yield from visit(tree, True)


def check_tree(root: Path) -> list[Violation]:
    """Every rule violation in the CPython packages under `root`, sorted by file and line."""
    root = Path(root)
    found: list[Violation] = []
    for package in OURS:
        for path in sorted((root / package).rglob("*.py")):
            if "__pycache__" in path.parts:
                continue
            rel = path.relative_to(root).as_posix()
            module = _module_name(path, root)
            try:
                tree = ast.parse(path.read_text(encoding="utf-8"), rel)
            except SyntaxError as error:
                found.append(Violation(rel, error.lineno or 0, "syntax", str(error)))
                continue
            for node, names, relative, top_level in _imports(
                tree, module, path.name == "__init__.py"
            ):
                tops = {name.split(".")[0] for name in names}
                for bad in sorted(tops & FORBIDDEN.get(package, set())):
                    shown = ", ".join(n for n in names if n.split(".")[0] == bad)
                    found.append(
                        Violation(rel, node.lineno, "layer", f"{package} imports {bad} ({shown})")
                    )
                ours = relative or bool(tops & set(OURS))
                if ours and not top_level and package not in LATE_IMPORTS_ALLOWED:
                    found.append(
                        Violation(
                            rel,
                            node.lineno,
                            "late-import",
                            f"import of {', '.join(names)} inside a function or class body",
                        )
                    )
    return sorted(found)


def test_the_packages_are_there():
    for package in OURS:
        assert (REPO / package / "__init__.py").exists(), package
    assert len(list((REPO / "emulator").rglob("*.py"))) > 10


def test_the_real_tree_keeps_the_rules():
    violations = check_tree(REPO)
    if violations:
        listing = "\n".join(map(str, violations))
        pytest.fail(f"{len(violations)} import rule violations:\n{listing}", pytrace=False)


# --- the rule engine finds what is planted ---------------------------------------------------


def _tree(root: Path, files: dict[str, str]) -> Path:
    for package in OURS:
        (root / package).mkdir(parents=True, exist_ok=True)
        (root / package / "__init__.py").touch()
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


CLEAN = {
    "gbcs/codec.py": "import construct\nfrom cryptography import x509\n",
    "emulator/sub/__init__.py": "from . import mod\nfrom .mod import x\n",
    "emulator/sub/mod.py": (
        "from __future__ import annotations\nfrom typing import TYPE_CHECKING\n"
        "import gbcs\nfrom gbcs.codec import decode\nfrom .. import clock\n"
        "if TYPE_CHECKING:\n    from emulator.clock import Clock\n"
        "try:\n    import zigpy\nexcept ImportError:\n    zigpy = None\n"
        "def f():\n    import json\n    return json\n"
    ),
    "emulator/clock.py": "x = 1\n",
    "hil/rig.py": "import emulator\nfrom gbcs import codec\n",
    "tools/cli.py": "import hil\ndef main():\n    from emulator import sub\n    import tools.cli\n",
}


def test_a_clean_tree_has_no_violations(tmp_path):
    assert check_tree(_tree(tmp_path, CLEAN)) == []


@pytest.mark.parametrize(
    ("path", "text", "expected"),
    [
        ("gbcs/codec.py", "import os\nimport emulator.clock\n",
         "gbcs/codec.py:2: [layer] gbcs imports emulator (emulator.clock)"),
        ("gbcs/codec.py", "from hil import rig\n",
         "gbcs/codec.py:1: [layer] gbcs imports hil (hil)"),
        ("gbcs/codec.py", "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
         "    from tools.cli import main\n",
         "gbcs/codec.py:3: [layer] gbcs imports tools (tools.cli)"),
        ("emulator/sub/mod.py", "import sys\nfrom tools import cli\n",
         "emulator/sub/mod.py:2: [layer] emulator imports tools (tools)"),
        ("emulator/sub/mod.py", "from ... import hil\n",
         "emulator/sub/mod.py:1: [layer] emulator imports hil (hil)"),
        ("hil/rig.py", "import importlib\nimportlib.import_module('tools.cli')\n",
         "hil/rig.py:2: [layer] hil imports tools (tools.cli)"),
        ("emulator/sub/mod.py", "def f():\n    from gbcs import codec\n",
         "emulator/sub/mod.py:2: [late-import] import of gbcs inside a function or class body"),
        ("hil/rig.py", "async def f():\n    if True:\n        from .plugin import x\n",
         "hil/rig.py:3: [late-import] import of hil.plugin inside a function or class body"),
        ("gbcs/codec.py", "class C:\n    from . import alerts\n",
         "gbcs/codec.py:2: [late-import] import of gbcs.alerts inside a function or class body"),
    ],
    ids=["gbcs-emulator", "gbcs-hil", "gbcs-tools-type-checking", "emulator-tools",
         "emulator-relative-hil", "hil-tools-dynamic", "late-absolute", "late-relative",
         "late-class-body"],
)  # fmt: skip
def test_a_planted_violation_is_reported(tmp_path, path, text, expected):
    root = _tree(tmp_path, {**CLEAN, path: text})
    assert [str(v) for v in check_tree(root)] == [expected]


def test_a_function_level_import_under_type_checking_is_still_late(tmp_path):
    text = (
        "from typing import TYPE_CHECKING\n"
        "def f():\n    if TYPE_CHECKING:\n        from emulator.clock import Clock\n"
    )
    root = _tree(tmp_path, {**CLEAN, "emulator/sub/mod.py": text})
    assert [(v.path, v.line, v.rule) for v in check_tree(root)] == [
        ("emulator/sub/mod.py", 4, "late-import")
    ]


def test_every_violation_in_a_file_is_reported_with_its_line(tmp_path):
    text = "import tools\n\n\ndef f():\n    import emulator.clock\n    from . import mod\n"
    root = _tree(tmp_path, {**CLEAN, "emulator/sub/other.py": text})
    assert [(v.line, v.rule) for v in check_tree(root)] == [
        (1, "layer"),
        (5, "late-import"),
        (6, "late-import"),
    ]
