"""Applying: carry out a plan through the providers, recording every step in the state.

    applier    the walk: creates and updates in dependency order, deletes in reverse; the Recorder
    schedule   runs jobs with prerequisites on a thread pool (--parallelism)
    interrupt  Ctrl-C: the first lets running actions finish, the second stops at once
"""
