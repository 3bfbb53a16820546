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


# Samples of pages not among the numbered reference documents: copied verbatim from the Microsoft Learn page (its
# MicrosoftDocs/dynamics-365-customer-engagement source, ms.date given), with the ms.date they were copied at.
LEARN = "https://learn.microsoft.com/dynamics365/contact-center/extend/api/"
ONLINE_SOURCES = {
    "004_simple_sample.json": f"{LEARN}ccaas_createsimpleproactivedelivery (ms.date 07/01/2026)",
    "005_sms_sample.json": f"{LEARN}ccaas_createproactivesmsdelivery (ms.date 06/01/2026)",
    "006_bulk_sample.json": f"{LEARN}ccaas_createproactivebulkdelivery (ms.date 08/24/2026)",
    "006_bulk_v2_sample.json": f"{LEARN}ccaas_createproactivebulkdelivery, CCaaS_CreateProactiveDeliveryBulkV2",
}


def test_every_fixture_names_its_source():
    assert {path.name for path in FIXTURES.glob("*.json")} == set(SOURCES) | set(ONLINE_SOURCES)
