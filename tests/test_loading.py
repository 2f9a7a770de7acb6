"""Loading, as a shared server does it: tiktoken from the pack under 16 threads, typed Hub ids that
are only Hub ids, the tokenizer size budget from Hub metadata, and prices that never block tokens.

Every server here is on loopback (`hub_stand_in`); anything that could reach further runs in a
fresh process whose proxies point at a closed loopback port.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from dataclasses import replace

import pytest
from hub_stand_in import LoopbackServer, hub_with_tokenizers

from playground import hub
from playground.errors import InvalidInput, NotAllowed
from playground.generation import catalogue as generation_catalogue
from playground.prices.data import PricesUnavailable, lookup, price_map
from playground.prices.render import costs_section
from playground.settings import PROJECT_DIR
from playground.tokenization import catalogue, load

NOWHERE = "http://127.0.0.1:9"  # a closed loopback port: a stray download fails at once, and locally


def _run(code: str, env: dict[str, str], timeout: float = 180) -> subprocess.CompletedProcess[str]:
    full = {k: v for k, v in os.environ.items() if not k.upper().startswith(("PIP_", "HTTP_PROXY", "HTTPS_PROXY"))}
    full.update({"HTTP_PROXY": NOWHERE, "HTTPS_PROXY": NOWHERE, "NO_PROXY": "127.0.0.1,localhost", **env})
    return subprocess.run([sys.executable, "-c", code], cwd=PROJECT_DIR, env=full, capture_output=True, text=True,
                          timeout=timeout)


# --- tiktoken: the pack through tiktoken's own cache, no patching ----------------------------------

SIXTEEN_THREADS = """
import json, threading
import tiktoken
from playground.settings import Settings
from playground.tokenization import catalogue, load

settings = Settings(offline=True)
names = ["o200k_base", "cl100k_base", "r50k_base", "qwen", "qwen3.5"]
text = "Adarsh is a beginner Coder"
barrier = threading.Barrier(16)
seen, errors = [], []

def work(i):
    barrier.wait()  # all 16 start together: the loads race
    try:
        for name in names[i % 5:] + names[:i % 5]:
            tok = load.tokenizer(catalogue.get(name), settings)
            seen.append((name, id(tok), tok.raw_encode(text)))
            if name in tiktoken.list_encoding_names():  # tiktoken's own registry, same files
                seen.append((name + " (tiktoken)", 0, tiktoken.get_encoding(name).encode_ordinary(text)))
    except Exception as exc:
        errors.append(repr(exc))

threads = [threading.Thread(target=work, args=(i,)) for i in range(16)]
for t in threads: t.start()
for t in threads: t.join()
print(json.dumps({"seen": seen, "errors": errors}))
"""


@pytest.mark.slow
def test_sixteen_threads_load_every_offline_encoding_at_once(settings):
    out = _run(SIXTEEN_THREADS, {"TIKTOKEN_CACHE_DIR": str(settings.tiktoken_dir)})
    assert out.returncode == 0, out.stderr[-3000:]
    result = json.loads(out.stdout)
    assert result["errors"] == []
    by_name: dict[str, set[str]] = {}
    objects: dict[str, set[int]] = {}
    for name, obj, ids in result["seen"]:
        by_name.setdefault(name.removesuffix(" (tiktoken)"), set()).add(json.dumps(ids))
        if obj:
            objects.setdefault(name, set()).add(obj)
    assert all(len(v) == 1 for v in by_name.values()), by_name  # every thread, the same ids
    assert all(len(v) == 1 for v in objects.values()), objects  # …from one loaded tokenizer each
    assert len(objects) == 5 and sum(len(v) for v in objects.values()) == 5
    # Seed checks from OFFLINE.md.
    assert by_name["cl100k_base"] == {json.dumps([2654, 277, 939, 374, 264, 50048, 356, 4414])}
    assert by_name["o200k_base"] == {json.dumps([2646, 277, 1116, 382, 261, 57062, 363, 6642])}


def test_tiktoken_is_not_patched_anywhere():
    for path in (PROJECT_DIR / "playground").rglob("*.py"):
        text = path.read_text()
        assert "import tiktoken_ext" not in text and "load_tiktoken_bpe =" not in text, path


# --- typed Hub ids -------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["..", ".", "/etc/passwd", "../secrets", "a/..", "a/.", "~/models", "/tmp/x/y",
                                  "owner/../../etc", "a/b/c", "owner/name--x", "owner/.hidden"])
def test_a_typed_id_that_could_name_a_path_is_not_a_hub_id(name):
    assert not hub.is_hub_id(name)
    with pytest.raises((InvalidInput, NotAllowed)):
        hub.check_typed_id(name)


def test_an_existing_local_folder_is_refused_everywhere(tmp_path, monkeypatch):
    (tmp_path / "someone" / "model").mkdir(parents=True)
    monkeypatch.chdir(tmp_path)
    assert hub.is_hub_id("someone/model")  # well-formed, but it names a folder here
    with pytest.raises(NotAllowed, match="names a folder on this server"):
        catalogue.resolve("someone/model")
    with pytest.raises(NotAllowed, match="names a folder on this server"):
        generation_catalogue.get("someone/model", allow_custom=True)
    assert catalogue.resolve("someone/other").ref == "someone/other"  # no such folder: a Hub id


TOKENIZER_BUDGET = """
import json
from dataclasses import replace
from playground.errors import PlaygroundError
from playground.settings import Settings
from playground.tokenization import catalogue, load

settings = Settings(offline=False, allow_custom_models=True, model_size_budget_gb=1.0)
out = {}
for name in ("someone/huge-tokenizer", "someone/small-tokenizer"):
    try:
        load.tokenizer(catalogue.resolve(name), settings)
        out[name] = "loaded"
    except PlaygroundError as exc:
        out[name] = f"{type(exc).__name__}: {exc}"
print(json.dumps(out))
"""


@pytest.mark.slow
def test_a_typed_tokenizer_over_the_size_budget_is_refused_from_hub_metadata(tmp_path):
    stand_in = hub_with_tokenizers({"someone/huge-tokenizer": 3_000_000_000, "someone/small-tokenizer": 2_000_000})
    try:
        out = _run(TOKENIZER_BUDGET, {"HF_ENDPOINT": stand_in.url, "HF_HUB_OFFLINE": "0", "HF_HOME": str(tmp_path),
                                      "HF_TOKEN": ""})
    finally:
        stand_in.close()
    assert out.returncode == 0, out.stderr[-3000:]
    result = json.loads(out.stdout)
    assert result["someone/huge-tokenizer"].startswith("NotAllowed: The tokenizer files of 'someone/huge-tokenizer' "
                                                       "weigh 3.00 GB; the size budget on this server is 1 GB")
    huge = [p for p in stand_in.paths if "huge-tokenizer" in p]
    assert huge and all(p.startswith("/api/models/") for p in huge)  # metadata only, no file downloaded
    # The small one passed the budget (its 40 GB of weights do not count): transformers went on to
    # ask the stand-in for the repo itself, which has no files to give.
    small = [p for p in stand_in.paths if "small-tokenizer" in p]
    assert small[0] == "/api/models/someone/small-tokenizer?blobs=true" and len(small) > 1, stand_in.paths
    assert not result["someone/small-tokenizer"].startswith("NotAllowed"), result


# --- prices: never a hard dependency ------------------------------------------------------------------


def test_no_price_map_means_no_price_listed_and_tokens_still_show(settings, tmp_path):
    bare = replace(settings, cache_dir=tmp_path, offline=True)  # no pack here, and no network
    assert lookup("gpt-4o", bare) is None
    with pytest.raises(PricesUnavailable):
        price_map(bare)
    tok = load.tokenizer(catalogue.get("o200k_base"), settings)
    assert "Prices are unavailable" in costs_section(tok, 10, bare)
    assert lookup("gpt-4o", settings).priced  # with the pack: priced
    assert lookup("no-such-model-anywhere", settings) is None


SLOW_FETCH = """
import json, threading, time
import playground.prices.data as prices
from playground.prices.render import costs_section
from playground.settings import Settings
from playground.tokenization import catalogue, load

prices.FETCH_WAIT_S = 0.5  # the wait limit under test (10 s in the app)
settings = Settings(offline=False, cache_dir=__import__("pathlib").Path({cache!r}))
tok = load.tokenizer(catalogue.get("o200k_base"), Settings(offline=True))
times, notes = [], []

def visitor():
    started = time.perf_counter()
    notes.append(costs_section(tok, 5, settings))  # the Tokens tab's cost table, while the map is fetched
    times.append(time.perf_counter() - started)

threads = [threading.Thread(target=visitor) for _ in range(8)]
for t in threads: t.start()
started = time.perf_counter()
encoded = tok.raw_encode("tokenizing never waits for prices")
encode_s = time.perf_counter() - started
for t in threads: t.join()
print(json.dumps({{"times": times, "notes": notes, "encode_s": encode_s, "ids": encoded}}))
"""


@pytest.mark.slow
def test_the_first_price_fetch_is_single_flight_and_bounded_in_time(tmp_path, settings):
    """A PyPI that does not answer: eight visitors wait half a second each, not for pip; one fetch runs."""
    hold = threading.Event()
    index = LoopbackServer(lambda path: (404, None), hold=hold)
    threading.Timer(3, hold.set).start()  # then PyPI answers "not found": pip ends and the process can exit
    try:
        out = _run(SLOW_FETCH.format(cache=str(tmp_path)),
                   {"PIP_CONFIG_FILE": os.devnull, "PIP_INDEX_URL": index.url + "/simple/", "PIP_NO_INPUT": "1",
                    "PIP_RETRIES": "0", "TIKTOKEN_CACHE_DIR": str(settings.tiktoken_dir)})
    finally:
        hold.set()
        index.close()
    assert out.returncode == 0, out.stderr[-3000:]
    result = json.loads(out.stdout)
    assert len(result["times"]) == 8 and max(result["times"]) < 5, result["times"]
    assert all("still being fetched" in note for note in result["notes"]), result["notes"]
    assert result["encode_s"] < 1 and result["ids"]
    assert len([p for p in index.paths if "litellm" in p]) == 1, index.paths  # one fetch for all eight
