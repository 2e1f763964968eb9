"""Long messages are masked in a worker process (chatd.service.masking), and a masking job that
runs too long fails closed: the message is hidden whole and the next one is masked normally."""

from __future__ import annotations

from typing import Any

import pytest
from mnemonic import Mnemonic

from tests.support.harness import Harness

FILLER = "I tried again and the withdrawal is still pending, here is what the app says: " * 8


async def test_a_long_message_is_masked_in_a_worker(chatd: Harness) -> None:
    """A 700-character message holding a seed phrase is masked by the worker, like inline."""
    customer = await chatd.customer()
    phrase = Mnemonic("english").generate(128)
    await customer.say(f"{FILLER} my seed phrase is {phrase}")
    echo = await customer.wait_for("message", author="customer")
    assert "[redacted:seed_phrase]" in echo["text"]
    assert phrase.split()[0] not in echo["text"].split()
    assert chatd.service.masker.offloaded == 1
    await customer.close()


class TestMaskingTimeout:
    @pytest.fixture
    def settings(self) -> dict[str, dict[str, Any]]:
        # No worker answers within 1 microsecond: every long message takes the failure path.
        return {"limits": {"mask_timeout_s": 0.000001}}

    async def test_a_job_that_runs_too_long_hides_the_message(self, chatd: Harness) -> None:
        """Past mask_timeout_s the long message is stored as [redacted:unknown] (nothing of it
        leaks), the worker is replaced, and short messages are masked as usual meanwhile."""
        customer = await chatd.customer()
        await customer.say(f"{FILLER} and my password is hunter22")
        hidden = await customer.wait_for("message", author="customer")
        assert hidden["text"] == "[redacted:unknown]"
        assert chatd.service.masker.failures == 1
        await customer.say("my password is hunter22")
        short = await customer.wait_for("message", author="customer")
        assert short["text"] == "my password is [redacted:password]"
        await customer.close()
