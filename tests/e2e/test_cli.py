"""The admin CLI as a process, on the suite's database and master key, seen by the real app."""

from __future__ import annotations

import asyncio
import json
import os
import shlex
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from litestar.testing import AsyncTestClient

from domain.policies.totp import key_from_b32, totp
from infra.config import Settings
from schemas.envelope import Metadata
from services.authority import Authority
from services.users import create_user
from tests.e2e.conftest import free_port

pytestmark = pytest.mark.asyncio


@dataclass(frozen=True)
class Run:
    code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        assert self.code == 0, self.stderr
        return json.loads(self.stdout)


def _bare_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("KEYLEDGER_")}


def _env(settings: Settings) -> dict[str, str]:
    """What an operator exports to administer the suite's server: its database and key."""
    return {
        **_bare_env(),
        "KEYLEDGER_DATABASE_URL": settings.database_url or "",
        "KEYLEDGER_MASTER_KEY": settings.master_key or "",
        "KEYLEDGER_DATA_DIR": settings.data_dir,
    }


async def _cli(env: dict[str, str], command: str, *extra: str, stdin: str = "") -> Run:
    """`keyledger <command> <extra...>`; `command` is split like a shell line."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "services.cli", *shlex.split(command), *extra,
        env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    out, err = await process.communicate(stdin.encode())
    assert process.returncode is not None
    return Run(process.returncode, out.decode(), err.decode())


async def _token(
    api: AsyncTestClient,  # type: ignore[type-arg]
    client_id: str,
    secret: str,
    scope: str = "read",
) -> str:
    issued = await api.post(
        "/oauth/token",
        data={"grant_type": "client_credentials", "scope": scope},
        auth=(client_id, secret),
    )
    assert issued.status_code == 200, issued.text
    token: str = issued.json()["access_token"]
    return token


_CREATE_SERVICE = "clients create --grant-type client_credentials --scope read --json --name"


async def test_client_created_by_the_cli_gets_tokens_from_the_server(
    api: AsyncTestClient,  # type: ignore[type-arg]
    settings: Settings,
) -> None:
    env = _env(settings)
    created = (await _cli(env, f"{_CREATE_SERVICE} billing --scope write --access-ttl 600")).json()
    assert set(created) == {"client_id", "client_secret"}

    # Same database and same master key: the server verifies the secret the CLI digested.
    issued = await api.post(
        "/oauth/token",
        data={"grant_type": "client_credentials", "scope": "read"},
        auth=(created["client_id"], created["client_secret"]),
    )
    assert issued.status_code == 200, issued.text
    assert issued.json()["expires_in"] == 600

    listing = (await _cli(env, "clients list --json")).json()
    mine = [c for c in listing["clients"] if c["client_id"] == created["client_id"]]
    assert mine and mine[0]["status"] == "active" and mine[0]["scopes"] == ["read", "write"]
    assert created["client_secret"] not in json.dumps(listing)
    assert "digest" not in json.dumps(listing)


async def test_public_client_has_no_secret_and_bad_registrations_exit_2(
    settings: Settings,
) -> None:
    env = _env(settings)
    public = await _cli(
        env,
        "clients create --name spa --grant-type authorization_code --public --json"
        " --redirect-uri https://app.example/cb --scope-reason 'read=to show your files'",
    )
    assert set(public.json()) == {"client_id"}

    invalid = await _cli(env, "clients create --name x --grant-type implicit --json")
    assert invalid.code == 2 and "grant types" in invalid.stderr and invalid.stdout == ""
    missing = await _cli(env, "clients create --name x")
    assert missing.code == 2  # argparse: --grant-type is required
    malformed = await _cli(env, "clients create --name x --grant-type password --scope-reason x")
    assert malformed.code == 2 and "SCOPE=TEXT" in malformed.stderr


async def test_user_created_with_otp_signs_in_with_the_stdin_password_and_a_code(
    api: AsyncTestClient,  # type: ignore[type-arg]
    settings: Settings,
    make_client: Any,
) -> None:
    env, username = _env(settings), f"ada-{uuid.uuid4().hex[:8]}"
    password = "correct horse battery staple"
    created = await _cli(
        env, f"users create --username {username} --password-stdin --otp --json",
        stdin=password + "\n",
    )  # fmt: skip
    enrolment = created.json()
    assert set(enrolment) == {"user_id", "otp_secret", "otp_uri"}
    assert enrolment["otp_uri"].startswith("otpauth://totp/")
    assert f"secret={enrolment['otp_secret']}" in enrolment["otp_uri"]
    assert password not in created.stdout + created.stderr

    # The password lost only its trailing newline; the seed was sealed under the server's key.
    client = await make_client(grant_types=("password",), scopes=("read",))
    signed_in = await api.post(
        "/oauth/token",
        data={"grant_type": "password", "username": username, "password": password},
        headers={"x-otp-code": totp(key_from_b32(enrolment["otp_secret"]), int(time.time()))},
        auth=client.basic,
    )
    assert signed_in.status_code == 200, signed_in.text

    create = f"users create --password-stdin --username {username}"
    taken = await _cli(env, create, stdin=password)
    assert taken.code == 1 and "taken" in taken.stderr
    short = await _cli(env, f"{create}-2", stdin="short\n")
    assert short.code == 2 and "at least" in short.stderr
    empty = await _cli(env, f"{create}-3", stdin="\n")
    assert empty.code == 2 and "no password" in empty.stderr

    disabled = await _cli(env, f"users disable --username {username} --reason left --json")
    assert disabled.json() == {"user_id": enrolment["user_id"], "username": username}
    again = await _cli(env, f"users disable --username {username}")
    assert again.code == 1 and "already disabled" in again.stderr
    unknown = await _cli(env, "users enable-otp --username nobody-at-all")
    assert unknown.code == 1 and "no user" in unknown.stderr


async def test_suspending_a_client_from_the_cli_makes_its_tokens_inactive(
    api: AsyncTestClient,  # type: ignore[type-arg]
    settings: Settings,
    make_client: Any,
) -> None:
    env = _env(settings)
    created = (await _cli(env, f"{_CREATE_SERVICE} batch")).json()
    client_id, token = created["client_id"], await _token(api, **_credentials(created))
    resource_server = await make_client(scopes=("keyledger:introspect",))

    async def active() -> bool:
        seen = await api.post(
            "/oauth/introspect", data={"token": token}, auth=resource_server.basic
        )
        assert seen.status_code == 200
        answer: bool = seen.json()["active"]
        return answer

    assert await active()
    suspended = await _cli(env, f"clients suspend {client_id} --reason audit --json")
    assert suspended.json()["status"] == "suspended"
    assert not await active()

    twice = await _cli(env, f"clients suspend {client_id}")
    assert twice.code == 1 and "suspended" in twice.stderr
    unknown = await _cli(env, f"clients ban {uuid.uuid4().hex}")
    assert unknown.code == 1 and "no client" in unknown.stderr

    reinstated = await _cli(env, f"clients reinstate {client_id} --json")
    assert reinstated.json()["status"] == "active"
    rotated = (await _cli(env, f"clients rotate-secret {client_id} --overlap 0 --json")).json()
    assert rotated["client_secret"] != created["client_secret"]
    await _token(api, client_id, rotated["client_secret"])


def _credentials(created: dict[str, str]) -> dict[str, str]:
    return {"client_id": created["client_id"], "secret": created["client_secret"]}


async def test_keys_rotate_prints_the_new_key_ids(settings: Settings) -> None:
    rotated = (await _cli(_env(settings), "keys rotate --json")).json()
    assert [kid.split("-")[0] for kid in rotated["kids"]] == ["es256", "rs256"]


def _wait_ready(base: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        assert process.poll() is None, "keyledger serve exited during startup"
        time.sleep(0.25)
    raise AssertionError("keyledger serve did not become ready")


async def test_cli_on_a_serving_data_dir_shares_its_key_and_leaves_its_postgres_running(
    tmp_path: Path,
) -> None:
    """No configuration at all: the CLI attaches to serve's embedded Postgres and master.key."""
    data_dir, port = tmp_path / "data", free_port()
    base = f"http://127.0.0.1:{port}"
    serve = f"serve --data-dir {data_dir} --port {port}"
    server = subprocess.Popen(
        [sys.executable, "-m", "services.cli", *shlex.split(serve)], env=_bare_env()
    )
    try:
        await asyncio.to_thread(_wait_ready, base, server)
        create = f"{_CREATE_SERVICE} local --data-dir {data_dir}"
        created = (await _cli(_bare_env(), create)).json()
        # The CLI has exited: the Postgres it attached to must still be serving.
        async with httpx.AsyncClient(base_url=base) as http:
            assert (await http.get("/readyz")).json()["postgres"] is True
            issued = await http.post(
                "/oauth/token",
                data={"grant_type": "client_credentials"},
                auth=(created["client_id"], created["client_secret"]),
            )
        assert issued.status_code == 200, issued.text
        assert issued.json()["access_token"]
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


async def test_audit_prune_needs_a_retention_and_keeps_rows_inside_it(settings: Settings) -> None:
    unset = await _cli(_env(settings), "audit prune")
    assert unset.code == 2 and "KEYLEDGER_AUDIT_RETENTION_DAYS is not set" in unset.stderr
    # Ten years: nothing in the suite's log is that old, so nothing goes.
    kept = await _cli({**_env(settings), "KEYLEDGER_AUDIT_RETENTION_DAYS": "3650"}, "audit prune")
    assert kept.code == 0, kept.stderr
    assert kept.stdout.startswith("pruned 0 audit rows older than ")


async def _workspace_with_members(
    env: dict[str, str], authority: Authority, **roles: str
) -> tuple[str, dict[str, str]]:
    """A workspace owned by a new user `owner`, with a new user per other role, each accepted."""
    tag = uuid.uuid4().hex[:8]
    names = {who: f"{who}-{tag}" for who in ("owner", *roles)}
    for name in names.values():
        await create_user(authority.store, name, "correct horse", Metadata(actor="admin"))
    created = await _cli(
        env, f"workspaces create --name acme-{tag} --owner {names['owner']} --json"
    )
    workspace: str = created.json()["workspace_id"]
    for who, role in roles.items():
        invite = f"workspaces invite {workspace} --by {names['owner']} --user {names[who]}"
        assert (await _cli(env, f"{invite} --role {role} --json")).json()["status"] == "invited"
        accepted = await _cli(env, f"workspaces accept {workspace} --user {names[who]} --json")
        assert accepted.json()["role"] == role and accepted.json()["status"] == "active"
    return workspace, names


def _printed(run: Run, label: str) -> str:
    (value,) = [line.split()[1] for line in run.stdout.splitlines() if line.startswith(label)]
    return value


async def test_only_an_admin_gets_an_api_key_shown_once_listed_without_it_until_revoked(
    api: AsyncTestClient,  # type: ignore[type-arg]
    settings: Settings,
    authority: Authority,
) -> None:
    env = _env(settings)
    workspace, names = await _workspace_with_members(env, authority, alice="admin", bob="member")
    create = f"api-keys create --workspace {workspace} --name reporting --scope analytics.read"

    refused = await _cli(env, f"{create} --by {names['bob']}")
    assert refused.code == 1 and refused.stdout == ""
    assert "needs the admin role; you are member" in refused.stderr

    created = await _cli(env, f"{create} --by {names['alice']} --days 30")
    assert created.code == 0, created.stderr
    key, key_id = _printed(created, "key:"), _printed(created, "key_id:")
    assert key.startswith("klk_") and created.stdout.count(key) == 1 and key not in created.stderr
    as_key = {"Authorization": f"Bearer {key}", "X-Workspace-Id": workspace}
    current = await api.get("/api-keys/current", headers=as_key)
    assert current.status_code == 200 and current.json()["key_id"] == key_id

    listed = await _cli(env, f"api-keys list --workspace {workspace} --json")
    (summary,) = listed.json()["keys"]
    assert summary["key_id"] == key_id and summary["status"] == "active"
    assert summary["scopes"] == ["analytics.read"]
    assert key not in listed.stdout and key[4:12] not in listed.stdout

    soon, later = [await _cli(env, f"keys expiring --within-days {d}") for d in (100, 10)]
    assert f"{workspace}  {key_id}  " in soon.stdout
    assert later.code == 0 and key_id not in later.stdout

    revoke = f"api-keys revoke {key_id} --workspace {workspace} --reason leaked --json"
    assert (await _cli(env, f"{revoke} --by {names['alice']}")).json()["status"] == "revoked"
    assert (await api.get("/api-keys/current", headers=as_key)).status_code == 401
    expiring = (await _cli(env, "keys expiring --within-days 100 --json")).json()
    assert key_id not in {k["key_id"] for k in expiring["keys"]}


async def test_workspace_roles_change_from_the_cli_and_a_rotated_key_replaces_the_old(
    api: AsyncTestClient,  # type: ignore[type-arg]
    settings: Settings,
    authority: Authority,
) -> None:
    env = _env(settings)
    workspace, names = await _workspace_with_members(env, authority, carol="member")
    owner, carol = names["owner"], names["carol"]
    unknown = await _cli(env, f"workspaces invite {workspace} --by {owner} --user nobody-at-all")
    assert unknown.code == 1 and "no user 'nobody-at-all'" in unknown.stderr

    promote = f"workspaces set-role {workspace} --by {owner} --user {carol} --role admin --json"
    assert (await _cli(env, promote)).json()["role"] == "admin"
    create = f"api-keys create --workspace {workspace} --by {carol} --name ci --scope posts.read"
    old = (await _cli(env, f"{create} --json")).json()
    rotate = f"api-keys rotate {old['key_id']} --workspace {workspace} --by {carol} --overlap 0"
    new = (await _cli(env, f"{rotate} --json")).json()
    assert new["key_id"] == old["key_id"] and new["key"] != old["key"]

    def current(key: str) -> Any:
        return api.get("/api-keys/current", headers={"Authorization": f"Bearer {key}",
                                                     "X-Workspace-Id": workspace})  # fmt: skip

    assert (await current(old["key"])).status_code == 401
    assert (await current(new["key"])).status_code == 200

    remove = f"workspaces remove-member {workspace} --by {owner} --user {carol} --json"
    assert (await _cli(env, remove)).json()["status"] == "removed"
    members = (await _cli(env, f"workspaces members {workspace} --json")).json()["members"]
    assert [(m["username"], m["role"]) for m in members] == [(owner, "owner")]
    gone = await _cli(env, f"{create} --json")
    assert gone.code == 1 and "not a member" in gone.stderr


async def test_console_roles_are_granted_and_revoked_from_the_cli(settings: Settings) -> None:
    env = _env(settings)
    username = f"console-{uuid.uuid4().hex[:6]}"
    created = await _cli(env, f"users create --username {username} --password-stdin --json",
                         stdin="console cli pass 1\n")  # fmt: skip
    user_id = created.json()["user_id"]
    granted = (await _cli(env, f"console grant --username {username} --role operator --json",
                          "--reason", "on call")).json()  # fmt: skip
    assert granted == {"user_id": user_id, "username": username, "roles": ["operator"],
                       "changed": True}  # fmt: skip
    again = (await _cli(env, f"console grant --username {username} --role operator --json")).json()
    assert again["changed"] is False
    revoked = await _cli(env, f"console revoke --username {username} --role operator")
    assert revoked.code == 0 and "roles: none" in revoked.stdout
    assert (await _cli(env, f"console roles --username {username} --json")).json()["roles"] == []
    unknown = await _cli(env, "console grant --username nobody-at-all --role compliance")
    assert unknown.code == 1 and "no user" in unknown.stderr
    assert (await _cli(env, f"console grant --username {username} --role root")).code == 2
