"""`footfall keys`: publishable (`pk_`) keys for the live-counter widget.

A publishable key may only read a site's live visitor count — of the paths it names, from the
origins it names — so it can sit in a public web page, unlike a secret `vt_` token. Like every
metadata command these work while servers run: a new or revoked key applies to their next
request. `keys create` prints the key alone on its last line.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from footfall.cli.common import DataDir, JsonFlag, echo_json, fail, now, run_meta
from footfall.clock import iso_millis
from footfall.errors import NotFoundError
from footfall.storage.publishable_keys import PublishableKey, PublishableKeyStore

keys_app = typer.Typer(
    help="Create, list and revoke publishable keys (live-counter widget).", no_args_is_help=True
)

T = TypeVar("T")


def _run(data_dir: Path | None, action: Callable[[PublishableKeyStore], Awaitable[T]]) -> T:
    return run_meta(data_dir, lambda meta: action(PublishableKeyStore(meta)))


def key_json(key: PublishableKey) -> dict[str, Any]:
    """A key as `--json` prints it (and the API token page shows it)."""
    return {
        "id": key.id,
        "websiteId": key.site_id,
        "key": key.key,
        "name": key.name,
        "origins": list(key.allowed_origins),
        "paths": [str(p) for p in key.allowed_paths],
        "createdAt": iso_millis(key.created_at),
        "lastUsedAt": iso_millis(key.last_used_at) if key.last_used_at else None,
        "revokedAt": iso_millis(key.revoked_at) if key.revoked_at else None,
    }


def _describe(key: PublishableKey) -> str:
    origins = ", ".join(key.allowed_origins)
    paths = ", ".join(str(p) for p in key.allowed_paths) or "any path"
    return f"origins {origins}; paths {paths}"


@keys_app.command("create")
def keys_create(
    website_id: Annotated[str, typer.Argument(help="The website id")],
    origin: Annotated[
        list[str] | None,
        typer.Option(
            "--origin",
            help="An origin the widget runs on, e.g. https://example.com (repeatable; "
            "'*' for any origin).",
        ),
    ] = None,
    path: Annotated[
        list[str] | None,
        typer.Option(
            "--path",
            help="A page (/pricing) or section (/pricing/*) whose count the key may read "
            "(repeatable; none: every page and the whole site).",
        ),
    ] = None,
    name: Annotated[str, typer.Option(help="A label to recognise the key by")] = "",
    data_dir: DataDir = None,
    as_json: JsonFlag = False,
) -> None:
    """Create a publishable key; prints it (the last line of output is the key alone)."""
    try:
        key = _run(
            data_dir,
            lambda keys: keys.create(
                website_id, now(), origins=origin or [], paths=path or [], name=name
            ),
        )
    except (ValueError, NotFoundError) as error:
        raise fail(str(error)) from None
    if as_json:
        echo_json(key_json(key))
        return
    typer.echo(f"Publishable key {key.id} for {website_id} ({_describe(key)}):")
    typer.echo(key.key)


@keys_app.command("list")
def keys_list(
    website_id: Annotated[str, typer.Argument(help="The website id")],
    data_dir: DataDir = None,
    as_json: JsonFlag = False,
) -> None:
    """List a website's publishable keys with their origins, paths and last use."""
    try:
        found = _run(data_dir, lambda keys: keys.list_keys(website_id))
    except NotFoundError as error:
        raise fail(str(error)) from None
    if as_json:
        echo_json([key_json(k) for k in found])
        return
    if not found:
        typer.echo(f"No publishable keys. Create one: footfall keys create {website_id} --origin …")
    for k in found:
        state = f"revoked {iso_millis(k.revoked_at)}" if k.revoked_at else "active"
        used = iso_millis(k.last_used_at) if k.last_used_at else "never"
        typer.echo(f"{k.id}  {k.key}  {_describe(k)}  last used {used}  {state}  {k.name}")


@keys_app.command("revoke")
def keys_revoke(
    key: Annotated[str, typer.Argument(help="The key (pk_…) or its id")],
    data_dir: DataDir = None,
) -> None:
    """Revoke a publishable key: it stops working at once, also on running servers."""
    try:
        revoked = _run(data_dir, lambda keys: keys.revoke(key, now()))
    except NotFoundError as error:
        raise fail(str(error)) from None
    typer.echo(f"Revoked publishable key {revoked.id} ({revoked.key}) of {revoked.site_id}.")
