"""``python -m recbook.ope``: the chapter's precomputed replications (:func:`recbook.ope.replication.main`)."""

from recbook.ope.replication import main

raise SystemExit(main())
