"""What a frame handler does with text it was sent must not grow the qstr pool. MicroPython
makes a qstr of every character a str yields when walked or indexed, and a qstr is never
freed: a label write that walked its text interned each new character and, with the pool
full at the firmware's heap budget, failed allocating the pool's next block (`reject fault
MemoryError ... allocating 640 bytes`, seen in CI). Checked on the unix port with
`micropython.qstr_info()`, labels from the vocabulary file and one outside it."""

from __future__ import annotations

import re

import pytest
from fw_constants import REPO, run_on_port

VOCABULARY = REPO / "firmware" / "switch" / "labels.txt"
OUTSIDE = "Qj Zx! {k}|#"  # printable, in no vocabulary: the non-strict path


def _labels() -> list[str]:
    lines = VOCABULARY.read_text(encoding="utf-8").splitlines()
    return [s.strip() for s in lines if s.strip() and not s.lstrip().startswith("#")]


@pytest.mark.parametrize("label", [*_labels(), OUTSIDE])
def test_checking_a_label_interns_nothing(mpy_tree, label):
    strict = label != OUTSIDE
    script = (
        "import micropython\n"
        "from firmware.switch.labels import check_label\n"
        f"text = bytes({list(label.encode())}).decode()  # built at run time: not a qstr\n"
        "micropython.qstr_info()\n"
        f"print('stored', check_label(text, [text] if {strict} else [], {strict}) == text)\n"
        "micropython.qstr_info()\n"
    )
    result = run_on_port(mpy_tree, script)
    assert "stored True" in result.stdout, result.stdout + result.stderr
    counts = [int(n) for n in re.findall(r"n_qstr=(\d+)", result.stdout)]
    assert len(counts) == 2, result.stdout
    assert counts[1] == counts[0], f"{label!r}: the qstr pool grew {counts[0]} -> {counts[1]}"
