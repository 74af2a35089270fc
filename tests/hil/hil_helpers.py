"""Shared pieces of the rig's tests: paths, vectors, JUnit reading."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
VECTORS = HERE / "vectors"


def vectors(name: str) -> dict:
    return json.loads((VECTORS / f"{name}.json").read_text())


def junit_cases(path: Path) -> dict[str, dict]:
    """{test name: {"outcome", "message", "properties": [(name, value)]}} of a JUnit file."""
    root = ET.parse(path).getroot()
    cases = {}
    for case in root.iter("testcase"):
        outcome, message = "passed", ""
        for tag in ("failure", "error", "skipped"):
            node = case.find(tag)
            if node is not None:
                outcome = {"failure": "failed"}.get(tag, tag)
                message = (node.get("message") or "") + (node.text or "")
        props = [(p.get("name"), p.get("value")) for p in case.iter("property")]
        cases[case.get("name")] = {"outcome": outcome, "message": message, "properties": props}
    return cases
