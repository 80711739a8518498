"""recbook._checks: one way to reject bad input, with messages that name the parameter."""

import numpy as np
import pytest

from recbook._checks import check_choice, check_int, check_level, check_probability, check_real, check_reals


def test_int_accepts_numpy_and_rejects_bools_and_out_of_range():
    assert check_int(np.int64(4), "n", low=1) == 4
    with pytest.raises(ValueError, match=r"^n_users must be an integer >= 1, got True"):
        check_int(True, "n_users", low=1)
    with pytest.raises(ValueError, match=r"n_users must be an integer in \[1, 5\], got 7"):
        check_int(7, "n_users", low=1, high=5)
    with pytest.raises(ValueError, match="n_users"):
        check_int(2.0, "n_users")


def test_real_bounds_open_and_closed():
    assert check_real(0, "x", 0, 1) == 0.0
    with pytest.raises(ValueError, match=r"gamma must be in \(0, 1\], got 0"):
        check_real(0, "gamma", 0, 1, low_open=True)
    with pytest.raises(ValueError, match="must be a finite number"):
        check_real(float("nan"), "gamma")
    with pytest.raises(ValueError, match="leave_rate"):
        check_probability(1.5, "leave_rate")
    with pytest.raises(ValueError, match=r"confidence_level must be in \(0, 1\)"):
        check_level(1.0)


def test_choice_and_arrays():
    assert check_choice("a", "mode", ("a", "b")) == "a"
    with pytest.raises(ValueError, match=r"mode must be one of \('a', 'b'\), got 'c'"):
        check_choice("c", "mode", ("a", "b"))
    np.testing.assert_array_equal(check_reals([0.5, 1.0], "p", 0, 1, shape=(2,)), [0.5, 1.0])
    with pytest.raises(ValueError, match=r"p must have shape \(3\)"):
        check_reals([0.5, 1.0], "p", shape=(3,))
    with pytest.raises(ValueError, match="every value of p must be in"):
        check_reals([0.5, 2.0], "p", 0, 1)
