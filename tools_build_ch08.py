"""Build book/08_long_term_engagement.ipynb from the cells below (run once; the notebook is the artefact)."""

import nbformat as nbf

cells = []


def md(text: str) -> None:
    cells.append(nbf.v4.new_markdown_cell(text.strip("\n")))


def code(text: str, name: str | None = None, caption: str | None = None, tags: list[str] | None = None) -> None:
    cell = nbf.v4.new_code_cell(text.strip("\n"))
    if name:
        cell.metadata["mystnb"] = {"figure": {"name": name, "caption": caption}}
    if tags:
        cell.metadata["tags"] = tags
    cells.append(cell)


md(r"""
# When RL beats bandits: long-term engagement

In every setting so far a myopic bandit came within a few tenths of a point of the best achievable return, and a
reader could fairly ask why recommendation needs reinforcement learning at all. The answer, and the reason
RecSim's interest-evolution environment {cite}`ie2019recsim` and SlateQ {cite}`ie2019slateq` exist, is that what
a recommender shows now decides whether the user is still there later. This chapter adds the simplest version of
that: every item has a public **quality** `q`, and after each recommendation of item `a` the user leaves the
session with probability `λ (1 − q_a)`, where `λ` is the {term}`leave rate`. A catchy item of low quality ("clickbait") earns engagement now and costs
the steps the user would otherwise have stayed for.

**Learning objectives.** After this chapter you can

- explain why a myopic policy, even one that knows the user, is not optimal once users can leave, and prove the
  exchange argument that orders a fixed set of recommendations by reward over leave probability;
- state what the full-information planner computes, how it is checked against brute force, and in what sense it
  is exact;
- compare a DQN and PPO trained on sampled exits with the bandits and a hand-made quality-aware index, with
  paired confidence intervals on held-out users;
- read off a sweep of the leave rate `λ` where reinforcement learning starts to pay.
""")

code(r"""
import time
import zipfile

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from myst_nb import glue

from recbook import EnvConfig, planning, seeds
from recbook.agents.dqn import RunConfig, load_agent
from recbook.agents.ppo import load_ppo
from recbook.evaluation import (interquartile_mean, mean_confidence_interval,
                                rollout, sample_users, score)
from recbook.paths import data_path
from recbook.policies import make_policy, oracle_return
from recbook.widgets_leave import leave_rate_explorer, leave_rate_sweep

sns.set_theme(style="whitegrid", context="notebook")
pd.set_option("display.precision", 4)
config = RunConfig.from_yaml("leave").env  # the preset the DQN was trained on
catalogue = pd.DataFrame({
    "quality q": config.quality_vector,
    "leave probability λ(1 − q)": config.leave_probability(np.arange(10)),
}).rename_axis("item")
print(f"λ = {config.leave_rate}, n = {config.n_items}, "
      f"T = {config.session_length}")
catalogue.T.round(3)
""")

md(r"""
The catalogue has one item in the middle of each quality decile, 0.05 to 0.95, in a fixed shuffled order: a
representative draw of uniform qualities without the luck of one random catalogue. With `λ = 0.3` a user shown
only the worst item leaves after each step with probability 0.285 (about three and a half steps on average), one
shown only the best item with probability 0.015. Preferences are the Dirichlet users of chapter 1 (`α = 1`,
harmonic decay, expected feedback); the agent sees the feedback observation of chapter 3 plus the ten qualities.
A session ends after `T = 20` recommendations or when the user leaves, whichever comes first.

## Why myopic fails

Take two items and a user who knows what they like: `p = (0.6, 0.4)`. Item 0 is clickbait (`q = 0`), item 1 is
durable (`q = 0.9`), and `λ = 1`, so after item 0 the user always leaves. `planning.sequence_return` computes the
exact expected return of a fixed sequence, summing each step's reward times the probability that the user is
still there:
""")

code(r"""
two = EnvConfig(n_items=2, session_length=20, leave_rate=1.0,
                item_quality=(0.0, 0.9))
p = np.array([[0.6, 0.4]])
plans = {
    "myopic (largest p · m now)": [0] + [1] * 19,
    "durable item only": [1] * 20,
    "durable first, clickbait last": [1] * 19 + [0],
}
values = pd.Series({name: planning.sequence_return(p, two, np.array([seq]))[0]
                    for name, seq in plans.items()}, name="expected return")
counts, best_two = planning.plan(p, two)
order = planning.ordered_sequence(p, two, counts)[0]
before = int(np.argmax(order == 0))  # durable showings before the clickbait
print(values.round(4).to_string())
print(f"planner: {best_two[0]:.4f}, sequence {order.tolist()}")
assert values.idxmax() == "durable first, clickbait last"
assert best_two[0] > values.max() and 0 < before < 19
glue("two_myopic", f"{values.iloc[0]:.3f}", display=False)
glue("two_last", f"{values.max():.3f}", display=False)
glue("two_plan", f"{best_two[0]:.3f}", display=False)
glue("two_before", f"{before}", display=False)
""")

md(r"""
The myopic choice takes 0.6 now and ends the session ({glue:text}`two_myopic` in expectation); keeping the
clickbait for the very last step, when leaving costs nothing, earns {glue:text}`two_last`. The planner does better
still, {glue:text}`two_plan`: it shows the durable item {glue:text}`two_before` times and *then* the clickbait.
Past that point another showing of the durable item is worth less (harmonic decay) than the clickbait's sure 0.6,
even counting that the clickbait ends the session. In general each
recommendation earns its reward **and** multiplies the probability that every later reward is collected by
`1 − l_a`, where `l_a = λ (1 − q_a)`.

**The {term}`exchange argument`.** Write a session as recommendations with rewards `r_1, …, r_T` (the `k`-th
recommendation of item `a` earns `r = p_a m(k)`) and leave probabilities `l_1, …, l_T`. Its expected return is

$$
V = \sum_{t=1}^{T} r_t \prod_{s<t} (1 - l_s).
$$

Swap two neighbours at positions `t, t+1` that recommend *different* items `x` and `y`. No other term changes:
every other step sees the same counts of each item before it, and the survival after the pair is
`S (1 − l_x)(1 − l_y)` in either order, where `S` is the survival before the pair. The pair contributes
`S (r_x + (1 − l_x) r_y)` in one order and `S (r_y + (1 − l_y) r_x)` in the other; the first is at least the
second exactly when `r_x l_y ≥ r_y l_x`, that is, when

$$
\frac{r_x}{l_x} \;\ge\; \frac{r_y}{l_y}.
$$

So for a fixed multiset of recommendations the best order sorts them by the index `r / l`, decreasing (a
recommendation with `l = 0` goes first), by the usual bubble-sort argument: any other order has a neighbouring pair
out of index order, and swapping it does not lower `V`. Repeats of one item come out in the right order by
themselves, since each repeat has a smaller reward and the same `l`. What remains is *which* multiset: how often to
recommend each item. A myopic policy answers "the largest rewards" and ignores `l`; the index `r / l` alone answers
"the most durable rewards" and ignores that a session has a fixed length: on the last step leaving costs nothing,
yet an item with `q ≈ 1` has an index near infinity.

## The full-information planner

The oracle of this chapter knows `p`. With `p` known nothing random is observed except whether the user left, so
the best policy is a fixed sequence, and by the exchange argument a fixed count vector `c` (how often each item is
recommended, `Σ c_a = T`) played in index order. There are 10,015,005 count vectors for `n = 10`, `T = 20`, too
many per user, so `recbook.planning.plan` searches: it starts from the best of eight candidates (the `T` largest
rewards under the index `r / (l + μ)` for `μ` from 0, the pure index, to ∞, the myopic choice) and moves one
recommendation from one item to another while that raises `V`. The plan's value is computed exactly, so it is an
achievable return and a **lower bound** on the optimum. We check it against two brute forces: every one of the
`n^T` sequences on tiny instances (which also checks the exchange argument), and every count vector on larger ones.
""")

code(r"""
import itertools

def best_sequence(p, cfg):
    seqs = np.array(list(itertools.product(range(cfg.n_items),
                                           repeat=cfg.session_length)))
    users = np.repeat(p[None], len(seqs), axis=0)
    return planning.sequence_return(users, cfg, seqs).max()

tiny = EnvConfig(n_items=3, session_length=6, leave_rate=0.6,
                 item_quality=(0.1, 0.5, 0.95))
users = sample_users(tiny, n_users=20, seed=1, stream=seeds.VALIDATION)
_, planned = planning.plan(users, tiny)
every_sequence = np.array([best_sequence(u, tiny) for u in users])
gap_tiny = np.abs(planned - every_sequence).max()

medium = EnvConfig(n_items=5, session_length=10, leave_rate=0.3,
                   item_quality=(0.05, 0.25, 0.45, 0.65, 0.85))
users = sample_users(medium, n_users=200, seed=2, stream=seeds.VALIDATION)
_, planned = planning.plan(users, medium)
every_count = np.array([planning.brute_force_plan(u, medium) for u in users])
gap_medium = (every_count - planned).max()
exact_share = np.mean(np.isclose(planned, every_count, rtol=1e-12))
print(f"3 items, T = 6, all 729 sequences: largest gap {gap_tiny:.1e}")
print(f"5 items, T = 10, all 1001 count vectors: largest gap {gap_medium:.1e}, "
      f"exact for {exact_share:.0%} of 200 users")
assert gap_tiny < 1e-12 and gap_medium < 1e-12
""")

code(r"""
test_users = sample_users(config, n_users=2_000, seed=0, stream=seeds.TEST)
began = time.perf_counter()
planner_value = oracle_return(test_users, config)
seconds = time.perf_counter() - began
print(f"planner on 2,000 users: {seconds:.1f} s "
      f"({1000 * seconds / 2000:.2f} ms per user), "
      f"mean return {planner_value.mean():.3f}")
glue("planner_ms", f"{1000 * seconds / 2000:.1f}", display=False)
glue("planner_20k", f"{10 * seconds:.0f}", display=False)
""", tags=["nbval-ignore-output"])

md(r"""
On every instance small enough to enumerate, the local search found the optimum. At full size we cannot
enumerate, so the planner's value is reported as what it is, the expected return of an achievable plan: every
"% of the planner" below is a percentage of a lower bound on the optimum. It took {glue:text}`planner_ms` ms per
user in numpy when this chapter was executed (on a shared machine), so the 20,000 TEST users cost about
{glue:text}`planner_20k` s. The oracle *policy* (`make_policy("oracle", config)`)
follows the same plan in the environment, and `tests/test_policies_leave.py` checks that its Monte-Carlo mean equals
the analytic value.

## Clickbait against quality: the heuristics

Three new reference policies join the bandits of chapter 4:

- **myopic-oracle** knows `p` and recommends the largest immediate reward `p_a m(c_a + 1)`: the perfect
  click-through-rate model that ignores quality;
- **bayes-index** is a hand-made quality-aware rule: BayesGreedy's posterior-mean next reward `g_a` divided by a
  leave hazard, `g_a / (l_a + h − l_a h)` with `h = 1/k` for `k` steps left. It is the exchange index with the
  end of the session treated as one more way to leave, so the last step is myopic (`h = 1`) and early steps
  follow `g / l`;
- the **oracle** is the planner.

Ties between equal scores go to a random item whenever items carry a quality: with the lowest index first,
BayesGreedy would open every session with item 0, whatever its quality. The final table (computed by
`python -m recbook.agents.long_term --only table`, 20,000 TEST users, every policy on the same users and exits):
""")

code(r"""
table = pd.read_csv(data_path("leave", "test_table.csv")).set_index("policy")
heuristics = ["random", "bayes-greedy", "thompson", "ucb", "bayes-index",
              "myopic-oracle", "oracle"]
print(table.loc[heuristics, ["expected_return", "pct_oracle",
                             "pct_oracle_ci_low", "pct_oracle_ci_high"]]
      .round(2).to_string())
pct = table["pct_oracle"]
assert pct["random"] < pct["bayes-greedy"] < pct["bayes-index"] < 100
ci = table.loc["oracle", ["pct_oracle_ci_low", "pct_oracle_ci_high"]]
assert ci.iloc[0] < 100 < ci.iloc[1]
for name in heuristics:
    glue(f"pct_{name}", f"{pct[name]:.1f}", display=False)
""")

md(r"""
The bandits that were within half a point of the oracle in chapter 4 now reach only
{glue:text}`pct_bayes-greedy` % (BayesGreedy) and {glue:text}`pct_thompson` % (Thompson sampling), barely above
random's {glue:text}`pct_random` %. Knowing the user is not the whole story either: the myopic oracle, which knows
`p` exactly, reaches {glue:text}`pct_myopic-oracle` %, while the hand-made index, which does not know `p` but
respects quality, reaches {glue:text}`pct_bayes-index` %. (The oracle policy's own {glue:text}`pct_oracle` % is
its sampled exits against the planner's analytic value: the interval contains 100.)

Where the difference comes from shows in what each policy recommends step by step:
""")

code(r"""
agent = load_agent(data_path("models", "leave_seed0.zip"))
shown = {"bayes-greedy": make_policy("bayes-greedy", config, seed=0),
         "myopic-oracle": make_policy("myopic-oracle", config),
         "bayes-index": make_policy("bayes-index", config, seed=0),
         "dqn (seed 0)": agent, "oracle": make_policy("oracle", config)}
rows = []
for name, policy in shown.items():
    result = rollout(policy, config, test_users, seed=0)
    acts = result.actions
    present = acts >= 0
    q = config.quality_vector[np.maximum(acts, 0)]
    for t in range(config.session_length):
        alive = present[:, t]
        rows.append({"policy": name, "step": t + 1,
                     "quality": q[alive, t].mean() if alive.any() else np.nan,
                     "still there": alive.mean()})
steps = pd.DataFrame(rows)
fig, (left, right) = plt.subplots(1, 2, figsize=(11, 3.8))
sns.lineplot(data=steps, x="step", y="quality", hue="policy", marker="o",
             ax=left)
left.set(xlabel="step t", ylabel="mean quality of the recommended item")
sns.lineplot(data=steps, x="step", y="still there", hue="policy", marker="o",
             ax=right, legend=False)
right.set(xlabel="step t", ylabel="share of users still in the session")
plt.show()
survival = steps[steps["step"] == 10].set_index("policy")["still there"]
assert survival["bayes-greedy"] < survival["bayes-index"]
glue("alive10_bg", f"{100 * survival['bayes-greedy']:.0f}", display=False)
glue("alive10_oracle", f"{100 * survival['oracle']:.0f}", display=False)
glue("alive10_dqn", f"{100 * survival['dqn (seed 0)']:.0f}", display=False)
""", name="fig-leave-quality",
     caption="Mean quality of the recommended item (left, among users still there) and the share of users still "
             "in the session (right) at each step, on 2,000 TEST users. BayesGreedy explores items regardless of "
             "quality and loses users early; the planner and the DQN favour durable items early and spend low "
             "quality near the end.")

md(r"""
BayesGreedy tries items in random order and keeps {glue:text}`alive10_bg` % of its users to step 10; the planner
keeps {glue:text}`alive10_oracle` % and the DQN {glue:text}`alive10_dqn` %. Both start with durable items and let
the quality of their recommendations fall as the session nears its end, when a lost user costs less.

## Learning from sampled exits: DQN and PPO

The DQN is chapter 5's item-shared network with four more features per item (the quality `q_a`, the leave
probability `l_a`, the survival-weighted reward `g_a (1 − l_a)` and the hazard index above) and the largest index
in the pooled context; its output is added to the immediate reward `g_a` (`skip: reward`), so an untrained network
acts like BayesGreedy. It learns only from what a real system would log: a transition ends (`done=True`) when the
simulated user leaves, and nothing tells it the leave probabilities of the items it did not show.
`tests/test_agents_leave.py` checks that the vectorised training environment ends the transition at an exit.
Hyperparameters (the preset `recbook/configs/leave.yaml`) were chosen on VALIDATION users; the learning curves
below are on 2,000 VALIDATION users, the final numbers on TEST users.

PPO {cite}`schulman2017ppo` is Stable-Baselines3's, with an actor that scores every item with one shared MLP on
the same features (`recbook.agents.ppo`): an alternative algorithm on the same inputs.
""")

code(r"""
dqn_paths = sorted(data_path("models").glob("leave_seed*.zip"))
dqns = [load_agent(path) for path in dqn_paths]
ppo_paths = sorted(data_path("models").glob("ppo_leave_seed*.zip"))
ppos = [load_ppo(path) for path in ppo_paths]
curves = pd.concat(
    [a.learning_curve.assign(agent="DQN", seed=a.seed) for a in dqns]
    + [a.learning_curve.assign(agent="PPO", seed=a.seed) for a in ppos])
validation = {name: score(make_policy(name, config, seed=0), config,
                          n_users=2_000, seed=0, stream=seeds.VALIDATION)
              for name in ["bayes-greedy", "bayes-index", "myopic-oracle"]}
fig, ax = plt.subplots(figsize=(8, 4.2))
sns.lineplot(data=curves, x="env_steps", y="pct_oracle", hue="agent",
             units="seed", estimator=None, marker="o", ax=ax)
for (name, result), style in zip(validation.items(), [":", "--", "-."]):
    ax.axhline(result["pct_oracle"], color="0.3", linestyle=style, label=name)
ax.set(xlabel="environment steps (transitions)",
       ylabel="% of the planner (VALIDATION users)", ylim=(50, 100))
ax.legend(loc="lower right", fontsize="small")
plt.show()
print({name: round(r["pct_oracle"], 2) for name, r in validation.items()})
train_minutes = [a.learning_curve["train_time_s"].iloc[-1] / 60 for a in dqns]
glue("train_minutes", f"{max(train_minutes):.1f}", display=False)
glue("n_dqn_seeds", f"{len(dqns)}", display=False)
""", name="fig-leave-curves",
     caption="Learning curves on 2,000 VALIDATION users: one line per training seed of the DQN and of PPO, with "
             "three heuristics on the same users (horizontal lines). The first point of every DQN curve is the "
             "untrained network, whose output is BayesGreedy's immediate reward.",
     tags=["nbval-ignore-output"])

md(r"""
Training wall time, excluding the learning-curve evaluations, was at most {glue:text}`train_minutes` minutes per
DQN seed on one (shared) thread.

## The final comparison

Every trained agent and heuristic faced the same 20,000 TEST users and the same sampled exits, so differences are
paired. The table gives each agent's % of the planner and its paired difference, in points of the planner's mean
return, from bayes-index and from BayesGreedy, with 95 % bootstrap intervals:
""")

code(r"""
agents = [name for name in table.index if name.startswith(("dqn", "ppo"))]
columns = ["pct_oracle", "pct_diff_bayes-index", "pct_diff_bayes-index_ci_low",
           "pct_diff_bayes-index_ci_high", "pct_diff_bayes-greedy"]
print(table.loc[agents, columns].round(2).to_string())
dqn_pct = table.loc[[a for a in agents if a.startswith("dqn")], "pct_oracle"]
mean, low, high = mean_confidence_interval(dqn_pct)
iqm = interquartile_mean(dqn_pct)
print(f"DQN over {len(dqn_pct)} seeds: IQM {iqm:.2f} %, mean {mean:.2f} % "
      f"(95 % t-interval over seeds {low:.2f} to {high:.2f})")
diff_index = table.loc[dqn_pct.index, "pct_diff_bayes-index"]
diff_index_low = table.loc[dqn_pct.index, "pct_diff_bayes-index_ci_low"]
diff_bg = table.loc[dqn_pct.index, "pct_diff_bayes-greedy"]
glue("dqn_iqm", f"{iqm:.1f}", display=False)
glue("dqn_low", f"{low:.1f}", display=False)
glue("dqn_high", f"{high:.1f}", display=False)
glue("dqn_vs_index_min", f"{diff_index.min():.1f}", display=False)
glue("dqn_vs_index_max", f"{diff_index.max():.1f}", display=False)
glue("dqn_vs_bg_min", f"{diff_bg.min():.1f}", display=False)
glue("dqn_vs_index_low_min", f"{diff_index_low.min():.2f}", display=False)
assert (dqn_pct > 85).all() and (diff_bg > 20).all()
assert (diff_index_low > 0).all()  # paired CI above 0 for every seed
""")

md(r"""
Over {glue:text}`n_dqn_seeds` training seeds the DQN reaches an interquartile mean of {glue:text}`dqn_iqm` % of
the planner (95 % interval over seeds {glue:text}`dqn_low` to {glue:text}`dqn_high` %). Every seed beats BayesGreedy
by at least {glue:text}`dqn_vs_bg_min` points and bayes-index by {glue:text}`dqn_vs_index_min` to
{glue:text}`dqn_vs_index_max` points, each paired interval above zero (lowest lower end
{glue:text}`dqn_vs_index_low_min`). The index rule, written with the exchange argument in hand, is the strong
baseline here; what the DQN adds over it is learned from exits alone: when an unexplored item is worth the risk,
and how the value of a durable item depends on the steps left.

## Where reinforcement learning starts to pay: a sweep of λ

At `λ = 0` this is the original setting with a catalogue attached: nobody leaves and the heuristics are as close
to the oracle as in chapter 4. The sweep below recomputes the heuristics live on 1,000 TEST users per leave rate
and adds the DQN trained at a few rates (one seed each, precomputed in `data/leave/sweep_dqn.csv`):
""")

code(r"""
sweep = leave_rate_sweep(config, n_users=1_000, seed=0)
sweep_dqn = pd.read_csv(data_path("leave", "sweep_dqn.csv"))
sweep = pd.concat([sweep, sweep_dqn.assign(policy="dqn")[sweep.columns]],
                  ignore_index=True)
wide = sweep.pivot_table(index="leave_rate", columns="policy",
                         values="pct_oracle")
print(wide.round(1).to_string())
at0 = wide.loc[0.0]
assert at0["bayes-greedy"] > 94 and at0["myopic-oracle"] > 99.9
assert wide["bayes-greedy"].iloc[-1] < 70
glue("bg_at0", f"{at0['bayes-greedy']:.1f}", display=False)
glue("bg_at06", f"{wide['bayes-greedy'].loc[0.6]:.1f}", display=False)
glue("index_at06", f"{wide['bayes-index'].loc[0.6]:.1f}", display=False)
""")

md(r"""
The slider redraws the same figure (`recbook.widgets_leave.draw_leave_rate`) for each leave rate; the panels were
rendered when the chapter was executed, so it works in the static book:
""")

code(r"""
explorer = leave_rate_explorer(sweep, start=0.3)
explorer
""", name="fig-leave-sweep",
     caption="Percent of the planner at each leave rate λ (left: the selected λ; right: all of them, the dashed "
             "line marks the selected λ). At λ = 0 every policy that uses feedback is near the oracle; as users "
             "leave faster the bandits fall towards random while the quality-aware policies hold up.")

md(r"""
BayesGreedy falls from {glue:text}`bg_at0` % at `λ = 0` to {glue:text}`bg_at06` % at `λ = 0.6`, while bayes-index
holds {glue:text}`index_at06` %: the gap opens as soon as leaving is possible, and it is a gap between policies
that weigh the future and policies that do not, not between learning and hand-written rules. The DQN sits with the
quality-aware policies at every rate it was trained for.

## Summary

- When users can leave, each recommendation also sets the probability that every later reward is collected; the
  myopic rule, even knowing the user, is no longer optimal, and bandits that explore without regard to quality lose
  most of their advantage over random.
- For a fixed set of recommendations the optimal order sorts by reward over leave probability (exchange argument);
  planning reduces to choosing how often to show each item, which `recbook.planning` does by local search, checked
  exact against brute force on every instance small enough to enumerate, and reported as a lower bound otherwise.
- A DQN trained on sampled exits, with quality as an item feature, beats BayesGreedy by more than 20 points of the
  planner and a hand-made quality-aware index by a smaller margin whose paired interval excludes zero.
- At `λ = 0` nothing of this matters; the advantage of policies that plan grows with the leave rate.

## Exercises

1. **(easy) Clickbait with a budget.** In the two-item example, find the largest `λ` for which the myopic
   sequence still beats "durable only". Use `planning.sequence_return`.

````{admonition} Solution
:class: dropdown

```python
rates = np.linspace(0.01, 1, 100)
def gap(rate):
    cfg = two.replace(leave_rate=float(rate))
    myopic = planning.sequence_return(p, cfg, np.array([[0] + [1] * 19]))[0]
    durable = planning.sequence_return(p, cfg, np.array([[1] * 20]))[0]
    return myopic - durable
print(max(r for r in rates if gap(r) > 0))
```
````

2. **(medium) The index rule without its horizon correction.** Write a policy that recommends
   `argmax g_a / l_a` (no `h`), score it and bayes-index on 2,000 VALIDATION users, and explain the difference
   from the first figure's last steps.

````{admonition} Solution
:class: dropdown

```python
from recbook.policies import BayesIndex

class PureIndex(BayesIndex):
    name = "pure-index"
    def act(self, observation):
        view = self.layout.parse(observation)
        g = self._next_value(view, self._posterior_mean(view))
        l = self.config.leave_probability(np.arange(self.config.n_items))
        return self._argmax(g / np.maximum(l, 1e-12))

for policy in (PureIndex(config, seed=0), make_policy("bayes-index", config, seed=0)):
    print(policy.name, score(policy, config, n_users=2_000, seed=0)["pct_oracle"])
```

Without `h` the last steps still avoid low-quality items although leaving then costs nothing.
````

3. **(harder) How good is the planner at full size?** For 50 VALIDATION users, compare the planner's value with
   the best of 2,000 random count vectors played in index order (`planning.plan_value`). Can a random search beat
   it?

````{admonition} Solution
:class: dropdown

```python
users = sample_users(config, n_users=50, seed=5, stream=seeds.VALIDATION)
_, planned = planning.plan(users, config)
rng = np.random.default_rng(0)
counts = rng.multinomial(20, np.full(10, 0.1), size=(50, 2000))
best_random = planning.plan_value(users, config, counts).max(axis=1)
print((best_random > planned + 1e-12).sum(), "users where random search wins")
```
````
""")

nb = nbf.v4.new_notebook()
nb.cells = cells
nb.metadata["kernelspec"] = {"display_name": "Python 3", "language": "python", "name": "python3"}
nbf.write(nb, "book/08_long_term_engagement.ipynb")
print("written", len(cells), "cells")
