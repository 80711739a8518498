"""``python -m recbook.experiments.offline``: :func:`recbook.experiments.offline.main`."""

from recbook.experiments.offline import main

raise SystemExit(main())
