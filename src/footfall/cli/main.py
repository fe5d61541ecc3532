"""`footfall`: serve, migrate, and manage sites and API tokens.

Every command honours `--data-dir` / `FOOTFALL_DATA_DIR`. Site and token commands write to the
metadata database only, so they work while the server runs and take effect at its next request.
Commands that print data take `--json`; `tokens create` prints the token alone on its last line.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from footfall.clock import iso_millis
from footfall.config import Settings
from footfall.errors import NotFoundError
from footfall.storage import migrate as migrations
from footfall.storage.meta import SqlMetaStore, sqlite_engine

app = typer.Typer(help=__doc__, no_args_is_help=True, add_completion=False)
sites_app = typer.Typer(help="Add, list and delete websites.", no_args_is_help=True)
tokens_app = typer.Typer(help="Create, list and revoke API tokens.", no_args_is_help=True)
app.add_typer(sites_app, name="sites")
app.add_typer(tokens_app, name="tokens")

DataDir = Annotated[
    Path | None,
    typer.Option(
        "--data-dir",
        help="Data folder of the embedded tier [env: FOOTFALL_DATA_DIR; default ./footfall-data]",
        show_default=False,
    ),
]
JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]


def _settings(data_dir: Path | None, **overrides: Any) -> Settings:
    values = {k: v for k, v in overrides.items() if v is not None}
    if data_dir is not None:
        values["data_dir"] = data_dir
    return Settings(**values)


def _meta(data_dir: Path | None) -> SqlMetaStore:
    return SqlMetaStore.open_sqlite(_settings(data_dir).meta_path)


def _now() -> float:
    return datetime.now(UTC).timestamp()


def _when(ts: float | None) -> str:
    return "never" if ts is None else iso_millis(ts)


def _fail(message: str) -> typer.Exit:
    typer.echo(f"Error: {message}", err=True)
    return typer.Exit(1)


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
) -> None:
    """Run the server on the embedded tier (SQLite + DuckDB in the data folder)."""
    import uvicorn

    from footfall import logs
    from footfall.app import create_app

    settings = _settings(data_dir, host=host, port=port)
    logs.configure(settings.log_level)
    if demo:
        settings = settings.model_copy(update={"demo_site_id": _prepare_demo(settings)})
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_config=None,
        access_log=False,
        server_header=False,
        timeout_graceful_shutdown=10,
    )


def _prepare_demo(settings: Settings) -> str:
    from footfall.api.assets import snippet

    meta = SqlMetaStore.open_sqlite(settings.meta_path)
    try:
        existing = [s for s in meta.find_sites_by_domain("localhost") if s.name == "Demo site"]
        site = existing[0] if existing else meta.create_site("localhost", "Demo site", _now())
        token, _ = meta.create_token(site.id, _now(), name="demo")
    finally:
        meta.close()
    base = settings.base_url()
    lines = [
        "",
        f"Footfall is starting on the embedded tier (data in {settings.data_dir}).",
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
    settings = _settings(data_dir)
    engine = sqlite_engine(settings.meta_path)
    try:
        migrations.upgrade(engine)
        typer.echo(f"Metadata schema at revision {migrations.current_revision(engine)}")
    finally:
        engine.dispose()


# -- sites ----------------------------------------------------------------------------------


@sites_app.command("add")
def sites_add(
    domain: Annotated[str, typer.Argument(help="The domain the site is served on")],
    name: Annotated[str | None, typer.Option(help="Display name (default: the domain)")] = None,
    data_dir: DataDir = None,
    as_json: JsonFlag = False,
) -> None:
    """Add a website; prints its new website id."""
    meta = _meta(data_dir)
    try:
        try:
            site = meta.create_site(domain, name, _now())
        except ValueError as error:
            raise _fail(str(error)) from None
    finally:
        meta.close()
    if as_json:
        typer.echo(json.dumps({"websiteId": site.id, "domain": site.domain, "name": site.name}))
    else:
        typer.echo(f"Added {site.domain} ({site.name}). Website id:")
        typer.echo(site.id)


@sites_app.command("list")
def sites_list(data_dir: DataDir = None, as_json: JsonFlag = False) -> None:
    """List websites."""
    meta = _meta(data_dir)
    try:
        sites = meta.list_sites()
    finally:
        meta.close()
    if as_json:
        rows = [
            {
                "websiteId": s.id,
                "domain": s.domain,
                "name": s.name,
                "createdAt": _when(s.created_at),
            }
            for s in sites
        ]
        typer.echo(json.dumps(rows))
        return
    if not sites:
        typer.echo("No sites yet. Add one: footfall sites add example.com")
    for s in sites:
        typer.echo(f"{s.id}  {s.domain:30}  {s.name}")


@sites_app.command("delete")
def sites_delete(
    website_id: Annotated[str, typer.Argument(help="The website id")],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation")] = False,
    data_dir: DataDir = None,
) -> None:
    """Delete a website, its tokens and (once the server purges them) its events."""
    if not yes and not typer.confirm(f"Delete site {website_id} and all its data?"):
        raise typer.Exit(1)
    meta = _meta(data_dir)
    try:
        meta.delete_site(website_id, _now())
    except NotFoundError as error:
        raise _fail(str(error)) from None
    finally:
        meta.close()
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
    meta = _meta(data_dir)
    try:
        token, info = meta.create_token(website_id, _now(), name=name)
    except NotFoundError as error:
        raise _fail(str(error)) from None
    finally:
        meta.close()
    if as_json:
        typer.echo(
            json.dumps(
                {"id": info.id, "websiteId": website_id, "prefix": info.prefix, "token": token}
            )
        )
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
    meta = _meta(data_dir)
    try:
        if meta.get_site(website_id) is None:
            raise _fail(f"no site with id {website_id}")
        infos = meta.list_tokens(website_id)
    finally:
        meta.close()
    if as_json:
        typer.echo(
            json.dumps(
                [
                    {
                        "id": t.id,
                        "prefix": t.prefix,
                        "name": t.name,
                        "createdAt": _when(t.created_at),
                        "lastUsedAt": _when(t.last_used_at) if t.last_used_at else None,
                        "revokedAt": _when(t.revoked_at) if t.revoked_at else None,
                    }
                    for t in infos
                ]
            )
        )
        return
    if not infos:
        typer.echo(f"No tokens. Create one: footfall tokens create {website_id}")
    for t in infos:
        state = f"revoked {_when(t.revoked_at)}" if t.revoked_at else "active"
        typer.echo(
            f"{t.id}  {t.prefix}…  created {_when(t.created_at)}  "
            f"last used {_when(t.last_used_at)}  {state}  {t.name}"
        )


@tokens_app.command("revoke")
def tokens_revoke(
    token: Annotated[str, typer.Argument(help="Token id, its prefix (vt_XXXXXX), or the token")],
    data_dir: DataDir = None,
) -> None:
    """Revoke a token: it stops working at once, also on a running server."""
    meta = _meta(data_dir)
    try:
        info = meta.revoke_token(token, _now())
    except NotFoundError as error:
        raise _fail(str(error)) from None
    finally:
        meta.close()
    typer.echo(f"Revoked token {info.id} ({info.prefix}…) of {info.site_id}.")
