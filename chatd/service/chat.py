"""The service of one chatd node: its parts, built once and handed to each other.

Each part owns one thing and calls the others' public methods only (the arrows point down):

* :class:`~chatd.service.conversations.ConversationLog`: append, cache, publish — the one way
  an event enters a conversation;
* :class:`~chatd.service.assignments.Assignments`: queue and assignment decisions applied,
  agents' presence (with a :class:`~chatd.service.coordinator.Coordinator`: inline, or the
  cluster's leader);
* :class:`~chatd.service.customers.CustomerFlow`: hello, messages, the bot's turn, hand-over;
* :class:`~chatd.service.desk.AgentDesk`: an agent's messages, notes, tags, transfer, close;
* :class:`~chatd.service.tickets.Tickets`: tickets and CSAT;
* :class:`~chatd.service.staff.Staff`: who a token belongs to, sign-in, sessions, the audit
  trail;
* :class:`~chatd.service.retention.Retention`: deletion by age, erasure and export of one
  customer's data;
* :class:`~chatd.service.masking.Masker`: secrets masked inline or in a worker process;
* :class:`~chatd.service.attachments.Attachments`: files sent in a conversation;
* :class:`~chatd.service.integrations.Integrations`: messages the exchange's systems post;
* :class:`~chatd.service.deliveries.Deliveries`: emails and webhooks, queued with their events.

A new capability is a new part here (docs/architecture.md), not new methods on an old one.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from bot_intents import Bot
from chatd.bus.base import Bus
from chatd.config import Config
from chatd.service.assignments import Assignments
from chatd.service.attachments import Attachments
from chatd.service.conversations import ConversationLog
from chatd.service.coordinator import Coordinator
from chatd.service.customers import CustomerFlow
from chatd.service.deliveries import Deliveries
from chatd.service.desk import AgentDesk
from chatd.service.external_bot import ExternalBot
from chatd.service.followups import Followups
from chatd.service.integrations import Integrations
from chatd.service.masking import Masker
from chatd.service.metrics import Metrics
from chatd.service.retention import Retention
from chatd.service.staff import Staff
from chatd.service.tickets import Tickets
from chatd.store.base import Store
from chatd.store.blobs import BlobStore, DirectoryBlobStore, PostgresBlobStore

__all__ = ["ChatService", "blob_store_for"]


def blob_store_for(config: Config, store: Store) -> BlobStore:
    """Where attachments' bytes go: beside the store's rows in PostgreSQL (every node reads
    them), else files under the data dir."""
    connection = getattr(store, "connection", None)
    if connection is not None:
        return PostgresBlobStore(connection, clock=time.time)
    return DirectoryBlobStore(config.data_path / "attachments")


class ChatService:
    """The parts of one node's service, and what they share."""

    def __init__(
        self,
        *,
        config: Config,
        store: Store,
        bus: Bus,
        bot: Bot,
        secret: str,
        metrics: Metrics | None = None,
        clock: Callable[[], float] = time.time,
        blobs: BlobStore | None = None,
    ) -> None:
        self.config = config
        self.store = store
        self.bus = bus
        self.bot = bot
        self.metrics = metrics or Metrics()
        self.clock = clock
        self.masker = Masker(config.limits)
        self.log = ConversationLog(config=config, store=store, bus=bus, clock=clock)
        self.assignments = Assignments(
            config=config,
            log=self.log,
            store=store,
            bus=bus,
            metrics=self.metrics,
            clock=clock,
        )
        self.staff = Staff(
            store=store,
            assignments=self.assignments,
            bus=bus,
            security=config.security,
            clock=clock,
        )
        self.customers = CustomerFlow(
            config=config,
            log=self.log,
            assignments=self.assignments,
            store=store,
            bot=bot,
            masker=self.masker,
            metrics=self.metrics,
            secret=secret,
            clock=clock,
            external=ExternalBot(config.bot, max_chars=config.limits.max_message_chars),
        )
        self.desk = AgentDesk(
            config=config,
            log=self.log,
            assignments=self.assignments,
            customers=self.customers,
            store=store,
            metrics=self.metrics,
            clock=clock,
        )
        blobs = blobs or blob_store_for(config, store)
        self.retention = Retention(store=store, config=config.retention, blobs=blobs, clock=clock)
        #: Emails and webhooks: queued with their events, sent by a task per node (started by
        #: the app when :attr:`Deliveries.enabled`).
        #: Replies by email for customers who left an address and are away.
        self.followups = Followups(
            config=config, log=self.log, store=store, secret=secret, clock=clock
        )
        self.deliveries = Deliveries(
            config=config,
            store=store,
            secret=secret,
            metrics=self.metrics,
            clock=clock,
            followups=self.followups,
        )
        if self.deliveries.enabled:
            self.log.outgoing = self.deliveries
        self.tickets = Tickets(
            log=self.log,
            assignments=self.assignments,
            store=store,
            masker=self.masker,
            metrics=self.metrics,
            clock=clock,
        )
        self.integrations = Integrations(log=self.log, masker=self.masker, clock=clock)
        self.attachments = Attachments(
            config=config,
            log=self.log,
            blobs=blobs,
            secret=secret,
            clock=clock,
        )

    @property
    def coordinator(self) -> Coordinator:
        """Who runs the dispatcher (see :meth:`Assignments.use`)."""
        return self.assignments.coordinator

    @property
    def accepting(self) -> bool:
        """False once shutdown began: new conversations are refused."""
        return self.customers.accepting

    @accepting.setter
    def accepting(self, value: bool) -> None:
        self.customers.accepting = value
