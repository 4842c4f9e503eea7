"""`emstrack webpush keys`: the key pair that signs this server's web pushes (VAPID)."""

from __future__ import annotations

import sys

import typer

from emstrack.cli import _common
from emstrack.notify.webpush import new_keys

app = typer.Typer(
    help="Web push notifications of the app: make the server's key pair.", no_args_is_help=True
)


@app.callback()
def webpush() -> None:
    """Web push notifications of the app (the `webpush` channel)."""


@app.command("keys")
def webpush_keys() -> None:
    """Make a new VAPID key pair and print it as the two settings to set.

    Browsers bind each push subscription to the public key: a new pair makes every existing
    push subscription fail (and end), so make it once and keep it.
    """
    public, private = new_keys()
    # The settings alone on stdout, so that `emstrack webpush keys >> .env` keeps only them.
    sys.stdout.write(
        f"EMSTRACK_WEBPUSH_PUBLIC_KEY={public}\nEMSTRACK_WEBPUSH_PRIVATE_KEY={private}\n"
    )
    _common.err.print(
        "Set both, and EMSTRACK_WEBPUSH_SUBJECT (a mailto: address or an https: page push "
        "services may contact), in the environment of the web server and of the worker. "
        "Keep EMSTRACK_WEBPUSH_PRIVATE_KEY secret, like EMSTRACK_SECRET_KEY: whoever has it "
        "can push to every subscribed browser. Make the pair once: browsers' subscriptions "
        "are tied to the public key, and a new pair ends them all.",
        highlight=False,
        soft_wrap=True,
    )
