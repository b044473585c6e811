"""What every process of a stress run shares, and Django configured with it in this one.

``python -m tests.stress`` imports this module first: it picks the run's free
ports and its folder, and sets the production settings (``DEBUG`` off, keys
of the run's own, the run's database and Redis) before any model is loaded.
"""

from __future__ import annotations

import base64
import hashlib
import os
import tempfile
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import django

from tests.servers import METRICS_TOKEN, free_port

#: The server's maintenance database; the run's own database sits beside it.
ADMIN_URL = os.environ.get("STRESS_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
DATABASE = "ony_stress"
#: The run's logs and figures.
WORK = Path(tempfile.mkdtemp(prefix="ony-stress-"))
PORTS = {name: free_port() for name in ("redis", "a", "b", "simulator")}


def _key(label: str) -> bytes:
    return hashlib.sha256(f"ony-stress-{label}".encode()).digest()


ENV = {
    **{k: v for k, v in os.environ.items() if not k.startswith(("ONY_", "DJANGO"))},
    "DJANGO_SETTINGS_MODULE": "ony.settings",
    "ONY_ENV_FILE": "",
    "DEBUG": "0",
    "DATABASE_URL": urlunsplit(urlsplit(ADMIN_URL)._replace(path=f"/{DATABASE}")),
    "REDIS_URL": f"redis://127.0.0.1:{PORTS['redis']}/0",
    "SECRET_KEY": base64.b64encode(_key("secret")).decode(),
    "ONY_ENCRYPTION_KEYS": base64.urlsafe_b64encode(_key("fernet")).decode(),
    "ONY_AUDIT_KEYS": "s1:" + base64.b64encode(_key("audit")).decode(),
    "ONY_CHECKPOINT_KEY": base64.b64encode(_key("checkpoint")).decode(),
    # Node b takes the provider's webhooks (node a is the one killed).
    "ONY_PUBLIC_URL": f"http://127.0.0.1:{PORTS['b']}",
    "ONY_TELEPHONY_SIMULATOR": "1",
    "ONY_TELEPHONY_API_URL": f"http://127.0.0.1:{PORTS['simulator']}",
    "ONY_METRICS_TOKEN": METRICS_TOKEN,
    # Quicker escalations than a real on-call rota would want, and room for
    # the agents' many phone requests (the default is 6 a minute per device).
    "ONY_CALL_ROUND_PAUSE": "2",
    "ONY_CALL_RETRY_DELAYS": "1,2,5",
    "ONY_PHONE_HANDOFF_RATE": "60/minute",
    "CELERY_BEAT_SCHEDULE_FILENAME": str(WORK / "celerybeat-schedule"),
    "LOG_LEVEL": "WARNING",
    "LOG_FORMAT": "plain",  # the checks read the access lines
}
ENV.pop("PROMETHEUS_MULTIPROC_DIR", None)

os.environ.update(ENV)
django.setup()
