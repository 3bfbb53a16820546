"""/docs (Swagger UI) and /redoc load with no network: their HTML names no other origin and every file it names
is served here, from the fastapi-offline wheel, with its content type (issue 18 item 4: offline, /docs was blank)."""

from __future__ import annotations

import re

import pytest

EXTERNAL = re.compile(r"""(?:src|href)\s*=\s*["']?(?:[a-z][a-z0-9+.-]*:)?//""", re.IGNORECASE)
URL_IN_CODE = re.compile(r"""(?:url|Url)\s*[:=]\s*["'](?:https?:)?//""")
TYPES = {".js": "application/javascript", ".css": "text/css", ".png": "image/png"}


@pytest.mark.parametrize(("path", "title"), [("/docs", "Swagger UI"), ("/redoc", "ReDoc")])
def test_the_api_docs_name_no_other_origin_and_their_files_load(client, path, title):
    page = client.get(path)

    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert title in page.text
    assert not EXTERNAL.search(page.text), EXTERNAL.search(page.text)
    assert not URL_IN_CODE.search(page.text)
    assert "fonts.googleapis" not in page.text and "cdn.jsdelivr" not in page.text
    files = re.findall(r"""(?:src|href|url:)\s*=?\s*["'](/[^"']+)["']""", page.text)
    assert "'/openapi.json'" in page.text or '"/openapi.json"' in page.text
    assets = [name for name in files if name.startswith("/docs/assets/")]
    assert assets, page.text
    for name in assets:
        asset = client.get(name)
        assert asset.status_code == 200, name
        suffix = name[name.rindex(".") :]
        assert asset.headers["content-type"].split(";")[0] in {TYPES[suffix], "text/javascript"}, name
        assert len(asset.content) > 1000
    assert client.get("/openapi.json").status_code == 200


def test_swagger_ui_asks_no_online_validator(client):
    assert '"validatorUrl": null' in client.get("/docs").text


def test_an_unknown_docs_file_is_404_in_the_envelope(client):
    response = client.get("/docs/assets/nope.js")

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "0x8006088a"


def test_redoc_may_load_images_from_this_origin_only(client):
    # ReDoc's bundle draws its logo from cdn.redoc.ly; the page's policy keeps the browser from asking for it.
    assert client.get("/redoc").headers["content-security-policy"] == "img-src 'self' data: blob:"
