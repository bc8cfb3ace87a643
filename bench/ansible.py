"""The topology through Ansible's community.libvirt modules, the most used alternative.

Ansible lives in its own virtualenv, bench/.venv-ansible (`make bench` creates it:
pip packages ansible, libvirt-python, lxml), never in kvmstate's dependencies. Each
phase is one playbook run against localhost with a local connection, the way a
user would run it: virt_net (define, then state active), virt_pool (define, build
when the define changed something, state active), virt_volume (state present), virt (define, then state running); and
in reverse for the deletion. Loops run one module call per object, as Ansible does.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from bench import sequential
from bench.topology import Topology

VENV = Path(__file__).resolve().parent / ".venv-ansible"


def available() -> bool:
    return (VENV / "bin" / "ansible-playbook").exists()


def playbook(t: Topology, phase: str) -> list[dict]:
    """The plays of one phase; the XML is the sequential script's (the same objects)."""
    nets = [{"name": t.net(i), "xml": sequential.network_xml(t, i)} for i in range(t.n)]
    vols = [sequential.volume_xml(t, i) for i in range(t.n)]
    doms = [{"name": t.dom(i), "xml": sequential.domain_xml(t, i)} for i in range(t.n)]
    lv = "community.libvirt."
    if phase == "create":
        tasks = [
            {"name": "define networks", lv + "virt_net": {"command": "define", "name": "{{ item.name }}", "xml": "{{ item.xml }}"},
             "loop": nets},
            {"name": "start networks", lv + "virt_net": {"state": "active", "name": "{{ item.name }}"}, "loop": nets},
            {"name": "define pool", lv + "virt_pool": {"command": "define", "name": t.pool, "xml": sequential.pool_xml(t)},
             "register": "pool"},
            {"name": "build pool", lv + "virt_pool": {"command": "build", "name": t.pool}, "when": "pool.changed"},
            {"name": "start pool", lv + "virt_pool": {"state": "active", "name": t.pool}},
            {"name": "create volumes", lv + "virt_volume": {"state": "present", "pool": t.pool, "xml": "{{ item }}"},
             "loop": vols},
            {"name": "define domains", lv + "virt": {"command": "define", "xml": "{{ item.xml }}"}, "loop": doms},
            {"name": "start domains", lv + "virt": {"state": "running", "name": "{{ item.name }}"}, "loop": doms},
        ]
    else:
        tasks = [
            {"name": "stop domains", lv + "virt": {"state": "destroyed", "name": "{{ item.name }}"}, "loop": doms},
            {"name": "undefine domains", lv + "virt": {"command": "undefine", "name": "{{ item.name }}"}, "loop": doms},
            {"name": "delete volumes", lv + "virt_volume": {"state": "absent", "pool": t.pool, "name": "{{ item }}"},
             "loop": [t.vol(i) for i in range(t.n)]},
            {"name": "stop pool", lv + "virt_pool": {"state": "inactive", "name": t.pool}},
            {"name": "delete pool", lv + "virt_pool": {"command": "delete", "name": t.pool}},
            {"name": "undefine pool", lv + "virt_pool": {"state": "undefined", "name": t.pool}},
            {"name": "stop networks", lv + "virt_net": {"state": "inactive", "name": "{{ item.name }}"}, "loop": nets},
            {"name": "undefine networks", lv + "virt_net": {"state": "absent", "name": "{{ item.name }}"},
             "loop": nets},
        ]
    return [{"hosts": "localhost", "connection": "local", "gather_facts": False,
             "vars": {"ansible_python_interpreter": str(VENV / "bin" / "python")}, "tasks": tasks}]


def run(t: Topology, phase: str, folder: Path) -> dict:
    """Run one phase ("create" runs again as the no-op); the recap's counts of changed and failed tasks."""
    path = folder / f"ansible-{phase}-{t.n}.yml"
    path.write_text(json.dumps(playbook(t, "create" if phase == "noop" else phase), indent=1))
    result = subprocess.run([str(VENV / "bin" / "ansible-playbook"), "-i", "localhost,", str(path)],
                            capture_output=True, text=True, env={"PATH": f"{VENV / 'bin'}:/usr/bin:/bin",
                                                                 "ANSIBLE_NOCOLOR": "1", "HOME": str(folder)})
    if result.returncode != 0:
        sys.stderr.write(result.stdout[-3000:] + result.stderr[-2000:])
        raise RuntimeError(f"ansible {phase} of N={t.n} failed")
    recap = result.stdout[result.stdout.rfind("PLAY RECAP"):]
    return {"changed": int(recap.split("changed=")[1].split()[0])}
