"""generated/docs/index.html opens from the file system, offline, and shows every operation."""

from __future__ import annotations

from pathlib import Path

import pytest

from declaration_otp.spec import load_spec
from tests.browser.conftest import OfflinePage
from tests.browser.test_swagger_ui import shown_operations, spec_operations

pytestmark = pytest.mark.browser

DOCS = Path(__file__).resolve().parents[2] / "generated" / "docs" / "index.html"


def test_static_docs_render_every_operation_offline(offline_page: OfflinePage) -> None:
    assert DOCS.is_file(), "run scripts/regenerate"
    page = offline_page.page
    page.goto(DOCS.as_uri())
    assert shown_operations(page) == spec_operations(load_spec())
    # Every operation opens to its description and responses.
    first = page.locator(".opblock").first
    first.locator(".opblock-summary").click()
    first.locator(".responses-wrapper").wait_for(timeout=10_000)
    assert page.title() == load_spec()["info"]["title"]
    assert offline_page.blocked == [], "the static docs tried to reach the network"
    assert not [e for e in offline_page.console_errors if "Failed to load" in e]
