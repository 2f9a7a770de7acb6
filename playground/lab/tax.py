"""The token tax: the same sentence in many languages costs a different number of tokens.

Article 1 of the Universal Declaration of Human Rights says the same thing in every language
(`data/udhr_article1.json`, its source and licence named there), so the token count of each
translation against the English one is the extra a speaker of that language pays in money and
in context window, for the same content.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass

from playground.errors import InvalidInput, PlaygroundError
from playground.lab.corpora import udhr
from playground.settings import Settings
from playground.tokenization.backends import Tokenizer

MAX_TAX_TOKENIZERS = 8


@dataclass(frozen=True)
class TaxRow:
    tokenizer: str
    lang: str
    language: str
    script: str
    chars: int
    tokens: int
    chars_per_token: float
    premium: float  # tokens / tokens of the English sentence, for this tokenizer
    model: str  # the priced model (or the open model whose context length is used)
    cost_usd: float | None  # the sentence sent as input to that model; None = no price listed
    context_share: float | None  # fraction of that model's context window


@dataclass(frozen=True)
class TaxTable:
    rows: list[TaxRow]
    errors: dict[str, str]  # tokenizer id → why it could not be used
    source: str
    license: str

    def csv(self) -> str:
        out = io.StringIO()
        names = list(TaxRow.__dataclass_fields__)
        writer = csv.DictWriter(out, fieldnames=names)
        writer.writeheader()
        for row in self.rows:
            writer.writerow(asdict(row))
        return out.getvalue()

    def json(self) -> str:
        return json.dumps({"source": self.source, "license": self.license, "rows": [asdict(r) for r in self.rows],
                           "errors": self.errors}, ensure_ascii=False, indent=1)


def languages() -> list[tuple[str, str]]:
    """(label, code) for every shipped sentence."""
    return [(f"{s['language']} ({s['script']})", s["lang"]) for s in udhr()["sentences"]]


def _priced(tokenizer: Tokenizer, n_tokens: int, settings: Settings) -> tuple[str, float | None, float | None]:
    """A model this tokenizer serves, what the sentence costs there, and the context share."""
    from playground.prices.costs import cost_rows

    try:
        rows = cost_rows(tokenizer, n_tokens, settings)
    except PlaygroundError:  # no price map here: counts still matter without prices
        rows = []
    if not rows:
        return "—", None, None
    row = next((r for r in rows if r.input_cost is not None), rows[0])
    return row.model, row.input_cost, row.context_fraction


def token_tax(names: Sequence[str], settings: Settings, langs: Sequence[str] | None = None) -> TaxTable:
    """Tokens per language for each tokenizer, with the premium over English and a price."""
    from playground.lab.session import tokenizer_for

    names = [n for n in dict.fromkeys(names) if n]
    if not names:
        raise InvalidInput("Pick at least one tokenizer.")
    if len(names) > MAX_TAX_TOKENIZERS:
        raise InvalidInput(f"Pick at most {MAX_TAX_TOKENIZERS} tokenizers at once ({len(names)} picked).")
    data = udhr()
    sentences = [s for s in data["sentences"] if not langs or s["lang"] in langs or s["lang"] == "en"]
    rows, errors = [], {}
    for name in names:
        try:
            tokenizer = tokenizer_for(name, None, settings)
        except PlaygroundError as exc:
            errors[name] = str(exc)
            continue
        counts = [len(tokenizer.raw_encode(s["text"], add_special_tokens=False)) for s in sentences]
        english = counts[[s["lang"] for s in sentences].index("en")]
        for sentence, n in zip(sentences, counts):
            model, cost, share = _priced(tokenizer, n, settings)
            chars = len(sentence["text"])
            rows.append(TaxRow(
                tokenizer=tokenizer.spec.label, lang=sentence["lang"], language=sentence["language"],
                script=sentence["script"], chars=chars, tokens=n, chars_per_token=round(chars / n, 3) if n else 0.0,
                premium=round(n / english, 3) if english else 0.0, model=model, cost_usd=cost, context_share=share,
            ))
    if not rows:
        raise InvalidInput("None of the picked tokenizers could be loaded: " + "; ".join(errors.values()))
    return TaxTable(rows, errors, data["source"], data["license"])
