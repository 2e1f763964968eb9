"""Staff roles: who serves chats and who reads what.

* ``agent``: serves chats (own chats, the queue's figures);
* ``supervisor``: serves chats too, and also reads every live chat (read-only), hands any chat
  to another agent or back to the queue;
* ``operator``: accounts, transcripts, exports, statistics, the audit trail; serves no chats.
"""

from __future__ import annotations

__all__ = ["ROLES", "SCOPES", "SERVES_CHATS", "STAFF", "SUPERVISES", "serves_chats"]

ROLES = ("agent", "supervisor", "operator")
#: Roles that take chats from the queue.
SERVES_CHATS = frozenset({"agent", "supervisor"})
#: Roles that read every live chat and move any of them.
SUPERVISES = frozenset({"supervisor"})
#: Every staff role (routes for anyone signed in).
STAFF = ROLES


def serves_chats(role: str) -> bool:
    """Whether an account with ``role`` takes chats from the queue."""
    return role in SERVES_CHATS


#: What an integration token (``chatd tokens create NAME --scope ...``) may be given.
SCOPES = {
    "messages:write": "post a system message into an open conversation",
    "conversations:read": "search conversations, read transcripts, export",
    "tickets:read": "list and read tickets",
    "stats:read": "the dashboard's figures",
}
