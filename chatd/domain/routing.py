"""Agent routing: which online agent takes a waiting conversation, and why.

The rule, in order:

1. Only agents whose status is ``online`` and that have free capacity (``active < capacity``).
2. Language: agents speaking the entry's locale. If *no* online agent speaks it (busy or not),
   agents speaking English (:data:`FALLBACK_LANGUAGE`) serve it, and if none of those is online
   either, any agent; if some online agent of that pool exists but all of them are full, the
   entry waits (``choose_agent`` returns None; later entries may still be assigned).
3. Skills: among those, agents having at least one of the entry's skills; if none has, all.
4. Fewest active chats; then, among equally loaded agents, the one who speaks the fewest *other*
   languages (an English customer goes to an English-only agent before a bilingual one, whose
   seat is the only kind a Chinese speaker can take); then longest since last assignment (never
   assigned counts as longest); then ``agent_id`` so that the choice is deterministic.

The third key is the contact-centre "least-skilled agent" rule, applied only as a tie-break so
that load spreading and capacity stay as they were. Measured in ``chatd simulate`` (seeds 1-10,
docs/simulate.md): Chinese speakers' mean wait on a steady day 17.6 s -> 11.7 s, p90 60.5 s ->
44.0 s, English 2.9 s -> 3.0 s (p90 5.1 s -> 5.9 s), and chats per agent-hour more even (Gini
0.035 -> 0.031: bilingual agents no longer take their full share of English chats on top of all
the Chinese ones). Making it the *first* key (fill English-only agents before any bilingual one)
helps Chinese speakers a little more (11.3 s, p90 38.9 s) but leaves bilingual agents with a
fifth fewer chats an hour (Gini 0.059), so it was not adopted.

Locales are compared on their primary language subtag, case-insensitively: a ``zh-TW``
customer matches an agent who lists ``zh``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from chatd.domain.queue import QueueEntry

__all__ = [
    "AGENT_STATUSES",
    "FALLBACK_LANGUAGE",
    "AgentLoad",
    "AgentProfile",
    "choose_agent",
    "eligible_agents",
    "language_of",
    "serving_pool",
]

# online: takes new chats; away: connected, keeps its chats, takes no new ones; offline: gone.
AGENT_STATUSES: tuple[str, ...] = ("online", "away", "offline")
#: The language a customer is served in when nobody online speaks theirs: an exchange's support
#: team shares English, and a Turkish customer would rather read English than wait for nobody.
FALLBACK_LANGUAGE = "en"


@lru_cache(maxsize=256)  # a handful of distinct locales, asked once per routing decision
def language_of(locale: str) -> str:
    """Return the primary language subtag of a locale: ``"zh-Hant_TW"`` -> ``"zh"``."""
    return locale.replace("_", "-").split("-", 1)[0].strip().lower()


@dataclass(frozen=True, slots=True)
class AgentProfile:
    """What an agent can do: how many chats at once, which languages and skills."""

    agent_id: str
    name: str
    capacity: int = 3
    languages: tuple[str, ...] = ("en",)
    skills: tuple[str, ...] = ()
    # Normalised languages, computed once: routing asks "speaks?" for every agent and entry.
    spoken: frozenset[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.agent_id:
            raise ValueError("agent_id must not be empty")
        if self.capacity < 0:
            raise ValueError(f"capacity must be >= 0, got {self.capacity!r}")
        if not isinstance(self.languages, tuple) or not isinstance(self.skills, tuple):
            raise TypeError("languages and skills must be tuples")
        object.__setattr__(self, "spoken", frozenset(map(language_of, self.languages)))

    def speaks(self, locale: str) -> bool:
        """Return True if the agent speaks the language of ``locale``."""
        return language_of(locale) in self.spoken


@dataclass(frozen=True, slots=True)
class AgentLoad:
    """A snapshot of one agent as routing sees it: profile, status, load, last assignment."""

    profile: AgentProfile
    status: str = "online"
    active: int = 0
    last_assigned_at: float | None = None

    def __post_init__(self) -> None:
        if self.status not in AGENT_STATUSES:
            raise ValueError(f"status must be one of {AGENT_STATUSES}, got {self.status!r}")
        if self.active < 0:
            raise ValueError(f"active must be >= 0, got {self.active!r}")

    @property
    def agent_id(self) -> str:
        """The agent's id."""
        return self.profile.agent_id

    @property
    def is_online(self) -> bool:
        """True if the agent takes new chats."""
        return self.status == "online"

    @property
    def free(self) -> int:
        """Free chat slots (0 when a lowered capacity left the agent above it)."""
        return max(0, self.profile.capacity - self.active)


def serving_pool(language: str, agents: Iterable[AgentLoad]) -> tuple[list[AgentLoad], bool]:
    """Return (the online agents who may serve a customer of ``language``, fallback?).

    Its speakers; only when none is online, English speakers; when none of those either,
    everyone. A customer who wrote in Chinese would rather wait a little for a Chinese speaker
    than get one who cannot read them, but waiting for a speaker who is not even online helps
    nobody.
    """
    online = [agent for agent in agents if agent.status == "online"]
    speakers = [agent for agent in online if language in agent.profile.spoken]
    if speakers:
        return speakers, False
    fallback = [agent for agent in online if FALLBACK_LANGUAGE in agent.profile.spoken]
    return (fallback or online), True


def _language_pool(entry: QueueEntry, agents: Iterable[AgentLoad]) -> tuple[list[AgentLoad], bool]:
    """Return (online agents with free capacity that may take ``entry``, language fallback?)."""
    pool, fallback = serving_pool(language_of(entry.locale), agents)
    return [agent for agent in pool if agent.active < agent.profile.capacity], fallback


def eligible_agents(entry: QueueEntry, agents: Iterable[AgentLoad]) -> list[AgentLoad]:
    """Return the online agents with free capacity that may take ``entry`` (language rule only).

    Skills do not appear here: they rank candidates but never make an entry wait.
    """
    return _language_pool(entry, agents)[0]


def _rank_key(agent: AgentLoad, language: str) -> tuple[int, int, float, str]:
    """Fewest active, then fewest languages besides ``language``, then longest idle, then id."""
    last = agent.last_assigned_at
    others = len(agent.profile.spoken) - (language in agent.profile.spoken)
    return (agent.active, others, -float("inf") if last is None else last, agent.agent_id)


def _reason(
    entry: QueueEntry,
    agent: AgentLoad,
    *,
    language_fallback: bool,
    matched_skills: Sequence[str],
    now: float,
) -> str:
    language = language_of(entry.locale)
    parts = [
        f"language={language}"
        + (f" (fallback to {FALLBACK_LANGUAGE}: no speaker online)" if language_fallback else "")
    ]
    if not entry.skills:
        parts.append("skills=-")
    elif matched_skills:
        parts.append("skills=" + ",".join(matched_skills))
    else:
        parts.append("skills=" + ",".join(entry.skills) + " (fallback: no skilled agent free)")
    parts.append(f"active={agent.active}/{agent.profile.capacity}")
    last = agent.last_assigned_at
    parts.append("idle=never-assigned" if last is None else f"idle={max(0.0, now - last):.0f}s")
    return " ".join(parts)


def choose_agent(
    entry: QueueEntry, agents: Iterable[AgentLoad], now: float
) -> tuple[str, str] | None:
    """Pick the agent for ``entry``; return ``(agent_id, reason)``, or None if it must wait.

    ``now`` only feeds the idle time shown in the reason. The reason is a short human-readable
    string such as ``"language=zh skills=security active=0/3 idle=42s"``.
    """
    candidates, language_fallback = _language_pool(entry, agents)
    if not candidates:
        return None
    wanted = set(entry.skills)
    skilled = [agent for agent in candidates if wanted.intersection(agent.profile.skills)]
    pool = skilled if skilled else candidates
    language = language_of(entry.locale)
    best = min(pool, key=lambda agent: _rank_key(agent, language))
    matched = [skill for skill in entry.skills if skill in best.profile.skills] if skilled else []
    reason = _reason(
        entry, best, language_fallback=language_fallback, matched_skills=matched, now=now
    )
    return best.agent_id, reason
