"""Chat tab: a streaming chat beside the exact `messages` list sent on each call.

The lesson: a chat model is stateless. The app resends the whole conversation on every call,
which is why it "remembers" and why each turn costs more tokens. "Resend history" off shows
the other side in one click.

Per visitor: the conversation lives in `gr.State` (a `ChatSession`), the key typed in the UI in a
password box that is only ever an input; neither is logged, returned or kept in a global.
"""

from __future__ import annotations

import html
import json
import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import gradio as gr

from playground.chat.backends import BACKENDS, BackendConfig, BackendKind, backend_spec, redact
from playground.chat.conversation import DEFAULT_SYSTEM_PROMPT, JSONDict, Message, check_history
from playground.chat.session import ChatSession
from playground.chat.turn import MAX_REMOTE_TOKENS, TurnOptions, TurnResult, drain, run_turn
from playground.chat.usage import cost_text
from playground.errors import InvalidInput, PlaygroundError
from playground.settings import Settings
from playground.ui.api_types import checked
from playground.ui.common import Updates, at_edge, download_file, stats_markdown
from playground.ui.queues import queue

GROWTH_HEADERS = ["call", "messages", "prompt", "answer", "cost", "so far", "finish"]
INTRO = """A chat model remembers nothing between calls: on every turn the app sends the **whole conversation** again
as a `messages` list (right). Watch it grow, and the prompt tokens and cost with it. Then turn **Resend history** off
and ask "What's my name?" right after "Hi, I'm Sam"."""


def default_backend(settings: Settings) -> BackendKind:
    return BackendKind.OPENAI if settings.openai_api_key else BackendKind.LOCAL


def as_seed(value: str | float | None) -> int | None:
    """A seed from the tab's box or the API: empty means none; anything but a whole number is refused."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value) \
            and value == int(value):
        return int(value)
    raise InvalidInput(f"seed must be a whole number, or empty for a new sample each time (it is {value!r}).")


def display(session: ChatSession, pending: tuple[str, str] | None = None) -> list[JSONDict]:
    """The transcript for the Chatbot: each answer followed by a folded line with its finish reason and usage."""
    out: list[JSONDict] = []
    for t in session.turns:
        out += [{"role": "user", "content": t.message}, {"role": "assistant", "content": t.reply or "(empty answer)"},
                {"role": "assistant", "content": usage_detail(t), "metadata": {"title": answer_footer(t),
                                                                               "status": "done"}}]
    if pending is not None:
        out += [{"role": "user", "content": pending[0]}, {"role": "assistant", "content": pending[1] or "…"}]
    return out


@dataclass(frozen=True)
class TurnForm:
    """The tab's turn settings as the page sends them (Send and Retry take the same inputs)."""

    kind: str
    model: str
    url: str
    key: str
    system_prompt: str
    resend_history: bool
    max_tokens: float
    temperature: float
    drop_oldest: bool
    seed: str | None

    def config(self) -> BackendConfig:
        remote = self.kind != BackendKind.LOCAL
        return BackendConfig.of(self.kind, self.model, self.url if remote else None, self.key if remote else None)

    def options(self) -> TurnOptions:
        return TurnOptions(system_prompt=self.system_prompt or "", resend_history=bool(self.resend_history),
                           max_tokens=int(self.max_tokens), temperature=float(self.temperature),
                           seed=as_seed(self.seed), drop_oldest=bool(self.drop_oldest))


def answer_footer(t: TurnResult) -> str:
    cut = " (max_tokens cut it off)" if t.finish_reason == "length" else ""
    return (f"finish_reason: {t.finish_reason}{cut} · {t.usage.prompt_tokens:,} → {t.usage.completion_tokens:,} "
            f"tokens · {cost_text(t.usage)}")


def usage_detail(t: TurnResult) -> str:
    u = t.usage
    source = "from the API's `usage`" if u.source == "api" else f"counted with {u.counted_with}"
    lines = [f"{len(t.messages_sent)} messages sent; tokens {source}; {t.seconds:.1f} s.",
             f"Price: {u.price_source}."]
    lines += t.notes
    return "\n\n".join(lines)


def stats_line(session: ChatSession) -> str:
    last = session.last
    if last is None:
        return "No call yet."
    u = last.usage
    counted = "" if u.source == "api" else " (counted)"
    return stats_markdown([
        ("finish_reason", last.finish_reason), (f"prompt tokens{counted}", u.prompt_tokens),
        (f"completion tokens{counted}", u.completion_tokens), ("this call", cost_text(u)),
        ("whole conversation", session.cost_text),
        ("prompt tokens over all calls", session.prompt_tokens),
    ])


def gauge_html(session: ChatSession) -> str:
    last = session.last
    if last is None:
        return "<div class='chat-gauge'>Context window: no call yet.</div>"
    u = last.usage
    if not u.context_window:
        return (f"<div class='chat-gauge'>Context window of <code>{html.escape(str(last.request.get('model')))}</code>: "
                f"unknown (not in LiteLLM's map). Last call used {u.total_tokens:,} tokens.</div>")
    pct = 100 * u.total_tokens / u.context_window
    colour = "#d64545" if pct > 90 else "#e0a030" if pct > 70 else "#3c8c5a"
    return (
        "<div class='chat-gauge'><div>Context window after the last call: "
        f"<b>{u.total_tokens:,}</b> of <b>{u.context_window:,}</b> tokens ({pct:.2f} %, {u.context_source})</div>"
        "<div style='background:#e5e7eb;border-radius:4px;height:10px;margin-top:4px' role='progressbar' "
        f"aria-valuenow='{pct:.2f}' aria-valuemin='0' aria-valuemax='100'>"
        f"<div style='width:{max(min(pct, 100), 0.5):.2f}%;background:{colour};height:10px;border-radius:4px'>"
        "</div></div></div>"
    )


def build_tab(settings: Settings, shared: dict[str, Any]) -> None:
    kind0 = default_backend(settings)
    spec0 = backend_spec(kind0)
    gr.Markdown(INTRO)
    session = gr.State(ChatSession())
    with gr.Row():
        backend = gr.Radio([(b.label, b.kind.value) for b in BACKENDS], value=kind0.value, label="Backend",
                           scale=3, elem_id="chat-backend")
        resend = gr.Checkbox(True, label="Resend history (off: only the system prompt and your latest message)",
                             scale=2, elem_id="chat-resend")
    with gr.Row():
        model = gr.Dropdown(list(spec0.models), value=spec0.default_model, allow_custom_value=True,
                            label="Model", scale=2, elem_id="chat-model")
        base_url = gr.Textbox(settings.openai_base_url or "", label="Base URL (empty: the server default, else OpenAI)",
                              placeholder="https://api.openai.com/v1 · http://localhost:11434/v1 (Ollama) · "
                                          "http://localhost:8000/v1 (vLLM)",
                              visible=kind0 is not BackendKind.LOCAL, scale=2, elem_id="chat-base-url")
        api_key = gr.Textbox(label="API key (this session only; never stored, logged or shown)", type="password",
                             placeholder="uses the server's key if it has one" if settings.openai_api_key
                             else "sk-…", visible=kind0 is not BackendKind.LOCAL, scale=2,
                             max_length=512, elem_id="chat-api-key")
    backend_note = gr.Markdown(spec0.note, elem_id="chat-backend-note")
    with gr.Row():
        with gr.Column(scale=3):
            chatbot = gr.Chatbot(label="Conversation", height=460, elem_id="chat-transcript", buttons=["copy"],
                                 feedback_options=None, placeholder="Say hello. Try: Hi, I'm Sam")
            with gr.Row():
                msg = gr.Textbox(show_label=False, placeholder="Your message (Enter sends)", scale=5,
                                 max_length=settings.max_input_chars, elem_id="chat-input")
                send = gr.Button("Send", variant="primary", scale=1, elem_id="chat-send")
            with gr.Row():
                retry = gr.Button("↻ Retry last turn", size="sm")
                undo = gr.Button("↶ Undo", size="sm")
                clear = gr.Button("Clear", size="sm")
            stats = gr.Markdown("No call yet.", elem_id="chat-stats")
            gauge = gr.HTML(gauge_html(ChatSession()), elem_id="chat-gauge")
        with gr.Column(scale=2):
            sent = gr.Code(value="[]", language="json", label="messages sent on the last call (exactly)",
                           elem_id="chat-sent", max_lines=30, wrap_lines=True, show_line_numbers=False)
            growth = gr.Dataframe(headers=GROWTH_HEADERS, interactive=False, label="How it grew, call by call: messages sent, prompt and answer tokens, cost (USD)",
                                  elem_id="chat-growth", max_height=260)
    with gr.Accordion("Settings: system prompt, max_tokens, temperature", open=False):
        system = gr.Textbox(DEFAULT_SYSTEM_PROMPT, label="System prompt (sent first on every call)", lines=2,
                            max_length=settings.max_input_chars)
        with gr.Row():
            limit0 = settings.max_new_tokens if kind0 is BackendKind.LOCAL else MAX_REMOTE_TOKENS
            max_tokens = gr.Slider(1, limit0, value=min(256, limit0), step=1,
                                   label="max_tokens (answer length limit; 'length' means it cut the answer)")
            temperature = gr.Slider(0.0, 2.0, value=0.7, step=0.05, label="temperature (0: always the likeliest)")
            # A text box, not gr.Number: a number box always holds a number, and "no seed" must be possible.
            seed = gr.Textbox("", label="seed (local model; empty: a new sample on every call and Retry)",
                              placeholder="empty", max_lines=1, max_length=12, elem_id="chat-seed")
        drop = gr.Checkbox(False, label="Drop the oldest turns when the conversation no longer fits the context window")
    with gr.Accordion("Export and copy as code", open=False):
        with gr.Row():
            export_chat = gr.Button("Export the conversation (JSON)")
            export_request = gr.Button("Export the last request (JSON)")
        files = gr.File(label="Downloads", file_count="multiple", interactive=False)
        request_view = gr.Code(value="{}", language="json", label="Last request (key redacted)", max_lines=30,
                               wrap_lines=True)
        code = gr.Code(language="python", label="Copy as code: the openai-python call that reproduces the last request")

    views = [session, chatbot, stats, gauge, sent, growth, request_view, code]

    def refresh(s: ChatSession) -> Updates:
        last = s.last
        return {
            session: s, chatbot: display(s), stats: stats_line(s), gauge: gauge_html(s),
            sent: json.dumps(last.messages_sent if last else [], indent=2, ensure_ascii=False),
            growth: s.growth_rows(), request_view: json.dumps(last.request if last else {}, indent=2,
                                                             ensure_ascii=False),
            code: last.code if last else "",
        }

    def stream(s: ChatSession, message: str, form: TurnForm, *, on_failure: ChatSession | None = None
               ) -> Iterator[Updates]:
        """Shared by Send and Retry: stream one turn; on failure put the transcript back and raise.

        `on_failure` is the session to restore: for Retry that is the one *with* the turn being
        retried, so a failed retry (a 429, a timeout) loses nothing."""
        config, options = form.config(), form.options()
        try:
            for update in run_turn(s.history, message, options, config, settings, session_spent=s.operator_spent_usd):
                if update.result is None:
                    yield {chatbot: display(s, (message, update.reply)),
                           sent: json.dumps(update.messages_sent, indent=2, ensure_ascii=False)}
                else:
                    yield {**refresh(s.add(update.result)), msg: ""}
        except PlaygroundError:
            # The transcript never shows an error or a half answer; the message stays in the box for a retry.
            yield refresh(on_failure or s)
            raise

    @at_edge
    def send_turn(s: ChatSession, message: str, kind: str, model_name: str, url: str, key: str, system_prompt: str,
                  resend_history: bool, n_tokens: float, temp: float, drop_oldest: bool,
                  seed_value: str | None = None) -> Iterator[Updates]:
        if not (message or "").strip():
            yield {msg: gr.update()}  # an empty message is ignored
            return
        yield from stream(s, message, TurnForm(kind, model_name, url, key, system_prompt, resend_history, n_tokens,
                                               temp, drop_oldest, seed_value))

    @at_edge
    def retry_turn(s: ChatSession, _message: str, kind: str, model_name: str, url: str, key: str, system_prompt: str,
                   resend_history: bool, n_tokens: float, temp: float, drop_oldest: bool,
                   seed_value: str | None = None) -> Iterator[Updates]:
        last = s.last
        if last is None:
            raise gr.Error("Nothing to retry yet: send a message first.", print_exception=False)
        yield from stream(s.undo(), last.message, TurnForm(kind, model_name, url, key, system_prompt, resend_history,
                                                           n_tokens, temp, drop_oldest, seed_value), on_failure=s)

    @at_edge
    def undo_turn(s: ChatSession) -> Updates:
        return refresh(s.undo())

    @at_edge
    def clear_chat(s: ChatSession) -> Updates:
        return refresh(s.clear())

    @at_edge
    def export_conversation(s: ChatSession, key: str) -> list[str]:
        if not s.turns:
            raise gr.Error("Nothing to export yet: send a message first.", print_exception=False)
        return [download_file("conversation.json", s.export(key))]

    @at_edge
    def export_last_request(s: ChatSession, key: str) -> list[str]:
        if not s.turns:
            raise gr.Error("No request yet: send a message first.", print_exception=False)
        return [download_file("last_request.json", s.last_request_json(key))]

    @at_edge
    def switch_backend(kind: str) -> Updates:
        spec = backend_spec(kind)
        remote = spec.kind is not BackendKind.LOCAL
        limit = settings.max_new_tokens if not remote else MAX_REMOTE_TOKENS
        return {
            model: gr.update(choices=list(spec.models), value=spec.default_model),
            base_url: gr.update(visible=remote), api_key: gr.update(visible=remote),
            backend_note: spec.note, max_tokens: gr.update(maximum=limit, value=min(256, limit)),
        }

    inputs = [session, msg, backend, model, base_url, api_key, system, resend, max_tokens, temperature, drop, seed]
    outputs = [*views, msg]
    # always_last: a message sent while the previous turn is finishing runs right after it (with the
    # updated conversation) instead of being dropped, and turns of one session never run side by side.
    gr.on([send.click, msg.submit], send_turn, inputs, outputs, api_name="chat_turn", api_visibility="undocumented",
          **queue("chat", settings), show_progress="minimal",
          show_progress_on=[stats], trigger_mode="always_last")
    retry.click(retry_turn, inputs, outputs, api_name="chat_retry", api_visibility="undocumented",
                **queue("chat", settings), show_progress="minimal", show_progress_on=[stats])
    undo.click(undo_turn, session, views, api_name="chat_undo", api_visibility="undocumented")
    clear.click(clear_chat, session, views, api_name="chat_clear", api_visibility="undocumented")
    export_chat.click(export_conversation, [session, api_key], files, api_name="chat_export",
                      api_visibility="undocumented")
    export_request.click(export_last_request, [session, api_key], files, api_name="chat_export_request",
                         api_visibility="undocumented")
    backend.change(switch_backend, backend, [model, base_url, api_key, backend_note, max_tokens],
                   api_name="chat_backend", api_visibility="undocumented")
    register_api(settings)


def register_api(settings: Settings) -> None:
    """`/chat`: one stateless turn for notebooks and scripts (see README, API)."""

    @at_edge
    @checked
    def chat(messages: list[dict[str, Any]], message: str, backend: str = "local", model: str = "", base_url: str = "",
             api_key: str = "", system_prompt: str = "", resend_history: bool = True,
             max_tokens: int = 128, temperature: float = 0.7, drop_oldest_turns: bool = False,
             seed: int | None = None) -> dict[str, Any]:
        """One chat turn. `messages`: the conversation so far ([{"role", "content"}], may start with a system
        message, used unless `system_prompt` is given); `message`: the new user message; `backend`: "local",
        "openai" or "compatible" (with `base_url`); `seed`: the local model's sampling seed (none: a new sample).
        Returns the reply, finish_reason, the exact messages sent (no key), usage with cost and context, and the
        conversation with this turn appended."""
        history = check_history(messages or [], settings)
        config = BackendConfig.of(backend, model, base_url or None, api_key or None)
        # The system prompt: the one given, else the conversation's own system message, else the default.
        has_own = any(m.get("role") == "system" for m in history)
        system = system_prompt or ("" if has_own else DEFAULT_SYSTEM_PROMPT)
        options = TurnOptions(system_prompt=system, resend_history=resend_history, max_tokens=int(max_tokens),
                              temperature=float(temperature), seed=as_seed(seed), drop_oldest=drop_oldest_turns)
        # Stateless: there is no session to cap, so only the server-wide cap protects the operator's key.
        result = drain(run_turn(history, message or "", options, config, settings))
        out = result.as_dict()
        sent_back: list[Message] = [*history, {"role": "user", "content": message},
                                    {"role": "assistant", "content": result.reply}]
        out["messages"] = sent_back
        answer: dict[str, Any] = json.loads(redact(json.dumps(out), api_key or None))
        return answer

    gr.api(chat, api_name="chat", **queue("chat", settings))
