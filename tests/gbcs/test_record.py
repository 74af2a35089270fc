"""gbcs.record's plain classes against dataclass twins: each class that was a @dataclass
(made without its code generation for the check's start-up) must construct, compare, hash,
print, refuse assignment and pickle as the dataclass declared here did."""

import dataclasses
import pickle
from dataclasses import FrozenInstanceError, field

import pytest

from gbcs.check import FileResult, Source, Totals, Verdict, _Worker
from gbcs.keystore import KeyEntry, SkippedSource, _PrivateKeyAt
from gbcs.match import MatchResult
from gbcs.message import Message
from gbcs.security import ApduLayout, CheckResult, SecurityReport
from gbcs.usecases import USE_CASES, UseCase

REQUIRED = dataclasses.MISSING


def twin(cls, spec, *, frozen=False, eq=True):
    """A dataclass with the declaration the class had: (name, default or REQUIRED,
    shown in repr), a list default meaning default_factory=list (dict likewise)."""
    fields = []
    for name, default, shown in spec:
        if isinstance(default, list | dict):
            fields.append((name, object, field(default_factory=type(default), repr=shown)))
        elif default is REQUIRED:
            fields.append((name, object, field(repr=shown)))
        else:
            fields.append((name, object, field(default=default, repr=shown)))
    made = dataclasses.make_dataclass(cls.__name__, fields, frozen=frozen, eq=eq)
    made.__qualname__ = cls.__qualname__
    return made


# each class, its declaration as a dataclass, and two sets of values for every field
CASES = {
    "Verdict": (
        Verdict,
        dict(frozen=True),
        [("rule", REQUIRED, True), ("detail", REQUIRED, True), ("offset", None, True)],
    ),
    "Source": (
        Source,
        dict(frozen=True),
        [("name", REQUIRED, True), ("data", REQUIRED, True), ("error", "", True)]
        + [("path", None, True)],
    ),
    "FileResult": (
        FileResult,
        {},
        [("name", REQUIRED, True), ("decoded", False, True), ("reencoded", False, True)]
        + [("message", None, True), ("security", None, True), ("verdicts", [], True)]
        + [("allowed", [], True), ("kind", "", True), ("message_code", None, True)]
        + [("use_case", None, True), ("kept_tally", None, False)],
    ),
    "Totals": (
        Totals,
        {},
        [(n, 0, True) for n in ("files", "decoded", "reencoded", "signatures", "macs")]
        + [(n, 0, True) for n in ("decrypted", "unverifiable", "failed")]
        + [("rules", {}, True)],
    ),
    "_Worker": (_Worker, {}, [(n, REQUIRED, True) for n in ("pid", "jobs", "results")]),
    "CheckResult": (
        CheckResult,
        dict(frozen=True),
        [("check", REQUIRED, True), ("status", REQUIRED, True)]
        + [(n, "", True) for n in ("reason", "key", "cause")],
    ),
    "SecurityReport": (
        SecurityReport,
        {},
        [("signature", REQUIRED, True), ("mac", REQUIRED, True), ("decryption", [], True)],
    ),
    "ApduLayout": (
        ApduLayout,
        dict(frozen=True),
        [(n, REQUIRED, True) for n in ApduLayout.FIELDS],
    ),
    "Message": (
        Message,
        {},
        [(n, REQUIRED, True) for n in ("header", "payload_kind", "payload", "signature")]
        + [("envelope", None, True), ("mac", None, True), ("use_case", None, True)]
        + [("apdu", b"", True), ("apdu_offset", 0, True), ("content_offset", 0, True)]
        + [("decrypted", [], True)],
    ),
    "MatchResult": (
        MatchResult,
        {},
        [("command", REQUIRED, True), ("response", REQUIRED, True), ("pairing", [], True)],
    ),
    "SkippedSource": (
        SkippedSource,
        dict(frozen=True),
        [("source", REQUIRED, True), ("reason", REQUIRED, True)],
    ),
    "_PrivateKeyAt": (
        _PrivateKeyAt,
        dict(frozen=True),
        [(n, REQUIRED, True) for n in ("data", "number", "source", "identity")],
    ),
    "UseCase": (
        UseCase,
        dict(frozen=True),
        [("code", REQUIRED, True), ("name", REQUIRED, True), ("title", REQUIRED, True)]
        + [("message_type", None, True), ("srvs", (), True), ("senders", (), True)]
        + [("encoding", None, True), ("criticality", None, True), ("direction", "", True)]
        + [("payload", "", True)],
    ),
    "KeyEntry": (
        KeyEntry,
        dict(frozen=True, eq=False),
        [(n, REQUIRED, True) for n in ("eui", "usage", "role", "key_id", "not_before")]
        + [("not_after", REQUIRED, True), ("source", REQUIRED, True), ("serial", None, True)]
        + [("name", None, True), ("loaded_key", None, False)]
        + [("loaded_certificate", None, False), ("certificate_der", None, False)],
    ),
}


def values(spec, which):
    """Hashable values, different for `which` 0 and 1, for every field."""
    return {
        name: (f"{name}-{which}" if which else (n, name)) for n, (name, _, _) in enumerate(spec)
    }


@pytest.mark.parametrize("name", sorted(CASES))
def test_a_record_behaves_as_its_dataclass_did(name):
    cls, flags, spec = CASES[name]
    ref = twin(cls, spec, **flags)
    assert cls.FIELDS == tuple(n for n, _, _ in spec)
    for which in (0, 1):
        given = values(spec, which)
        ours, theirs = cls(**given), ref(**given)
        assert repr(ours) == repr(theirs)
        # positionally, in the declared order, too
        assert repr(cls(*given.values())) == repr(theirs)
        other = dict(given, **{spec[-1][0]: "changed"})
        if flags.get("eq", True):
            assert ours == cls(**given) and not ours != cls(**given)
            assert (ours == cls(**other)) == (theirs == ref(**other)) is False
        else:  # compared by identity
            assert ours != cls(**given) and ours == ours
        assert ours.__eq__(theirs) is NotImplemented
        if flags.get("frozen"):
            if flags.get("eq", True):
                assert hash(ours) == hash(theirs)
            else:
                assert hash(ours) == object.__hash__(ours)
            with pytest.raises(FrozenInstanceError):
                setattr(ours, spec[0][0], 1)
            with pytest.raises(FrozenInstanceError):
                delattr(ours, spec[0][0])
            assert repr(ours) == repr(theirs)  # unchanged
        else:
            with pytest.raises(TypeError):
                hash(ours)
            setattr(ours, spec[0][0], "set")
            assert getattr(ours, spec[0][0]) == "set"
    # defaults: only the required fields given
    required = {n: n for n, default, _ in spec if default is REQUIRED}
    ours, theirs = cls(**required), ref(**required)
    assert repr(ours) == repr(theirs)
    if not flags.get("frozen"):  # a fresh list or dict each, as default_factory gives
        for n, default, _ in spec:
            if isinstance(default, list | dict):
                assert getattr(ours, n) is not getattr(cls(**required), n)


@pytest.mark.parametrize("name", ["Verdict", "Source", "CheckResult", "UseCase", "SkippedSource"])
def test_a_frozen_record_pickles_as_itself(name):
    """Sources travel to a check's workers pickled; the others may be kept by callers."""
    cls, _, spec = CASES[name]
    record = cls(**values(spec, 1))
    again = pickle.loads(pickle.dumps(record, pickle.HIGHEST_PROTOCOL))
    assert again == record and type(again) is cls and hash(again) == hash(record)


def test_the_registry_entries_are_completed_and_hashable():
    entries = list(USE_CASES.values())
    assert all(uc.direction and uc.payload for uc in entries)
    assert len(set(entries)) == len(entries)
    with pytest.raises(FrozenInstanceError):
        entries[0].payload = "dlms"
