"""Make text and raw token bytes visible: whitespace, control characters, partial UTF-8.

Learners must see that a space, a tab and a newline are tokens too, that NUL and a
zero-width joiner are characters, and that a byte-level token can hold half an emoji.
"""

from __future__ import annotations

import unicodedata

_WHITESPACE = {" ": "·", "\t": "→", "\n": "↵", "\r": "␍", "\x0b": "␋", "\x0c": "␌"}
_FORMAT_NAMES = {
    "\u200b": "ZWSP", "\u200c": "ZWNJ", "\u200d": "ZWJ", "\u200e": "LRM", "\u200f": "RLM",
    "\u202a": "LRE", "\u202b": "RLE", "\u202c": "PDF", "\u202d": "LRO", "\u202e": "RLO",
    "\u2066": "LRI", "\u2067": "RLI", "\u2068": "FSI", "\u2069": "PDI", "\ufeff": "BOM",
    "\u00ad": "SHY",
}


def visible_char(ch: str) -> str:
    if ch in _WHITESPACE:
        return _WHITESPACE[ch]
    code = ord(ch)
    if code < 0x20:
        return chr(0x2400 + code)  # Unicode "control pictures": ␀ ␁ …
    if code == 0x7F:
        return "␡"
    category = unicodedata.category(ch)
    if category == "Cf":
        return f"⟨{_FORMAT_NAMES.get(ch, f'U+{code:04X}')}⟩"
    if category in {"Cc", "Zl", "Zp"}:
        return f"⟨U+{code:04X}⟩"
    if category == "Zs" and ch != " ":
        return "⍽"  # no-break and other odd spaces
    return ch


def visible(text: str) -> str:
    """The text with every invisible character replaced by a visible stand-in."""
    out = "".join(visible_char(ch) for ch in text)
    if out and unicodedata.combining(out[0]):
        out = "◌" + out  # a combining mark with nothing to sit on would attach to the chip border
    return out


def byte_segments(data: bytes) -> list[tuple[str, str]]:
    """Split raw token bytes into ("text", visible text) and ("hex", "F0 9F") runs.

    A byte-level token that holds part of a multi-byte character is not valid UTF-8 on its
    own; decoding it would print "�". The honest view shows the bytes.
    """
    segments: list[tuple[str, str]] = []
    rest = data
    while rest:
        try:
            segments.append(("text", visible(rest.decode("utf-8"))))
            break
        except UnicodeDecodeError as err:
            if err.start:
                segments.append(("text", visible(rest[: err.start].decode("utf-8"))))
            bad = rest[err.start : err.end]
            segments.append(("hex", " ".join(f"{b:02X}" for b in bad)))
            rest = rest[err.end :]
    return segments


def sanitize(text: str) -> tuple[str, list[str]]:
    """Text that every tokenizer accepts, and notes on what was changed.

    Lone surrogates (from a broken copy-paste or a JSON escape) cannot be encoded as UTF-8.
    tiktoken silently replaces them; we do the same visibly, once, for every tokenizer.
    """
    try:
        text.encode("utf-8")
        return text, []
    except UnicodeEncodeError:
        pass
    fixed = text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    replaced = fixed.count("\ufffd") - text.count("\ufffd")
    joined = (sum(1 for ch in text if 0xD800 <= ord(ch) <= 0xDFFF) - replaced) // 2
    notes = []
    if replaced:
        notes.append(f"{replaced} lone surrogate code point(s) replaced by U+FFFD: they are not valid Unicode text.")
    if joined:
        notes.append(f"{joined} surrogate pair(s) (UTF-16 halves of one character) joined into their character.")
    return fixed, notes
