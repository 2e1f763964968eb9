"""Event fan-out between the parts of chatd that hold connections.

The service publishes a conversation's events on the topic ``conv:<id>`` and agent-directed frames
on ``agent:<id>``; whoever holds the customer's or agent's WebSocket subscribes. In one process the
:class:`LocalBus` delivers synchronously; in cluster mode a Redis bus carries the same messages
between nodes, so a customer and their agent may sit on different nodes.
"""

from chatd.bus.base import Bus, Handler, Subscription
from chatd.bus.local import LocalBus

__all__ = ["Bus", "Handler", "LocalBus", "Subscription"]
