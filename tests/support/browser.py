"""Headless Chromium through Playwright for the browser tests: Debian's `chromium` package (never a Playwright
browser download), every request outside the server's origin blocked and recorded, and a screenshot and the page's
HTML kept under test-artifacts/ when a test fails."""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CANDIDATES = ("/usr/bin/chromium", "chromium", "chromium-browser")


def chromium_or_skip() -> str:
    """The chromium binary; skips the test without one, or fails under CCAAS_REQUIRE_BROWSER=1 (CI)."""
    required = os.environ.get("CCAAS_REQUIRE_BROWSER") == "1"
    for candidate in CANDIDATES:
        found = candidate if os.path.isabs(candidate) and os.access(candidate, os.X_OK) else shutil.which(candidate)
        if found:
            return found
    reason = "no chromium binary (apt-get install -y chromium); CCAAS_REQUIRE_BROWSER=1 makes this a failure"
    if required:
        pytest.fail(reason)
    pytest.skip(reason)


@dataclass
class Browsing:
    """A page of a fresh browser context confined to `origin`; `outside` lists what it tried to fetch elsewhere."""

    page: Any
    origin: str
    outside: list[str] = field(default_factory=list)
    seen: list[str] = field(default_factory=list)


@contextmanager
def browse(origin: str, name: str) -> Iterator[Browsing]:
    """Chromium on a page whose requests outside `origin` are aborted (and recorded); on failure the page's
    screenshot and HTML go to test-artifacts/<name>/."""
    executable = chromium_or_skip()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:  # pragma: no cover - the dev extras install it
        if os.environ.get("CCAAS_REQUIRE_BROWSER") == "1":
            pytest.fail("playwright is not installed (pip install -e '.[dev]')")
        pytest.skip("playwright is not installed")
    with sync_playwright() as playwright:
        # --no-sandbox: the tests run as root in containers, where Chromium's sandbox cannot start.
        browser = playwright.chromium.launch(executable_path=executable, headless=True, args=["--no-sandbox"])
        try:
            context = browser.new_context(viewport={"width": 1400, "height": 1000}, service_workers="block")
            page = context.new_page()
            page.set_default_timeout(15_000)
            browsing = Browsing(page, origin)

            def judge(route: Any) -> None:
                url = route.request.url
                browsing.seen.append(url)
                if url == origin or url.startswith(origin + "/") or re.match(r"(data|blob):", url):
                    route.continue_()
                else:
                    browsing.outside.append(url)
                    route.abort("blockedbyclient")

            context.route("**/*", judge)
            try:
                yield browsing
            except BaseException:
                _keep(page, name)
                raise
        finally:
            browser.close()


def _keep(page: Any, name: str) -> None:
    folder = ARTIFACTS / re.sub(r"[^A-Za-z0-9_.-]+", "_", name)
    folder.mkdir(parents=True, exist_ok=True)
    try:
        page.screenshot(path=str(folder / "page.png"), full_page=True)
        (folder / "page.html").write_text(page.content())
    except Exception as failed:  # the page may be gone; the test's own error is what matters
        (folder / "screenshot-failed.txt").write_text(repr(failed))
    print(f"browser artefacts kept in {folder}")
