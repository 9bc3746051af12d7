"""`keyledger workspaces sso set|show|disable`: a workspace's single sign-on from a shell.

The operator acts for the Owner or an Admin named by `--by`, whose role is checked as for
the HTTP API. The client secret is read from stdin only and never printed: the output says
whether there is one. Exit codes: 0 done, 1 refused, 2 bad arguments.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

import msgspec

from schemas.http.sso import SsoRequest, SsoView
from services.authority import Authority
from services.connections.connector import open_connector
from services.refusals import Refused
from services.sso import config
from services.subcommand import METADATA, Runner, UsageError, emit, guarded, handler, leaf
from services.users import user_id_of

__all__ = ["add_sso_commands"]


class SsoDisabledAnswer(msgspec.Struct, frozen=True, kw_only=True):
    workspace_id: str
    disabled: bool


def _claim(text: str) -> tuple[str, str]:
    fact, sep, claim = text.partition("=")
    if not sep or not fact or not claim:
        raise argparse.ArgumentTypeError(f"FACT=CLAIM (e.g. email=upn), got {text!r}")
    return fact, claim


async def _user_id(authority: Authority, username: str) -> str:
    user_id = await user_id_of(authority.pool, username) if len(username) <= 255 else None
    if user_id is None:
        raise Refused("not_found", f"no user {username!r}")
    return user_id


def _human(view: SsoView) -> list[str]:
    claims = " ".join(f"{fact}={claim}" for fact, claim in view.claims.items())
    return [
        f"workspace_id: {view.workspace_id}",
        f"issuer: {view.issuer}",
        f"client_id: {view.client_id} (secret: {'yes' if view.has_client_secret else 'no'})",
        f"domains: {' '.join(view.allowed_domains)}",
        f"claims: {claims}",
        f"required: {'yes' if view.required else 'no'}",
        f"trust_email: {'yes' if view.trust_email else 'no'}",
        f"redirect_uri: {view.redirect_uri}  (register it at the provider)",
    ]


def _request(args: argparse.Namespace) -> SsoRequest:
    secret = None
    if args.client_secret_stdin:
        secret = sys.stdin.read().removesuffix("\n").removesuffix("\r")
        if not secret:
            raise UsageError("no client secret on stdin")
    return SsoRequest(
        issuer=args.issuer, client_id=args.client_id, client_secret=secret,
        client_auth=args.client_auth, allowed_domains=list(args.domains),
        claims=dict(args.claims), scopes=list(args.scopes or ["openid", "email", "profile"]),
        trust_email=args.trust_email, required=args.required,
    )  # fmt: skip


def cmd_set(args: argparse.Namespace, run: Runner) -> int:
    request = _request(args)

    async def body(authority: Authority) -> int:
        connector = open_connector(authority.settings, authority.pool, authority.store)
        try:
            actor = await _user_id(authority, args.by)
            view = await config.configure(connector, args.workspace_id, actor, request, METADATA)
        finally:
            await connector.close()
        emit(args, view, _human(view))
        return 0

    return run(args, guarded(body))


def cmd_show(args: argparse.Namespace, run: Runner) -> int:
    async def body(authority: Authority) -> int:
        connector = open_connector(authority.settings, authority.pool, authority.store)
        try:
            view = await config.show(connector, args.workspace_id)
        finally:
            await connector.close()
        emit(args, view, _human(view))
        return 0

    return run(args, guarded(body))


def cmd_disable(args: argparse.Namespace, run: Runner) -> int:
    async def body(authority: Authority) -> int:
        connector = open_connector(authority.settings, authority.pool, authority.store)
        try:
            actor = await _user_id(authority, args.by)
            await config.disable(connector, args.workspace_id, actor, args.reason, METADATA)
        finally:
            await connector.close()
        answer = SsoDisabledAnswer(workspace_id=args.workspace_id, disabled=True)
        emit(args, answer, ["single sign-on disabled: passwords work again"])
        return 0

    return run(args, guarded(body))


def add_sso_commands(workspace_actions: Any, run: Runner) -> None:
    """`workspaces sso set|show|disable`."""
    group = workspace_actions.add_parser("sso", help="a workspace's single sign-on")
    actions = group.add_subparsers(dest="sso_action", required=True)
    set_ = leaf(actions, "set", "configure (or replace) the provider", handler(cmd_set, run))
    set_.add_argument("--issuer", required=True, metavar="URL", help="discovered once, now")
    set_.add_argument("--client-id", required=True, metavar="ID")
    set_.add_argument(
        "--client-secret-stdin", action="store_true",
        help="read the client secret from stdin (omitted: the current one is kept)",
    )  # fmt: skip
    set_.add_argument(
        "--client-auth", default="client_secret_basic",
        choices=("client_secret_basic", "client_secret_post", "none"),
    )  # fmt: skip
    set_.add_argument(
        "--domain", dest="domains", action="append", required=True, metavar="D",
        help="an email domain of the company's people (repeat)",
    )  # fmt: skip
    set_.add_argument(
        "--claim", dest="claims", action="append", type=_claim, default=[], metavar="FACT=CLAIM",
        help="subject, email, email_verified or name, read from another claim (repeat)",
    )  # fmt: skip
    set_.add_argument("--scope", dest="scopes", action="append", metavar="S")
    set_.add_argument(
        "--trust-email", action="store_true",
        help="the provider is the company's directory: its emails count as verified",
    )  # fmt: skip
    set_.add_argument(
        "--required", action="store_true",
        help="refuse password sign-in to the company's people (service accounts excepted)",
    )  # fmt: skip
    show = leaf(actions, "show", "the configuration (never the secret)", handler(cmd_show, run))
    disable = leaf(actions, "disable", "stop single sign-on", handler(cmd_disable, run))
    disable.add_argument("--reason", default="")
    for parser in (set_, show, disable):
        parser.add_argument("workspace_id")
    for parser in (set_, disable):
        parser.add_argument("--by", required=True, metavar="USERNAME", help="who acts")
