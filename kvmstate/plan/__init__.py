"""Planning: desired, recorded and live state -> one action per resource, and why.

    planner    the decision loop: create, update, restart, replace, delete or no-op
    live       reading live objects and comparing them with the configuration (also for apply, import, recover)
    diff       prune live values to what the user set; leaf differences
    lifecycle  prevent_destroy, ignore_changes, create_before_destroy
    targeting  --target and --replace
    model      the plan as plain data (the JSON plan format)
    planfile   saved plans: the files' hash, staleness checks
    hosts      live objects read host by host in parallel; unreachable hosts; recorded URIs

Nothing here changes a live object or the state.
"""
