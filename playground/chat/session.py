"""One visitor's conversation: the turns so far and what the server's key has spent on them.

It lives in that visitor's `gr.State` (or is rebuilt from the messages an API caller sends),
never in a module variable. Every method returns a new session: a failed call simply never
produces one, so the conversation stays as it was.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace

from playground.chat.backends import redact
from playground.chat.conversation import Message
from playground.chat.turn import TurnResult
from playground.chat.usage import cost_text
from playground.prices.data import money


@dataclass(frozen=True)
class ChatSession:
    turns: tuple[TurnResult, ...] = ()
    operator_spent_usd: float = 0.0  # counts toward the per-session spend cap

    @property
    def history(self) -> list[Message]:
        out: list[Message] = []
        for t in self.turns:
            out += [{"role": "user", "content": t.message}, {"role": "assistant", "content": t.reply}]
        return out

    @property
    def last(self) -> TurnResult | None:
        return self.turns[-1] if self.turns else None

    def add(self, result: TurnResult) -> ChatSession:
        spent = self.operator_spent_usd + ((result.usage.cost or 0.0) if result.operator_key else 0.0)
        return replace(self, turns=(*self.turns, result), operator_spent_usd=spent)

    def undo(self) -> ChatSession:
        # The money is spent: undoing a turn does not give it back to the cap.
        return replace(self, turns=self.turns[:-1])

    def clear(self) -> ChatSession:
        return replace(self, turns=())

    @property
    def cost(self) -> float | None:
        """The whole conversation's cost; None as soon as one call has no price."""
        total = 0.0
        for t in self.turns:
            cost = t.usage.cost
            if cost is None:
                return None
            total += cost
        return total

    @property
    def prompt_tokens(self) -> int:
        return sum(t.usage.prompt_tokens for t in self.turns)

    @property
    def completion_tokens(self) -> int:
        return sum(t.usage.completion_tokens for t in self.turns)

    def growth_rows(self) -> list[list[int | str]]:
        """One row per call: how the messages list, the tokens and the cost grew turn by turn."""
        rows: list[list[int | str]] = []
        running: float | None = 0.0
        for i, t in enumerate(self.turns, 1):
            running = None if running is None or t.usage.cost is None else running + t.usage.cost
            rows.append([i, len(t.messages_sent), t.usage.prompt_tokens, t.usage.completion_tokens,
                         cost_text(t.usage), self._so_far(running, self.turns[:i]),
                         t.finish_reason])
        return rows

    @staticmethod
    def _so_far(total: float | None, turns: tuple[TurnResult, ...]) -> str:
        return "free (local)" if turns and all(t.usage.free for t in turns) else money(total)

    @property
    def cost_text(self) -> str:
        return self._so_far(self.cost, self.turns)

    def export(self, key: str | None = None) -> str:
        """The conversation as JSON: messages, and per call what was sent and what it cost (no key)."""
        last = self.last
        data = {
            "format": "llm-playground-chat/1",
            "system_prompt": last.messages_sent[0]["content"] if last and last.messages_sent
            and last.messages_sent[0]["role"] == "system" else None,
            "messages": self.history,
            "calls": [t.as_dict() for t in self.turns],
            "totals": {"prompt_tokens": self.prompt_tokens, "completion_tokens": self.completion_tokens,
                       "cost_usd": self.cost},
        }
        return redact(json.dumps(data, indent=2, ensure_ascii=False), key)

    def last_request_json(self, key: str | None = None) -> str:
        return redact(json.dumps(self.last.request if self.last else {}, indent=2, ensure_ascii=False), key)


EMPTY = ChatSession()
