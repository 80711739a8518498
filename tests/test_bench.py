import pytest

from recbook import EnvConfig
from recbook.bench import benchmark_env, main


def test_benchmark_table_shape_and_ratio(capsys):
    table = benchmark_env(EnvConfig(observation="feedback"), batch_sizes=(16, 256), scalar_steps=1000,
                          batched_user_steps=50_000)
    assert list(table["env"]) == ["scalar", "batched", "batched"]
    assert (table["steps_per_s"] > 0).all()
    # the batched env must beat the scalar one clearly even at a modest K and on a busy machine
    assert table["speedup"].iloc[-1] > 5


def test_bench_cli_prints_ratio(capsys):
    assert main(["env", "--scalar-steps", "500", "--batched-user-steps", "5000", "--batch-sizes", "64"]) == 0
    out = capsys.readouterr().out
    assert "batched K=64 / scalar" in out


def test_train_benchmark_compares_the_two_td_paths():
    from recbook.agents.dqn import RecbookDQN
    from recbook.bench import benchmark_train

    table = benchmark_train("item_shared_scratch", total_timesteps=5_600, eval_users=50)
    assert list(table["path"]) == ["generic", "recbook"]
    assert (table["steps_per_s"] > 0).all() and table["speedup"].iloc[0] == 1.0
    assert table["pct_oracle"].between(0, 100).all()
    assert RecbookDQN.shared_features  # restored after the generic run
    with pytest.raises(ValueError, match="learning_starts"):
        benchmark_train("item_shared_scratch", total_timesteps=1_000)


def test_slate_benchmark_grows_about_linearly_in_the_catalogue():
    from recbook.bench import benchmark_slates

    table = benchmark_slates(n_items=(10, 100, 400), num_envs=256, n_user_steps=20_000, repeats=2)
    assert list(table["n_items"]) == [10, 100, 400] and list(table["slate_size"]) == [10, 10, 10]
    assert table["vs_linear"].iloc[1] == 1.0
    # The cost per user-step grows with N but no faster than linearly (a loose bound: the machine may be busy).
    assert table["us_per_step"].iloc[2] > table["us_per_step"].iloc[1]
    assert table["vs_linear"].iloc[2] < 3.0
