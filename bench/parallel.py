"""The floor of a parallel tool: bench/sequential.py's calls on 10 worker threads, in dependency order.

    python -m bench.parallel create|noop|delete N [URI]

The same libvirt calls as the sequential script, on one connection shared by 10
threads (as kvmstate's --parallelism 10 shares one): an object's calls start as
soon as the objects it needs are done — a volume after the pool, domain i after
volume i and network i; when deleting, a volume and a network after their domain,
the pool after its volumes.
"""

from __future__ import annotations

import sys
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Callable

import libvirt

from bench.sequential import domain_xml, network_xml, pool_xml, volume_xml
from bench.topology import Topology

WORKERS = 10


class Jobs:
    """Jobs with prerequisites on a thread pool: a job is submitted once all it waits for have succeeded."""

    def __init__(self, pool: ThreadPoolExecutor):
        self.pool = pool

    def add(self, fn: Callable[[], None], after: list[Future] = ()) -> Future:
        done: Future = Future()
        pending = list(after)

        def start() -> None:
            inner = self.pool.submit(fn)
            inner.add_done_callback(lambda f: done.set_exception(f.exception()) if f.exception()
                                    else done.set_result(None))

        if not pending:
            start()
            return done
        left = [len(pending)]

        def one_done(f: Future) -> None:
            if f.exception():
                if not done.done():
                    done.set_exception(f.exception())
                return
            left[0] -= 1
            if left[0] == 0:
                start()
        for f in pending:
            f.add_done_callback(one_done)
        return done


def create(conn: libvirt.virConnect, t: Topology, jobs: Jobs) -> list[Future]:
    def network(i: int) -> None:
        net = conn.networkDefineXML(network_xml(t, i))
        net.create()
        net.setAutostart(0)

    def storage_pool() -> None:
        pool = conn.storagePoolDefineXML(pool_xml(t), 0)
        pool.build(0)
        pool.create(0)
        pool.setAutostart(0)

    def volume(i: int) -> None:
        conn.storagePoolLookupByName(t.pool).createXML(volume_xml(t, i), 0)

    def domain(i: int) -> None:
        dom = conn.defineXML(domain_xml(t, i))
        dom.setAutostart(0)
        dom.create()

    pool = jobs.add(storage_pool)
    nets = [jobs.add(lambda i=i: network(i)) for i in range(t.n)]
    vols = [jobs.add(lambda i=i: volume(i), [pool]) for i in range(t.n)]
    return [jobs.add(lambda i=i: domain(i), [vols[i], nets[i]]) for i in range(t.n)]


def noop(conn: libvirt.virConnect, t: Topology, jobs: Jobs) -> list[Future]:
    """Look each object up and check it is running, as bench/sequential.py does, on the workers."""
    def check(ok: bool) -> None:
        assert ok

    futures = [jobs.add(lambda i=i: check(conn.networkLookupByName(t.net(i)).isActive())) for i in range(t.n)]
    futures.append(jobs.add(lambda: check(conn.storagePoolLookupByName(t.pool).isActive())))
    futures += [jobs.add(lambda i=i: conn.storagePoolLookupByName(t.pool).storageVolLookupByName(t.vol(i)))
                for i in range(t.n)]
    futures += [jobs.add(lambda i=i: check(conn.lookupByName(t.dom(i)).isActive())) for i in range(t.n)]
    return futures


def delete(conn: libvirt.virConnect, t: Topology, jobs: Jobs) -> list[Future]:
    def domain(i: int) -> None:
        dom = conn.lookupByName(t.dom(i))
        if dom.isActive():
            dom.destroy()
        dom.undefine()

    def volume(i: int) -> None:
        conn.storagePoolLookupByName(t.pool).storageVolLookupByName(t.vol(i)).delete(0)

    def storage_pool() -> None:
        pool = conn.storagePoolLookupByName(t.pool)
        pool.destroy()
        pool.delete(0)
        pool.undefine()

    def network(i: int) -> None:
        net = conn.networkLookupByName(t.net(i))
        net.destroy()
        net.undefine()

    doms = [jobs.add(lambda i=i: domain(i)) for i in range(t.n)]
    vols = [jobs.add(lambda i=i: volume(i), [doms[i]]) for i in range(t.n)]
    nets = [jobs.add(lambda i=i: network(i), [doms[i]]) for i in range(t.n)]
    return [jobs.add(storage_pool, vols), *nets]


def main() -> None:
    phase, n = sys.argv[1], int(sys.argv[2])
    conn = libvirt.open(sys.argv[3] if len(sys.argv) > 3 else "qemu:///system")
    with ThreadPoolExecutor(WORKERS) as pool:
        last = {"create": create, "noop": noop, "delete": delete}[phase](conn, Topology(n), Jobs(pool))
        for future in last:
            future.result(timeout=600)
    conn.close()


if __name__ == "__main__":
    main()
