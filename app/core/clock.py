"""The server clock, in UTC, and conversions to the Europe/Paris time users read and type."""

from datetime import UTC, datetime  # noqa: F401  (UTC is re-exported)
from zoneinfo import ZoneInfo

PARIS = ZoneInfo("Europe/Paris")


def now() -> datetime:
    return datetime.now(UTC)


def to_paris(moment: datetime) -> datetime:
    return moment.astimezone(PARIS)


def from_paris(local: datetime) -> datetime:
    """Read a naive wall-clock time typed in Paris as a UTC instant.

    During the autumn fold the earlier instant is taken (fold=0); a time inside the spring gap
    is moved forward by the gap, as zoneinfo does.
    """
    return local.replace(tzinfo=PARIS).astimezone(UTC)
