"""Settings for benchmark servers: the product's, plus the baseline endpoint's URLs."""

from ony.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"
