"""Ctrl-C during apply: the first asks for a clean stop, the second stops at once.

After the first interrupt the running action finishes and is recorded, and nothing new starts. A second
interrupt raises KeyboardInterrupt in the running action; the state still records every completed action,
and an interrupted create is left as a pending intent that the next plan resolves.
"""

from __future__ import annotations

import signal
import sys
from contextlib import contextmanager
from typing import Iterator

FIRST = ("\nInterrupt received: finishing the running action and saving the state, then stopping. "
         "Press Ctrl-C again to stop at once (the running action may then be left half-done).\n")


class StopRequest:
    def __init__(self) -> None:
        self.requested = False

    def __call__(self) -> bool:
        return self.requested


@contextmanager
def graceful_interrupts() -> Iterator[StopRequest]:
    stop = StopRequest()

    def handler(signum, frame):
        if stop.requested:
            raise KeyboardInterrupt
        stop.requested = True
        sys.stderr.write(FIRST)
        sys.stderr.flush()

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield stop
    finally:
        signal.signal(signal.SIGINT, previous)
