"""The asyncio orchestration: applies the pure core's decisions, persists, then fans out."""
