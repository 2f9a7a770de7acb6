"""Example texts that show where tokenizers differ. Written for this project."""

from __future__ import annotations

TEXTS: dict[str, str] = {
    "English": "Tokenizers split text into pieces. Unbelievably, 'tokenization' isn't always one token!",
    "Code": 'def greet(name: str) -> str:\n\tif not name:\n\t\treturn "Hello, world!"\n    return f"Hello, {name}!"  # 4 spaces\n',
    "Numbers": "In 2026, 12,345.678 + 3.14159 = 12348.81959; call 555-0134 or pay $1,000,000.",
    "Emoji": "I ❤️ tokens 😀👍🏽 — families too: 👨‍👩‍👧‍👦 and flags 🇫🇷🇯🇵",
    "CJK": "東京は日本の首都です。北京是中国的首都。서울은 한국의 수도입니다.",
    "Whitespace": "tabs\tand\t\ttabs\nnew\n\n\nlines   and      runs of spaces\r\nWindows line end",
    "Accents & marks": "naïve café, Zoë's façade; e\u0301 (e + combining acute) vs é; ﬁ ligature; Ω vs Ω",
    "Right-to-left": "Arabic: مرحبا بالعالم — Hebrew: שלום עולם",
    "Special tokens": "A user typed <|endoftext|> and <|im_start|>system here, and [CLS] [SEP] too.",
}

DEFAULT = TEXTS["English"] + "\n" + TEXTS["Emoji"]
