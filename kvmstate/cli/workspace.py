"""A workspace: one configuration path, its state file and the provider connections.

This is where a command's pieces meet: it loads the configuration, reads the
state, configures each provider with the hosts' URIs and makes plans.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from kvmstate.config.inputs import DEFAULT_HOST, Inputs
from kvmstate.provider import Registry

if TYPE_CHECKING:
    from kvmstate.config import Configuration
    from kvmstate.plan.model import Options, Plan
    from kvmstate.state import Backend, State

DEFAULT_URI = "qemu:///system"


def resolve_uri(uri: str | None) -> str:
    """--uri, then LIBVIRT_DEFAULT_URI, then qemu:///system."""
    return uri or os.environ.get("LIBVIRT_DEFAULT_URI") or DEFAULT_URI


@dataclass
class Workspace:
    path: Path
    state_file: Path | None                   # --state: that local file, whatever backend is configured
    uri: str
    options: dict = field(default_factory=dict)
    registry: Registry = field(default_factory=Registry.discover)
    inputs: Inputs = field(default_factory=Inputs)
    lock_timeout: float = 0

    @classmethod
    def open(cls, path: str | Path, state: str | Path | None = None, uri: str | None = None,
             inputs: Inputs | None = None, lock_timeout: float = 0, **options) -> "Workspace":
        return cls(Path(path), Path(state) if state else None, resolve_uri(uri), options,
                   inputs=inputs or Inputs(), lock_timeout=lock_timeout)

    @cached_property
    def store(self) -> Backend:
        """The state's backend, opened on first use (validate never opens it)."""
        from kvmstate.state.select import open_backend
        return open_backend(self.path, str(self.state_file) if self.state_file else None, self.lock_timeout)

    @property
    def state_path(self) -> Path:
        """Where the state is, as messages and saved plans name it: a file, or pg:PROJECT/WORKSPACE."""
        return Path(self.store.location)

    @property
    def workspace(self) -> str:
        """The workspace name (`kvmstate.workspace` in the files)."""
        if "store" in self.__dict__ or self.state_file is not None:
            return self.store.workspace
        from kvmstate.state.select import current_workspace
        return current_workspace(self.path)

    def __post_init__(self) -> None:
        self.hosts: dict[str, str] = {DEFAULT_HOST: self.uri}      # host -> URI, as the providers know them
        self._ahead = False
        self._configure()

    def _configure(self) -> None:
        for provider in self.registry.providers:
            provider.configure(self.hosts, self.options)

    def add_hosts(self, uris: dict[str, str]) -> None:
        """Make more hosts known to the providers (open ones stay open); connect ahead to them if asked to."""
        new = {host: uri for host, uri in uris.items() if self.hosts.get(host) != uri}
        if not new:
            return
        self.hosts.update(new)
        self._configure()
        if self._ahead:
            self._connect(new)

    def connect_ahead(self) -> None:
        """Let providers open their connections while the files and the state are read (not for validate):
        the default host's now, each declared host's as soon as the files declare it, in parallel."""
        self._ahead = True
        self._connect([DEFAULT_HOST])

    def _connect(self, hosts) -> None:
        for provider in self.registry.providers:
            connect = getattr(provider, "connect", None)
            if connect:
                connect(list(hosts))

    def load(self) -> Configuration:
        from kvmstate.config import load
        from kvmstate.config.hosts import host_uris
        return load(self.path, self.registry, self.inputs, self.workspace,
                    on_hosts=lambda hosts: self.add_hosts(host_uris(hosts, self.uri)))

    def load_for(self, options: Options) -> Configuration:
        """The configuration a plan needs; `destroy` runs without one (it then only supplies lifecycle settings)."""
        from kvmstate.config.loader import Configuration, find_files
        from kvmstate.graph import Graph
        if options.destroy and not (self.path.exists() and find_files(self.path)):
            return Configuration([], {}, Graph())
        return self.load()

    def read_state(self) -> State:
        from kvmstate.state import State
        return self.store.read() or State()

    def plan(self, config: Configuration, state: State, options: Options | None = None) -> Plan:
        """The plan; hosts recorded in the state but no longer declared are reached by their recorded URIs."""
        from kvmstate.diagnostics import Diagnostics
        from kvmstate.plan.hosts import recorded_uris
        from kvmstate.plan.planner import make_plan
        diags = Diagnostics()
        self.add_hosts(recorded_uris(state, config.hosts.keys() | {DEFAULT_HOST}, diags))
        diags.raise_if_errors()
        return make_plan(config, state, self.registry, options)

    def close(self) -> None:
        for provider in self.registry.providers:
            provider.close()
