"""Staff accounts as the service sees them: who a bearer token belongs to.

Agents and operators authenticate with the token ``chatd agents add`` printed (a salted hash is
stored). The accounts a node has seen are kept by :class:`~chatd.service.assignments.Assignments`
(routing needs their profiles); this part answers "who is this?".
"""

from __future__ import annotations

from chatd.auth import parse_agent_token, verify_agent_token
from chatd.protocol import ProtocolError
from chatd.service.assignments import Assignments
from chatd.store.base import AgentRecord, Store

__all__ = ["Staff"]


class Staff:
    """Authentication of agent and operator tokens."""

    def __init__(self, *, store: Store, assignments: Assignments) -> None:
        self.store = store
        self.assignments = assignments

    async def authenticate(self, token: str) -> AgentRecord:
        """The account a token belongs to; not_authenticated otherwise (constant-time compare)."""
        agent_id = parse_agent_token(token)
        agent = await self.store.get_agent(agent_id) if agent_id else None
        if agent is None or not verify_agent_token(token, agent.token_hash):
            raise ProtocolError("not_authenticated", "the token is not valid")
        self.assignments.agents[agent.agent_id] = agent
        return agent
