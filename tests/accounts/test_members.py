"""`Memberships` on SQLite and PostgreSQL: who sees which site, with which role."""

from __future__ import annotations

from footfall.accounts.members import Memberships
from footfall.accounts.models import Role
from footfall.accounts.users import UserStore
from footfall.storage.meta import SqlMetaStore

PASSWORD = "correct horse battery"


async def test_members_see_their_sites_and_admins_see_all(meta: SqlMetaStore) -> None:
    accounts = UserStore(meta.engine)
    admin = await accounts.create("admin@example.org", PASSWORD, 1.0, is_admin=True)
    alice = await accounts.create("alice@example.org", PASSWORD, 2.0)
    bob = await accounts.create("bob@example.org", PASSWORD, 3.0)
    members = Memberships(meta.engine)
    shop = await meta.create_site("shop.example", None, 10.0)
    blog = await meta.create_site("blog.example", None, 11.0)
    cli_site = await meta.create_site("cli.example", None, 12.0)  # no members at all
    await members.set_role(shop.id, alice.id, Role.OWNER, 20.0)
    await members.set_role(blog.id, bob.id, Role.OWNER, 21.0)
    await members.set_role(shop.id, bob.id, Role.VIEWER, 22.0)

    assert await members.sites_for(alice) == [(shop, Role.OWNER)]
    assert await members.sites_for(bob) == [(shop, Role.VIEWER), (blog, Role.OWNER)]
    assert await members.sites_for(admin) == [
        (shop, Role.OWNER),
        (blog, Role.OWNER),
        (cli_site, Role.OWNER),
    ]
    assert await members.role_of(alice, blog.id) is None
    assert await members.role_of(alice, "no-such-site") is None
    assert await members.role_of(bob, shop.id) is Role.VIEWER
    assert await members.role_of(admin, cli_site.id) is Role.OWNER

    await members.set_role(shop.id, bob.id, Role.ADMIN, 30.0)  # a change, not a second row
    listed = await members.members(shop.id)
    assert [(m.email, m.role) for m in listed] == [
        ("alice@example.org", Role.OWNER),
        ("bob@example.org", Role.ADMIN),
    ]
    assert await members.remove(shop.id, bob.id)
    assert not await members.remove(shop.id, bob.id)
    assert await members.role_of(bob, shop.id) is None

    await meta.delete_site(shop.id, 40.0)  # deleted sites vanish for everyone at once
    assert await members.sites_for(alice) == []
    assert await members.role_of(alice, shop.id) is None
    await meta.forget_sites([shop.id])  # and their memberships go with the row
    assert await members.members(shop.id) == []


def test_roles_are_ordered() -> None:
    assert Role.OWNER.allows(Role.ADMIN) and Role.ADMIN.allows(Role.VIEWER)
    assert not Role.VIEWER.allows(Role.ADMIN) and not Role.ADMIN.allows(Role.OWNER)
