"""Progress lines while an apply runs, as Terraform prints them.

    domain.web: Creating...
    domain.web: Still creating... [10s elapsed]
    domain.web: Creation complete after 12.3s

A ticker thread prints a "Still ..." line for every action that has been running
for another `every` seconds (a guest shutting down, an image upload, waiting for an
address); events from the applier print at once. One lock keeps lines whole.
"""

from __future__ import annotations

import threading
import time

from kvmstate.apply.applier import Event
from kvmstate.plan.model import Action
from kvmstate.render.style import Style

_VERBS = {Action.CREATE: ("Creating", "creating", "Creation"), Action.UPDATE: ("Updating", "updating", "Update"),
          Action.RESTART: ("Updating and restarting", "restarting", "Restart"),
          Action.REPLACE: ("Replacing", "replacing", "Replacement"),
          Action.DELETE: ("Destroying", "destroying", "Destruction"),
          Action.REVERT: ("Reverting its domain to it", "reverting", "Revert")}


class Progress:
    """Prints applier events and, every `every` seconds, a line for each action still running."""

    def __init__(self, style: Style, every: float = 10.0):
        self.style, self.every = style, every
        self.running: dict[str, list] = {}      # address -> [action, start time, when to print next]
        self.lock = threading.Lock()
        self.stopped = threading.Event()
        self.ticker = threading.Thread(target=self._tick, name="kvmstate-progress", daemon=True)

    def __enter__(self) -> "Progress":
        self.ticker.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stopped.set()
        self.ticker.join()

    def report(self, event: Event) -> None:
        c, s = event.change, self.style
        with self.lock:
            if event.phase == "start":
                start = time.monotonic()
                self.running[c.address] = [c.action, start, start + self.every]
                self._print(f"{s(c.address, 'bold')}: {_VERBS[c.action][0]}...")
                return
            self.running.pop(c.address, None)
            if event.phase == "done":
                self._print(f"{s(c.address, 'bold')}: {_VERBS[c.action][2]} complete after {event.elapsed:.1f}s")
            elif event.phase == "failed":
                self._print(f"{s(c.address, 'bold')}: {s('failed', 'red')} after {event.elapsed:.1f}s")
            else:
                self._print(f"{s(c.address, 'bold')}: skipped because {event.message}")

    def _tick(self) -> None:
        while not self.stopped.wait(min(1.0, self.every)):
            now = time.monotonic()
            with self.lock:
                for address, entry in sorted(self.running.items()):
                    action, start, due = entry
                    if now >= due:
                        entry[2] = due + self.every
                        self._print(f"{self.style(address, 'bold')}: Still {_VERBS[action][1]}... "
                                    f"[{now - start:.0f}s elapsed]")

    @staticmethod
    def _print(line: str) -> None:
        print(line, flush=True)
