"""Staff sign-in across nodes (issue 18): a session made on one node works on the others, the
failure limit counts every node's failures, and signing out on one node closes the console
open on another (1008)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from typing import Any

import aiohttp
import pytest

from chatd.client import AgentClient
from tests.cluster.conftest import Cluster

pytestmark = pytest.mark.cluster
PASSWORD = "correct horse battery staple"


async def _post(url: str, body: Any = None, token: str | None = None) -> tuple[int, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with aiohttp.ClientSession() as http:
        async with http.post(url, json=body, headers=headers) as r:
            return r.status, await r.json(content_type=None)


def _add_password_account(cluster: Cluster, name: str) -> None:
    config = str(cluster.config_paths[0])
    subprocess.run(
        [
            sys.executable,
            "-m",
            "chatd",
            "agents",
            "add",
            name,
            "--password-stdin",
            "--config",
            config,
        ],
        input=PASSWORD + "\n",
        capture_output=True,
        text=True,
        env=dict(os.environ),
        check=True,
    )


async def test_sessions_limits_and_sign_out_hold_across_nodes(cluster: Cluster) -> None:
    _add_password_account(cluster, "ana")
    n1, n2, n3 = cluster.nodes
    status, signed = await _post(n1.url + "/api/login", {"name": "ana", "password": PASSWORD})
    assert status == 200, signed
    token = signed["token"]
    console = await AgentClient.connect(n2.ws_url, token)  # made on node 1, used on node 2
    try:
        status, _ = await _post(n3.url + "/api/logout", token=token)
        assert status == 204
        code, _reason = await asyncio.wait_for(console.closed, 10)
        assert code == 1008  # closed by node 2 on node 3's word
    finally:
        await console.close()
    async with aiohttp.ClientSession() as http:
        me = await http.get(n1.url + "/api/me", headers={"Authorization": f"Bearer {token}"})
        assert me.status == 401
    # Failures on different nodes add up: 5 of them, then the right password is refused too.
    for node in (n1, n2, n3, n1, n2):
        status, body = await _post(node.url + "/api/login", {"name": "ana", "password": "nope!"})
        assert (status, body["error"]["code"]) == (401, "bad_credentials")
    status, body = await _post(n3.url + "/api/login", {"name": "ana", "password": PASSWORD})
    assert (status, body["error"]["code"]) == (429, "rate_limited")
