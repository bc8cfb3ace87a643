"""What a command brings to the configuration from outside its files: the values given on the command line and
in the environment, and the host of resources that name none. Imports nothing heavy, so that a command can
start connecting to libvirt before the configuration's modules load."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

DEFAULT_HOST = "default"


@dataclass
class Inputs:
    """Values given on the command line and in the environment."""

    vars: list[str] = field(default_factory=list)          # "name=value", in order
    var_files: list[Path] = field(default_factory=list)
    env: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
