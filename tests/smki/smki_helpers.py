"""Helpers shared by the SMKI tests (paths, the clock, a real HTTP client)."""

from __future__ import annotations

import datetime as dt
import urllib.error
import urllib.request

from emulator import data

RTDS_KEYS = data.rtds_keystore()
DCCBOXED = data.dccboxed_keystore()
START = dt.datetime(2026, 11, 23, tzinfo=dt.UTC)
GENERATED_DEVICES = 40


def post(url: str, body: bytes, content_type: str = "application/xml") -> tuple[int, str, bytes]:
    """(status, content type, body) of a real HTTP POST."""
    request = urllib.request.Request(
        url, data=body, method="POST", headers={"Content-Type": content_type}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.headers.get("Content-Type", ""), response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers.get("Content-Type", ""), error.read()
