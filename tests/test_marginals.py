"""recbook.planning.marginals: the one table of next marginals, its top-k sum, and the count vectors."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from recbook.config import EnvConfig
from recbook.observations import ObservationLayout
from recbook.planning import brute_force_optimum, oracle_return
from recbook.planning.marginals import count_vectors, cumulative_top, next_marginals, top_sum

CONFIG = EnvConfig(n_items=5, session_length=7)


def test_next_marginals_are_the_decayed_values_of_the_next_recommendations() -> None:
    values = np.array([[0.5, 0.3, 0.2]])
    counts = np.array([[0, 2, 1]])
    table = next_marginals(values, CONFIG.decay_model, 3, counts).reshape(1, 3, 3)
    m = CONFIG.decay_model.multiplier
    np.testing.assert_array_equal(table[0, 1], 0.3 * m(np.array([3, 4, 5])))
    np.testing.assert_array_equal(next_marginals(values, CONFIG.decay_model, 3), next_marginals(
        values, CONFIG.decay_model, 3, np.zeros((1, 3), dtype=np.int64)))


def test_top_sum_paths_agree_and_match_a_sort() -> None:
    rng = np.random.default_rng(0)
    marginals = rng.random((50, 20))
    by_sort = -np.sort(-marginals, axis=1)
    for steps in (0, 1, 7, 20):
        np.testing.assert_allclose(top_sum(marginals, steps), by_sort[:, :steps].sum(axis=1), rtol=1e-12)
        np.testing.assert_allclose(top_sum(marginals, np.full(50, steps)), top_sum(marginals, steps), rtol=1e-12)
    table = cumulative_top(marginals)
    assert table.shape == (50, 21) and np.all(table[:, 0] == 0.0)
    np.testing.assert_array_equal(top_sum(marginals, np.arange(50) % 25), table[np.arange(50), np.minimum(
        np.arange(50) % 25, 20)])  # per-row steps, clipped to the row length


@pytest.mark.parametrize(("n", "total"), [(1, 4), (3, 0), (3, 4), (4, 5)])
def test_count_vectors_are_every_split_once(n: int, total: int) -> None:
    vectors = count_vectors(n, total)
    assert vectors.shape == (math.comb(total + n - 1, n - 1), n)
    assert np.all(vectors.sum(axis=1) == total) and np.all(vectors >= 0)
    expected = {c for c in itertools.product(range(total + 1), repeat=n) if sum(c) == total}
    assert {tuple(v) for v in vectors} == expected


def test_oracle_return_is_the_enumerated_optimum() -> None:
    config = EnvConfig(n_items=3, session_length=5, decay="geometric", decay_rate=0.6)
    users = np.random.default_rng(1).dirichlet(np.ones(3), size=20)
    np.testing.assert_allclose(oracle_return(users, config), [brute_force_optimum(p, config) for p in users],
                               rtol=1e-12)


def test_torch_exploit_value_is_the_top_sum() -> None:
    """recbook.agents.networks sums the k largest future marginals with torch.topk: the same number as top_sum."""
    th = pytest.importorskip("torch")
    from recbook.agents.networks import ItemFeatures

    config = EnvConfig(n_items=6, session_length=9, observation="feedback")
    layout = ObservationLayout(config)
    rng = np.random.default_rng(7)
    p = rng.dirichlet(config.alpha_vector, size=200)
    step = rng.integers(0, config.session_length + 1, size=200)
    counts = np.zeros(p.shape, dtype=np.int64)
    for user, steps in enumerate(step):
        np.add.at(counts[user], rng.integers(0, config.n_items, size=steps), 1)
    exposure = config.decay_model.exposure_table(config.session_length)
    obs = layout.build(counts, p * exposure[counts], step, p)
    view = layout.parse(obs)
    with th.no_grad():
        _, context, _, _ = ItemFeatures(config)(th.as_tensor(obs))
    known = np.where(view.revealed, view.value, 0.0)
    expected = top_sum(next_marginals(known, config.decay_model, config.session_length, view.counts),
                       view.steps_remaining)
    np.testing.assert_allclose(context[:, 6].numpy(), expected, rtol=1e-5, atol=1e-6)  # context[6] is E_k
