"""`clientele backoffice ...`: the back office's users and their API tokens, thin over
`backoffice.services`."""

from __future__ import annotations

from typing import Annotated, Optional

import typer
from rich.console import Console

from clientele.backoffice.roles import ROLES

app = typer.Typer(help="The back office on the web: users, roles, API tokens.", no_args_is_help=True)
console = Console()

URL = "http://127.0.0.1:8000/backoffice/"
SERVE = ("granian --interface wsgi clientele.site.wsgi:application --workers 2 --blocking-threads 4 "
         "--host 127.0.0.1 --port 8000 --no-ws")


@app.callback()
def start_django() -> None:
    from clientele.cli import django_setup  # the `clientele` command owns Django's start-up

    django_setup()


@app.command("add-user")
def add_user(
    username: Annotated[str, typer.Argument(help="The name the person logs in with.")],
    role: Annotated[Optional[str], typer.Option(help=f"One of: {', '.join(ROLES)}.")] = None,
    store: Annotated[Optional[int], typer.Option(help="A store manager's store number.")] = None,
    superuser: Annotated[bool, typer.Option(help="Every permission (the first account).")] = False,
    password: Annotated[str, typer.Option(prompt=True, hide_input=True, confirmation_prompt=True,
                                          envvar="CLIENTELE_NEW_USER_PASSWORD",
                                          help="Asked for when not given.")] = "",
) -> None:
    """Create a back-office user with a role, who can then log in at /backoffice/."""
    from clientele.backoffice.services import add_user as create

    user = create(username, password, role, store_id=store, superuser=superuser)
    console.print(f"[green]User {user.get_username()} created[/] ({'superuser' if superuser else role or 'no role'}); "
                  f"log in at {URL}")


@app.command("issue-token")
def issue_token(
    username: Annotated[str, typer.Argument(help="The user the token acts as (same role, same masking).")],
    name: Annotated[str, typer.Option(help="What the token is for, e.g. 'mailing tool'.")],
) -> None:
    """A token for the back-office API (/api/backoffice/docs), shown once: send it as
    `Authorization: Bearer TOKEN`."""
    from django.contrib.auth import get_user_model

    from clientele.backoffice.services import issue_token as issue

    user = get_user_model().objects.filter(username=username).first()
    if user is None:
        console.print(f"[red]error:[/] no user {username!r}: create it with `clientele backoffice add-user`")
        raise typer.Exit(2)
    token, raw = issue(user, name)
    console.print(f"Token {token.prefix}… for {username} ({name}); shown once:\n{raw}")


@app.command("how-to-log-in")
def how_to_log_in() -> None:
    """How to serve the back office and log in (printed at the end of `make run`)."""
    from django.contrib.auth import get_user_model

    from clientele.backoffice.services import role_names

    has_users = get_user_model().objects.exists()
    console.print(f"Back office: serve it with\n  .venv/bin/{SERVE}\nthen open {URL}", soft_wrap=True)
    if not has_users:
        console.print("First account: .venv/bin/clientele backoffice add-user admin --superuser"
                      "\nThen one per person, with a role: .venv/bin/clientele backoffice add-user NAME "
                      f"--role 'service agent' (roles: {', '.join(role_names())}; docs/backoffice.md)", soft_wrap=True)
