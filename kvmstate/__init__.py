"""kvmstate: declarative desired state for KVM hosts.

The engine is a pipeline, one package per stage; it never imports libvirt and
talks to providers only through `kvmstate.provider`:

    config/       files -> validated resources, with the source position of every value
    graph         the dependency order between resources (graphlib), cycles named in order
    plan/         desired + recorded + live -> one action per resource (planner, live, diff, lifecycle)
    apply/        carry out a plan through the providers, recording every step (applier, schedule)
    state/        the recorded state: model, store (lock, backup, atomic write), import, recover
    render/       a plan, the state or outputs as text, JSON, Markdown or DOT; the one masking rule
    cli/          the typer commands, each a thin layer over the above

Beside them: `addrs` (typed addresses), `diagnostics` (errors with positions),
`metadata` (what a model's `x-` field tags say), `provider` (the protocol),
`units` (sizes), `schemas` (JSON Schemas of the file formats).
"""

__version__ = "0.1.0"
