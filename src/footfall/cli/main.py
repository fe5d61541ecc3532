"""`footfall`: serve, migrate, and manage sites, API tokens and goals.

Every command honours `--data-dir` / `FOOTFALL_DATA_DIR`, or `FOOTFALL_DATABASE_URL` in cluster
mode. Site and token commands write to the metadata database only, so they work while servers
run and take effect within 100 ms (`FOOTFALL_META_RECHECK_MS`). Commands that print data take
`--json`; `tokens create` prints the token alone on its last line.
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from footfall.accounts.users import UserStore
from footfall.cli.common import (
    DataDir,
    JsonFlag,
    echo_json,
    fail,
    now,
    run_meta,
    settings_for,
    when,
    with_meta,
)
from footfall.cli.keys import keys_app
from footfall.cli.users import users_app
from footfall.config import Settings
from footfall.errors import NotFoundError, StoreInUse
from footfall.serving import uvicorn_options
from footfall.storage import migrate as migrations
from footfall.storage.events import EventStore
from footfall.storage.goals import Goal, GoalKind, GoalStore
from footfall.storage.meta import SqlMetaStore
from footfall.storage.models import Site, TokenInfo

app = typer.Typer(help=__doc__, no_args_is_help=True, add_completion=False)
sites_app = typer.Typer(help="Add, list, update and delete websites.", no_args_is_help=True)
tokens_app = typer.Typer(help="Create, list and revoke API tokens.", no_args_is_help=True)
app.add_typer(sites_app, name="sites")
app.add_typer(tokens_app, name="tokens")
app.add_typer(keys_app, name="keys")
app.add_typer(users_app, name="users")
goals_app = typer.Typer(help="Add, list and delete conversion goals.", no_args_is_help=True)
app.add_typer(goals_app, name="goals")

T = TypeVar("T")


# -- serve / migrate ------------------------------------------------------------------------


@app.command()
def serve(
    data_dir: DataDir = None,
    host: Annotated[str | None, typer.Option(help="Listen address [env: FOOTFALL_HOST]")] = None,
    port: Annotated[int | None, typer.Option(help="Listen port [env: FOOTFALL_PORT]")] = None,
    demo: Annotated[
        bool,
        typer.Option(help="Create (or reuse) a demo site, print a fresh token and serve /demo."),
    ] = False,
    workers: Annotated[
        int,
        typer.Option(min=1, help="Worker processes (cluster mode only; embedded: 1)."),
    ] = 1,
) -> None:
    """Run the server: embedded tier by default, cluster mode with FOOTFALL_DATABASE_URL."""
    import uvicorn

    from footfall import logs
    from footfall.app import create_app

    settings = settings_for(data_dir, host=host, port=port)
    logs.configure(settings.log_level)
    if workers > 1 and not settings.cluster:
        raise fail(
            "--workers needs cluster mode (FOOTFALL_DATABASE_URL and FOOTFALL_REDIS_URL): on "
            "the embedded tier one process owns the data folder's files."
        )
    if demo:
        settings = settings.model_copy(update={"demo_site_id": _prepare_demo(settings)})
    options = uvicorn_options(settings)
    if workers > 1:
        # Worker processes build their own app from the environment: pass the overrides on.
        os.environ["FOOTFALL_HOST"] = settings.host
        os.environ["FOOTFALL_PORT"] = str(settings.port)
        if settings.demo_site_id:
            os.environ["FOOTFALL_DEMO_SITE_ID"] = settings.demo_site_id
        uvicorn.run("footfall.app:app_from_environment", factory=True, workers=workers, **options)
    else:
        uvicorn.run(create_app(settings), **options)


def _prepare_demo(settings: Settings) -> str:
    from footfall.api.assets import snippet

    async def prepare(meta: SqlMetaStore) -> tuple[Site, str]:
        existing = [
            s for s in await meta.find_sites_by_domain("localhost") if s.name == "Demo site"
        ]
        site = existing[0] if existing else await meta.create_site("localhost", "Demo site", now())
        token, _ = await meta.create_token(site.id, now(), name="demo")
        return site, token

    site, token = with_meta(settings, prepare)
    users = with_meta(settings, lambda meta: UserStore(meta.engine).count())
    dashboard = "login   <- sign in" if users else "setup   <- create the owner account"
    base = settings.base_url()
    where = (
        "in cluster mode"
        if settings.cluster
        else f"on the embedded tier (data in {settings.data_dir})"
    )
    lines = [
        "",
        f"Footfall is starting {where}.",
        f"  Dashboard:   {base}/{dashboard}",
        f"  Demo page:   {base}/demo   <- open it: you become a current visitor",
        f"  API docs:    {base}/docs",
        f"  Website id:  {site.id}",
        f"  API token:   {token}   (shown once; stored only as a hash)",
        f"  Snippet:     {snippet(base, site.id)}",
        "  Live count:  curl -H 'Authorization: Bearer "
        f"{token}' '{base}/api/v1/realtime?websiteId={site.id}'",
        "",
    ]
    print("\n".join(lines), flush=True)
    return site.id


@app.command()
def migrate(data_dir: DataDir = None) -> None:
    """Apply metadata migrations (also done automatically on start)."""

    async def run(meta: SqlMetaStore) -> str | None:
        return await migrations.current_revision(meta.engine)

    revision = run_meta(data_dir, run)  # opening the store migrates it
    typer.echo(f"Metadata schema at revision {revision}")


# -- moving data ----------------------------------------------------------------------------


async def _open_event_store(settings: Settings) -> EventStore:
    if settings.database_url:
        from footfall.storage.postgres_events import PostgresEventStore

        return await PostgresEventStore.open(settings.database_url)
    from footfall.storage.duckdb_events import DuckDBEventStore

    return DuckDBEventStore(settings.events_path)


def _transfer(settings: Settings, action: Callable[[SqlMetaStore, EventStore], Awaitable[T]]) -> T:
    async def with_events(meta: SqlMetaStore) -> T:
        events = await _open_event_store(settings)
        try:
            return await action(meta, events)
        finally:
            await events.close()

    return with_meta(settings, with_events)


@app.command("export")
def export_command(
    path: Annotated[Path, typer.Argument(help="File to write (JSON lines)")],
    data_dir: DataDir = None,
) -> None:
    """Write every site, token digest and event to a file (stop an embedded server first)."""
    from footfall import transfer

    settings = settings_for(data_dir)
    try:
        with path.open("wb") as out:
            counts = _transfer(settings, lambda m, e: transfer.export_all(m, e, out, now()))
    except StoreInUse as error:
        raise fail(str(error)) from None
    typer.echo(f"Exported {counts.sites} sites, {counts.tokens} tokens, {counts.events} events.")


@app.command("import")
def import_command(
    path: Annotated[Path, typer.Argument(help="A file written by `footfall export`")],
    data_dir: DataDir = None,
) -> None:
    """Load an export into this installation (e.g. cluster mode); existing sites are refused."""
    from footfall import transfer

    settings = settings_for(data_dir)
    try:
        with path.open("rb") as source:
            counts = _transfer(settings, lambda m, e: transfer.import_all(m, e, source))
    except (ValueError, StoreInUse) as error:
        raise fail(str(error)) from None
    typer.echo(f"Imported {counts.sites} sites, {counts.tokens} tokens, {counts.events} events.")


# -- sites ----------------------------------------------------------------------------------


@sites_app.command("add")
def sites_add(
    domain: Annotated[str, typer.Argument(help="The domain the site is served on")],
    name: Annotated[str | None, typer.Option(help="Display name (default: the domain)")] = None,
    data_dir: DataDir = None,
    as_json: JsonFlag = False,
) -> None:
    """Add a website; prints its new website id."""
    try:
        site = run_meta(data_dir, lambda meta: meta.create_site(domain, name, now()))
    except ValueError as error:
        raise fail(str(error)) from None
    if as_json:
        echo_json({"websiteId": site.id, "domain": site.domain, "name": site.name})
    else:
        typer.echo(f"Added {site.domain} ({site.name}). Website id:")
        typer.echo(site.id)


@sites_app.command("list")
def sites_list(data_dir: DataDir = None, as_json: JsonFlag = False) -> None:
    """List websites."""
    sites = run_meta(data_dir, lambda meta: meta.list_sites())
    if as_json:
        rows = [
            {
                "websiteId": s.id,
                "domain": s.domain,
                "name": s.name,
                "createdAt": when(s.created_at),
            }
            for s in sites
        ]
        echo_json(rows)
        return
    if not sites:
        typer.echo("No sites yet. Add one: footfall sites add example.com")
    for s in sites:
        # The live counter minimum only where one is set: it is rare, and 0 means none.
        minimum = f"  (live counter min {s.live_min_count})" if s.live_min_count else ""
        typer.echo(f"{s.id}  {s.domain:30}  {s.name}{minimum}")


def _live_minimum(site: Site) -> str:
    """The site's live counter minimum as the text listings show it."""
    if not site.live_min_count:
        return "0 (counts always shown)"
    return f"{site.live_min_count} (fewer current visitors are not shown)"


def _site_settings_json(site: Site) -> dict[str, Any]:
    return {
        "websiteId": site.id,
        "domain": site.domain,
        "name": site.name,
        "timezone": site.timezone,
        "allowedHostnames": list(site.allowed_hostnames),
        "honorGpc": site.honor_gpc,
        "retentionDays": site.retention_days,
        "liveMinCount": site.live_min_count,
    }


@sites_app.command("update")
def sites_update(
    website_id: Annotated[str, typer.Argument(help="The website id")],
    name: Annotated[str | None, typer.Option(help="Display name")] = None,
    timezone: Annotated[
        str | None, typer.Option(help="IANA time zone of the site's reports, e.g. Europe/Paris")
    ] = None,
    honor_gpc: Annotated[
        bool | None,
        typer.Option(
            "--honor-gpc/--no-honor-gpc",
            help="Drop events from browsers sending Sec-GPC: 1 or DNT: 1",
            show_default=False,
        ),
    ] = None,
    retention_days: Annotated[
        int | None,
        typer.Option(
            min=0, max=36_500, help="Delete events older than this many days (0: keep them all)"
        ),
    ] = None,
    allowed_hostnames: Annotated[
        list[str] | None,
        typer.Option(
            "--allowed-hostname",
            help="A hostname beyond the domain whose events count (exact, or *.example.org); "
            "repeat for several; replaces the list",
        ),
    ] = None,
    clear_allowed_hostnames: Annotated[
        bool, typer.Option("--clear-allowed-hostnames", help="Empty the list of hostnames")
    ] = False,
    live_min_count: Annotated[
        int | None,
        typer.Option(
            "--live-min-count",
            help="Public live counters (publishable keys) show nothing below this many "
            "current visitors (0: always show; at most 1000000)",
            show_default=False,
        ),
    ] = None,
    data_dir: DataDir = None,
    as_json: JsonFlag = False,
) -> None:
    """Change a website's settings (those not given stay as they are); prints them all."""
    changes: dict[str, Any] = {}
    if name is not None:
        changes["name"] = name
    if timezone is not None:
        changes["timezone"] = timezone
    if honor_gpc is not None:
        changes["honor_gpc"] = honor_gpc
    if retention_days is not None:
        changes["retention_days"] = retention_days or None
    if allowed_hostnames and clear_allowed_hostnames:
        raise fail("give either --allowed-hostname or --clear-allowed-hostnames, not both")
    if allowed_hostnames or clear_allowed_hostnames:
        changes["allowed_hostnames"] = tuple(allowed_hostnames or ())
    if live_min_count is not None:
        # Checked by the store (`check_site_settings`), the rule the dashboard's form obeys.
        changes["live_min_count"] = live_min_count
    if not changes:
        raise fail("nothing to change: give at least one setting (see --help)")
    try:
        site = run_meta(data_dir, lambda meta: meta.update_site(website_id, **changes))
    except (NotFoundError, ValueError) as error:
        raise fail(str(error)) from None
    if as_json:
        echo_json(_site_settings_json(site))
        return
    retention = f"{site.retention_days} days" if site.retention_days else "keep all events"
    typer.echo(f"Updated {site.domain} ({site.name}), website id {site.id}:")
    typer.echo(f"  time zone          {site.timezone}")
    typer.echo(f"  allowed hostnames  {', '.join(site.allowed_hostnames) or '(domain only)'}")
    typer.echo(f"  honour GPC/DNT     {'yes' if site.honor_gpc else 'no'}")
    typer.echo(f"  retention          {retention}")
    typer.echo(f"  live counter min   {_live_minimum(site)}")


@sites_app.command("delete")
def sites_delete(
    website_id: Annotated[str, typer.Argument(help="The website id")],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation")] = False,
    data_dir: DataDir = None,
) -> None:
    """Delete a website, its tokens and (once the server purges them) its events."""
    if not yes and not typer.confirm(f"Delete site {website_id} and all its data?"):
        raise typer.Exit(1)
    try:
        run_meta(data_dir, lambda meta: meta.delete_site(website_id, now()))
    except NotFoundError as error:
        raise fail(str(error)) from None
    typer.echo(f"Deleted site {website_id}.")


# -- tokens ---------------------------------------------------------------------------------


@tokens_app.command("create")
def tokens_create(
    website_id: Annotated[str, typer.Argument(help="The website id")],
    name: Annotated[str, typer.Option(help="A label to recognise the token by")] = "",
    data_dir: DataDir = None,
    as_json: JsonFlag = False,
) -> None:
    """Create an API token; prints it once (the last line of output is the token alone)."""
    try:
        token, info = run_meta(data_dir, lambda meta: meta.create_token(website_id, now(), name))
    except NotFoundError as error:
        raise fail(str(error)) from None
    if as_json:
        echo_json({"id": info.id, "websiteId": website_id, "prefix": info.prefix, "token": token})
        return
    typer.echo(f"Token {info.id} for {website_id}. Copy it now: it is not shown again.")
    typer.echo(token)


@tokens_app.command("list")
def tokens_list(
    website_id: Annotated[str, typer.Argument(help="The website id")],
    data_dir: DataDir = None,
    as_json: JsonFlag = False,
) -> None:
    """List a website's tokens by prefix, with created and last-used times."""

    async def listing(meta: SqlMetaStore) -> list[TokenInfo]:
        if await meta.get_site(website_id) is None:
            raise NotFoundError(f"no site with id {website_id}")
        return await meta.list_tokens(website_id)

    try:
        infos = run_meta(data_dir, listing)
    except NotFoundError as error:
        raise fail(str(error)) from None
    if as_json:
        echo_json(
            [
                {
                    "id": t.id,
                    "prefix": t.prefix,
                    "name": t.name,
                    "createdAt": when(t.created_at),
                    "lastUsedAt": when(t.last_used_at) if t.last_used_at else None,
                    "revokedAt": when(t.revoked_at) if t.revoked_at else None,
                }
                for t in infos
            ]
        )
        return
    if not infos:
        typer.echo(f"No tokens. Create one: footfall tokens create {website_id}")
    for t in infos:
        state = f"revoked {when(t.revoked_at)}" if t.revoked_at else "active"
        typer.echo(
            f"{t.id}  {t.prefix}…  created {when(t.created_at)}  "
            f"last used {when(t.last_used_at)}  {state}  {t.name}"
        )


@tokens_app.command("revoke")
def tokens_revoke(
    token: Annotated[str, typer.Argument(help="Token id, its prefix (vt_XXXXXX), or the token")],
    data_dir: DataDir = None,
) -> None:
    """Revoke a token: it stops working at once, also on a running server."""
    try:
        info = run_meta(data_dir, lambda meta: meta.revoke_token(token, now()))
    except NotFoundError as error:
        raise fail(str(error)) from None
    typer.echo(f"Revoked token {info.id} ({info.prefix}…) of {info.site_id}.")


# -- goals ----------------------------------------------------------------------------------


def _goal_json(goal: Goal) -> dict[str, Any]:
    return {
        "id": goal.id,
        "websiteId": goal.site_id,
        "kind": goal.kind,
        "match": goal.match,
        "name": goal.name,
        "createdAt": when(goal.created_at),
    }


@goals_app.command("add")
def goals_add(
    website_id: Annotated[str, typer.Argument(help="The website id")],
    page: Annotated[
        str | None,
        typer.Option(
            "--page",
            help="Pageviews whose path matches: /signup (exact), /product/*/buy (* within a "
            "segment), /blog/** (** across segments)",
        ),
    ] = None,
    event: Annotated[str | None, typer.Option("--event", help="A custom event's name")] = None,
    name: Annotated[
        str | None,
        typer.Option(
            help="Display name, used by the event:goal filter [default: Visit PATTERN "
            "or the event name]"
        ),
    ] = None,
    data_dir: DataDir = None,
    as_json: JsonFlag = False,
) -> None:
    """Add a goal: pageviews on a path pattern (--page) or a custom event (--event)."""
    kind: GoalKind
    if page is not None and event is None:
        kind, match = "pageview", page
    elif event is not None and page is None:
        kind, match = "event", event
    else:
        raise fail("give either --page PATTERN or --event NAME")
    try:
        goal = run_meta(
            data_dir,
            lambda meta: GoalStore(meta.engine).create(website_id, kind, match, now(), name),
        )
    except (NotFoundError, ValueError) as error:
        raise fail(str(error)) from None
    if as_json:
        echo_json(_goal_json(goal))
    else:
        typer.echo(f"Added goal {goal.id}: {goal.name} ({goal.kind} {goal.match}).")


@goals_app.command("list")
def goals_list(
    website_id: Annotated[str, typer.Argument(help="The website id")],
    data_dir: DataDir = None,
    as_json: JsonFlag = False,
) -> None:
    """List a website's goals."""

    async def listing(meta: SqlMetaStore) -> list[Goal]:
        if await meta.get_site(website_id) is None:
            raise NotFoundError(f"no site with id {website_id}")
        return await GoalStore(meta.engine).for_site(website_id)

    try:
        goals = run_meta(data_dir, listing)
    except NotFoundError as error:
        raise fail(str(error)) from None
    if as_json:
        echo_json([_goal_json(goal) for goal in goals])
        return
    if not goals:
        typer.echo(f"No goals. Add one: footfall goals add {website_id} --page /signup")
    for goal in goals:
        typer.echo(f"{goal.id}  {goal.kind:8}  {goal.match:30}  {goal.name}")


@goals_app.command("delete")
def goals_delete(
    goal_id: Annotated[str, typer.Argument(help="The goal id (see goals list)")],
    data_dir: DataDir = None,
) -> None:
    """Delete a goal: it leaves the stats at once (the events stay)."""
    try:
        goal = run_meta(data_dir, lambda meta: GoalStore(meta.engine).delete(goal_id))
    except NotFoundError as error:
        raise fail(str(error)) from None
    typer.echo(f"Deleted goal {goal.id} ({goal.name}) of {goal.site_id}.")
