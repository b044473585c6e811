"""``python -m tests.stress``: Django is configured for the run (``environment``) first."""

import sys

from tests.stress import environment  # noqa: F401 - first: it configures Django
from tests.stress.run import main

sys.exit(main())
