"""Errors that services raise and views turn into messages for people."""


class RuleViolation(Exception):
    """A business rule refused the action; the message is written for the user, in French."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


def refuse_if(reason: str | None) -> None:
    """Raise the refusal a `why_not_*` predicate gave, if it gave one."""
    if reason:
        raise RuleViolation(reason)
