"""chatd: an async realtime live-chat server with bot triage, a fair queue and an agent console."""

__version__ = "0.1.0"
