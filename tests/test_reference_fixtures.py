"""The fixtures are the reference documents' samples, verbatim (quirks included)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.samples import FIXTURES

REFERENCE = Path(__file__).resolve().parents[2] / "shared" / "reference"
SOURCES = {
    "000_voice_sample.json": "000_dbf642878a152e1f.txt",
    "000_voice_sample_malformed.json": "000_dbf642878a152e1f.txt",
    "001_voice_sample.json": "001_f4442c84f2080e2c.txt",
    "001_sms_sample.json": "001_f4442c84f2080e2c.txt",
}


@pytest.mark.parametrize(("fixture", "source"), SOURCES.items())
def test_each_fixture_appears_verbatim_in_its_reference_document(fixture, source):
    if not REFERENCE.is_dir():
        pytest.skip(f"reference documents not found at {REFERENCE}")

    assert (FIXTURES / fixture).read_text().strip() in (REFERENCE / source).read_text()
