"""What the operator's key may spend: a per-session cap and a process-wide total, counted alike.

A call reserves its worst case (whole prompt + max_tokens at the listed price) before it starts,
atomically against both caps, so concurrent calls cannot all pass a check and overshoot the cap
together. On the way out the reservation becomes the call's real cost if the call `settle`d, and
is given back on every other way out (an error before or after the first token, a timeout, a
stream dying mid-answer, a client that leaves): a failed call never uses up the cap.

The total is the operator's data, not a visitor's, which is why one ledger may be a module
variable (`OPERATOR_SPEND`). A session's own spend lives in that session's state; the caller
passes it in.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from urllib.parse import urlparse

from playground.remote.errors import SpendCapReached, UnpricedModel
from playground.settings import Settings

SESSION = "this session"
TOTAL = "all visitors since the server started"


@dataclass
class Hold:
    """One call's reservation; `settle(actual_usd)` records what the call really cost."""

    reserved_usd: float
    actual_usd: float | None = None

    def settle(self, actual_usd: float) -> None:
        self.actual_usd = actual_usd


class SpendLedger:
    """What the operator's key has spent in this process (settled) and holds (reserved), in USD."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._spent = 0.0
        self._reserved = 0.0

    @property
    def total(self) -> float:
        """Settled spend plus calls in flight at their worst case."""
        with self._lock:
            return self._spent + self._reserved

    @property
    def spent(self) -> float:
        with self._lock:
            return self._spent

    def check(self, session_spent: float, settings: Settings) -> None:
        """Refuse at once when a cap is already used up (before any work for a call)."""
        if session_spent >= settings.spend_cap_session_usd:
            raise SpendCapReached(SESSION, session_spent, settings.spend_cap_session_usd)
        total = self.total
        if total >= settings.spend_cap_total_usd:
            raise SpendCapReached(TOTAL, total, settings.spend_cap_total_usd)

    def admit(self, base_url: str, model: str, priced: bool, session_spent: float, settings: Settings) -> str | None:
        """Before a call paid with the operator's key, in every tab: refuse when a cap is used up, and
        refuse an OpenAI model without a listed price (the caps could not count it). Another server's
        unpriced model may go on; the returned note says the caps cannot count it."""
        self.check(session_spent, settings)
        if priced:
            return None
        if is_openai(base_url):
            raise UnpricedModel(model)
        return f"No price listed for {model!r}: the spend cap cannot count this call."

    def add(self, usd: float) -> None:
        """Count a cost that had no reservation (a model without a listed price has none)."""
        with self._lock:
            self._spent += usd

    @contextmanager
    def reserve(self, worst_usd: float, settings: Settings, session_spent: float = 0.0) -> Iterator[Hold]:
        """Hold `worst_usd` against both caps for one call (see the module docstring)."""
        worst_usd = max(worst_usd, 0.0)
        if session_spent + worst_usd > settings.spend_cap_session_usd:
            raise SpendCapReached(f"{SESSION}, counting this call's worst case", session_spent + worst_usd,
                                  settings.spend_cap_session_usd)
        with self._lock:
            total = self._spent + self._reserved + worst_usd
            if total > settings.spend_cap_total_usd:
                raise SpendCapReached(f"{TOTAL}, counting this call's worst case", total,
                                      settings.spend_cap_total_usd)
            self._reserved += worst_usd
        hold = Hold(worst_usd)
        try:
            yield hold
        finally:  # every way out, GeneratorExit included
            with self._lock:
                self._reserved -= worst_usd
                if hold.actual_usd is not None:
                    self._spent += hold.actual_usd


def is_openai(base_url: str) -> bool:
    """OpenAI's own API, on any of its hosts (api.openai.com, regional ones such as eu.api.openai.com)."""
    host = (urlparse(base_url).hostname or "").lower()
    return host == "openai.com" or host.endswith(".openai.com")


OPERATOR_SPEND = SpendLedger()
