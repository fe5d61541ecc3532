"""`footfall users`: dashboard accounts from the command line.

Passwords are prompted twice without echo, or read from the first line of stdin with
`--password-stdin` (for scripts; never as an argument, where `ps` and shell history would
show it). The first account of an installation is always an administrator, like the one the
dashboard's first-run page creates. Changing a password or deleting a user ends their
sessions at once, also on a running server.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from footfall.accounts.directory import LastAdmin, UserDirectory
from footfall.accounts.models import User
from footfall.accounts.sessions import SessionStore
from footfall.accounts.users import UserStore
from footfall.cli.common import DataDir, JsonFlag, echo_json, fail, now, run_meta
from footfall.clock import iso_millis
from footfall.errors import NotFoundError
from footfall.storage.meta import SqlMetaStore

users_app = typer.Typer(
    help="Create, list and delete dashboard users; set passwords.", no_args_is_help=True
)

PasswordStdin = Annotated[
    bool,
    typer.Option("--password-stdin", help="Read the password from the first line of stdin."),
]


def _password(from_stdin: bool) -> str:
    if from_stdin:
        line = sys.stdin.readline()
        return line[:-1] if line.endswith("\n") else line
    value: str = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    return value


@users_app.command("create")
def users_create(
    email: Annotated[str, typer.Argument(help="The user's email address (their login)")],
    admin: Annotated[
        bool, typer.Option("--admin", help="An administrator: sees and manages every site.")
    ] = False,
    password_stdin: PasswordStdin = False,
    data_dir: DataDir = None,
) -> None:
    """Create a dashboard user (the installation's first user is always an administrator)."""
    password = _password(password_stdin)

    async def create(meta: SqlMetaStore) -> tuple[str, bool]:
        store = UserStore(meta.engine)
        first = await store.count() == 0
        user = await store.create(email, password, now(), is_admin=admin or first)
        return user.email, user.is_admin

    try:
        address, is_admin = run_meta(data_dir, create)
    except ValueError as error:
        raise fail(str(error)) from None
    typer.echo(f"Created user {address}{' (administrator)' if is_admin else ''}.")


@users_app.command("list")
def users_list(
    data_dir: DataDir = None,
    as_json: JsonFlag = False,
) -> None:
    """List dashboard users."""
    found = run_meta(data_dir, lambda meta: UserStore(meta.engine).list())
    if as_json:
        rows = [
            {
                "id": u.id,
                "email": u.email,
                "admin": u.is_admin,
                "createdAt": iso_millis(u.created_at),
            }
            for u in found
        ]
        echo_json(rows)
        return
    if not found:
        typer.echo("No users yet. Open the dashboard, or: footfall users create EMAIL --admin")
    for u in found:
        typer.echo(
            f"{u.email:40}  {'admin' if u.is_admin else 'user':5}  {iso_millis(u.created_at)}"
        )


@users_app.command("delete")
def users_delete(
    email: Annotated[str, typer.Argument(help="The user's email address")],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation")] = False,
    data_dir: DataDir = None,
) -> None:
    """Delete a user: their sessions end and their site memberships go (sites stay). The
    installation's last administrator cannot be deleted (create another one first)."""
    if not yes and not typer.confirm(f"Delete user {email}?"):
        raise typer.Exit(1)

    async def delete(meta: SqlMetaStore) -> User:
        user = await UserStore(meta.engine).by_email(email)
        if user is None:
            raise NotFoundError(f"no user with email {email.strip()}")
        await UserDirectory(meta.engine).delete(user.id)
        return user

    try:
        user = run_meta(data_dir, delete)
    except NotFoundError as error:
        raise fail(str(error)) from None
    except LastAdmin as error:
        hint = "first make another one: footfall users create EMAIL --admin"
        raise fail(f"{error}; {hint}") from None
    typer.echo(f"Deleted user {user.email}.")


@users_app.command("set-password")
def users_set_password(
    email: Annotated[str, typer.Argument(help="The user's email address")],
    password_stdin: PasswordStdin = False,
    data_dir: DataDir = None,
) -> None:
    """Set a user's password and sign them out everywhere."""
    password = _password(password_stdin)

    async def change(meta: SqlMetaStore) -> int:
        store = UserStore(meta.engine)
        user = await store.by_email(email)
        if user is None:
            raise NotFoundError(f"no user with email {email.strip()}")
        await store.set_password(user.id, password, now())
        return await SessionStore(meta.engine).end_all_for(user.id)

    try:
        ended = run_meta(data_dir, change)
    except (ValueError, NotFoundError) as error:
        raise fail(str(error)) from None
    typer.echo(f"Password of {email.strip().lower()} changed; {ended} session(s) signed out.")
