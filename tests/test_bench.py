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
