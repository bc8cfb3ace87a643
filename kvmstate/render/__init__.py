"""Renderers: a plan, the state or the outputs as text, JSON, Markdown (PR comments) or DOT.

    formats   the plan's output formats, behind the one entry that masks first
    mask      the one masking rule for sensitive values
    text      plans and states for a terminal; style: colours
    markdown  a plan as a pull-request comment
    outputs   `kvmstate output`; dot: `kvmstate graph`
    hosts     host labels, counts per host, warnings about unreachable hosts

Rendering is separate from planning: renderers only read `Plan`, `State` and outputs.
"""
