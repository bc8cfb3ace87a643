"""A private, throw-away PostgreSQL server for the tests and the benchmark.

A temporary cluster (initdb) answers only on a UNIX socket in a temp dir, never on
TCP; clients reach it through libpq's environment (PGHOST, PGPORT, PGUSER,
PGDATABASE), which `PrivatePostgres.env` gives. PostgreSQL refuses to run as
root, so as root the cluster belongs to the `postgres` user (Debian's package
creates it) and runs through `runuser`. Stopped and removed on exit.

    python -m tests.pgserver CMD [ARGS...]    run CMD next to a private server
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

def _pg_bin() -> Path:
    """KVMSTATE_PG_BIN, else the newest /usr/lib/postgresql/VERSION/bin (Debian's layout)."""
    if os.environ.get("KVMSTATE_PG_BIN"):
        return Path(os.environ["KVMSTATE_PG_BIN"])
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parts[-3])
                   if p.parts[-3].isdigit() else 0)
    return found[-1].parent if found else Path("/usr/lib/postgresql/15/bin")


PG_BIN = _pg_bin()
SUPERUSER = "kvmstate"


class PrivatePostgres:
    """`with PrivatePostgres() as pg:` a running server; `pg.env` its libpq environment."""

    def __init__(self) -> None:
        self.tmp = Path(tempfile.mkdtemp(prefix="kvmstate-pg-"))
        self.data = self.tmp / "data"
        self.port = "5432"
        self.env = {"PGHOST": str(self.tmp), "PGPORT": self.port, "PGUSER": SUPERUSER, "PGDATABASE": "postgres"}
        self.user = "postgres" if os.geteuid() == 0 else None

    def _run(self, *args: str) -> None:
        command = [str(PG_BIN / args[0]), *args[1:]]
        if self.user:
            command = ["runuser", "-u", self.user, "--", *command]
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=120)

    def start(self) -> "PrivatePostgres":
        if not (PG_BIN / "initdb").exists():
            raise RuntimeError(f"{PG_BIN}/initdb is missing: install Debian's postgresql package (make setup)")
        if self.user:
            entry = pwd.getpwnam(self.user)
            os.chown(self.tmp, entry.pw_uid, entry.pw_gid)
        self._run("initdb", "-D", str(self.data), "-U", SUPERUSER, "-A", "trust", "-E", "UTF8", "--no-sync")
        options = f"-k {self.tmp} -c listen_addresses='' -p {self.port} -F -c max_connections=200"
        self._run("pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.tmp / "server.log"), "-w", "start")
        return self

    def restart(self) -> None:
        """Stop the server (fast: every connection is cut) and start it again."""
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "restart")

    def stop(self) -> None:
        try:
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        except (subprocess.CalledProcessError, FileNotFoundError):
            pass
        if not os.environ.get("KVMSTATE_KEEP_TMP"):
            shutil.rmtree(self.tmp, ignore_errors=True)

    def __enter__(self) -> "PrivatePostgres":
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc: object) -> None:
        self.stop()


def main() -> int:
    if len(sys.argv) < 2:
        sys.stderr.write("usage: python -m tests.pgserver CMD [ARGS...]\n")
        return 2
    with PrivatePostgres() as pg:
        return subprocess.run(sys.argv[1:], env={**os.environ, **pg.env}).returncode


if __name__ == "__main__":
    sys.exit(main())
