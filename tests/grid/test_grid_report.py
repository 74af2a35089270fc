"""The report renders: a valid PNG plot of sane size, embedded byte for byte in report.html,
with the tables a reader needs; the JSON and CSV files agree with the run."""

import base64
import csv
import json
import struct
from html.parser import HTMLParser

import pytest
from grid_helpers import run_with_double

from emulator.grid.report import write_outputs
from emulator.scenario import spec

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


class _Images(HTMLParser):
    def __init__(self):
        super().__init__()
        self.images, self.tables, self.headings = [], 0, []
        self._in_h = False

    def handle_starttag(self, tag, attrs):
        if tag == "img":
            self.images.append(dict(attrs))
        self.tables += tag == "table"
        self._in_h = tag in ("h1", "h2")

    def handle_data(self, data):
        if self._in_h:
            self.headings.append(data.strip())

    def handle_endtag(self, tag):
        self._in_h = False


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    result, _ = run_with_double(spec.load("boost-removed"))
    out = tmp_path_factory.mktemp("report")
    return result, write_outputs(result.record, out)


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == PNG_SIGNATURE
    length, kind = struct.unpack(">I4s", data[8:16])
    assert kind == b"IHDR" and length == 13
    return struct.unpack(">II", data[16:24])


def test_the_plot_is_a_valid_png_of_sane_size(written):
    _, paths = written
    data = paths["feeder-load.png"].read_bytes()
    width, height = _png_size(data)
    assert 600 <= width <= 2000 and 300 <= height <= 1200
    assert data.endswith(b"IEND\xaeB`\x82")
    assert len(data) > 20_000  # a drawn plot, not an empty canvas


def test_report_html_embeds_the_plot_and_the_tables(written):
    result, paths = written
    parser = _Images()
    parser.feed(paths["report.html"].read_text())
    (img,) = [i for i in parser.images if i.get("id") == "load-plot"]
    prefix = "data:image/png;base64,"
    assert img["src"].startswith(prefix)
    embedded = base64.b64decode(img["src"][len(prefix) :])
    assert embedded == paths["feeder-load.png"].read_bytes()
    (shed,) = [i for i in parser.images if i.get("id") == "shed-plot"]
    assert base64.b64decode(shed["src"][len(prefix) :]) == paths["shed-vs-needed.png"].read_bytes()
    assert _png_size(paths["shed-vs-needed.png"].read_bytes())[0] >= 600
    assert "Needed against shed, and who carried it" in parser.headings
    assert parser.tables == 4
    assert "Interventions (DCP 371)" in parser.headings


def test_summary_json_has_the_required_keys(written):
    result, paths = written
    summary = json.loads(paths["summary.json"].read_text())
    for key in (
        "scenario",
        "premises",
        "feeder_rating_kw",
        "feeder_peak_kw",
        "feeder_peak_kw_after_first_curtailment",
        "srv_count",
        "srv_response_s_p50",
        "srv_response_s_max",
        "declined_premises_switched",
        "wall_seconds",
        "policy",
        "energy_needed_kwh",
        "energy_shed_kwh",
        "shed_to_needed_ratio",
        "floor_shed_to_needed_ratio",
        "minutes_over_rating",
        "curtailment_minutes_max",
        "curtailment_minutes_mean",
        "curtailment_minutes_by_customer",
        "srvs_per_kwh_shed",
        "consent_terms_broken",
    ):
        assert key in summary
    assert summary["srv_count"] == len(result.recorder.outcomes)


def test_interventions_csv_lists_every_srv_sent(written):
    result, paths = written
    rows = list(csv.DictReader(paths["interventions.csv"].open()))
    guarded = result.record.interventions.all_srvs()
    assert len(rows) == len(guarded)
    assert {r["srv"] for r in rows} >= {"7.6", "7.7", "7.8", "7.9", "7.10"}


def _pixels(data: bytes):
    import io

    import numpy as np
    from PIL import Image

    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB")).astype(int)


def test_the_plot_shows_the_load_and_the_rating_not_a_blank_canvas(written):
    import dataclasses

    from emulator.grid.report import plot_png

    result, paths = written
    image = _pixels(paths["feeder-load.png"].read_bytes())
    height, width, _ = image.shape
    colours = {tuple(p) for p in image.reshape(-1, 3)[::7]}
    assert len(colours) > 50  # lines, markers, spans, antialiasing
    inked = (image.sum(axis=2) < 3 * 250).mean()
    assert 0.02 < inked < 0.6
    # the rating: a horizontal tab:red (214, 39, 40) line across most of the axes
    red = (abs(image - (214, 39, 40)).sum(axis=2) < 40).sum(axis=1)
    assert red.max() > 0.5 * width
    # the load line is drawn from the data: halve the load and the picture changes
    record = result.record
    halved = dataclasses.replace(record, load_kw=record.load_kw * 0.5)
    changed = (abs(_pixels(plot_png(halved)) - image).sum(axis=2) > 60).sum()
    assert changed > 0.3 * width  # at least a line's worth of pixels moved


def test_the_shed_plot_draws_the_headroom_the_policy_kept(written):
    """The needed-vs-shed plot has a third line, needed + the headroom kept (margin and
    plug-in cover, recorded per sample): it is drawn from the record, so dropping the
    headroom to nothing moves it onto the needed area."""
    import dataclasses

    import numpy as np

    from emulator.grid.report import shed_png

    result, paths = written
    record = result.record
    assert record.headroom_kw.shape == record.t.shape
    assert record.headroom_kw.min() >= 1.0  # the margin's floor, at least, every sample
    image = _pixels(paths["shed-vs-needed.png"].read_bytes())
    purple = (abs(image - (148, 103, 189)).sum(axis=2) < 40).sum()
    assert purple > 200  # tab:purple: the dashed line and its legend entry
    flat = dataclasses.replace(record, headroom_kw=np.zeros_like(record.headroom_kw))
    changed = (abs(_pixels(shed_png(flat)) - image).sum(axis=2) > 60).sum()
    assert changed > 200
