"""Plain value classes with a dataclass's manners, for the types every check makes.

`@dataclass` writes each class's __init__, __repr__, __eq__ (and, frozen, __hash__,
__setattr__, __delattr__) as source and compiles it when the class is made: 0.2-0.85 ms a
class, 6.4 ms for the fourteen `gbhan gbcs check` imported, a sixth of gbcs's import. Here
each class writes its own __init__ (a few assignments) and takes the rest from these bases,
which read the field names from `FIELDS` and behave as the dataclass did: the same repr
(fields left out of it named in `HIDDEN`), equality between instances of the same class on
every field, a frozen record's hash of its fields and FrozenInstanceError on assignment, a
mutable one unhashable. tests/gbcs/test_record.py holds each class to a dataclass twin.
dataclasses itself (with copy and weakref, ~1.3 ms) is imported only to raise its
FrozenInstanceError, when something assigns to a frozen record.
"""

from __future__ import annotations

from typing import Any, ClassVar


class Record:
    """A mutable record: __repr__ and __eq__ over FIELDS; unhashable, as a dataclass with
    eq and without frozen is."""

    FIELDS: ClassVar[tuple[str, ...]] = ()
    HIDDEN: ClassVar[frozenset[str]] = frozenset()

    def _values(self) -> tuple[Any, ...]:
        return tuple([getattr(self, name) for name in self.FIELDS])

    def __repr__(self) -> str:
        shown = ", ".join(
            f"{name}={getattr(self, name)!r}" for name in self.FIELDS if name not in self.HIDDEN
        )
        return f"{type(self).__qualname__}({shown})"

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Record) and other.__class__ is self.__class__:
            return self._values() == other._values()
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]


class FrozenRecord(Record):
    """An immutable record: hashed on its fields. Its __init__ fills the instance's dict
    directly (vars(self).update), as a frozen dataclass's object.__setattr__ calls do."""

    def __hash__(self) -> int:  # type: ignore[override]
        return hash(self._values())

    def __setattr__(self, name: str, value: object) -> None:
        from dataclasses import FrozenInstanceError

        raise FrozenInstanceError(f"cannot assign to field {name!r}")

    def __delattr__(self, name: str) -> None:
        from dataclasses import FrozenInstanceError

        raise FrozenInstanceError(f"cannot delete field {name!r}")
