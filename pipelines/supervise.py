"""Run a command as its own process group, so that a stop signal stops all of it.

`gongkai dagster dev` starts a webserver, a daemon, code servers and run workers. Two things kept
them alive after Ctrl-C or SIGTERM:

- Dagster gives SIGTERM whatever SIGINT does (``setup_interrupt_handlers``), and a command started
  in the background by a non-interactive shell (``make dev &``, many IDEs and supervisors)
  inherits SIGINT *ignored*: every Dagster process then ignored both (an ignored signal survives
  ``exec``). The child here starts with both at their defaults.
- A code server stopped while it is still starting (its gRPC child loading the definitions)
  leaves non-daemon threads that keep it alive until its 30–45 s heartbeat runs out. Whatever of
  the group is still running ``GRACE_SECONDS`` after the stop signal is killed.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Mapping

GRACE_SECONDS = 5.0
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def _signal_group(pgid: int, sig: int) -> bool:
    """Send ``sig`` to the group; False when no process of it is left."""
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        return False
    return True


def run_group(command: list[str], env: Mapping[str, str]) -> int:
    """Run ``command`` as the leader of a new process group and return its exit status (128 + N
    when killed by signal N). A stop signal sent to this process goes to the whole group; what
    is left of the group ``GRACE_SECONDS`` later, or once the leader exits, is killed."""
    stop_at: list[float] = []
    group: list[int] = []

    def forward(signum: int, _frame: object) -> None:
        if not stop_at:
            stop_at.append(time.monotonic() + GRACE_SECONDS)
        if group:
            _signal_group(group[0], signum)

    # Python handlers, not SIG_IGN: the child starts with every signal at its default.
    for sig in STOP_SIGNALS:
        signal.signal(sig, forward)
    proc = subprocess.Popen(command, env=dict(env), process_group=0)
    group.append(proc.pid)
    if stop_at:  # a stop signal came while the child was being started
        _signal_group(proc.pid, signal.SIGTERM)
    while proc.poll() is None:
        if stop_at and time.monotonic() > stop_at[0]:
            _signal_group(proc.pid, signal.SIGKILL)
        time.sleep(0.1)
    # The leader is gone; processes it left behind (a code server caught mid-start) follow.
    if _signal_group(proc.pid, 0):
        if not stop_at:
            stop_at.append(time.monotonic() + GRACE_SECONDS)
            _signal_group(proc.pid, signal.SIGTERM)
        while _signal_group(proc.pid, 0) and time.monotonic() < stop_at[0]:
            time.sleep(0.1)
        _signal_group(proc.pid, signal.SIGKILL)
    code = proc.returncode
    return 128 - code if code < 0 else code
