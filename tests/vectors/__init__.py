"""The design's test vectors, kept in the repository beside this module.

They are copies of ``shared/vectors/`` from the design; ``test_vectors`` checks
that both stay byte for byte the same wherever that folder sits beside the
repository, so ``make test`` needs nothing outside the repository.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent.parent
HERE = Path(__file__).resolve().parent
#: The design's own copy, when the repository is checked out beside it.
SHARED = ROOT.parent / "shared" / "vectors"
NAMES = ("audit_chain.json", "claude_code_pretooluse.json", "verdicts.json")


def load_vectors(name: str) -> Any:
    """The vectors file ``name`` (one of ``NAMES``), parsed."""
    return json.loads((HERE / name).read_text(encoding="utf-8"))
