"""kvmstate: declarative desired state for KVM hosts.

The engine is a pipeline, one package or module per stage:

    config/   read YAML and HCL files into validated resources, keeping source positions
    graph     the dependency graph between resources (ordering, cycle detection)
    planner   compare desired, recorded and live state and decide one action per resource
    apply     execute a plan through the provider, recording every step in the state
    state/    the versioned state file, its lock, backup and atomic writes
    render/   print a plan as text or JSON

The engine never imports libvirt: it talks to providers through `kvmstate.provider`.
"""

__version__ = "0.1.0"
