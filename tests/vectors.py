"""The shared test vectors, found beside the repository or through ONY_VECTORS_DIR."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def vectors_dir() -> Path:
    configured = os.environ.get("ONY_VECTORS_DIR")
    if configured:
        return Path(configured)
    return ROOT.parent / "shared" / "vectors"


def load_vectors(name: str) -> Any:
    path = vectors_dir() / name
    if not path.is_file():
        raise FileNotFoundError(
            f"test vectors {name} not found in {path.parent}; set ONY_VECTORS_DIR"
        )
    return json.loads(path.read_text(encoding="utf-8"))
