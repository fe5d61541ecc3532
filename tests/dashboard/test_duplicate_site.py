"""Adding a site whose domain the user already has is refused with a clear message, as
serious analytics products do: two sites for one domain would split its stats."""

from __future__ import annotations

import html

from tests.dashboard.conftest import Dash


async def test_a_domain_the_user_already_has_is_refused(dash: Dash) -> None:
    owner = await dash.owner()
    first = await owner.add_site("shop.example", name="Shop")
    await owner.get("/sites/new")
    again = await owner.post(
        "/sites/new", {"domain": "Shop.Example", "name": "Shop again", "timezone": "UTC"}
    )
    assert again.status_code == 400
    text = html.unescape(again.text)
    assert "You already have a site for shop.example" in text
    assert f'href="/sites/{first}"' in again.text
    assert 'aria-invalid="true"' in again.text
    listed = await owner.get("/sites")
    assert listed.text.count("Shop again") == 0
    # Another domain still works.
    other = await owner.post("/sites/new", {"domain": "blog.example", "timezone": "UTC"})
    assert other.status_code == 303
