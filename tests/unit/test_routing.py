"""Tests for agent routing: capacity, language, skills, load, other languages and idle time."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chatd.domain.queue import QueueEntry
from chatd.domain.routing import (
    AgentLoad,
    AgentProfile,
    choose_agent,
    eligible_agents,
    language_of,
)


def agent(
    agent_id: str,
    *,
    languages: tuple[str, ...] = ("en",),
    skills: tuple[str, ...] = (),
    capacity: int = 3,
    active: int = 0,
    last: float | None = None,
    status: str = "online",
) -> AgentLoad:
    profile = AgentProfile(agent_id, agent_id.upper(), capacity, languages, skills)
    return AgentLoad(profile, status, active, last)


def ask(locale: str = "en", skills: tuple[str, ...] = ()) -> QueueEntry:
    return QueueEntry("c1", "normal", 0.0, locale, skills)


def test_no_agents_means_wait() -> None:
    """With no agent at all, the entry waits."""
    assert choose_agent(ask(), [], 0.0) is None


def test_only_online_agents_with_free_capacity() -> None:
    """Away, offline and full agents never get a chat."""
    agents = [
        agent("away", status="away"),
        agent("off", status="offline"),
        agent("full", active=3),
        agent("free", active=2),
    ]
    assert choose_agent(ask(), agents, 0.0) == (
        "free",
        "language=en skills=- active=2/3 idle=never-assigned",
    )
    assert choose_agent(ask(), agents[:3], 0.0) is None


def test_chinese_customer_goes_to_the_chinese_agent() -> None:
    """A zh customer is routed to the agent who speaks zh, even if it is busier."""
    agents = [agent("en1"), agent("zh1", languages=("en", "zh"), active=2, last=100.0)]
    result = choose_agent(ask("zh-CN"), agents, 142.0)
    assert result == ("zh1", "language=zh skills=- active=2/3 idle=42s")


def test_language_speaker_full_means_wait() -> None:
    """If an online agent speaks the locale but is full, the entry waits for them."""
    agents = [agent("en1"), agent("zh1", languages=("zh",), active=3)]
    assert choose_agent(ask("zh"), agents, 0.0) is None


def test_language_fallback_when_nobody_online_speaks_it() -> None:
    """If no online agent speaks the locale, an English speaker takes it, and the reason says
    so; an agent who speaks neither is passed over (a Turkish customer gets English, not
    Korean)."""
    agents = [
        agent("ko1", languages=("ko",)),
        agent("en1", active=2),
        agent("de1", languages=("de",), status="away"),
    ]
    result = choose_agent(ask("tr"), agents, 0.0)
    assert result is not None
    assert result[0] == "en1"
    assert result[1].startswith("language=tr (fallback to en: no speaker online)")


def test_without_english_speakers_anyone_serves_the_fallback() -> None:
    """With neither a speaker nor an English speaker online, any online agent will do."""
    result = choose_agent(ask("tr"), [agent("ko1", languages=("ko",))], 0.0)
    assert result is not None and result[0] == "ko1"


def test_skills_preferred_with_fallback() -> None:
    """A skilled agent is preferred over a less busy one; without one, anyone eligible."""
    agents = [agent("a", active=0), agent("b", skills=("security", "kyc"), active=2)]
    chosen = choose_agent(ask(skills=("security",)), agents, 0.0)
    assert chosen == ("b", "language=en skills=security active=2/3 idle=never-assigned")
    fallback = choose_agent(ask(skills=("api",)), agents, 0.0)
    assert fallback is not None
    assert fallback[0] == "a"
    assert "skills=api (fallback: no skilled agent free)" in fallback[1]


def test_full_skilled_agent_does_not_make_entry_wait() -> None:
    """Skills never block: a full skilled agent is skipped in favour of an unskilled one."""
    agents = [agent("a"), agent("b", skills=("security",), active=3)]
    result = choose_agent(ask(skills=("security",)), agents, 0.0)
    assert result is not None and result[0] == "a"


def test_fewest_active_then_longest_idle_then_id() -> None:
    """Ties on load are broken by the longest time since last assignment, then by agent id."""
    now = 1000.0
    agents = [agent("a", active=1, last=10.0), agent("b", active=0, last=900.0)]
    assert choose_agent(ask(), agents, now) == ("b", "language=en skills=- active=0/3 idle=100s")
    agents = [agent("a", last=500.0), agent("b", last=200.0), agent("c", last=800.0)]
    assert choose_agent(ask(), agents, now)[0] == "b"  # type: ignore[index]
    agents = [agent("a", last=500.0), agent("z"), agent("y")]
    assert choose_agent(ask(), agents, now)[0] == "y"  # type: ignore[index]


def test_equal_load_prefers_the_agent_with_fewest_other_languages() -> None:
    """At equal load the English customer leaves the bilingual seat for a Chinese speaker.

    The tie-break sits after the load (a less busy bilingual agent still wins) and before the
    idle time (a bilingual agent idle longer does not).
    """
    bilingual = agent("a", languages=("en", "zh"), last=10.0)
    english = agent("b", last=900.0)
    assert choose_agent(ask("en"), [bilingual, english], 1000.0)[0] == "b"  # type: ignore[index]
    busier = agent("b", active=1, last=900.0)
    assert choose_agent(ask("en"), [bilingual, busier], 1000.0)[0] == "a"  # type: ignore[index]
    # A Chinese speaker, too, goes to the agent whose other languages are fewer.
    trilingual = agent("c", languages=("en", "zh", "de"), last=10.0)
    assert choose_agent(ask("zh-TW"), [trilingual, bilingual], 1000.0)[0] == "a"  # type: ignore[index]
    # With nobody speaking the customer's language, every language counts as "other".
    assert choose_agent(ask("fr"), [bilingual, english], 1000.0)[0] == "b"  # type: ignore[index]


def test_language_of_normalises_locales() -> None:
    """Locales compare on their primary subtag, case-insensitively."""
    assert language_of("zh-Hant_TW") == "zh"
    assert language_of("EN") == "en"
    assert AgentProfile("a", "A", languages=("ZH-cn",)).speaks("zh_TW")


def test_invalid_agent_values_are_rejected() -> None:
    """Bad status, negative capacity or load raise ValueError."""
    with pytest.raises(ValueError):
        AgentProfile("a", "A", capacity=-1)
    with pytest.raises(ValueError):
        AgentLoad(AgentProfile("a", "A"), status="busy")
    with pytest.raises(ValueError):
        AgentLoad(AgentProfile("a", "A"), active=-1)


def test_lowered_capacity_gives_no_free_slots() -> None:
    """An agent whose capacity was lowered below its load has zero free slots, not negative."""
    assert agent("a", capacity=1, active=3).free == 0


agents_strategy = st.lists(
    st.builds(
        agent,
        st.sampled_from(["a", "b", "c", "d", "e"]),
        languages=st.sampled_from([("en",), ("zh",), ("en", "zh"), ("de",)]),
        skills=st.sampled_from([(), ("kyc",), ("security",), ("kyc", "api")]),
        capacity=st.integers(0, 3),
        active=st.integers(0, 3),
        last=st.none() | st.integers(0, 100).map(float),
        status=st.sampled_from(["online", "online", "away", "offline"]),
    ),
    max_size=6,
    unique_by=lambda a: a.agent_id,
)


@given(
    agents_strategy,
    st.sampled_from(["en", "zh", "de", "fr"]),
    st.sampled_from([(), ("kyc",), ("security",)]),
)
def test_choice_is_the_best_eligible_agent(
    agents: list[AgentLoad], locale: str, skills: tuple[str, ...]
) -> None:
    """The chosen agent satisfies every rule and no eligible agent ranks strictly better."""
    entry = ask(locale, skills)
    result = choose_agent(entry, agents, 200.0)
    online = [a for a in agents if a.status == "online"]
    speakers = [a for a in online if locale in a.profile.languages]
    english = [a for a in online if "en" in a.profile.languages]
    pool = [a for a in (speakers or english or online) if a.active < a.profile.capacity]
    assert [a.agent_id for a in eligible_agents(entry, agents)] == [a.agent_id for a in pool]
    if not pool:
        assert result is None
        return
    assert result is not None
    skilled = [a for a in pool if set(skills) & set(a.profile.skills)]
    ranked = sorted(
        skilled or pool,
        key=lambda a: (
            a.active,
            len(set(a.profile.languages) - {locale}),
            -1.0 if a.last_assigned_at is None else a.last_assigned_at,
            a.agent_id,
        ),
    )
    assert result[0] == ranked[0].agent_id


def test_bad_agent_values_are_refused_with_their_value() -> None:
    """Each refusal says what is wrong and with which value; languages and skills must each be
    tuples (a list in either is refused)."""
    cases: list[tuple[type[Exception], object, str]] = [
        (ValueError, lambda: AgentProfile("", "A"), "agent_id must not be empty"),
        (ValueError, lambda: AgentProfile("a", "A", capacity=-1), "capacity must be >= 0, got -1"),
        (TypeError, lambda: AgentProfile("a", "A", languages=["en"]), "must be tuples"),  # type: ignore[arg-type]
        (TypeError, lambda: AgentProfile("a", "A", skills=["kyc"]), "must be tuples"),  # type: ignore[arg-type]
        (
            ValueError,
            lambda: AgentLoad(AgentProfile("a", "A"), status="busy"),
            "status must be one of ('online', 'away', 'offline'), got 'busy'",
        ),
        (
            ValueError,
            lambda: AgentLoad(AgentProfile("a", "A"), active=-1),
            "active must be >= 0, got -1",
        ),
    ]
    for error, make, message in cases:
        with pytest.raises(error) as raised:
            make()  # type: ignore[operator]
        assert str(raised.value) == (
            "languages and skills must be tuples" if message == "must be tuples" else message
        )


def test_the_reason_lists_skills_with_commas_and_idle_time_from_zero() -> None:
    """Two matched (or two unmatched) skills read ``kyc,security``; an agent assigned this very
    second has been idle ``0s``."""
    agents = [agent("a", skills=("kyc", "security"), last=100.0)]
    matched = choose_agent(ask(skills=("kyc", "security")), agents, 100.0)
    assert matched == ("a", "language=en skills=kyc,security active=0/3 idle=0s")
    unmatched = choose_agent(ask(skills=("api", "tax")), agents, 100.4)
    assert unmatched == (
        "a",
        "language=en skills=api,tax (fallback: no skilled agent free) active=0/3 idle=0s",
    )
