"""A workspace: one configuration path, its state file and the provider connections.

This is where a command's pieces meet: it loads the configuration, reads the
state, configures each provider with the hosts' URIs and makes plans.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from kvmstate.config import Configuration, load
from kvmstate.config.loader import DEFAULT_HOST, find_files
from kvmstate.config.variables import Inputs
from kvmstate.graph import Graph
from kvmstate.plan.model import Options, Plan
from kvmstate.provider import Registry
from kvmstate.state import State, StateStore
from kvmstate.state.store import DEFAULT_STATE_FILE

DEFAULT_URI = "qemu:///system"


def resolve_uri(uri: str | None) -> str:
    """--uri, then LIBVIRT_DEFAULT_URI, then qemu:///system."""
    return uri or os.environ.get("LIBVIRT_DEFAULT_URI") or DEFAULT_URI


def default_state_path(config_path: Path) -> Path:
    folder = config_path if config_path.is_dir() else config_path.parent
    return folder / DEFAULT_STATE_FILE


@dataclass
class Workspace:
    path: Path
    state_path: Path
    uri: str
    options: dict = field(default_factory=dict)
    registry: Registry = field(default_factory=Registry.discover)
    inputs: Inputs = field(default_factory=Inputs)
    lock_timeout: float = 0

    @classmethod
    def open(cls, path: str | Path, state: str | Path | None = None, uri: str | None = None,
             inputs: Inputs | None = None, lock_timeout: float = 0, **options) -> "Workspace":
        path = Path(path)
        return cls(path, Path(state) if state else default_state_path(path), resolve_uri(uri), options,
                   inputs=inputs or Inputs(), lock_timeout=lock_timeout)

    def __post_init__(self) -> None:
        self.store = StateStore(self.state_path, self.lock_timeout)
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
        from kvmstate.config.hosts import host_uris
        return load(self.path, self.registry, self.inputs,
                    on_hosts=lambda hosts: self.add_hosts(host_uris(hosts, self.uri)))

    def load_for(self, options: Options) -> Configuration:
        """The configuration a plan needs; `destroy` runs without one (it then only supplies lifecycle settings)."""
        if options.destroy and not (self.path.exists() and find_files(self.path)):
            return Configuration([], {}, Graph())
        return self.load()

    def read_state(self) -> State:
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
