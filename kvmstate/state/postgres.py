"""The PostgreSQL backend: one row per workspace, one per resource, a history row per serial.

The connection comes from libpq's own sources (PGHOST, PGDATABASE, ... in the
environment, a `service` in pg_service.conf, the password in ~/.pgpass), never
from the configuration. The tables (kvmstate.state.pg_schema) are created on
first use and upgraded by numbered migrations under a transaction-level lock.

A project (the backend block's `project`) owns workspaces; a workspace row holds
the lineage, the serial and the outputs. Recording one action is one transaction
of three small statements: bump the serial if it is still the expected one
(compare-and-set) and this session still holds the lock, upsert or delete the
resource's row, and append the history row. So an apply's cost per action does
not grow with the state, and every committed action survives a crash.

Locking is a session-level advisory lock keyed by the workspace row's id, held on
a connection of its own for the whole command: projects and workspaces never
contend, and the server releases the lock when the process dies with its
connection. The lock table names the holder for the error a blocked command
prints. A transaction-pooling proxy (PgBouncer with pool_mode=transaction) hands
each transaction to any server connection, so a session lock would be taken on
one server session and checked or released on another: kvmstate checks right
after taking it that its own session holds it, and refuses otherwise.
"""

from __future__ import annotations

import json
import time
import uuid
from contextlib import contextmanager
from typing import Iterator

import psycopg
from psycopg.types.json import Jsonb

from kvmstate import __version__
from kvmstate.diagnostics import DiagnosticError, error
from kvmstate.state.backend import (DEFAULT_WORKSPACE, Backend, Change, HistoryEntry, Holder, lineage_error,
                                    locked_error, stale_error, who_am_i)
from kvmstate.state.crypto import Codec
from kvmstate.state.model import State, StateOutput, StateResource
from kvmstate.state.pg_schema import lock_class, migrate

HELD = ("EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND classid = %(class)s AND objid = %(id)s "
        "AND objsubid = 2 AND pid = %(pid)s AND granted)")


class PostgresBackend(Backend):
    kind = "pg"

    def __init__(self, project: str, workspace: str = DEFAULT_WORKSPACE, lock_timeout: float = 0,
                 codec: Codec | None = None, schema: str = "kvmstate", service: str | None = None):
        self.project, self.workspace, self.lock_timeout = project, workspace, lock_timeout
        self.codec, self.schema = codec or Codec(), schema
        self.lock_class = lock_class(schema)
        self.conninfo = f"service={service}" if service else ""
        self.run = str(uuid.uuid4())
        self.operation = "write"
        self._data: psycopg.Connection | None = None
        self._lock_pid: int | None = None
        self._id: int | None = None
        self.bytes_written = 0

    @property
    def where(self) -> str:
        return f"PostgreSQL project {self.project!r}, workspace {self.workspace!r}"

    @property
    def location(self) -> str:
        return f"pg:{self.project}/{self.workspace}"

    # --- connections ------------------------------------------------------------------------------

    def _connect(self, role: str) -> psycopg.Connection:
        try:
            conn = psycopg.connect(self.conninfo, autocommit=True, application_name=f"kvmstate {role}")
        except psycopg.Error as exc:
            raise error("Cannot connect to the state database", f"{_first_line(exc)}. kvmstate connects with "
                        "libpq's settings: PGHOST, PGDATABASE, PGUSER (or a `service` in pg_service.conf), the "
                        "password from ~/.pgpass or PGPASSWORD.") from None
        with _db(self.where):
            migrate(conn, self.schema)
        return conn

    @property
    def data(self) -> psycopg.Connection:
        if self._data is None or self._data.closed:
            self._data = self._connect("state")
        return self._data

    def _workspace_id(self, conn: psycopg.Connection, create: bool) -> int | None:
        if create:
            conn.execute(f"INSERT INTO {self.schema}.workspaces (project, name) VALUES (%s, %s) "
                         "ON CONFLICT (project, name) DO NOTHING", (self.project, self.workspace))
        row = conn.execute(f"SELECT id FROM {self.schema}.workspaces WHERE project = %s AND name = %s",
                           (self.project, self.workspace)).fetchone()
        return row[0] if row else None

    def close(self) -> None:
        if self._data is not None:
            self._data.close()
            self._data = None

    # --- reading --------------------------------------------------------------------------------

    def read(self) -> State | None:
        """The state, read in one statement (one snapshot, even while another command writes)."""
        with _db(self.where):
            row = self.data.execute(
                f"SELECT lineage, serial, outputs, (SELECT coalesce(jsonb_agg(r.data ORDER BY r.address COLLATE \"C\"), "
                f"'[]') FROM {self.schema}.resources r WHERE r.workspace_id = w.id) FROM {self.schema}.workspaces w "
                "WHERE project = %s AND name = %s", (self.project, self.workspace)).fetchone()
        if row is None or row[0] is None:
            return None
        outputs = self.codec.open(row[2]).get("outputs", {})
        return State(lineage=row[0], serial=row[1],
                     outputs={k: StateOutput.model_validate(v) for k, v in outputs.items()},
                     resources=[StateResource.model_validate(self.codec.open(r)) for r in row[3]])

    def at_serial(self, serial: int) -> State | None:
        with _db(self.where):
            ws = self.data.execute(f"SELECT id, lineage FROM {self.schema}.workspaces WHERE project = %s AND "
                                   "name = %s", (self.project, self.workspace)).fetchone()
            if ws is None or not self.data.execute(f"SELECT 1 FROM {self.schema}.history WHERE workspace_id = %s "
                                                   "AND serial = %s", (ws[0], serial)).fetchone():
                return None
            base = self.data.execute(f"SELECT serial, data FROM {self.schema}.history WHERE workspace_id = %s AND "
                                     "kind = 'write' AND serial <= %s ORDER BY serial DESC LIMIT 1",
                                     (ws[0], serial)).fetchone()
            state = State.model_validate(self.codec.open(base[1])) if base else State(lineage=ws[1])
            rows = self.data.execute(f"SELECT serial, kind, address, data FROM {self.schema}.history WHERE "
                                     "workspace_id = %s AND serial > %s AND serial <= %s ORDER BY serial",
                                     (ws[0], base[0] if base else 0, serial)).fetchall()
        for number, kind, address, data in rows:
            if kind == "put":
                state.put(StateResource.model_validate(self.codec.open(data)))
            else:
                state.remove(address)
        state.serial = serial
        return state

    def history(self) -> list[HistoryEntry]:
        with _db(self.where):
            rows = self.data.execute(
                f"SELECT min(h.serial), max(h.serial), min(h.at), min(h.who), min(h.command), "
                "count(*) FILTER (WHERE kind = 'put'), count(*) FILTER (WHERE kind = 'remove'), "
                "count(*) FILTER (WHERE kind = 'write') "
                f"FROM {self.schema}.history h JOIN {self.schema}.workspaces w ON w.id = h.workspace_id "
                "WHERE w.project = %s AND w.name = %s GROUP BY h.run ORDER BY min(h.serial)",
                (self.project, self.workspace)).fetchall()
        return [HistoryEntry(first_serial=r[0], serial=r[1], time=r[2], who=r[3], command=r[4], recorded=r[5],
                             removed=r[6], replaced=r[7]) for r in rows]

    # --- writing --------------------------------------------------------------------------------

    @contextmanager
    def _write(self, state: State, kind: str, address: str | None, data: dict | None, outputs: bool = False,
               expected: int | None = None, force: bool = False) -> Iterator[tuple[psycopg.Connection, int]]:
        """One transaction: compare-and-set the serial (and the lock), the caller's rows, the history row."""
        sealed = Jsonb(data) if data is not None else None
        with _db(self.where):
            conn = self.data
            with conn.transaction():
                ws_id = self._id or self._workspace_id(conn, create=True)
                params = {"id": ws_id, "new": state.serial, "lineage": state.lineage,
                          "old": state.serial - 1 if expected is None else expected,
                          "class": self.lock_class, "pid": self._lock_pid, "version": __version__,
                          "outputs": Jsonb(self.codec.seal({"outputs": {k: v.model_dump(mode="json") for k, v in
                                                                        state.outputs.items()}}))}
                set_outputs = ", outputs = %(outputs)s" if outputs else ""
                held = HELD if self._lock_pid is not None else "TRUE"
                done = conn.execute(f"UPDATE {self.schema}.workspaces SET serial = %(new)s, lineage = %(lineage)s, "
                                    f"kvmstate_version = %(version)s{set_outputs} WHERE id = %(id)s AND ("
                                    f"{'TRUE' if force else 'serial = %(old)s AND (lineage IS NULL OR lineage = %(lineage)s)'}"
                                    ") AND " + held,
                                    params).rowcount
                if not done:
                    self._refuse(conn, ws_id, state, params["old"])
                yield conn, ws_id
                conn.execute(f"INSERT INTO {self.schema}.history (workspace_id, serial, who, command, run, kind, "
                             "address, data) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
                             (ws_id, state.serial, who_am_i(), self.operation, self.run, kind, address, sealed))

    def _refuse(self, conn: psycopg.Connection, ws_id: int, state: State, expected: int) -> None:
        serial, lineage = conn.execute(f"SELECT serial, lineage FROM {self.schema}.workspaces WHERE id = %s",
                                       (ws_id,)).fetchone()
        if lineage not in (None, state.lineage):
            raise lineage_error(self.where, lineage, state.lineage)
        if serial != expected:
            raise stale_error(self.where, expected, serial)
        raise _lost_lock(self.where)

    def _store_change(self, state: State, change: Change) -> None:
        data = self.codec.seal(change.resource.model_dump(mode="json")) if change.resource else None
        with self._write(state, "put" if change.resource else "remove", change.address, data) as (conn, ws_id):
            if data is None:
                conn.execute(f"DELETE FROM {self.schema}.resources WHERE workspace_id = %s AND address = %s",
                             (ws_id, change.address))
            else:
                conn.execute(f"INSERT INTO {self.schema}.resources (workspace_id, address, data) VALUES (%s, %s, %s) "
                             "ON CONFLICT (workspace_id, address) DO UPDATE SET data = EXCLUDED.data",
                             (ws_id, change.address, Jsonb(data)))
                self.bytes_written += 2 * len(json.dumps(data))

    def _store_all(self, state: State, expected: int, force: bool) -> None:
        document = self.codec.seal(state.model_dump(mode="json"))
        with self._write(state, "write", None, document, True, expected, force) as (conn, ws_id):
            conn.execute(f"DELETE FROM {self.schema}.resources WHERE workspace_id = %s", (ws_id,))
            rows = [(ws_id, r.address, Jsonb(self.codec.seal(r.model_dump(mode="json")))) for r in state.resources]
            with conn.cursor() as cur:
                cur.executemany(f"INSERT INTO {self.schema}.resources (workspace_id, address, data) "
                                "VALUES (%s, %s, %s)", rows)
            self.bytes_written += 2 * len(json.dumps(document))

    # --- locking --------------------------------------------------------------------------------

    @contextmanager
    def lock(self, operation: str, timeout: float | None = None) -> Iterator[None]:
        timeout = self.lock_timeout if timeout is None else timeout
        conn = self._connect("lock")
        try:
            with _db(self.where):
                ws_id = self._workspace_id(conn, create=True)
                deadline = time.monotonic() + timeout
                while not conn.execute("SELECT pg_try_advisory_lock(%s, %s)", (self.lock_class, ws_id)).fetchone()[0]:
                    if time.monotonic() >= deadline:
                        raise locked_error(self.where, self._holder(conn, ws_id), timeout)
                    time.sleep(0.2)
                pid = conn.execute("SELECT pg_backend_pid()").fetchone()[0]
                if not conn.execute("SELECT " + HELD, {"class": self.lock_class, "id": ws_id, "pid": pid}).fetchone()[0]:
                    raise error("Session lock not kept", f"The advisory lock on {self.where} was taken, but the "
                                "server session does not hold it a moment later: a transaction-pooling proxy (such "
                                "as PgBouncer with pool_mode=transaction) sits between kvmstate and PostgreSQL. "
                                "Connect directly, or through a session-mode pool.")
                holder = Holder.me(operation)
                conn.execute(f"INSERT INTO {self.schema}.locks (workspace_id, holder, backend_pid) VALUES (%s, %s, %s) "
                             "ON CONFLICT (workspace_id) DO UPDATE SET holder = EXCLUDED.holder, "
                             "backend_pid = EXCLUDED.backend_pid", (ws_id, Jsonb(holder.model_dump()), pid))
            self._id, self._lock_pid, self.operation, self.run = ws_id, pid, operation, str(uuid.uuid4())
            try:
                yield
            finally:
                self._lock_pid = None
                try:
                    conn.execute(f"DELETE FROM {self.schema}.locks WHERE workspace_id = %s AND backend_pid = %s",
                                 (ws_id, pid))
                    conn.execute("SELECT pg_advisory_unlock(%s, %s)", (self.lock_class, ws_id))
                except psycopg.Error:
                    pass                       # the session is gone, and its lock with it
        finally:
            conn.close()

    def _holder(self, conn: psycopg.Connection, ws_id: int) -> Holder | None:
        row = conn.execute(f"SELECT holder FROM {self.schema}.locks WHERE workspace_id = %s", (ws_id,)).fetchone()
        return Holder.model_validate(row[0]) if row else None

    def force_unlock(self, lock_id: str) -> str:
        """End the holder's server session (pg_terminate_backend), which releases its lock."""
        with _db(self.where):
            ws_id = self._workspace_id(self.data, create=False)
            row = self.data.execute(f"SELECT holder, backend_pid FROM {self.schema}.locks WHERE workspace_id = %s",
                                    (ws_id,)).fetchone() if ws_id else None
            holder = Holder.model_validate(row[0]) if row else None
            if holder is None or holder.id != lock_id:
                current = f"the current lock has id {holder.id}" if holder else "no lock is recorded"
                raise error("Lock id does not match", f"{self.where}: {current}, not {lock_id}. Nothing was changed.")
            self.data.execute("SELECT pg_terminate_backend(%s, 5000)", (row[1],))
            self.data.execute(f"DELETE FROM {self.schema}.locks WHERE workspace_id = %s AND backend_pid = %s",
                              (ws_id, row[1]))
        return f"Lock {lock_id} ({holder}) was broken: its database session was ended."

    # --- workspaces -----------------------------------------------------------------------------

    def workspaces(self) -> list[str]:
        with _db(self.where):
            rows = self.data.execute(f"SELECT name FROM {self.schema}.workspaces WHERE project = %s",
                                     (self.project,)).fetchall()
        return [DEFAULT_WORKSPACE, *sorted({r[0] for r in rows} - {DEFAULT_WORKSPACE})]

    def delete_workspace(self, name: str) -> None:
        other = PostgresBackend(self.project, name, codec=self.codec, schema=self.schema)
        other.conninfo = self.conninfo
        try:
            with other.lock("workspace delete"):
                with _db(self.where):
                    other.data.execute(f"DELETE FROM {self.schema}.workspaces WHERE id = %s", (other._id,))
        finally:
            other.close()


def _first_line(exc: Exception) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0].rstrip(".")


def _lost_lock(where: str) -> DiagnosticError:
    return error("Lost the state lock", f"The database session holding the lock on {where} was ended (the server "
                 "restarted, or it was terminated with pg_terminate_backend), so this command stopped writing. "
                 "Every action recorded before is kept; run `kvmstate plan` to see what is left.")


@contextmanager
def _db(where: str) -> Iterator[None]:
    """Turn a database failure into a diagnostic that says what is kept."""
    try:
        yield
    except psycopg.OperationalError as exc:
        raise error("Lost the connection to the state database", f"{where}: {_first_line(exc)}. The command "
                    "stopped; every action recorded before is kept and the lock was released with the connection. "
                    "Run `kvmstate plan` to see what is left.") from None
    except psycopg.Error as exc:
        raise error("State database error", f"{where}: {_first_line(exc)}.") from None
