"""What every page shares: dates as French writes them, links on the public address."""

import os
import subprocess
import sys
from datetime import UTC, datetime

from app.core.web import paris_datetime
from config import ROOT


def test_the_first_of_the_month_is_written_1er_in_french(app):
    with app.test_request_context():
        assert paris_datetime(datetime(2026, 12, 1, 10, tzinfo=UTC)) == "1er décembre 2026 à 11h00"
        assert paris_datetime(datetime(2026, 12, 2, 10, tzinfo=UTC)) == "2 décembre 2026 à 11h00"
        # Midnight in Paris on the first is still the 30th of November in UTC.
        assert paris_datetime(datetime(2026, 11, 30, 23, 30, tzinfo=UTC), "d MMMM y") == "1er décembre 2026"


def public_url_with(**environment) -> str:
    env = {key: value for key, value in os.environ.items() if key not in ("PUBLIC_URL", "PORT")}
    return subprocess.run([sys.executable, "-c", "import config; print(config.Config.PUBLIC_URL)"], cwd=ROOT,
                          env={**env, **environment}, capture_output=True, text=True, check=True).stdout.strip()


def test_in_development_links_follow_the_port_the_app_is_served_on():
    assert public_url_with() == "http://127.0.0.1:5000"
    assert public_url_with(PORT="5301") == "http://127.0.0.1:5301"  # PORT=5301 make run
    assert public_url_with(PORT="5301", PUBLIC_URL="https://agora.example.fr") == "https://agora.example.fr"


def test_make_run_hands_its_port_to_the_app():
    makefile = (ROOT / "Makefile").read_text()
    assert "run: export PORT := $(PORT)" in makefile and "--port $(PORT)" in makefile
