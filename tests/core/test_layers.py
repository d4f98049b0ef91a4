"""app/core/ is shared by every domain and depends on none: the domains import it, never the reverse."""

import ast

from config import ROOT

SHARED = ("app.core", "app.extensions")


def imported_modules(path) -> set[str]:
    modules = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and node.module:
            modules.add(node.module)
        elif isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
    return modules


def test_core_imports_no_domain_package():
    domain_imports = {f"{path.name}: {module}" for path in sorted((ROOT / "app" / "core").glob("*.py"))
                      for module in imported_modules(path)
                      if module.startswith("app.") and not module.startswith(SHARED)}
    assert domain_imports == set()

