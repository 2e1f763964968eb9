"""Tests for the dispatcher: examples of the flow, then a state machine checking its invariants."""

from __future__ import annotations

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
)

from chatd.domain.dispatch import Assignment, Dispatcher, QueueStatus
from chatd.domain.queue import PRIORITIES, QueueEntry
from chatd.domain.routing import AgentProfile
from chatd.domain.wait import WaitEstimator


def profile(
    agent_id: str,
    capacity: int = 3,
    languages: tuple[str, ...] = ("en",),
    skills: tuple[str, ...] = (),
) -> AgentProfile:
    return AgentProfile(agent_id, agent_id.title(), capacity, languages, skills)


def waiting(
    cid: str,
    at: float,
    priority: str = "normal",
    locale: str = "en",
    skills: tuple[str, ...] = (),
) -> QueueEntry:
    return QueueEntry(cid, priority, at, locale, skills)


def positions(dispatcher: Dispatcher, *cids: str) -> list[int | None]:
    statuses = [dispatcher.queue_status(cid, 100.0) for cid in cids]
    return [None if s is None else s.position for s in statuses]


def test_three_customers_see_1_2_3_and_move_up() -> None:
    """Three waiting customers see positions 1, 2, 3 and each moves up when one is assigned."""
    dispatcher = Dispatcher()
    for i, cid in enumerate(["c1", "c2", "c3"]):
        dispatcher.enqueue(waiting(cid, float(i)), now=float(i))
    assert positions(dispatcher, "c1", "c2", "c3") == [1, 2, 3]
    dispatcher.agent_online(profile("ann", capacity=1), now=10.0)
    [assignment] = dispatcher.assign_ready(now=10.0)
    assert assignment.conversation_id == "c1"
    assert positions(dispatcher, "c1", "c2", "c3") == [None, 1, 2]
    dispatcher.release("ann", "c1", now=20.0, handled_s=10.0)
    assert [a.conversation_id for a in dispatcher.assign_ready(now=20.0)] == ["c2"]
    assert positions(dispatcher, "c2", "c3") == [None, 1]


def test_urgent_customer_goes_ahead_of_normal_ones() -> None:
    """An urgent customer is served before normal customers who arrived earlier."""
    dispatcher = Dispatcher()
    dispatcher.enqueue(waiting("n1", 0.0), now=0.0)
    dispatcher.enqueue(waiting("n2", 5.0), now=5.0)
    dispatcher.enqueue(waiting("u1", 10.0, "urgent"), now=10.0)
    assert positions(dispatcher, "u1", "n1", "n2") == [1, 2, 3]
    dispatcher.agent_online(profile("ann", capacity=1), now=11.0)
    [assignment] = dispatcher.assign_ready(now=11.0)
    assert (assignment.conversation_id, assignment.priority, assignment.waited_s) == (
        "u1",
        "urgent",
        1.0,
    )


def test_ageing_lets_an_old_normal_customer_go_before_a_new_urgent_one() -> None:
    """A normal customer who waited 20 minutes goes before an urgent one who just arrived."""
    dispatcher = Dispatcher()  # urgent boost 900 s
    dispatcher.enqueue(waiting("normal", 0.0), now=0.0)
    dispatcher.enqueue(waiting("urgent", 1200.0, "urgent"), now=1200.0)
    dispatcher.agent_online(profile("ann", capacity=1), now=1200.0)
    assert [a.conversation_id for a in dispatcher.assign_ready(1200.0)] == ["normal"]


def test_two_agents_with_capacity_one_get_one_chat_each() -> None:
    """Two agents of capacity 1 each get one chat, not both to one agent."""
    dispatcher = Dispatcher()
    dispatcher.agent_online(profile("ann", capacity=1), now=0.0)
    dispatcher.agent_online(profile("bob", capacity=1), now=0.0)
    for i in range(3):
        dispatcher.enqueue(waiting(f"c{i}", float(i)), now=float(i))
    assignments = dispatcher.assign_ready(now=5.0)
    assert sorted(a.agent_id for a in assignments) == ["ann", "bob"]
    assert [a.conversation_id for a in assignments] == ["c0", "c1"]
    assert dispatcher.queue_status("c2", 5.0) is not None
    assert dispatcher.free_slots() == 0 and dispatcher.slots() == 2


def test_load_is_spread_to_the_least_busy_then_longest_idle() -> None:
    """Chats go to the agent with fewest active chats, then the one idle longest."""
    dispatcher = Dispatcher()
    dispatcher.agent_online(profile("ann"), now=0.0)
    dispatcher.agent_online(profile("bob"), now=0.0)
    for i in range(4):
        dispatcher.enqueue(waiting(f"c{i}", float(i)), now=float(i))
    first = dispatcher.assign_ready(now=10.0)
    assert [(a.conversation_id, a.agent_id) for a in first] == [
        ("c0", "ann"),
        ("c1", "bob"),
        ("c2", "ann"),
        ("c3", "bob"),
    ]
    dispatcher.release("ann", "c0", now=20.0)
    dispatcher.release("bob", "c1", now=30.0)
    dispatcher.enqueue(waiting("c4", 40.0), now=40.0)
    # Both hold one chat; both were last assigned at t=10, so the id decides.
    [next_one] = dispatcher.assign_ready(now=50.0)
    assert next_one.agent_id == "ann"
    dispatcher.release("ann", "c2", now=55.0)
    dispatcher.release("bob", "c3", now=55.0)
    dispatcher.enqueue(waiting("c5", 60.0), now=60.0)
    # ann still holds c4 and bob holds nothing: fewest active chats wins.
    [after] = dispatcher.assign_ready(now=61.0)
    assert after.agent_id == "bob"
    dispatcher.release("bob", "c5", now=62.0)
    dispatcher.release("ann", "c4", now=62.0)
    dispatcher.enqueue(waiting("c6", 63.0), now=63.0)
    # Both idle now; ann was last assigned at 50, bob at 61: ann has waited longer.
    [idle] = dispatcher.assign_ready(now=70.0)
    assert idle.agent_id == "ann"
    assert "idle=20s" in idle.reason


def test_chinese_customer_goes_to_the_chinese_agent() -> None:
    """A zh customer is assigned to the zh-speaking agent, an en customer to the en one."""
    dispatcher = Dispatcher()
    dispatcher.agent_online(profile("zoe", capacity=1, languages=("zh",)), now=0.0)
    dispatcher.agent_online(profile("ann", capacity=1), now=0.0)
    dispatcher.enqueue(waiting("en-1", 0.0), now=0.0)
    dispatcher.enqueue(waiting("zh-1", 1.0, locale="zh-CN"), now=1.0)
    assignments = {a.conversation_id: a for a in dispatcher.assign_ready(now=2.0)}
    assert assignments["zh-1"].agent_id == "zoe"
    assert assignments["zh-1"].reason.startswith("language=zh ")
    assert assignments["en-1"].agent_id == "ann"


def test_busy_language_speaker_makes_entry_wait_while_later_ones_proceed() -> None:
    """A zh customer waits for the busy zh agent; the en customer behind is still assigned."""
    dispatcher = Dispatcher()
    dispatcher.agent_online(profile("zoe", capacity=1, languages=("zh",)), now=0.0)
    dispatcher.agent_online(profile("ann", capacity=2), now=0.0)
    dispatcher.attach("zoe", "earlier-zh")
    dispatcher.enqueue(waiting("zh-1", 0.0, locale="zh"), now=0.0)
    dispatcher.enqueue(waiting("en-1", 1.0), now=1.0)
    assert [(a.conversation_id, a.agent_id) for a in dispatcher.assign_ready(2.0)] == [
        ("en-1", "ann")
    ]
    status = dispatcher.queue_status("zh-1", 2.0)
    assert status is not None and status.position == 1
    # ann has a free slot, but zh-1 cannot take it: the estimate must not say "about zero".
    assert status.estimated_wait_s is not None and status.estimated_wait_s > 0
    dispatcher.release("zoe", "earlier-zh", now=3.0)
    assert [a.agent_id for a in dispatcher.assign_ready(3.0)] == ["zoe"]


def test_language_fallback_when_no_speaker_is_online() -> None:
    """A German customer goes to an English agent when no German speaker is online."""
    dispatcher = Dispatcher()
    dispatcher.agent_online(profile("ann", capacity=1), now=0.0)
    dispatcher.enqueue(waiting("de-1", 0.0, locale="de"), now=0.0)
    [assignment] = dispatcher.assign_ready(now=1.0)
    assert assignment.agent_id == "ann" and "fallback" in assignment.reason


def test_a_language_fallback_is_reported_only_when_it_happens() -> None:
    """language_fallback: False with nobody online or with a speaker of the customer's language
    online; True when only speakers of other languages are (the customer is told)."""
    dispatcher = Dispatcher()
    assert not dispatcher.language_fallback("de-DE")
    dispatcher.agent_online(profile("ann"), now=0.0)
    assert dispatcher.language_fallback("de-DE")
    assert not dispatcher.language_fallback("en-GB")
    dispatcher.agent_online(profile("dirk", languages=("de",)), now=0.0)
    assert not dispatcher.language_fallback("de-AT")


def test_skills_are_preferred_with_fallback() -> None:
    """A security case goes to the security agent; a case nobody has skills for still goes."""
    dispatcher = Dispatcher()
    dispatcher.agent_online(profile("ann"), now=0.0)
    dispatcher.agent_online(profile("sec", skills=("security",)), now=0.0)
    dispatcher.attach("sec", "busy-1")  # sec is busier, but skills come before load
    dispatcher.enqueue(waiting("hack", 0.0, "urgent", skills=("security",)), now=0.0)
    dispatcher.enqueue(waiting("api", 1.0, skills=("api",)), now=1.0)
    assignments = {a.conversation_id: a for a in dispatcher.assign_ready(2.0)}
    assert assignments["hack"].agent_id == "sec"
    assert "skills=security" in assignments["hack"].reason
    assert assignments["api"].agent_id == "ann"


def test_no_agent_online_means_unknown_wait() -> None:
    """Without an online agent the status has a position but no estimate."""
    dispatcher = Dispatcher()
    dispatcher.enqueue(waiting("c1", 0.0), now=0.0)
    assert dispatcher.queue_status("c1", 1.0) == QueueStatus(1, None, None, None, 0)
    dispatcher.agent_online(profile("ann", capacity=1), now=2.0)
    dispatcher.agent_away("ann", now=3.0)
    assert dispatcher.queue_status("c1", 4.0) == QueueStatus(1, None, None, None, 0)
    assert dispatcher.assign_ready(4.0) == []


def test_estimate_uses_observed_handling_times() -> None:
    """Closed chats feed the estimator, and the customer's estimate follows."""
    dispatcher = Dispatcher(estimator=WaitEstimator(prior_handle_s=300.0, prior_weight=1.0))
    dispatcher.agent_online(profile("ann", capacity=1), now=0.0)
    dispatcher.attach("ann", "busy")
    dispatcher.enqueue(waiting("c1", 0.0), now=0.0)
    before = dispatcher.queue_status("c1", 0.0)
    assert before is not None and before.estimated_wait_s == 300.0
    dispatcher.release("ann", "busy", now=60.0, handled_s=100.0)
    dispatcher.attach("ann", "busy-2")
    after = dispatcher.queue_status("c1", 60.0)
    assert after is not None and after.estimated_wait_s == 200.0  # (300 + 100) / 2
    assert after.wait_low_s is not None and after.wait_high_s is not None
    assert after.wait_low_s <= 200.0 <= after.wait_high_s and after.agents_online == 1


def test_agent_states_keep_chats() -> None:
    """Away and offline agents keep their chats but get no new ones; online again resumes."""
    dispatcher = Dispatcher()
    dispatcher.agent_online(profile("ann", capacity=2), now=0.0)
    dispatcher.enqueue(waiting("c1", 0.0), now=0.0)
    dispatcher.assign_ready(1.0)
    dispatcher.agent_away("ann", now=2.0)
    dispatcher.enqueue(waiting("c2", 2.0), now=2.0)
    assert dispatcher.assign_ready(3.0) == []
    dispatcher.agent_offline("ann", now=4.0)
    assert dispatcher.active("ann") == {"c1"} and dispatcher.agents_online == 0
    dispatcher.agent_online(profile("ann", capacity=2, languages=("en", "zh")), now=5.0)
    assert dispatcher.active("ann") == {"c1"}
    agent = dispatcher.agent("ann")
    assert agent is not None and agent.profile.languages == ("en", "zh")
    assert [a.conversation_id for a in dispatcher.assign_ready(6.0)] == ["c2"]
    dispatcher.agent_offline("nobody", now=7.0)  # unknown: ignored
    with pytest.raises(KeyError):
        dispatcher.agent_away("nobody", now=7.0)


def test_chat_returning_to_the_queue_gets_its_old_place() -> None:
    """A chat released and enqueued again with its original entry goes back ahead of newer ones."""
    dispatcher = Dispatcher()
    dispatcher.agent_online(profile("ann", capacity=1), now=0.0)
    original = waiting("c1", 0.0)
    dispatcher.enqueue(original, now=0.0)
    dispatcher.assign_ready(1.0)
    dispatcher.enqueue(waiting("c2", 2.0), now=2.0)
    dispatcher.enqueue(waiting("c3", 3.0), now=3.0)
    dispatcher.agent_offline("ann", now=4.0)
    dispatcher.release("ann", "c1", now=64.0)  # grace period over: back to the queue
    dispatcher.enqueue(original, now=64.0)
    assert positions(dispatcher, "c1", "c2", "c3") == [1, 2, 3]


def test_conversation_cannot_be_queued_and_assigned() -> None:
    """Enqueueing a held chat, attaching a queued one or attaching to two agents is refused."""
    dispatcher = Dispatcher()
    dispatcher.agent_online(profile("ann"), now=0.0)
    dispatcher.agent_online(profile("bob"), now=0.0)
    dispatcher.attach("ann", "c1")
    dispatcher.attach("ann", "c1")  # idempotent
    with pytest.raises(ValueError, match="held by"):
        dispatcher.enqueue(waiting("c1", 0.0), now=0.0)
    with pytest.raises(ValueError, match="held by"):
        dispatcher.attach("bob", "c1")
    dispatcher.enqueue(waiting("c2", 0.0), now=0.0)
    with pytest.raises(ValueError, match="queued"):
        dispatcher.attach("bob", "c2")
    with pytest.raises(ValueError, match="already queued"):
        dispatcher.enqueue(waiting("c2", 1.0), now=1.0)
    with pytest.raises(KeyError):
        dispatcher.attach("nobody", "c3")


def test_release_of_unheld_chat_is_a_no_op() -> None:
    """Releasing twice changes nothing and does not feed the estimator twice."""
    dispatcher = Dispatcher(estimator=WaitEstimator(prior_handle_s=300.0, prior_weight=1.0))
    dispatcher.agent_online(profile("ann"), now=0.0)
    dispatcher.attach("ann", "c1")
    dispatcher.release("ann", "c1", now=1.0, handled_s=100.0)
    dispatcher.release("ann", "c1", now=2.0, handled_s=100.0)
    dispatcher.release("nobody", "c1", now=2.0)
    assert dispatcher.estimator.mean_handle_s() == 200.0
    assert dispatcher.active("ann") == frozenset()


def test_restore_may_exceed_a_lowered_capacity() -> None:
    """Attach restores chats beyond a lowered capacity; then no new chat is assigned."""
    dispatcher = Dispatcher()
    dispatcher.agent_online(profile("ann", capacity=1), now=0.0)
    dispatcher.attach("ann", "c1")
    dispatcher.attach("ann", "c2")
    dispatcher.enqueue(waiting("c3", 0.0), now=0.0)
    assert dispatcher.free_slots() == 0
    assert dispatcher.assign_ready(1.0) == []


def test_leave_and_overview() -> None:
    """Leave removes a waiting customer; overview sums up the live figures."""
    dispatcher = Dispatcher()
    dispatcher.agent_online(profile("ann", capacity=2), now=0.0)
    dispatcher.attach("ann", "busy")
    dispatcher.agent_online(profile("bob", capacity=3), now=0.0)
    dispatcher.agent_away("bob", now=0.0)
    dispatcher.enqueue(waiting("c1", 10.0, "vip"), now=10.0)
    dispatcher.enqueue(waiting("c2", 20.0), now=20.0)
    assert dispatcher.leave("c1", now=25.0) == waiting("c1", 10.0, "vip")
    assert dispatcher.leave("c1", now=25.0) is None
    assert dispatcher.overview(now=50.0) == {
        "waiting": 1,
        "waiting_by_class": {"urgent": 0, "vip": 0, "normal": 1},
        "oldest_wait_s": 30.0,
        "agents_online": 1,
        "slots": 2,
        "free_slots": 1,
    }
    assert Dispatcher().overview(0.0)["oldest_wait_s"] == 0.0


# -- the state machine ------------------------------------------------------------------------

AGENT_IDS = ("a1", "a2", "a3", "a4")
CAPACITY = {"a1": 1, "a2": 2, "a3": 3, "a4": 1}
LANGUAGES = (("en",), ("zh",), ("en", "zh"), ("de",))
SKILL_SETS = ((), ("kyc",), ("security",), ("kyc", "api"))
LOCALES = ("en", "zh", "de", "fr")


class DispatcherMachine(RuleBasedStateMachine):
    """Random agent and customer events against a model of who is queued and who holds what."""

    def __init__(self) -> None:
        super().__init__()
        self.dispatcher = Dispatcher()
        self.now = 0.0
        self.counter = 0
        self.entries: dict[str, QueueEntry] = {}  # every conversation's original entry
        self.queued: set[str] = set()
        self.holder: dict[str, str] = {}
        self.profiles: dict[str, AgentProfile] = {}
        self.status: dict[str, str] = {}

    # oracle: the routing rule restated independently of chatd.domain.routing
    def online_agents(self) -> list[str]:
        return [a for a, s in self.status.items() if s == "online"]

    def pool(self, entry: QueueEntry) -> list[str]:
        """The online agents who may serve ``entry``: the speakers of its language; with none
        online, the English speakers; with none of those, anyone."""
        online = self.online_agents()
        speakers = [a for a in online if entry.locale in self.profiles[a].languages]
        english = [a for a in online if "en" in self.profiles[a].languages]
        return speakers or english or online

    def may_take(self, agent_id: str, entry: QueueEntry) -> bool:
        """Language eligibility of an online agent, ignoring capacity."""
        return self.status[agent_id] == "online" and agent_id in self.pool(entry)

    def load(self, agent_id: str) -> int:
        return sum(1 for a in self.holder.values() if a == agent_id)

    def has_room(self, agent_id: str) -> bool:
        return self.load(agent_id) < CAPACITY[agent_id]

    @rule(dt=st.sampled_from([0.0, 1.0, 30.0, 400.0, 1000.0]))
    def time_passes(self, dt: float) -> None:
        self.now += dt

    @rule(
        agent_id=st.sampled_from(AGENT_IDS),
        languages=st.sampled_from(LANGUAGES),
        skills=st.sampled_from(SKILL_SETS),
    )
    def agent_online(
        self, agent_id: str, languages: tuple[str, ...], skills: tuple[str, ...]
    ) -> None:
        agent = profile(agent_id, CAPACITY[agent_id], languages, skills)
        self.dispatcher.agent_online(agent, self.now)
        self.profiles[agent_id] = agent
        self.status[agent_id] = "online"

    @rule(agent_id=st.sampled_from(AGENT_IDS))
    def agent_away(self, agent_id: str) -> None:
        if agent_id in self.status:
            self.dispatcher.agent_away(agent_id, self.now)
            self.status[agent_id] = "away"
        else:
            with pytest.raises(KeyError):
                self.dispatcher.agent_away(agent_id, self.now)

    @rule(agent_id=st.sampled_from(AGENT_IDS))
    def agent_offline(self, agent_id: str) -> None:
        self.dispatcher.agent_offline(agent_id, self.now)
        if agent_id in self.status:
            self.status[agent_id] = "offline"

    @rule(
        priority=st.sampled_from(PRIORITIES),
        locale=st.sampled_from(LOCALES),
        skills=st.sampled_from(SKILL_SETS),
    )
    def customer_joins(self, priority: str, locale: str, skills: tuple[str, ...]) -> None:
        self.counter += 1
        entry = QueueEntry(f"c{self.counter:03d}", priority, self.now, locale, skills)
        self.dispatcher.enqueue(entry, self.now)
        self.entries[entry.conversation_id] = entry
        self.queued.add(entry.conversation_id)

    @precondition(lambda self: self.queued)
    @rule(data=st.data())
    def customer_leaves(self, data: st.DataObject) -> None:
        cid = data.draw(st.sampled_from(sorted(self.queued)))
        assert self.dispatcher.leave(cid, self.now) == self.entries[cid]
        self.queued.discard(cid)

    @precondition(lambda self: self.holder)
    @rule(data=st.data(), back_to_queue=st.booleans())
    def chat_ends(self, data: st.DataObject, back_to_queue: bool) -> None:
        cid = data.draw(st.sampled_from(sorted(self.holder)))
        agent_id = self.holder.pop(cid)
        self.dispatcher.release(agent_id, cid, self.now, handled_s=data.draw(st.floats(0, 900)))
        if back_to_queue:  # agent gone for good or transferred back: the old place is kept
            self.dispatcher.enqueue(self.entries[cid], self.now)
            self.queued.add(cid)

    @precondition(lambda self: any(self.has_room(a) for a in self.status))
    @rule(data=st.data())
    def chat_restored(self, data: st.DataObject) -> None:
        agent_id = data.draw(st.sampled_from(sorted(a for a in self.status if self.has_room(a))))
        self.counter += 1
        cid = f"r{self.counter:03d}"
        self.entries[cid] = QueueEntry(cid, "normal", self.now)
        self.dispatcher.attach(agent_id, cid)
        self.holder[cid] = agent_id

    @rule()
    def assign(self) -> None:
        order = {e.conversation_id: i for i, e in enumerate(self.dispatcher.queue.ordered())}
        assignments = self.dispatcher.assign_ready(self.now)
        assert [order[a.conversation_id] for a in assignments] == sorted(
            order[a.conversation_id] for a in assignments
        ), "assignments are made in service order"
        for assignment in assignments:
            cid = assignment.conversation_id
            entry = self.entries[cid]
            assert cid in self.queued and self.has_room(assignment.agent_id)
            assert self.may_take(assignment.agent_id, entry)
            assert assignment.waited_s == self.now - entry.enqueued_at
            assert assignment.priority == entry.priority and assignment.reason
            self.queued.discard(cid)
            self.holder[cid] = assignment.agent_id
        self.check_nobody_overtaken_without_cause(assignments, order)
        self.check_no_idle_agent_while_eligible_entry_waits()

    def check_nobody_overtaken_without_cause(
        self, assignments: list[Assignment], order: dict[str, int]
    ) -> None:
        """An entry still waiting was passed over only if the taking agent could not serve it."""
        for assignment in assignments:
            later = self.entries[assignment.conversation_id]
            for cid in self.queued:
                earlier = self.entries[cid]
                if order[cid] > order[later.conversation_id]:
                    continue
                # The earlier entry was ahead and still waits: language must be why.
                assert not self.may_take(assignment.agent_id, earlier)
                if earlier.priority == later.priority:
                    assert earlier.enqueued_at <= later.enqueued_at
                    serving = self.pool(earlier)
                    assert serving and not any(self.has_room(a) for a in serving)

    def check_no_idle_agent_while_eligible_entry_waits(self) -> None:
        for agent_id in self.online_agents():
            if self.has_room(agent_id):
                for cid in self.queued:
                    assert not self.may_take(agent_id, self.entries[cid]), (agent_id, cid)

    @invariant()
    def matches_the_model(self) -> None:
        dispatcher = self.dispatcher
        assert {e.conversation_id for e in dispatcher.queue} == self.queued
        for agent_id in AGENT_IDS:
            expected = {cid for cid, a in self.holder.items() if a == agent_id}
            assert dispatcher.active(agent_id) == expected
        for cid, agent_id in self.holder.items():
            assert dispatcher.assigned_agent(cid) == agent_id
        assert dispatcher.agents_online == len(self.online_agents())

    @invariant()
    def never_queued_and_assigned(self) -> None:
        held = [cid for a in AGENT_IDS for cid in self.dispatcher.active(a)]
        assert len(held) == len(set(held)), "a conversation is held by two agents"
        assert not set(held) & {e.conversation_id for e in self.dispatcher.queue}
        for cid in held:
            assert self.dispatcher.queue_status(cid, self.now) is None

    @invariant()
    def no_agent_over_capacity(self) -> None:
        for agent_id in AGENT_IDS:
            assert len(self.dispatcher.active(agent_id)) <= CAPACITY[agent_id]

    @invariant()
    def positions_are_contiguous(self) -> None:
        ordered = self.dispatcher.queue.ordered()
        for rank, entry in enumerate(ordered, start=1):
            status = self.dispatcher.queue_status(entry.conversation_id, self.now)
            assert status is not None and status.position == rank
            assert (status.estimated_wait_s is None) == (self.dispatcher.slots() == 0)
        assert self.dispatcher.overview(self.now)["waiting"] == len(ordered)


DispatcherMachine.TestCase.settings = settings(
    max_examples=150, stateful_step_count=60, deadline=None
)
test_dispatcher_state_machine = DispatcherMachine.TestCase
test_dispatcher_state_machine.__doc__ = "Random event sequences keep every dispatcher invariant."


def test_estimate_counts_the_language_pool_and_who_is_ahead() -> None:
    """A zh customer behind another zh waits for two zh seats; an en customer passes them."""
    dispatcher = Dispatcher(estimator=WaitEstimator(prior_handle_s=300.0))
    dispatcher.agent_online(profile("zoe", capacity=1, languages=("en", "zh")), now=0.0)
    dispatcher.agent_online(profile("ann", capacity=2), now=0.0)
    for cid in ("busy-1", "busy-2"):
        dispatcher.attach("ann", cid)
    dispatcher.attach("zoe", "busy-3")
    dispatcher.enqueue(waiting("zh-1", 0.0, locale="zh"), now=0.0)
    dispatcher.enqueue(waiting("zh-2", 1.0, locale="zh"), now=1.0)
    dispatcher.enqueue(waiting("en-1", 2.0), now=2.0)
    zh_second = dispatcher.queue_status("zh-2", 2.0)
    en_third = dispatcher.queue_status("en-1", 2.0)
    assert zh_second is not None and zh_second.estimated_wait_s == 600.0  # 2 x h / 1 zh seat
    # en-1 passes both zh customers on ann's seats: one departure from 3 slots.
    assert en_third is not None and en_third.estimated_wait_s == 100.0


def test_estimate_follows_every_change_at_the_same_instant() -> None:
    """The per-state figures queue_status reuses are dropped on each change, even at one now."""
    dispatcher = Dispatcher(estimator=WaitEstimator(prior_handle_s=300.0))
    dispatcher.agent_online(profile("zoe", capacity=1, languages=("en", "zh")), now=0.0)
    dispatcher.attach("zoe", "busy-1")
    for i, (cid, locale) in enumerate((("zh-1", "zh"), ("zh-2", "zh"), ("en-1", "en"))):
        dispatcher.enqueue(waiting(cid, float(i), locale=locale), now=float(i))
    first = dispatcher.queue_status("zh-2", 5.0)
    assert first is not None and first.estimated_wait_s == 600.0  # two departures, one seat
    dispatcher.agent_online(profile("ann", capacity=2), now=5.0)
    dispatcher.attach("ann", "busy-2")
    dispatcher.attach("ann", "busy-3")
    second = dispatcher.queue_status("zh-2", 5.0)
    en_third = dispatcher.queue_status("en-1", 5.0)
    # Still two zh seats to wait for; en-1 now passes both on ann's seats (one of 3 slots).
    assert second is not None and second.estimated_wait_s == 600.0
    assert en_third is not None and en_third.estimated_wait_s == 100.0
    dispatcher.leave("zh-1", now=5.0)
    after_leave = dispatcher.queue_status("en-1", 5.0)
    assert after_leave is not None and after_leave.position == 2
    assert after_leave.estimated_wait_s == 100.0
    dispatcher.release("ann", "busy-2", now=5.0)
    assert [a.conversation_id for a in dispatcher.assign_ready(5.0)] == ["en-1"]
    dispatcher.release("zoe", "busy-1", now=5.0)
    freed = dispatcher.assign_ready(5.0)
    assert [a.conversation_id for a in freed] == ["zh-2"]
    assert dispatcher.queue_status("zh-2", 5.0) is None


def test_agent_snapshots_carry_their_status() -> None:
    """The snapshot of an agent says online, away or offline as set; an unknown agent has none;
    setting an unknown agent away is an error."""
    dispatcher = Dispatcher()
    dispatcher.agent_online(profile("ann"), now=0.0)
    dispatcher.agent_online(profile("bob"), now=0.0)
    dispatcher.agent_away("ann", now=1.0)
    dispatcher.agent_offline("bob", now=1.0)
    ann, bob = dispatcher.agent("ann"), dispatcher.agent("bob")
    assert ann is not None and ann.status == "away"
    assert bob is not None and bob.status == "offline"
    assert dispatcher.agent("nobody") is None
    with pytest.raises(KeyError, match="unknown agent 'nobody'"):
        dispatcher.agent_away("nobody", now=1.0)
