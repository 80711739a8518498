"""The scripts that rebuild ``data/``: each trains or evaluates, then writes the tables the chapters read.

* :mod:`recbook.experiments.regenerate` — ``python -m recbook.experiments.regenerate``: the models of
  ``data/models/`` and ``held_out.csv`` (chapters 6 and 7), and the ``n_steps`` choice on VALIDATION users;
* :mod:`recbook.experiments.ablation` — ``python -m recbook.experiments.ablation``: ``data/models/ablation.csv``
  (chapter 6's ablation of the original failure);
* :mod:`recbook.experiments.long_term` — ``python -m recbook.experiments.long_term``: chapter 9's PPO models and
  ``data/leave/`` tables;
* :mod:`recbook.experiments.ppo_tuning` — ``python -m recbook.experiments.ppo_tuning``: PPO's hyperparameter search
  on VALIDATION users at the DQN's inputs and budget (``data/sweeps/ppo_leave/``), then its seeds;
* :mod:`recbook.experiments.credit` — ``python -m recbook.experiments.credit``: the credit ablation of chapters 6
  and 9 (``data/credit/``);
* :mod:`recbook.experiments.policy_gradient` — ``python -m recbook.experiments.policy_gradient``: the REINFORCE
  models, their VALIDATION sweep and ``data/pg/test_table.csv`` (chapter 8, policy gradients);
* :mod:`recbook.experiments.click` — ``python -m recbook.experiments.click``: the click setting's two DQNs scored
  on chapter 7's 10,000 TEST users (``data/click/sessions.csv.gz``);
* :mod:`recbook.experiments.offline` — ``python -m recbook.experiments.offline``: chapter 12's policies learned
  from logs (``data/models/offline_*.zip``), their off-policy estimates and true values (``data/offline/``);
* :mod:`recbook.experiments.slates` — ``python -m recbook.experiments.slates``: chapter 10's slate rules, their
  VALIDATION-tuned ``kappa`` and the long-term-gap table (``data/slates/table.csv``);
* :mod:`recbook.experiments.slateq` — ``python -m recbook.experiments.slateq``: SlateQ and the DQN over all slates
  (``data/models/slateq_*.zip``), their TEST tables and the 1,000-item run (``data/slates/slateq_*.csv``).

``data/sweeps/`` is written by ``recbook sweep`` (:mod:`recbook.sweeps`); ``data/README.md`` lists every command.
These modules sit at the top of the package's layers: they use the agents, the evaluation and the sweeps, and
nothing below imports them. The old paths ``recbook.agents.regenerate`` / ``ablation`` / ``long_term`` still work
(deprecated re-exports).
"""
