"""The scheduler: run jobs with prerequisites on a pool of threads, as many at once as allowed.

A job starts when every prerequisite has succeeded; a job whose prerequisite failed
or was skipped is skipped, and independent jobs go on. Among the jobs that are
ready, the one given first starts first, so with one worker the order is exactly
the order given. Callbacks (`on_start`, `on_end`) run on the calling thread only;
the jobs themselves run on worker threads.
"""

from __future__ import annotations

import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Callable, Iterable, Mapping


def run(jobs: Mapping[str, Iterable[str]], work: Callable[[str], None], parallelism: int,
        failure: type[Exception] | tuple[type[Exception], ...],
        on_start: Callable[[str], None] = lambda job: None,
        on_end: Callable[[str, str, float, Exception | None], None] = lambda job, outcome, elapsed, exc: None,
        stop: Callable[[], bool] = lambda: False, group: Callable[[str], str] | None = None,
        per_group: int = 0) -> None:
    """Run `work(job)` for every job after its prerequisites (other keys of `jobs`; others are ignored).

    With `group` and `per_group`, at most `per_group` jobs of one group (a host) run at once, within the
    overall `parallelism`: a ready job of a full group waits, and the next ready job of another group starts.

    An exception of the `failure` type(s) fails a job; any other exception stops
    scheduling, waits for the running jobs and propagates. `on_end` gets the job,
    "done", "failed" or "skipped", the seconds it ran and the failure: it is how the
    caller learns each job's outcome. Once `stop()`
    is true, no job starts: the running ones finish and the others are skipped.
    """
    rank = {job: i for i, job in enumerate(jobs)}
    waiting = {job: {p for p in prereqs if p in rank and p != job} for job, prereqs in jobs.items()}
    dependents: dict[str, list[str]] = {job: [] for job in jobs}
    for job, prereqs in waiting.items():
        for p in prereqs:
            dependents[p].append(job)
    ready = sorted((job for job, prereqs in waiting.items() if not prereqs), key=rank.__getitem__)
    running: dict[Future, tuple[str, float]] = {}

    def skip(job: str) -> None:
        """Skip a job and, transitively, everything that waits for it."""
        stack = [job]
        while stack:
            current = stack.pop()
            if waiting.pop(current, None) is None:
                continue
            on_end(current, "skipped", 0.0, None)
            stack.extend(sorted(dependents[current], key=rank.__getitem__, reverse=True))

    with ThreadPoolExecutor(max_workers=max(1, parallelism), thread_name_prefix="kvmstate-apply") as pool:
        while ready or running:
            if stop():
                for job in sorted(waiting, key=rank.__getitem__):
                    skip(job)
                ready.clear()
            while ready and len(running) < max(1, parallelism):
                job = _next(ready, running.values(), group, per_group)
                if job is None:
                    break
                waiting.pop(job, None)
                on_start(job)
                running[pool.submit(work, job)] = (job, time.monotonic())
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in sorted(finished, key=lambda f: rank[running[f][0]]):
                job, started = running.pop(future)
                exc = future.exception()
                if exc is not None and not isinstance(exc, failure):
                    for other in running:
                        other.cancel()
                    raise exc
                if exc is not None:
                    on_end(job, "failed", time.monotonic() - started, exc)
                    for dependent in sorted(dependents[job], key=rank.__getitem__):
                        if dependent in waiting:
                            skip(dependent)
                    continue
                on_end(job, "done", time.monotonic() - started, None)
                for dependent in dependents[job]:
                    prereqs = waiting.get(dependent)
                    if prereqs is not None:
                        prereqs.discard(job)
                        if not prereqs:
                            ready.append(dependent)
                ready.sort(key=rank.__getitem__)


def _next(ready: list[str], running: Iterable[tuple[str, float]], group: Callable[[str], str] | None,
          per_group: int) -> str | None:
    """Take the first ready job whose group has room (any first job without groups)."""
    if group is None or per_group <= 0:
        return ready.pop(0)
    busy: dict[str, int] = {}
    for job, _ in running:
        busy[group(job)] = busy.get(group(job), 0) + 1
    for i, job in enumerate(ready):
        if busy.get(group(job), 0) < per_group:
            return ready.pop(i)
    return None
