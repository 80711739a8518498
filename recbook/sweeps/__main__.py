"""``python -m recbook.sweeps ...`` is ``recbook sweep ...``."""

import sys

from recbook.sweeps import main

sys.exit(main())
