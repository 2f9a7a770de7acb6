"""Glitch-token candidates of the local model: embedding-norm outliers, then asked to repeat them."""

from __future__ import annotations

import numpy as np
import pytest

from playground.lab import glitch


def test_robust_z_ignores_the_outliers_it_finds():
    values = np.array([1.0, 1.1, 0.9, 1.0, 1.05, 0.95, 25.0])
    z = glitch.robust_z(values)
    assert z[-1] > 100 and np.all(np.abs(z[:-1]) < 3)  # a plain z-score would hide it behind its own spread


@pytest.mark.slow
def test_candidates_are_the_largest_outliers_and_the_model_is_asked_to_repeat(settings):
    from playground.generation import catalogue, models

    found = glitch.candidates(settings, 4)
    loaded = models.load_model(catalogue.get(catalogue.DEFAULT_MODEL), settings)
    weight = loaded.model.get_input_embeddings().weight.detach().float().cpu().numpy()
    norms = np.linalg.norm(weight, axis=1)[: len(loaded.tokenizer)]
    z = glitch.robust_z(norms)
    special = set(loaded.tokenizer.all_special_ids)
    assert len(found) == 4 and not special & {c.id for c in found}
    for c in found:
        assert c.norm == pytest.approx(norms[c.id], rel=1e-4) and c.z == pytest.approx(z[c.id], rel=1e-3)
    lows = [c for c in found if c.z < 0]
    if lows:  # the lowest candidate is the lowest non-special row of all
        ordinary = [i for i in range(len(z)) if i not in special]
        assert min(c.z for c in lows) == pytest.approx(z[ordinary].min(), rel=1e-3)
    tested = glitch.repeat_test(found[0], settings, max_new_tokens=6)
    assert tested.answer and tested.repeated == (found[0].text.strip() in tested.answer)
