"""Ctrl-C during apply: the first asks for a clean stop, the second stops at once.

After the first interrupt the running actions finish and are recorded, and nothing new starts. A second
interrupt ends the process at once (actions run on worker threads, which cannot be interrupted otherwise);
the state still records every completed action, since each write is atomic, and an interrupted create is
left as a pending intent that the next plan resolves.
"""

from __future__ import annotations

import os
import signal
import sys
from contextlib import contextmanager
from typing import Iterator

SECOND = ("\nStopped at once. {state} records every completed action; the actions that were running may be "
          "half-done. Run `kvmstate plan` to see what is left.\n")
FIRST = ("\nInterrupt received: finishing the running actions and saving the state, then stopping. "
         "Press Ctrl-C again to stop at once (the running actions may then be left half-done).\n")


class StopRequest:
    def __init__(self) -> None:
        self.requested = False

    def __call__(self) -> bool:
        return self.requested


@contextmanager
def graceful_interrupts(state_path: object) -> Iterator[StopRequest]:
    stop = StopRequest()

    def handler(signum, frame):
        if stop.requested:
            sys.stderr.write(SECOND.format(state=state_path))
            sys.stderr.flush()
            os._exit(130)
        stop.requested = True
        sys.stderr.write(FIRST)
        sys.stderr.flush()

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield stop
    finally:
        signal.signal(signal.SIGINT, previous)
