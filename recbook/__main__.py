"""``python -m recbook ...`` runs the command line (:mod:`recbook.cli`)."""

import sys

from recbook.cli import main

sys.exit(main())
