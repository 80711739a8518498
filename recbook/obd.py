"""Deprecated path, kept for one release: use recbook.ope.obd (the Open Bandit Dataset sample and its estimates).

``python -m recbook.obd`` still extracts the dataset (:func:`recbook.ope.obd.main`).
"""

from __future__ import annotations

from recbook.ope.obd import *  # noqa: F403
from recbook.ope.obd import __all__, main  # noqa: F401

if __name__ == "__main__":
    raise SystemExit(main())
