"""An empty set-up form names every required field it lacks, not only the first."""

from __future__ import annotations

import re

from tests.dashboard.conftest import Dash


def _errors(html: str) -> dict[str, str]:
    """Field name -> the error shown under it."""
    return dict(re.findall(r'<p class="error" id="f-([\w-]+)-error">([^<]*)</p>', html))


async def test_empty_setup_form_marks_each_required_field(dash: Dash) -> None:
    browser = await dash.browser()
    await browser.get("/setup")
    empty = await browser.post("/setup", {"email": "", "password": "", "password_confirm": ""})
    assert empty.status_code == 400
    assert _errors(empty.text) == {
        "email": "Required.",
        "password": "Required.",
        "password_confirm": "Required.",
    }
    assert empty.text.count('aria-invalid="true"') == 3
    # One field missing: only that one is marked.
    partial = await browser.post(
        "/setup", {"email": "owner@example.org", "password": "", "password_confirm": "x"}
    )
    assert _errors(partial.text) == {"password": "Required."}
    assert await dash.users.count() == 0
