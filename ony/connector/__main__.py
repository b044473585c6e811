"""``python -m ony.connector``: the ``ony`` command (what ``ony install`` puts in hooks)."""

import sys

from ony.connector.cli import main

sys.exit(main())
