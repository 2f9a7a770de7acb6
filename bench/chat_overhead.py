"""What the chat backend adds to a raw openai-python call (same loopback server, same run).

    python bench/chat_overhead.py [calls]

Method: the OpenAI-compatible server from tests/ runs on loopback; each call streams a short
answer. "raw" is `OpenAI(...).chat.completions.create(stream=True, stream_options=…)` read to the
end (client built per call, as the backend does); "playground" is `run_turn` for the same
conversation (validation, token count with o200k_base for the context check, price lookup,
the same client call, usage and cost). Medians over N calls after 3 warm-up calls.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from common import median_time  # noqa: E402
from fake_openai_server import FakeOpenAI  # noqa: E402

from playground.chat.backends import BackendConfig  # noqa: E402
from playground.chat.turn import TurnOptions, drain, run_turn  # noqa: E402
from playground.settings import Settings  # noqa: E402


def main(n: int = 50) -> None:
    import openai

    settings = Settings(offline=True)
    settings.apply_to_process()
    history = []
    for i in range(10):
        history += [{"role": "user", "content": f"Question {i}: " + "words " * 40},
                    {"role": "assistant", "content": "An answer " * 30}]
    with FakeOpenAI() as fake:
        config = BackendConfig.of("compatible", "gpt-4o-mini", fake.base_url, "sk-bench")
        options = TurnOptions()

        def raw() -> None:
            client = openai.OpenAI(api_key="sk-bench", base_url=fake.base_url, timeout=30, max_retries=1)
            messages = [{"role": "system", "content": options.system_prompt}, *history,
                        {"role": "user", "content": "Hello"}]
            with client.chat.completions.create(model="gpt-4o-mini", messages=messages, max_tokens=256,
                                                stream=True, stream_options={"include_usage": True}) as stream:
                for _ in stream:
                    pass
            client.close()

        def ours() -> None:
            drain(run_turn(history, "Hello", options, config, settings))

        timings = {}
        for name, fn in (("raw openai client", raw), ("playground run_turn", ours)):
            timings[name] = median_time(fn, repeat=n, warmup=3)
            print(f"{name:22s} median {1000 * timings[name]:7.2f} ms over {n} calls")
        ratio = timings["playground run_turn"] / timings["raw openai client"]
        print(f"ratio playground / raw: {ratio:.2f}  (21-message conversation, ~1,000 prompt words)")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 50)
