"""String enums whose members carry a label for people, translated when shown."""

import enum


class LabelledEnum(enum.StrEnum):
    """A string enum whose members have a French label (lazy gettext), given by `labels()`."""

    @property
    def label(self) -> str:
        return str(self.labels()[self])

    @classmethod
    def labels(cls) -> dict:
        raise NotImplementedError

    @classmethod
    def choices(cls) -> list[tuple[str, str]]:
        return [(member.value, cls.labels()[member]) for member in cls]
