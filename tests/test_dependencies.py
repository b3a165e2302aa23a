"""What the code imports is what the packages declare.

Every module of the runtime (``src/``), the generator (``generator/``) and the generated package is read
with ``ast``; each third-party import is mapped to its distribution through the installed environment and
must be declared by the package that ships the module: the runtime's modules (and the generator modules
they import) by ``[project].dependencies``, the generator's by those plus the ``gen`` extra, the generated
package's by ``generated/pyproject.toml``. A declared distribution nothing imports must say why it is there.
"""

from __future__ import annotations

import ast
import importlib.metadata
import re
import sys
import tomllib
from collections.abc import Iterable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FIRST_PARTY = {"truenas_mcp": ROOT / "src", "truenas_mcp_gen": ROOT / "generator"}
GENERATED = ROOT / "generated"

# Declared although never imported by name: the reason each is still needed.
USED_WITHOUT_IMPORT = {
    "python-multipart": "Starlette's form parser imports it lazily for the simulator's upload endpoint",
    "httptools": "uvicorn's HTTP parser of choice when installed (http='auto'): the server's HTTP/1.1 cost",
    "uvloop": "uvicorn's event loop of choice when installed (loop='auto'), for the server and simulator",
}


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _requirement_name(requirement: str) -> str:
    match = re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", requirement)
    assert match, f"unparsable requirement {requirement!r}"
    return _normalise(match[0])


def _declared(pyproject: Path, *extras: str) -> set[str]:
    project = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]
    requirements = list(project.get("dependencies", []))
    for extra in extras:
        requirements += project["optional-dependencies"][extra]
    return {_requirement_name(r) for r in requirements}


def _imports(path: Path) -> set[str]:
    """Absolute imports of one file, as dotted module names (lazy and type-checking imports count too)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module)
    return found


def _module_file(module: str) -> Path | None:
    """The first-party file that defines ``module`` (a package's ``__init__``), or None."""
    top, _, rest = module.partition(".")
    if top not in FIRST_PARTY:
        return None
    base = FIRST_PARTY[top].joinpath(top, *rest.split(".")) if rest else FIRST_PARTY[top] / top
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _third_party(
    files: Iterable[Path], *, follow_first_party: bool, root: Path = ROOT
) -> dict[str, set[str]]:
    """Top-level third-party modules imported by ``files`` -> the files importing each.

    With ``follow_first_party`` the first-party modules they import are read too, so a runtime module that
    imports part of the generator is held to the runtime's declarations for what that part imports.
    """
    pending = list(files)
    seen: set[Path] = set()
    needed: dict[str, set[str]] = {}
    while pending:
        path = pending.pop()
        if path in seen:
            continue
        seen.add(path)
        for module in _imports(path):
            top = module.partition(".")[0]
            if top in sys.stdlib_module_names or top == "__future__":
                continue
            if top in FIRST_PARTY or top == "truenas_mcp_tools":
                target = _module_file(module)
                if follow_first_party and target is not None:
                    pending.append(target)
                continue
            needed.setdefault(top, set()).add(str(path.relative_to(root)))
    return needed


def _undeclared(needed: dict[str, set[str]], declared: set[str]) -> list[str]:
    owners = importlib.metadata.packages_distributions()
    problems = []
    for module, where in sorted(needed.items()):
        distributions = {_normalise(d) for d in owners.get(module, [])}
        if not distributions:
            problems.append(f"{module} (imported by {sorted(where)[0]}) is not installed at all")
        elif not distributions & declared:
            problems.append(
                f"{module} from {sorted(distributions)} is imported by {sorted(where)} but undeclared"
            )
    return problems


def _distributions(needed: dict[str, set[str]]) -> set[str]:
    owners = importlib.metadata.packages_distributions()
    return {_normalise(d) for module in needed for d in owners.get(module, [])}


def test_the_runtime_imports_only_its_declared_dependencies() -> None:
    files = sorted((ROOT / "src").rglob("*.py"))
    needed = _third_party(files, follow_first_party=True)
    assert _undeclared(needed, _declared(ROOT / "pyproject.toml")) == []


def test_the_generator_imports_only_the_runtime_dependencies_and_its_extra() -> None:
    files = sorted((ROOT / "generator").rglob("*.py"))
    needed = _third_party(files, follow_first_party=True)
    assert _undeclared(needed, _declared(ROOT / "pyproject.toml", "gen")) == []


def test_the_generated_package_declares_what_its_modules_import() -> None:
    files = sorted((GENERATED / "truenas_mcp_tools").rglob("*.py"))
    needed = _third_party(files, follow_first_party=False)
    declared = _declared(GENERATED / "pyproject.toml")
    assert "truenas-mcp" in declared
    assert _undeclared(needed, declared) == []


def test_every_declared_dependency_is_imported_or_says_why_it_is_there() -> None:
    imported = _distributions(_third_party(sorted((ROOT / "src").rglob("*.py")), follow_first_party=True))
    imported |= _distributions(
        _third_party(sorted((ROOT / "generator").rglob("*.py")), follow_first_party=True)
    )
    unused = _declared(ROOT / "pyproject.toml", "gen") - imported - set(USED_WITHOUT_IMPORT)
    assert unused == set(), f"declared but never imported: {sorted(unused)}"
    stale = {name for name in USED_WITHOUT_IMPORT if name in imported}
    assert stale == set(), f"imported after all, drop the explanation: {sorted(stale)}"


def test_the_scan_finds_an_undeclared_import(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text(
        "import json\nimport jinja2.sandbox\nfrom pydantic import BaseModel\n", encoding="utf-8"
    )
    needed = _third_party([module], follow_first_party=False, root=tmp_path)
    assert set(needed) == {"jinja2", "pydantic"}
    assert _undeclared(needed, {"pydantic"}) == [
        "jinja2 from ['jinja2'] is imported by ['m.py'] but undeclared"
    ]
