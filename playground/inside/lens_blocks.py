"""The logit lens's reductions of one block of bulk values: sums, rank counts and candidates (`lens.py` explains
the method and why; `lens.stats` drives these over the vocabulary)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

GROUP = 16  # candidates are found through the maxima of groups of GROUP values
CANDIDATES = 16  # best ids per row recomputed exactly
FLOOR = -80.0  # exp's argument is clamped here: torch's CPU exp is ≈ 100× slower below ≈ −87 (lens.py)
TINY = 2.0 ** -126  # the smallest normal float32 (`positives`)


@dataclass
class Target:
    """What every bulk value is read against: the chosen token's logit, before (`raw`) and after the soft cap."""

    raw: Any  # (r,) exact fp32 logit of the chosen token
    logit: Any  # (r,) the same through the soft cap, if any
    cap: float | None
    shifted: bool  # the bulk matmul returns l − raw already (see `lens.bulk_weight`), else l itself

    def relative(self, bulk: Any, out: Any = None) -> Any:
        """fp32 (capped) logits minus the chosen token's, from bulk matmul values (any shape (r, ...))."""
        import torch

        if out is None:
            out = torch.empty(bulk.shape, device=bulk.device)
        if self.shifted:
            out.copy_(bulk)
        else:  # fp32: the sign of l − c is exact (a rounded non-zero difference is never 0), so ranks are too
            torch.sub(bulk, self.raw.view(-1, *[1] * (bulk.dim() - 1)), out=out)
        if self.cap is not None:
            shape = (-1, *[1] * (bulk.dim() - 1))
            out.add_(self.raw.view(shape)).div_(self.cap).tanh_().mul_(self.cap).sub_(self.logit.view(shape))
        return out


@dataclass
class Slices:
    """Per slice of the vocabulary (one row of each of these (slices, r) arrays): its max and its sums against it.

    Each slice's exponentials are taken against the slice's own max and the slices are combined once at the end:
    a running max would rescale the sums after every slice, a dozen small ops each time."""

    top: Any  # the slice's largest value
    z: Any  # Σ e^(v − top)
    d: Any  # Σ e^(v − top) · (v − top), for the entropy
    positives: Any  # how many values are > 0 (above the chosen token's), in units of TINY (`positives`)

    def add(self, i: int, values: Any, work: Any) -> None:
        """Add slice i's `values` (r, w), whose max is in top[i] already; overwrites both arguments."""
        import torch

        shifted = values.sub_(self.top[i][:, None]).clamp_(min=FLOOR)
        e = torch.exp(shifted, out=work)
        torch.sum(e, -1, out=self.z[i])
        torch.sum(e.mul_(shifted), -1, out=self.d[i])

    def total(self) -> tuple[Any, Any, Any, Any]:
        """The max, Σ e^(v − max), Σ e^(v − max)·(v − max) and the count of values > 0 of every row."""
        top = self.top.amax(0)
        moved = self.top - top  # ≤ 0: each slice's sums rescaled to the overall max
        scale = moved.exp()
        return top, (self.z * scale).sum(0), (scale * (self.d + self.z * moved)).sum(0), self.positives.sum(0) / TINY


def positives(values: Any, work: Any, out: Any) -> None:
    """Per row, how many of `values` (fp32) are > 0, times TINY, into `out`: clamped to [0, TINY] a value > 0 is
    TINY, others are 0, and a float sum of multiples of TINY is exact. (`(values > 0).sum(-1)` is 2.5× slower:
    torch's bool kernels.) Exact unless a value lies strictly between 0 and TINY (≈ 1e-38), which a difference of
    two logits does not: a bf16 or fp32 dot product of real weights is 0 or far larger."""
    import torch

    torch.sum(torch.clamp(values, 0, TINY, out=work), -1, out=out)


def group_maxima(values: Any, out: Any) -> None:
    """Maxima of the GROUP-member groups of each row of `values` (r, GROUP × span): group j is the columns j,
    j + span, j + 2·span, …, so the max is an element-wise max of GROUP contiguous slabs (a fast reduction: a max
    over 16 adjacent columns is 5× slower). Any partition of the columns into groups would do."""
    import torch

    r, width = values.shape
    torch.amax(values.view(r, GROUP, width // GROUP), 1, out=out)


def shortlist(maxima: Any, block: Any, part: int, k: int) -> tuple[Any, Any]:
    """The members of the k best groups of every row (their bulk values and columns), from the group maxima of a
    block read in parts of `part` columns (`group_maxima` of each part, side by side). They hold the row's k best
    values: a value among them lies in a group whose max beats all but fewer than k other groups' maxima."""
    import torch

    r, span = block.shape[0], part // GROUP
    groups = maxima.topk(k, dim=-1, sorted=False).indices  # (r, k)
    first = groups // span * part + groups % span  # each group's first column in the block
    columns = (first[:, None, :] + span * torch.arange(GROUP, device=block.device)[None, :, None]).reshape(r, GROUP * k)
    return block.gather(1, columns), columns


@dataclass
class Shortlists:
    """Every block's shortlist (the members of its best groups, which hold its CANDIDATES best values), side by side:
    one top-k over all of them at the end picks each row's candidates (merging after every block cost a second
    top-k per block). Bulk values are comparable across blocks. After STORED blocks (large vocabularies only) the
    stored shortlists are merged into `kept` and the store starts again."""

    values: Any  # (r, STORED, GROUP × CANDIDATES) bulk values of grouped blocks
    ids: Any  # their vocabulary ids (int32: half the memory)
    used: int = 0  # blocks in the store
    kept: tuple[Any, Any] | None = None  # values and int64 ids merged from earlier blocks or a short last block

    def add(self, values: Any, ids: Any) -> None:
        if values.shape[1] != self.values.shape[2]:  # a short last block: all its values
            self._keep(values, ids)
            return
        if self.used == self.values.shape[1]:
            self._keep(*self.best())
            self.used = 0
        self.values[:, self.used], self.ids[:, self.used] = values, ids
        self.used += 1

    def _keep(self, values: Any, ids: Any) -> None:
        import torch

        if self.kept is not None:
            values, ids = torch.cat([self.kept[0], values.to(self.kept[0].dtype)], 1), torch.cat([self.kept[1], ids], 1)
        self.kept = (values, ids.long())

    def best(self) -> tuple[Any, Any]:
        """The CANDIDATES best bulk values of every row and their ids (int64), unsorted."""
        import torch

        r = self.values.shape[0]
        values, ids = self.values[:, :self.used].reshape(r, -1), self.ids[:, :self.used].reshape(r, -1).long()
        if self.kept is not None:
            values, ids = torch.cat([values, self.kept[0].to(values.dtype)], 1), torch.cat([ids, self.kept[1]], 1)
        found = values.topk(min(CANDIDATES, values.shape[1]), dim=-1, sorted=False)
        return found.values, ids.gather(1, found.indices)


@dataclass
class Buffers:
    """The large buffers of a pass over the vocabulary. Fresh ones on every call cost page faults and cold caches:
    SmolLM2's lens took 255 ms with them, 224 ms with these (2 threads). So they are kept with the model (next to
    its bf16 weight, `lens.bulk_weight`), sized for at most `lens.ROWS` rows: 111 MB for SmolLM2's 1,920 rows."""

    block: Any  # (rows, BLOCK) bulk values of one block
    values: Any  # (rows, SLICE) fp32
    work: Any  # (rows, SLICE) fp32
    maxima: Any  # (rows, BLOCK // GROUP) group maxima of one block
    listed_values: Any  # (rows, STORED, GROUP × CANDIDATES) the shortlists' store
    listed_ids: Any

    def first(self, rows: int) -> Buffers:
        return Buffers(*(buffer[:rows] for buffer in vars(self).values()))


def read_block(block: Any, start: int, first: int, target: Target, chosen: Any, slices: Slices,
               shortlists: Shortlists, scratch: Buffers) -> Any:
    """Reduce one block of bulk values (r, width), whose first slice is number `first`: the slices' maxima, sums
    and counts, and the block's candidates. Returns, per row, 1 where the chosen token is in the block and its bulk
    value is > 0 (counted as a rival of itself: a rounding above its exact value, 0), else 0."""
    import torch

    values_buf, work_buf, maxima = scratch.values, scratch.work, scratch.maxima
    r, width = block.shape
    part = values_buf.shape[1]
    k = min(CANDIDATES, width)
    grouped = width % part == 0 and part % GROUP == 0 and width >= GROUP * k  # else: a short last block
    for i, at in enumerate(range(0, width, part), first):
        size = min(part, width - at)
        values, work = target.relative(block[:, at:at + size], out=values_buf[:, :size]), work_buf[:, :size]
        positives(values, work, slices.positives[i])
        if grouped:
            slice_maxima = maxima[:, at // GROUP:(at + size) // GROUP]
            group_maxima(values, slice_maxima)
            torch.amax(slice_maxima, -1, out=slices.top[i])
        else:
            torch.amax(values, -1, out=slices.top[i])
        slices.add(i, values, work)
    if grouped:
        members, columns = shortlist(maxima[:, :width // GROUP], block, part, k)
    else:
        members, columns = block, torch.arange(width, device=block.device).expand(r, width)
    shortlists.add(members, columns + start)
    inside = (chosen >= start) & (chosen < start + width)
    own = target.relative(block.gather(1, (chosen - start).clamp(0, width - 1)[:, None]))[:, 0]
    return (inside & (own > 0)).float()
