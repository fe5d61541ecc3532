"""The dashboard's URL map. Every route is left out of the OpenAPI document
(`include_in_schema=False`): these are pages and their scripts' helpers, not the public API."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.routing import Route

from footfall.dashboard import static
from footfall.dashboard.pages import (
    accounts,
    goals,
    live,
    live_keys,
    prop_keys,
    sharing,
    site_settings,
    site_stats,
    sites,
    tokens,
    users,
)

FORM_BODY_LIMIT = 64 * 1024  # dashboard forms are a few fields; refuse bigger bodies (413)


def _get(path: str, endpoint: Callable[..., Any]) -> Route:
    return Route(path, endpoint, methods=["GET"], include_in_schema=False)


def _post(path: str, endpoint: Callable[..., Any]) -> Route:
    return Route(
        path,
        endpoint,
        methods=["POST"],
        include_in_schema=False,
        max_body_size=FORM_BODY_LIMIT,
    )


def routes() -> list[Route]:
    """Every dashboard route (pages, forms, the pages' JSON helpers, static files)."""
    site = "/sites/{site_id}"
    return [
        _get("/", accounts.home),
        _get("/setup", accounts.setup_form),
        _post("/setup", accounts.setup_submit),
        _get("/login", accounts.login_form),
        _post("/login", accounts.login_submit),
        _post("/logout", accounts.logout),
        _get("/account", accounts.account_form),
        _post("/account/password", accounts.account_password),
        _get("/users", users.users_page),
        _post("/users", users.create_user),
        _get("/users/{user_id}/password", users.password_form),
        _post("/users/{user_id}/password", users.set_password),
        _get("/users/{user_id}/delete", users.delete_form),
        _post("/users/{user_id}/delete", users.delete_user),
        _get("/sites", sites.site_list),
        _get("/sites/new", sites.new_site_form),
        _post("/sites/new", sites.new_site_submit),
        _get(site, sites.site_overview),
        _get(f"{site}/install", sites.install),
        _get(f"{site}/status", sites.status),
        _get(f"{site}/stats/aggregate", site_stats.aggregate),
        _get(f"{site}/stats/timeseries", site_stats.timeseries),
        _get(f"{site}/stats/breakdown", site_stats.breakdown),
        _get(f"{site}/stats/breakdown.csv", site_stats.breakdown_csv),
        _get(f"{site}/stats/property-keys", prop_keys.property_keys),
        _get(f"{site}/settings", site_settings.settings_form),
        _post(f"{site}/settings", site_settings.settings_submit),
        _get(f"{site}/delete", site_settings.delete_form),
        _post(f"{site}/delete", site_settings.delete_submit),
        _get(f"{site}/sharing", sharing.sharing_page),
        _post(f"{site}/sharing", sharing.share),
        _post(f"{site}/sharing/{{user_id}}/role", sharing.change_role),
        _post(f"{site}/sharing/{{user_id}}/remove", sharing.remove_member),
        _get(f"{site}/tokens", tokens.tokens_page),
        _post(f"{site}/tokens", tokens.create_token),
        _post(f"{site}/tokens/{{token_id}}/revoke", tokens.revoke_token),
        _post(f"{site}/tokens/{{token_id}}/rotate", tokens.rotate_token),
        _get(f"{site}/goals", goals.goals_page),
        _post(f"{site}/goals", goals.add_goal),
        _get(f"{site}/goals/{{goal_id}}/delete", goals.delete_form),
        _post(f"{site}/goals/{{goal_id}}/delete", goals.delete_submit),
        _get(f"{site}/live", live_keys.live_page),
        _post(f"{site}/live", live_keys.create_key),
        _post(f"{site}/live/{{key_id}}/revoke", live_keys.revoke_key),
        _get("/live", live.live_counts),
        _get("/live/stream", live.live_stream),
        _get("/static/{path:path}", static.static_file),
        _get("/favicon.ico", static.favicon),
    ]
