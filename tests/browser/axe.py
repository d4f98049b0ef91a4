"""Accessibility checks with axe-core on the page a test is looking at."""

import pytest

from config import Config
from tests.browser import unavailable

AXE_SCRIPT = Config.NODE_MODULES / "axe-core" / "axe.min.js"
# The RGAA, which French public services must meet, follows WCAG 2.1 levels A and AA.
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
BLOCKING_IMPACTS = {"serious", "critical"}


def require_axe() -> None:
    if not AXE_SCRIPT.is_file():
        unavailable(f"axe-core absent ({AXE_SCRIPT}) : lancez `make assets` pour lancer les tests navigateur")


def check_accessibility(page) -> None:
    """Run axe on the page as it stands; fail listing every serious or critical WCAG 2.1 A/AA violation."""
    require_axe()
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        # Evaluated through the browser's debugging protocol: a <script> tag added to the page would be
        # refused by the site's Content-Security-Policy, which the tests keep on.
        page.evaluate("() => {" + AXE_SCRIPT.read_text(encoding="utf-8") + "\n}")
    results = page.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})", WCAG_TAGS)
    violations = [violation for violation in results["violations"] if violation["impact"] in BLOCKING_IMPACTS]
    if violations:
        lines = [f"{len(violations)} violation(s) d'accessibilité graves sur {page.url} :"]
        for violation in violations:
            lines.append(f"- [{violation['impact']}] {violation['id']} : {violation['help']} ({violation['helpUrl']})")
            lines.extend(f"    {' > '.join(map(str, node['target']))}" for node in violation["nodes"])
        pytest.fail("\n".join(lines), pytrace=False)
