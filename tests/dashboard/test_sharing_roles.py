"""Changing a member's role says what happened: a change, or none."""

from __future__ import annotations

from tests.dashboard.conftest import Dash


async def test_role_notice_tells_a_change_from_no_change(dash: Dash) -> None:
    owner = await dash.owner()
    site_id = await owner.add_site("shop.example")
    await dash.user("friend@example.org")
    await owner.get(f"/sites/{site_id}/sharing")
    shared = await owner.post(
        f"/sites/{site_id}/sharing", {"email": "friend@example.org", "role": "viewer"}
    )
    assert shared.status_code == 303
    friend_id = (await dash.users.by_email("friend@example.org")).id
    await owner.get(f"/sites/{site_id}/sharing")

    same = await owner.post(f"/sites/{site_id}/sharing/{friend_id}/role", {"role": "viewer"})
    assert same.status_code == 303
    page = (await owner.get(f"/sites/{site_id}/sharing")).text
    assert "Role changed." not in page
    assert "Role unchanged" in page

    promoted = await owner.post(f"/sites/{site_id}/sharing/{friend_id}/role", {"role": "admin"})
    assert promoted.status_code == 303
    page = (await owner.get(f"/sites/{site_id}/sharing")).text
    assert "Role changed." in page and "Role unchanged" not in page
