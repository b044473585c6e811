"""``python -m ony.connector``: the ``ony`` command (what ``ony install`` puts in hooks)."""

import sys

if len(sys.argv) == 3 and sys.argv[1] == "hook" and sys.argv[2] in ("claude-code", "codex"):
    # The hot path, on every tool call: no argparse, nothing the hook does not use.
    from ony.connector.hooks import main as hook

    sys.exit(hook(sys.argv[2]))

from ony.connector.cli import main

sys.exit(main())
