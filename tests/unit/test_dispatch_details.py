"""The dispatcher's details that mutation testing found unpinned: what a restored chat counts
for, which handling times feed the estimate, and the head starts and figures customers and
operators are shown, to the second."""

from __future__ import annotations

import pytest

from chatd.domain.dispatch import Dispatcher
from chatd.domain.queue import FairQueue, QueueEntry
from chatd.domain.routing import AgentProfile
from chatd.domain.wait import WaitEstimator


def profile(agent_id: str, capacity: int = 3, languages: tuple[str, ...] = ("en",)) -> AgentProfile:
    return AgentProfile(agent_id, agent_id.title(), capacity, languages)


def waiting(cid: str, at: float, priority: str = "normal", locale: str = "en") -> QueueEntry:
    return QueueEntry(cid, priority, at, locale)


def test_an_attach_with_a_time_counts_as_an_assignment_for_idle_fairness() -> None:
    """Restoring a chat with ``now`` makes that agent the most recently assigned: at equal load
    the next customer goes to the other agent, who has waited longer."""
    dispatcher = Dispatcher()
    dispatcher.agent_online(profile("ann"), now=0.0)
    dispatcher.agent_online(profile("bob"), now=0.0)
    dispatcher.attach("ann", "old-1", now=50.0)
    dispatcher.attach("bob", "old-2", now=10.0)
    agent = dispatcher.agent("ann")
    assert agent is not None and agent.last_assigned_at == 50.0
    dispatcher.enqueue(waiting("c1", 60.0), now=60.0)
    assert [a.agent_id for a in dispatcher.assign_ready(60.0)] == ["bob"]


def test_an_attach_without_a_time_leaves_the_idle_time_alone() -> None:
    """Restoring without ``now`` keeps the agent's last-assigned time as it was."""
    dispatcher = Dispatcher()
    dispatcher.agent_online(profile("ann"), now=0.0)
    dispatcher.attach("ann", "old-1", now=50.0)
    dispatcher.attach("ann", "old-2")
    agent = dispatcher.agent("ann")
    assert agent is not None and agent.last_assigned_at == 50.0


def test_handling_times_reported_later_weigh_more() -> None:
    """A chat closed a half-life after another counts twice as much in the mean handling time:
    the release passes its time to the estimator."""
    estimator = WaitEstimator(prior_handle_s=300.0, half_life_s=1800.0, prior_weight=1e-9)
    dispatcher = Dispatcher(estimator=estimator)
    dispatcher.agent_online(profile("ann"), now=0.0)
    dispatcher.attach("ann", "c1")
    dispatcher.attach("ann", "c2")
    dispatcher.release("ann", "c1", now=0.0, handled_s=100.0)
    dispatcher.release("ann", "c2", now=1800.0, handled_s=400.0)
    # weights 0.5 and 1: (50 + 400) / 1.5
    assert abs(estimator.mean_handle_s() - 300.0) < 1e-6


def _surge(enqueued_at: float, priority: str = "normal") -> Dispatcher:
    """One busy seat (h = 300 s) and urgent customers arriving faster than it frees up."""
    estimator = WaitEstimator(prior_handle_s=300.0)
    for _ in range(10):  # a decayed count of 10: about 0.0116 urgent arrivals a second
        estimator.observe_enqueue("urgent", enqueued_at)
    dispatcher = Dispatcher(estimator=estimator)
    dispatcher.agent_online(profile("ann", capacity=1), now=0.0)
    dispatcher.attach("ann", "busy")
    dispatcher.enqueue(waiting("c1", enqueued_at, priority), now=enqueued_at)
    return dispatcher


def test_the_head_starts_of_higher_classes_shrink_by_the_time_waited() -> None:
    """A normal customer is overtaken by urgent arrivals for 900 s and VIP ones for 300 s from
    when it joined; what it is told equals the estimator's answer for exactly those windows,
    100 s later for windows 100 s shorter, 899 s later for the last second of urgent ones."""
    for waited in (0.0, 100.0, 899.0):
        dispatcher = _surge(1000.0)
        status = dispatcher.queue_status("c1", 1000.0 + waited)
        windows = {"urgent": 900.0 - waited, "vip": 300.0 - waited}
        reference = _surge(1000.0).estimator.estimate(
            1,
            slots=1,
            free_slots=0,
            now=1000.0 + waited,
            head_starts={priority: s for priority, s in windows.items() if s > 0.0},
        )
        assert status is not None and reference is not None
        assert (status.estimated_wait_s, status.wait_low_s, status.wait_high_s) == (
            reference.expected_s,
            reference.low_s,
            reference.high_s,
        )
        if waited == 0.0:  # the surge matters: without it the wait is one handling time
            assert status.estimated_wait_s is not None and status.estimated_wait_s > 1000.0


def test_a_vip_customer_is_overtaken_by_urgent_arrivals_for_the_difference() -> None:
    """A VIP customer is overtaken by urgent arrivals for 900 - 300 = 600 s only."""
    status = _surge(1000.0, "vip").queue_status("c1", 1000.0)
    reference = _surge(1000.0, "vip").estimator.estimate(
        1, slots=1, free_slots=0, now=1000.0, head_starts={"urgent": 600.0}
    )
    assert status is not None and reference is not None
    assert status.estimated_wait_s == reference.expected_s
    assert status.wait_high_s == reference.high_s


def test_an_urgent_customer_is_overtaken_by_nobody() -> None:
    """The highest class gets no head starts: its wait is one handling time even in a surge."""
    status = _surge(1000.0, "urgent").queue_status("c1", 1000.0)
    assert status is not None and status.estimated_wait_s == 300.0


def test_the_oldest_wait_is_zero_at_the_instant_of_joining() -> None:
    """Operators see an oldest wait of 0.0 s for a customer who has just joined, 0.5 s half a
    second later."""
    dispatcher = Dispatcher()
    dispatcher.enqueue(waiting("c1", 10.0), now=10.0)
    assert dispatcher.overview(now=10.0)["oldest_wait_s"] == 0.0
    assert dispatcher.overview(now=10.5)["oldest_wait_s"] == 0.5
    assert dispatcher.overview(now=9.0)["oldest_wait_s"] == 0.0  # a clock step back


def test_a_given_queue_and_its_boosts_are_used() -> None:
    """A dispatcher built on a queue with a 60 s urgent head start serves by that queue."""
    queue = FairQueue({"urgent": 60.0})
    dispatcher = Dispatcher(queue=queue)
    assert dispatcher.queue is queue
    dispatcher.enqueue(waiting("n", 0.0), now=0.0)
    dispatcher.enqueue(waiting("u", 61.0, "urgent"), now=61.0)
    assert [entry.conversation_id for entry in queue.ordered()] == ["n", "u"]


def test_every_known_agent_is_listed_by_id_whatever_its_status() -> None:
    """``agents()`` lists online, away and offline agents, sorted by id."""
    dispatcher = Dispatcher()
    for agent_id in ("cat", "ann", "bob"):
        dispatcher.agent_online(profile(agent_id), now=0.0)
    dispatcher.agent_away("bob", now=1.0)
    dispatcher.agent_offline("cat", now=1.0)
    assert [(a.agent_id, a.status) for a in dispatcher.agents()] == [
        ("ann", "online"),
        ("bob", "away"),
        ("cat", "offline"),
    ]


def test_who_holds_a_chat_and_what_an_agent_holds() -> None:
    """After an assignment the chat's holder is known and the agent holds it; an unknown agent
    holds nothing and an unheld chat has no holder."""
    dispatcher = Dispatcher()
    dispatcher.agent_online(profile("ann"), now=0.0)
    dispatcher.enqueue(waiting("c1", 0.0), now=0.0)
    dispatcher.assign_ready(1.0)
    assert dispatcher.assigned_agent("c1") == "ann"
    assert dispatcher.assigned_agent("c2") is None
    assert dispatcher.active("ann") == frozenset({"c1"})
    assert dispatcher.active("nobody") == frozenset()


def test_queue_flows_reach_the_estimator() -> None:
    """Each enqueue counts as an arrival of its class and each leave as an abandonment (the
    overtaking and abandonment refinements learn from these); a leave of a chat that is not
    queued counts nothing, and a held chat cannot be queued."""
    dispatcher = Dispatcher()
    dispatcher.enqueue(waiting("u1", 0.0, "urgent"), now=0.0)
    dispatcher.enqueue(waiting("n1", 0.0), now=0.0)
    estimator = dispatcher.estimator
    assert estimator.arrival_rate("urgent", 0.0) == estimator.arrival_rate("normal", 0.0) > 0.0
    assert estimator.arrival_rate("vip", 0.0) == 0.0
    assert dispatcher.leave("nobody", now=0.0) is None
    assert estimator.abandon_rate(0.0) == 0.0
    dispatcher.leave("u1", now=0.0)
    assert estimator.abandon_rate(0.0) == 1.0 / 3600.0
    dispatcher.agent_online(profile("ann"), now=0.0)
    dispatcher.attach("ann", "held")
    with pytest.raises(ValueError) as raised:
        dispatcher.enqueue(waiting("held", 0.0), now=0.0)
    assert str(raised.value) == "conversation 'held' is held by agent 'ann'; release it first"


def test_a_blocked_language_does_not_stop_the_walk() -> None:
    """Two Chinese customers wait for the one busy Chinese speaker; the English customer behind
    both is still assigned, and an assignment is no abandonment."""
    dispatcher = Dispatcher()
    dispatcher.agent_online(profile("zoe", capacity=1, languages=("zh",)), now=0.0)
    dispatcher.agent_online(profile("ann"), now=0.0)
    dispatcher.attach("zoe", "busy")
    for i, (cid, locale) in enumerate((("zh-1", "zh"), ("zh-2", "zh"), ("en-1", "en"))):
        dispatcher.enqueue(waiting(cid, float(i), locale=locale), now=float(i))
    assigned = dispatcher.assign_ready(10.0)
    assert [(a.conversation_id, a.agent_id) for a in assigned] == [("en-1", "ann")]
    assert dispatcher.estimator.abandon_rate(10.0) == 0.0


def test_within_one_walk_the_next_customer_sees_the_last_assignment() -> None:
    """Ann (never assigned) takes the first customer; at equal load the second goes to Bob, who
    has been idle since 10 s, not again to Ann who was assigned this very instant."""
    dispatcher = Dispatcher()
    dispatcher.agent_online(profile("ann"), now=0.0)
    dispatcher.agent_online(profile("bob"), now=0.0)
    dispatcher.attach("bob", "old", now=10.0)
    dispatcher.enqueue(waiting("c1", 20.0), now=20.0)
    dispatcher.enqueue(waiting("c2", 21.0), now=21.0)
    assigned = dispatcher.assign_ready(100.0)
    assert [(a.conversation_id, a.agent_id) for a in assigned] == [("c1", "ann"), ("c2", "bob")]


def test_a_customer_served_at_once_waited_zero_seconds() -> None:
    """An assignment in the second the customer joined reports a wait of 0.0 s."""
    dispatcher = Dispatcher()
    dispatcher.agent_online(profile("ann"), now=0.0)
    dispatcher.enqueue(waiting("c1", 5.0), now=5.0)
    assert [a.waited_s for a in dispatcher.assign_ready(5.0)] == [0.0]


def test_deep_in_the_queue_the_languages_ahead_are_not_scanned() -> None:
    """Beyond the first 32 places the estimate ignores who is ahead in which language (the mix
    averages out): the 40th of 40 Chinese customers is estimated as if nobody ahead needed the
    one Chinese seat, the 32nd with the 31 ahead of it in that seat's queue."""
    estimator = WaitEstimator(prior_handle_s=300.0)
    dispatcher = Dispatcher(estimator=estimator)
    dispatcher.agent_online(profile("zoe", capacity=1, languages=("en", "zh")), now=0.0)
    dispatcher.agent_online(profile("ann", capacity=40), now=0.0)
    for i in range(41):
        dispatcher.attach("ann" if i else "zoe", f"busy-{i}")
    for i in range(40):
        dispatcher.enqueue(waiting(f"zh-{i + 1}", float(i), locale="zh"), now=float(i))
    figures = {"slots": 41, "free_slots": 0, "now": 40.0, "pool_slots": 1, "head_starts": {}}
    deep = dispatcher.queue_status("zh-40", 40.0)
    near = dispatcher.queue_status("zh-32", 40.0)
    expected_deep = estimator.estimate(40, **figures)  # type: ignore[arg-type]
    expected_near = estimator.estimate(32, pool_ahead=31, **figures)  # type: ignore[arg-type]
    assert deep is not None and expected_deep is not None
    assert near is not None and expected_near is not None
    assert deep.estimated_wait_s == expected_deep.expected_s
    assert near.estimated_wait_s == expected_near.expected_s
    # With 41 seats the 40th waits about 39 x h/41 + h/1 = 585 s: its own seat's step; one
    # Chinese customer ahead in that seat's queue would have made it 2 x h/1 = 600 s.
    assert deep.estimated_wait_s == 585.0


def test_who_ahead_delays_a_language_customer() -> None:
    """Behind an English customer (any seat serves them) and two Chinese ones, the third Chinese
    customer waits for two Chinese departures first; the English customer ahead is neither in
    its seat's queue nor passed, and does not end the count."""
    estimator = WaitEstimator(prior_handle_s=300.0)
    dispatcher = Dispatcher(estimator=estimator)
    dispatcher.agent_online(profile("zoe", capacity=1, languages=("en", "zh")), now=0.0)
    dispatcher.agent_online(profile("ann", capacity=2), now=0.0)
    for agent_id, cid in (("zoe", "busy-1"), ("ann", "busy-2"), ("ann", "busy-3")):
        dispatcher.attach(agent_id, cid)
    for i, (cid, locale) in enumerate(
        (("en-1", "en"), ("zh-1", "zh"), ("zh-2", "zh"), ("zh-3", "zh"))
    ):
        dispatcher.enqueue(waiting(cid, float(i), locale=locale), now=float(i))
    figures = {"slots": 3, "free_slots": 0, "now": 10.0, "pool_slots": 1, "head_starts": {}}
    for cid, position, pool_ahead in (("zh-1", 2, 0), ("zh-3", 4, 2)):
        status = dispatcher.queue_status(cid, 10.0)
        reference = estimator.estimate(position, pool_ahead=pool_ahead, **figures)  # type: ignore[arg-type]
        assert status is not None and reference is not None
        assert status.estimated_wait_s == reference.expected_s
