"""The repository's copy of the design's test vectors."""

from __future__ import annotations

import pytest

from tests.vectors import HERE, NAMES, SHARED, load_vectors


def test_it_has_every_vectors_file_in_the_repository():
    assert sorted(path.name for path in HERE.glob("*.json")) == sorted(NAMES)
    for name in NAMES:
        assert load_vectors(name)


@pytest.mark.skipif(not SHARED.is_dir(), reason="no shared/vectors beside the repository")
def test_it_keeps_the_vectors_byte_identical_to_the_design():
    assert sorted(path.name for path in SHARED.glob("*.json")) == sorted(NAMES)
    for name in NAMES:
        assert (HERE / name).read_bytes() == (SHARED / name).read_bytes(), name
