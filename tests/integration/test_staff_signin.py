"""Staff sign-in (issue 18's contract): POST /api/login and /api/logout, sessions, TOTP, the
per-account failure limit, GET /api/audit, and the CLI that sets passwords and enrols TOTP."""

from __future__ import annotations

import asyncio
import subprocess
import time
import uuid
from pathlib import Path
from typing import Any

import aiohttp
import pyotp
import pytest

from chatd.passwords import hash_password
from chatd.store.accounts import AuditFilter
from chatd.store.base import AgentRecord
from tests.support.cli import CHATD, chatd_env
from tests.support.harness import Harness

PASSWORD = "correct horse battery staple"


async def _account(chatd: Harness, name: str, role: str = "agent") -> str:
    """A password account (no static token); its id."""
    agent_id = "ag_" + uuid.uuid4().hex[:12]
    store = chatd.service.store
    await store.add_agent(AgentRecord(agent_id, name, role, "", created_at=time.time()))
    await store.accounts.set_password(agent_id, hash_password(PASSWORD))
    return agent_id


async def _post(
    chatd: Harness, path: str, body: Any = None, token: str | None = None
) -> tuple[int, Any, dict[str, str]]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with aiohttp.ClientSession() as http:
        async with http.post(chatd.url + path, json=body, headers=headers) as r:
            data = await r.json() if r.content_type == "application/json" else None
            return r.status, data, dict(r.headers)


async def _get(chatd: Harness, path: str, token: str) -> tuple[int, Any]:
    async with aiohttp.ClientSession() as http:
        async with http.get(chatd.url + path, headers={"Authorization": f"Bearer {token}"}) as r:
            return r.status, await r.json()


async def _login(chatd: Harness, name: str, password: str = PASSWORD, **more: str) -> Any:
    status, body, _ = await _post(chatd, "/api/login", {"name": name, "password": password, **more})
    assert status == 200, body
    return body


async def test_password_sign_in_gives_a_session_token_that_works_everywhere(chatd: Harness) -> None:
    await _account(chatd, "ana")
    body = await _login(chatd, "ana")
    assert body["token"].startswith("cs_")
    assert body["expires_at"] == pytest.approx(time.time() + 12 * 3600, abs=60)
    status, me = await _get(chatd, "/api/me", body["token"])
    assert (status, me["name"]) == (200, "ana")
    console = await chatd.agent(body["token"])  # the agent socket takes it too
    assert console.welcome["agent"]["name"] == "ana"
    await console.close()


async def test_wrong_password_and_unknown_name_get_the_same_answer(chatd: Harness) -> None:
    await _account(chatd, "ana")
    wrong = await _post(chatd, "/api/login", {"name": "ana", "password": "wrong password!"})
    unknown = await _post(chatd, "/api/login", {"name": "nobody", "password": PASSWORD})
    assert wrong[0] == unknown[0] == 401
    assert wrong[1] == unknown[1]
    assert wrong[1]["error"]["code"] == "bad_credentials"


async def test_five_failures_lock_the_account_even_for_the_right_password(chatd: Harness) -> None:
    await _account(chatd, "ana")
    await _account(chatd, "bob")
    for _ in range(5):
        status, body, _h = await _post(
            chatd, "/api/login", {"name": "ana", "password": "nope-nope"}
        )
        assert (status, body["error"]["code"]) == (401, "bad_credentials")
    status, body, headers = await _post(chatd, "/api/login", {"name": "ana", "password": PASSWORD})
    assert (status, body["error"]["code"]) == (429, "rate_limited")
    assert int(headers["Retry-After"]) > 0
    # Keyed by the account: another account from the same address signs in.
    await _login(chatd, "bob")


@pytest.mark.parametrize("settings", [{"security": {"login_window_s": 5.0}}])
async def test_the_lock_lifts_when_the_window_passes(chatd: Harness) -> None:
    await _account(chatd, "ana")
    for _ in range(5):
        await _post(chatd, "/api/login", {"name": "ana", "password": "nope-nope"})
    assert (await _post(chatd, "/api/login", {"name": "ana", "password": PASSWORD}))[0] == 429
    failures = await chatd.service.store.accounts.list_audit(AuditFilter(action="login_failed"))
    first = min(e.ts for e in failures)
    await asyncio.sleep(max(0.0, first + 5.0 + 0.3 - time.time()))
    await _login(chatd, "ana")


async def test_totp_is_asked_for_checked_and_works_once(chatd: Harness) -> None:
    agent_id = await _account(chatd, "ana")
    secret = pyotp.random_base32(32)
    await chatd.service.store.accounts.set_totp(agent_id, secret)
    status, body, _ = await _post(chatd, "/api/login", {"name": "ana", "password": PASSWORD})
    assert (status, body["error"]["code"]) == (401, "otp_required")
    code = pyotp.TOTP(secret).now()
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    status, body, _ = await _post(
        chatd, "/api/login", {"name": "ana", "password": PASSWORD, "otp": wrong}
    )
    assert (status, body["error"]["code"]) == (401, "bad_otp")
    await _login(chatd, "ana", otp=code)
    status, body, _ = await _post(
        chatd, "/api/login", {"name": "ana", "password": PASSWORD, "otp": code}
    )
    assert (status, body["error"]["code"]) == (401, "bad_otp")  # a replayed code
    # A wrong password with a right code says nothing about the code.
    status, body, _ = await _post(
        chatd, "/api/login", {"name": "ana", "password": "nope-nope", "otp": code}
    )
    assert body["error"]["code"] == "bad_credentials"


@pytest.mark.parametrize("settings", [{"security": {"require_totp": True}}])
async def test_require_totp_refuses_accounts_without_it(chatd: Harness) -> None:
    await _account(chatd, "ana")
    status, body, _ = await _post(chatd, "/api/login", {"name": "ana", "password": PASSWORD})
    assert (status, body["error"]["code"]) == (403, "totp_required")


async def test_logout_ends_the_session_at_once_and_closes_its_console(chatd: Harness) -> None:
    await _account(chatd, "ana")
    token = (await _login(chatd, "ana"))["token"]
    other = (await _login(chatd, "ana"))["token"]
    console = await chatd.agent(token)
    second = await chatd.agent(other)
    status, _body, _ = await _post(chatd, "/api/logout", token=token)
    assert status == 204
    code, _reason = await asyncio.wait_for(console.closed, 5)
    assert code == 1008
    assert (await _get(chatd, "/api/me", token))[0] == 401
    assert (await _post(chatd, "/api/logout", token=token))[0] == 401
    # The account's other session is untouched.
    await second.send({"type": "ping"})
    await second.wait_for("pong")
    assert (await _get(chatd, "/api/me", other))[0] == 200
    await second.close()


@pytest.mark.parametrize("settings", [{"security": {"session_ttl_s": 1.0}}])
async def test_sessions_expire(chatd: Harness) -> None:
    await _account(chatd, "ana")
    token = (await _login(chatd, "ana"))["token"]
    assert (await _get(chatd, "/api/me", token))[0] == 200
    await asyncio.sleep(1.2)
    assert (await _get(chatd, "/api/me", token))[0] == 401


async def test_static_tokens_keep_working_and_are_no_session(chatd: Harness) -> None:
    token = await chatd.add_agent("legacy")
    assert (await _get(chatd, "/api/me", token))[0] == 200
    assert (await _post(chatd, "/api/logout", token=token))[0] == 401
    # A token account has no password: signing in with one fails like a wrong password.
    status, body, _ = await _post(chatd, "/api/login", {"name": "legacy", "password": PASSWORD})
    assert (status, body["error"]["code"]) == (401, "bad_credentials")


@pytest.mark.parametrize(
    "body",
    [None, [], {"name": "ana"}, {"name": 1, "password": "x"}, {"name": "a" * 65, "password": "x"}],
)
async def test_malformed_sign_ins_are_400(chatd: Harness, body: Any) -> None:
    status, answer, _ = await _post(chatd, "/api/login", body)
    assert status == 400 and answer["error"]["code"] in ("bad_frame", "invalid_field"), answer


async def test_audit_lists_sign_ins_reads_and_exports_for_operators(chatd: Harness) -> None:
    await _account(chatd, "ana")
    await _account(chatd, "olivia", role="operator")
    await _post(chatd, "/api/login", {"name": "ana", "password": "nope-nope"})
    ana = (await _login(chatd, "ana"))["token"]
    op = (await _login(chatd, "olivia"))["token"]
    customer = await chatd.customer()
    await customer.say("hello")
    await customer.wait_for("message", author="bot")
    conv = customer.conversation_id
    assert (await _get(chatd, f"/api/conversations/{conv}", op))[0] == 200
    async with aiohttp.ClientSession() as http:
        async with http.get(
            chatd.url + "/api/export?format=csv", headers={"Authorization": f"Bearer {op}"}
        ) as r:
            assert r.status == 200
            await r.read()
    await _post(chatd, "/api/logout", token=ana)
    status, body = await _get(chatd, "/api/audit", op)
    assert status == 200
    seen = [(e["actor"], e["action"], e["target"]) for e in body["entries"]]
    assert seen[0][:2] == ("ana", "logout")  # newest first
    assert ("olivia", "transcript.read", conv) in seen
    assert ("olivia", "export", "1 conversations (csv, event)") in seen
    assert ("ana", "login_failed", "bad_credentials") in seen
    assert sum(1 for s in seen if s[1] == "login") == 2
    assert all(e["ip"] == "127.0.0.1" and e["ts"] > 0 for e in body["entries"])
    only = (await _get(chatd, "/api/audit?action=login&actor=ana", op))[1]["entries"]
    assert [(e["actor"], e["action"]) for e in only] == [("ana", "login")]
    assert (await _get(chatd, "/api/audit?limit=1", op))[1]["entries"][0]["action"] == "logout"
    assert (await _get(chatd, "/api/audit?action=bogus", op))[0] == 400
    await customer.close()


async def test_audit_is_for_operators_only(chatd: Harness) -> None:
    await _account(chatd, "ana")
    ana = (await _login(chatd, "ana"))["token"]
    status, body = await _get(chatd, "/api/audit", ana)
    assert (status, body["error"]["code"]) == (403, "forbidden")


def _cli(data: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(CHATD), "agents", *args, "--data-dir", str(data)],
        input=stdin,
        env=chatd_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_cli_creates_password_accounts_enrols_totp_and_audits_it(tmp_path: Path) -> None:
    data = tmp_path / "data"
    made = _cli(data, "add", "ana", "--role", "operator", "--password-stdin", stdin=PASSWORD + "\n")
    assert made.returncode == 0, made.stderr
    assert "token" not in made.stdout.lower()
    short = _cli(data, "add", "bob", "--password-stdin", stdin="short\n")
    assert short.returncode == 2 and "at least 12 characters" in short.stderr
    enrol = _cli(data, "totp", "ana")
    assert enrol.returncode == 0, enrol.stderr
    uri = next(line for line in enrol.stdout.splitlines() if line.startswith("otpauth://"))
    secret = pyotp.parse_uri(uri).secret
    changed = _cli(data, "password", "ana", "--password-stdin", stdin=PASSWORD + "!\n")
    assert changed.returncode == 0, changed.stderr
    asyncio.run(_sign_in_with_code(data, secret))


async def _sign_in_with_code(data: Path, secret: str) -> None:
    """The accounts the CLI made sign in on a server started on the same data."""
    chatd = Harness(data, {})
    await chatd.start()
    try:
        await _login(chatd, "ana", PASSWORD + "!", otp=pyotp.TOTP(secret).now())
        op = (await _login(chatd, "ana", PASSWORD + "!", otp=_next_code(secret)))["token"]
        actions = [e["action"] for e in (await _get(chatd, "/api/audit", op))[1]["entries"]]
        assert {"account.created", "totp.enrolled", "password.set"} <= set(actions)
        actors = {e["actor"] for e in (await _get(chatd, "/api/audit", op))[1]["entries"]}
        assert any(a.startswith("cli:") for a in actors)
    finally:
        await chatd.stop()


def _next_code(secret: str) -> str:
    """The code of the next time step (the current one was used)."""
    return pyotp.TOTP(secret).at(time.time() + 30)
