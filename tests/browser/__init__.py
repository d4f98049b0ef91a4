"""End-to-end tests: a real Chromium, driven by Playwright, against the live app.

A missing tool skips them on a developer's machine but fails them in CI, where a skip would hide a gap.
"""

import os

import pytest

CHROMIUM_MISSING = "Chromium absent : installez le paquet Debian chromium pour lancer les tests navigateur"
PLAYWRIGHT_MISSING = "Playwright absent : installez les dépendances de développement (pip install -e '.[dev]')"


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes", "on"}


def unavailable(reason: str, *, module_level: bool = False) -> None:
    """Skip here, fail in CI."""
    if in_ci():
        pytest.fail(f"{reason} (CI est défini : les tests navigateur y sont obligatoires)", pytrace=False)
    pytest.skip(reason, allow_module_level=module_level)
