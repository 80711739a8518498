"""Compare recbook's single-step estimators with obp 0.4.1's on the OBD sample; writes obp_comparison.csv.

obp is not a dependency of recbook (its loader fails on pandas >= 2 and it pulls scikit-learn); run this once in
a throwaway virtual environment that sees recbook's packages, from the repository root:

    python -m venv /tmp/obpvenv
    echo "$PWD/.venv/lib/python3.11/site-packages" > /tmp/obpvenv/lib/python3.11/site-packages/main.pth
    /tmp/obpvenv/bin/pip install scikit-learn tqdm mypy-extensions
    /tmp/obpvenv/bin/pip install --no-deps obp==0.4.1
    PYTHONPATH=$PWD /tmp/obpvenv/bin/python data/obd/compare_with_obp.py

tests/test_obd.py checks that recbook reproduces the values written here.
"""

import numpy as np
import obp
import pandas as pd
from obp.ope import DirectMethod, DoublyRobust, InverseProbabilityWeighting, SwitchDoublyRobust
from obp.ope import SelfNormalizedInverseProbabilityWeighting

from recbook import seeds
from recbook.obd import bts_action_distribution, click_model, load_bts_prior, load_obd

logs = load_obd("random")
n, n_items = len(logs), 80
distribution = bts_action_distribution(*load_bts_prior(), n_positions=3, n_samples=100_000, seed=0)
items, positions = logs["item_id"].to_numpy(), logs["position"].to_numpy()
clicks = logs["click"].to_numpy(float)
# The same cross-fitted click model as recbook.obd.bandit_estimates(seed=0, folds=2).
fold = seeds.generator(0, seeds.TEST, "bootstrap", "obd-folds").permutation(n) % 2
q = np.zeros((n, n_items, 3))
for k in range(2):
    held = fold == k
    q[held] = click_model(items[~held], positions[~held], clicks[~held], n_items, 3)[None]
action_dist = np.tile(distribution[None], (n, 1, 1))
kwargs = dict(
    reward=clicks,
    action=items,
    position=positions,
    pscore=logs["propensity_score"].to_numpy(),
    action_dist=action_dist,
)
values = {
    "ipw": InverseProbabilityWeighting().estimate_policy_value(**kwargs),
    "snipw": SelfNormalizedInverseProbabilityWeighting().estimate_policy_value(**kwargs),
    "dm": DirectMethod().estimate_policy_value(
        position=positions, action_dist=action_dist, estimated_rewards_by_reg_model=q
    ),
    "dr": DoublyRobust().estimate_policy_value(**kwargs, estimated_rewards_by_reg_model=q),
    "switch-dr": SwitchDoublyRobust(tau=10.0).estimate_policy_value(**kwargs, estimated_rewards_by_reg_model=q),
}
interval = InverseProbabilityWeighting().estimate_interval(**kwargs, n_bootstrap_samples=10_000, random_state=12345)
table = pd.DataFrame({"method": list(values), "obp_value": [float(v) for v in values.values()]})
table["obp_version"] = obp.__version__
table.to_csv("data/obd/obp_comparison.csv", index=False, float_format="%.17g")
print(table)
print("obp IPW bootstrap interval:", interval)
