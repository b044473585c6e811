"""Benchmark: `ony hook claude-code` wall time for a policy-approved low-risk call.

    python bench/hook.py [--runs 40]

Starts gunicorn with the project's gunicorn.conf.py (one worker) against the
benchmark database and Redis, enrolls a device of a fresh organization,
and runs, interleaved, in rounds:

- ``python -c pass`` (the interpreter floor),
- ``python -c "import urllib.request, json, hmac"`` (a stdlib HTTP client's floor),
- ``python -P -c "import ony.connector.hooks"`` (the connector's imports),
- the real hook, exactly as ``ony install`` writes it, with a recorded
  Claude Code ``Read`` call on stdin: the server approves it by policy, the
  hook verifies the signed verdict and prints ``allow``.

Every hook run must print ``allow``. It reports the median and p90 of each.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import benchdb
from tests.servers import ROOT, free_port, get, start_gunicorn, until

CALL = {
    "session_id": "bench-session",
    "cwd": "/home/dev/project",
    "hook_event_name": "PreToolUse",
    "tool_name": "Read",
    "tool_input": {"file_path": "/home/dev/project/README.md"},
    "tool_use_id": "toolu_bench",
}


def timed(command: list[str], stdin: bytes, env: dict[str, str]) -> tuple[float, bytes]:
    began = time.perf_counter()
    result = subprocess.run(command, input=stdin, capture_output=True, env=env, check=True)  # noqa: S603
    return (time.perf_counter() - began) * 1000, result.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=40)
    args = parser.parse_args()
    benchdb.django_setup(migrate=True, redis=True)

    from ony.connector import config as settings
    from ony.connector.install import hook_command

    org, laptop = benchdb.fresh_org_with_device("hook")
    port = free_port()

    with tempfile.TemporaryDirectory() as home, tempfile.TemporaryFile() as log:
        directory = Path(home) / "ony"
        settings.save(
            settings.Config(
                server=f"http://127.0.0.1:{port}",
                device_id=laptop.device.public_id,
                device_token=laptop.device_token,
                decision_key=laptop.decision_key,
                org=org.slug,
                directory=directory,
            )
        )
        env = {**os.environ, "XDG_CONFIG_HOME": home, "PYTHONPATH": str(ROOT)}
        python = sys.executable
        commands = {
            "python -c pass": [python, "-c", "pass"],
            "python -c 'import urllib.request, json, hmac'": [
                python, "-c", "import urllib.request, json, hmac"
            ],
            "python -P -c 'import ony.connector.hooks'": [
                python, "-P", "-c", "import ony.connector.hooks"
            ],
            "ony hook claude-code (policy approve)": shlex.split(hook_command(python)),
        }  # fmt: skip
        stdin = json.dumps(CALL).encode()
        timings: dict[str, list[float]] = {name: [] for name in commands}
        server = start_gunicorn(port, {"WEB_CONCURRENCY": "1"}, log)
        try:
            until(lambda: get(port, "/healthz")[0] == 200, 30, "gunicorn to start")
            for command in commands.values():  # warm up: caches, pools, .pyc files
                timed(command, stdin, env)
            for _ in range(args.runs):
                for name, command in commands.items():
                    elapsed, out = timed(command, stdin, env)
                    if name.startswith("ony hook"):
                        decision = json.loads(out)["hookSpecificOutput"]["permissionDecision"]
                        if decision != "allow":
                            sys.exit(f"the hook answered {decision}: {out!r}")
                    timings[name].append(elapsed)
        finally:
            server.terminate()
            server.wait(timeout=40)

    floor = statistics.median(timings["python -c pass"])
    print(f"{args.runs} runs each, interleaved; wall time in ms (median, p90, median - floor):")
    for name, values in timings.items():
        median = statistics.median(values)
        p90 = statistics.quantiles(values, n=10)[8]
        print(f"  {name:48} {median:7.1f} {p90:7.1f} {median - floor:+7.1f}")


if __name__ == "__main__":
    main()
