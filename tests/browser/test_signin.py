"""Signing in to the console and /ops with name, password and a TOTP code (issue 18), and
signing out ending the session on the server."""

from __future__ import annotations

import subprocess
import sys
import urllib.error
import urllib.request

import pyotp
from playwright.sync_api import expect

from tests.support.server import RunningServer, _env

PASSWORD = "correct horse battery staple"


def _cli(server: RunningServer, *args: str, stdin: str = "") -> str:
    out = subprocess.run(
        [sys.executable, "-m", "chatd", "agents", *args, "--data-dir", str(server.data_dir)],
        input=stdin,
        capture_output=True,
        text=True,
        env=_env(None),
        check=True,
        cwd=server.data_dir,
    )
    return out.stdout


def _status_of(server: RunningServer, token: str) -> int:
    request = urllib.request.Request(
        server.url + "/api/me", headers={"Authorization": f"Bearer {token}"}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as r:
            return int(r.status)
    except urllib.error.HTTPError as exc:
        return exc.code


def test_console_sign_in_with_password_and_code_then_sign_out(
    server: RunningServer, new_page
) -> None:
    _cli(server, "add", "Ana", "--password-stdin", stdin=PASSWORD + "\n")
    enrolled = _cli(server, "totp", "Ana").splitlines()
    uri = next(line for line in enrolled if line.startswith("otpauth://"))
    totp = pyotp.parse_uri(uri)
    page = new_page()
    page.goto(server.url + "/console")
    page.get_by_label("Name", exact=True).fill("Ana")
    page.get_by_label("Password", exact=True).fill("not the password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator(".login-err")).to_have_text("Wrong name or password.")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    code = page.get_by_label("6-digit code from your authenticator app")
    expect(code).to_be_visible()
    expect(code).to_be_focused()
    code.fill(totp.now())
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#conn")).to_have_text("Connected")
    expect(page.locator("#me-name")).to_have_text("Ana")
    token = page.evaluate("() => sessionStorage.getItem('chatd.console.token')")
    assert token and token.startswith("cs_")
    assert _status_of(server, token) == 200
    page.locator("#logout").click()
    expect(page.get_by_label("Name", exact=True)).to_be_visible()
    assert _status_of(server, token) == 401  # the session ended on the server, not only here
    assert page.js_errors == []


def test_ops_refuses_an_agent_and_admits_an_operator(server: RunningServer, new_page) -> None:
    _cli(server, "add", "Ana", "--password-stdin", stdin=PASSWORD + "\n")
    _cli(server, "add", "Olga", "--role", "operator", "--password-stdin", stdin=PASSWORD + "\n")
    page = new_page(viewport={"width": 390, "height": 844})
    page.goto(server.url + "/ops")
    page.get_by_label("Name", exact=True).fill("Ana")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator(".login-err")).to_contain_text("for the operator role")
    page.get_by_label("Name", exact=True).fill("Olga")
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#app")).to_be_visible()
    assert page.js_errors == []
