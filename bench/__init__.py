"""The benchmark: kvmstate against libvirt-python scripts (sequential and parallel) and Ansible, in one run.

    topology    the benchmarked topology (N NAT networks, one dir pool, N volumes, N domains)
    sequential  the same topology made, checked and deleted by a plain libvirt-python script
    parallel    the same calls on 10 worker threads, in dependency order (kvmstate's default parallelism)
    ansible     the same through Ansible's community.libvirt modules (own venv: bench/.venv-ansible)
    scale       a no-op plan of thousands of resources on libvirt's test driver, its floor, its libvirt calls
    coldstart   `kvmstate --version` and `kvmstate validate`
    __main__    runs them all (`make bench`), prints the table, saves bench/results/*.json

Timings live here only, never in the tests.
"""
