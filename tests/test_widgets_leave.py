"""Chapter 9's leave-rate sweep, its pure figure function and the slider explorer."""

from __future__ import annotations

import pandas as pd
import pytest
from matplotlib.figure import Figure

from recbook.config import EnvConfig
from recbook.viz.compute import leave_rate_sweep
from recbook.viz.figures import draw_leave_rate
from recbook.viz.widgets import PanelExplorer, leave_rate_explorer

CONFIG = EnvConfig(leave_rate=0.3, item_quality="uniform", observation="feedback")


def _table() -> pd.DataFrame:
    rows = [{"leave_rate": rate, "policy": name, "expected_return": 1.0, "oracle_return": 1.2,
             "pct_oracle": value - 20 * rate}
            for rate in (0.0, 0.3) for name, value in (("random", 70.0), ("bayes-index", 95.0))]
    return pd.DataFrame(rows)


def test_sweep_scores_every_policy_at_every_rate() -> None:
    table = leave_rate_sweep(CONFIG, leave_rates=(0.0, 0.5), policies=("random", "myopic-oracle"), n_users=100)
    assert len(table) == 4 and set(table["leave_rate"]) == {0.0, 0.5}
    at0 = table[table["leave_rate"] == 0.0].set_index("policy")["pct_oracle"]
    assert at0["myopic-oracle"] == pytest.approx(100.0)  # nobody leaves: greedy is the oracle
    assert (table["pct_oracle"] > 0).all()


def test_draw_is_pure_and_explorer_has_one_panel_per_rate() -> None:
    table = _table()
    fig = Figure()
    draw_leave_rate(fig, table, 0.3)
    assert len(fig.axes) == 2
    explorer = leave_rate_explorer(table, start=0.3)
    assert isinstance(explorer, PanelExplorer)
    assert explorer.labels == ("0", "0.3") and explorer.slider.index == 1
    pd.testing.assert_frame_equal(table, _table())  # the table is not modified
    extra = pd.concat([table, pd.DataFrame([{"leave_rate": 0.3, "policy": "dqn", "pct_oracle": 90.0}])])
    draw_leave_rate(Figure(), extra, 0.0)  # a policy present at some rates only


def test_bad_inputs() -> None:
    with pytest.raises(ValueError, match="item_quality"):
        leave_rate_sweep(EnvConfig(observation="feedback"))
    with pytest.raises(ValueError, match="leave_rates"):
        leave_rate_sweep(CONFIG, leave_rates=(0.2, 1.5))
    with pytest.raises(ValueError, match="leave_rate must be one of"):
        draw_leave_rate(Figure(), _table(), 0.7)
    with pytest.raises(ValueError, match="columns"):
        draw_leave_rate(Figure(), pd.DataFrame({"x": [1]}), 0.0)
