"""The loopback fake server's token-level answers, in the formats real servers send.

Deterministic, so tests can assert exact figures: text splits into word tokens (a leading
space belongs to the word), a character outside the BMP (an emoji) splits into two byte pieces
as BPE tokenizers split it, the i-th generated token has probability `fake_prob(i)`, and its
four alternatives " alt1".." alt4" share the rest. Formats:

- `chat_entry`: `choices[0].logprobs.content[i]` of a chat completion (OpenAI, vLLM, llama.cpp);
- `completion_logprobs`: the legacy completions block `tokens/token_logprobs/top_logprobs/text_offset`;
- `prompt_logprobs`: vLLM's `prompt_logprobs` (null for the first token, then the prompt's own token
  first, then the top alternatives by rank); every fourth prompt token is not among its top 5.
"""

from __future__ import annotations

import math
import re
import zlib

ALTERNATIVES = (" alt1", " alt2", " alt3", " alt4")
SHARES = (0.4, 0.2, 0.1, 0.05)  # of what the chosen token leaves
CHAT_TEMPLATE = "<|im_start|>{role}\n{content}<|im_end|>\n"
SPECIAL = re.compile(r"(<\|im_start\|>|<\|im_end\|>)")


def fake_prob(i: int) -> float:
    return 0.9 - 0.05 * (i % 10)


def token_id(data: bytes) -> int:
    return zlib.crc32(data) % 50_000 + 10


def split_tokens(text: str) -> list[bytes]:
    """Word tokens as bytes; special tokens whole; an emoji as two byte pieces."""
    out: list[bytes] = []
    for part in SPECIAL.split(text):
        if SPECIAL.fullmatch(part):
            out.append(part.encode())
            continue
        for word in re.findall(r" ?\S+|\s", part):
            wide = next((i for i, c in enumerate(word) if ord(c) > 0xFFFF), None)
            if wide is None:
                out.append(word.encode())
                continue
            head, char, tail = word[:wide].encode(), word[wide].encode(), word[wide + 1:].encode()
            out += [t for t in (head, char[:2], char[2:], tail) if t]
    return out


def token_string(data: bytes) -> str:
    """How OpenAI names a token: its text, or `bytes:\\xNN…` for a piece of a character."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return "bytes:" + "".join(f"\\x{b:02x}" for b in data)


def alternatives(i: int) -> list[tuple[str, float]]:
    rest = 1 - fake_prob(i)
    return [(alt, math.log(rest * share)) for alt, share in zip(ALTERNATIVES, SHARES, strict=True)]


def chat_entry(data: bytes, i: int, top: int) -> dict:
    token = token_string(data)
    entry = {"token": token, "logprob": math.log(fake_prob(i)), "bytes": list(data)}
    tops = [{"token": token, "logprob": entry["logprob"], "bytes": list(data)}]
    tops += [{"token": t, "logprob": lp, "bytes": list(t.encode())} for t, lp in alternatives(i)]
    entry["top_logprobs"] = tops[:top]
    return entry


def completion_logprobs(tokens: list[bytes], first_index: int, offset: int, top: int,
                        prompt: bool = False) -> dict:
    """Legacy completions logprobs for `tokens`, numbered from `first_index`, text offsets from `offset`."""
    out: dict = {"tokens": [], "token_logprobs": [], "top_logprobs": [], "text_offset": []}
    for k, data in enumerate(tokens):
        i = first_index + k
        token = token_string(data)
        out["tokens"].append(token)
        out["text_offset"].append(offset)
        offset += len(data.decode("utf-8", errors="ignore"))
        if prompt and i == 0:
            out["token_logprobs"].append(None)
            out["top_logprobs"].append(None)
            continue
        lp = math.log(fake_prob(i))
        out["token_logprobs"].append(lp)
        out["top_logprobs"].append(dict([(token, lp), *alternatives(i)][:top]))
    return out


def render_chat(messages: list[dict]) -> str:
    return "".join(CHAT_TEMPLATE.format(**m) for m in messages) + "<|im_start|>assistant\n"


def prompt_logprobs(tokens: list[bytes], top: int) -> list[dict | None]:
    out: list[dict | None] = [None]
    for i, data in enumerate(tokens[1:], 1):
        own = str(token_id(data))
        alts = {str(token_id(t.encode())): {"logprob": lp, "rank": r, "decoded_token": t}
                for r, (t, lp) in enumerate(alternatives(i), 2)}
        if i % 4 == 3:  # not among the top: ranked 7th, below five likelier tokens
            place = {"logprob": math.log(0.01), "rank": 7, "decoded_token": data.decode("utf-8", "replace")}
            alts = {str(token_id(b" likelier")): {"logprob": math.log(0.3), "rank": 1, "decoded_token": " likelier"},
                    **alts}
        else:
            place = {"logprob": math.log(fake_prob(i)), "rank": 1, "decoded_token": data.decode("utf-8", "replace")}
        ranked = sorted(alts.items(), key=lambda kv: kv[1]["rank"])[:top]
        out.append({own: place, **dict(ranked)})
    return out
