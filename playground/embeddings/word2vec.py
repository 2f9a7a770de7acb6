"""Train your own word2vec: sentences of a corpus, or playlists of item ids, with gensim.

A trained model is returned to the caller (the tab keeps it in the visitor's session), never
stored here. Progress is reported through a callback after each epoch. The public song-playlist
data set used in word2vec tutorials is downloaded from Google storage when there is a network.
"""

from __future__ import annotations

import http.client
import os
import re
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from playground.embeddings.corpus import read_upload
from playground.errors import InputTooLarge, InvalidInput, PlaygroundError
from playground.settings import Settings

# The "yes_complete" playlist data set (Chen et al., Cornell), as used in word2vec tutorials.
PLAYLISTS_URL = "https://storage.googleapis.com/maps-premium/dataset/yes_complete/train.txt"
SONGS_URL = "https://storage.googleapis.com/maps-premium/dataset/yes_complete/song_hash.txt"
DOWNLOAD_TIMEOUT_S = 60
MAX_DOWNLOAD_BYTES = 64 * 2**20
MAX_SEQUENCES = 200_000


class DatasetUnavailable(PlaygroundError):
    """The public data set cannot be fetched from here."""


@dataclass(frozen=True)
class TrainParams:
    vector_size: int = 32
    window: int = 20
    negative: int = 10
    min_count: int = 1
    epochs: int = 10
    seed: int = 1

    def checked(self) -> TrainParams:
        bounds = {"vector_size": (2, 300), "window": (1, 50), "negative": (1, 50), "min_count": (1, 1000),
                  "epochs": (1, 100)}
        for name, (lo, hi) in bounds.items():
            value = getattr(self, name)
            if not isinstance(value, int) or not lo <= value <= hi:
                raise InvalidInput(f"{name.replace('_', ' ')} must be a whole number from {lo} to {hi} (got {value}).")
        return self


@dataclass(frozen=True)
class Item:
    id: str
    title: str = ""
    artist: str = ""


@dataclass
class TrainedItems:
    """What a visitor trained: the item vectors and the metadata to show with them."""

    kv: Any  # gensim KeyedVectors
    metadata: dict[str, Item] = field(default_factory=dict)
    sequences: int = 0
    tokens: int = 0
    seconds: float = 0.0
    source: str = ""

    def describe(self) -> str:
        return (f"Trained on {self.sequences:,} sequences ({self.tokens:,} items, {len(self.kv.index_to_key):,} "
                f"distinct kept) from {self.source} in {self.seconds:.1f} s: {self.kv.vector_size}-d vectors.")


def parse_sequences(text: str, name: str = "the sequences", lowercase_words: bool = False) -> list[list[str]]:
    """One sequence per line. Item ids separated by spaces (playlists) or a sentence (words are then
    lower-cased and stripped of punctuation when `lowercase_words`). Lines starting with # are comments."""
    sequences = []
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        tokens = re.findall(r"[\w']+", line.lower()) if lowercase_words else line.split()
        if len(tokens) > 1:  # a single item has no context to learn from
            sequences.append(tokens)
    if not sequences:
        raise InvalidInput(f"{name} holds no sequence of two or more items: put one sequence per line, "
                           "items separated by spaces.")
    if len(sequences) > MAX_SEQUENCES:
        raise InputTooLarge(name, len(sequences), MAX_SEQUENCES, unit="sequences")
    return sequences


def parse_metadata(text: str, name: str = "the metadata file") -> dict[str, Item]:
    """'id<TAB>title<TAB>artist' (or comma-separated) per line; a header line starting with 'id' is skipped."""
    items: dict[str, Item] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        parts = [p.strip() for p in (line.split("\t") if "\t" in line else line.split(","))]
        if number == 1 and parts[0].lower() == "id":
            continue
        if len(parts) < 2 or not parts[0]:
            raise InvalidInput(f"{name}, line {number}: expected 'id, title[, artist]', got {line[:80]!r}.")
        items[parts[0]] = Item(parts[0], parts[1], parts[2] if len(parts) > 2 else "")
    return items


def read_sequences(path: str | Path, settings: Settings, sentences: bool) -> list[list[str]]:
    path = Path(path)
    return parse_sequences(read_upload(path, settings, "The sequences file"), path.name, lowercase_words=sentences)


def read_metadata(path: str | Path, settings: Settings) -> dict[str, Item]:
    path = Path(path)
    return parse_metadata(read_upload(path, settings, "The metadata file"), path.name)


class _EpochReport:
    """A gensim training callback: the four hooks of `CallbackAny2Vec`, written out rather than
    inherited (gensim has no type information), calling `progress` at the end of each epoch."""

    def __init__(self, epochs: int, progress: Callable[[float, str], None] | None) -> None:
        self.epochs, self.progress, self.epoch = epochs, progress, 0

    def on_train_begin(self, model: object) -> None:
        pass

    def on_epoch_begin(self, model: object) -> None:
        pass

    def on_epoch_end(self, model: object) -> None:
        self.epoch += 1
        if self.progress:
            self.progress(self.epoch / self.epochs, f"epoch {self.epoch}/{self.epochs}")

    def on_train_end(self, model: object) -> None:
        pass


def train(sequences: Sequence[Sequence[str]], params: TrainParams, metadata: dict[str, Item] | None = None,
          progress: Callable[[float, str], None] | None = None, source: str = "your upload") -> TrainedItems:
    """gensim Word2Vec (skip-gram) on `sequences`; `progress(fraction, message)` after each epoch."""
    from gensim.models import Word2Vec

    params = params.checked()
    counts = Counter(item for seq in sequences for item in seq)
    if sum(1 for c in counts.values() if c >= params.min_count) < 2:
        raise InvalidInput(f"Fewer than two items occur at least {params.min_count} times: lower 'min count'.")

    started = time.perf_counter()
    model = Word2Vec(vector_size=params.vector_size, window=params.window, negative=params.negative,
                     min_count=params.min_count, sg=1, workers=2, seed=params.seed)
    model.build_vocab(sequences)
    model.train(sequences, total_examples=model.corpus_count, epochs=params.epochs, callbacks=[_EpochReport(params.epochs, progress)])
    kv = model.wv
    kv.fill_norms()
    return TrainedItems(kv, dict(metadata or {}), len(sequences), sum(counts.values()),
                        time.perf_counter() - started, source)


def similar_items(trained: TrainedItems, item: str, k: int = 10) -> list[tuple[Item, float]]:
    item = (item or "").strip()
    if not item:
        raise InvalidInput("Type an item id (or a word) to find what is most similar to it.")
    if item not in trained.kv.key_to_index:
        # Let people type a title instead of an id.
        by_title = [i.id for i in trained.metadata.values()
                    if i.title.lower() == item.lower() and i.id in trained.kv.key_to_index]
        if not by_title:
            import difflib

            close = difflib.get_close_matches(item, trained.kv.index_to_key[:50_000], n=4, cutoff=0.6)
            hint = f" Did you mean {', '.join(close)}?" if close else ""
            raise InvalidInput(f"{item!r} is not in the trained vocabulary (items seen fewer than 'min count' "
                               f"times are dropped).{hint}")
        item = by_title[0]
    k = max(1, min(int(k), 50))
    return [(trained.metadata.get(key, Item(key)), float(score))
            for key, score in trained.kv.most_similar(item, topn=k)]


def lookup(trained: TrainedItems, item: str) -> Item:
    return trained.metadata.get(item, Item(item))


@dataclass(frozen=True)
class PlaylistSource:
    """Where the playlist data set is downloaded from, and the cache folder it is kept in."""

    playlists_url: str = PLAYLISTS_URL
    songs_url: str = SONGS_URL
    folder: str = "yes_complete"


_download_lock = threading.Lock()  # single flight: visitors clicking together share one download


def download_playlists(settings: Settings, source: PlaylistSource = PlaylistSource()) -> tuple[
        list[list[str]], dict[str, Item]]:
    """The song-playlist data set: (playlists, song metadata). Cached under the project cache folder.

    One download at a time (others wait for it, then read the files it left); each file is written
    to a private temporary name, checked complete (the Content-Length, then a parse), and only then
    renamed into place, so a cut-off download never leaves a file that looks finished."""
    folder = settings.cache_dir / "datasets" / source.folder
    files = (("train.txt", source.playlists_url, parse_playlists), ("song_hash.txt", source.songs_url, parse_songs))
    with _download_lock:
        for name, url, parse in files:
            if not (folder / name).is_file():
                if settings.offline:
                    raise DatasetUnavailable(
                        "The playlist data set lives on Google storage (storage.googleapis.com), and this server "
                        "runs offline. Upload your own playlists instead (one per line, item ids separated by "
                        "spaces).")
                _download(url, folder / name, parse)
    playlists = parse_playlists((folder / "train.txt").read_text(encoding="utf-8", errors="replace"))
    return playlists, parse_songs((folder / "song_hash.txt").read_text(encoding="utf-8", errors="replace"))


def parse_playlists(text: str) -> list[list[str]]:
    """train.txt starts with two header lines (#...); each playlist line ends with a space."""
    playlists = [line.split() for line in text.split("\n")[2:] if len(line.split()) > 1]
    if not playlists:
        raise DatasetUnavailable("The downloaded playlist file holds no playlists: the server sent something "
                                 "else. Try again later, or upload your own playlists.")
    return playlists


def parse_songs(text: str) -> dict[str, Item]:
    """song_hash.txt: 'id <tab> title <tab> artist' per line."""
    songs = {}
    for line in text.split("\n"):
        parts = line.rstrip("\n").split("\t")
        if len(parts) >= 3 and parts[0].strip():
            songs[parts[0].strip()] = Item(parts[0].strip(), parts[1].strip(), parts[2].strip())
    if not songs:
        raise DatasetUnavailable("The downloaded song list holds no 'id, title, artist' lines: the server sent "
                                 "something else. Try again later, or upload your own playlists.")
    return songs


def _download(url: str, path: Path, parse: Callable[[str], object]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".", suffix=".part")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT_S) as response:
            expected = response.headers.get("Content-Length")
            total = 0
            while chunk := response.read(1 << 20):
                total += len(chunk)
                if total > MAX_DOWNLOAD_BYTES:
                    raise DatasetUnavailable(f"{url} is larger than expected; refusing to download more.")
                out.write(chunk)
        if expected is not None and expected.isdigit() and total != int(expected):
            raise DatasetUnavailable(f"The download of {url} was cut short ({total:,} of {int(expected):,} bytes). "
                                     "Try again.")
        parse(tmp.read_text(encoding="utf-8", errors="replace"))  # raises if it is not the data set
        os.replace(tmp, path)  # atomic: readers see no file, or the whole checked file
    except (urllib.error.URLError, http.client.HTTPException, TimeoutError, OSError) as exc:
        raise DatasetUnavailable(f"Could not download {url} ({type(exc).__name__}): check the network, or upload "
                                 "your own playlists.") from None
    finally:
        tmp.unlink(missing_ok=True)


def toy_playlists(n: int = 600, seed: int = 0) -> tuple[list[list[str]], dict[str, Item]]:
    """Playlists a learner can train on offline: four genres whose songs co-occur in playlists
    (with a little noise), so word2vec should find each song's genre-mates."""
    import random

    rng = random.Random(seed)
    genres = {"jazz": "Blue Quartet", "metal": "Iron Anvil", "classical": "Vienna Strings", "hiphop": "MC Lyric"}
    songs = {g: [f"{g}_{i:02d}" for i in range(20)] for g in genres}
    metadata = {sid: Item(sid, f"{g.title()} song {i + 1}", artist)
                for g, artist in genres.items() for i, sid in enumerate(songs[g])}
    everything = [sid for group in songs.values() for sid in group]
    playlists = []
    for _ in range(n):
        genre = rng.choice(list(genres))
        playlist = rng.sample(songs[genre], rng.randint(5, 10))
        if rng.random() < 0.2:  # some playlists mix in a song from anywhere
            playlist.insert(rng.randrange(len(playlist)), rng.choice(everything))
        playlists.append(playlist)
    return playlists, metadata
