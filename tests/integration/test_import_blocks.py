"""`import` blocks on a real libvirtd: objects made with virsh, whose names differ from their addresses, are
imported through `plan --generate-config-out`; the next plan is empty, a change gets the documented update
class, and destroy leaves nothing."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.integration.conftest import Cli, identities

pytestmark = pytest.mark.libvirtd

NETWORK = """<network><name>ib-lab-net</name><bridge name='ks-ib0'/>
<ip address='192.168.231.1' netmask='255.255.255.0'/></network>"""
DOMAIN = """<domain type='qemu'><name>ib-NAME</name><memory unit='MiB'>64</memory><vcpu>1</vcpu>
<os><type arch='x86_64'>hvm</type></os>
<devices><interface type='network'><source network='ib-lab-net'/></interface><serial type='pty'/>
<console type='pty'/></devices></domain>"""
IMPORTS = '''import {
  to = network.lab
  id = "ib-lab-net"
}

import {
  to = domain.web
  id = "ib-web-vm"
}
'''


def virsh(*args: str, stdin: str | None = None) -> str:
    return subprocess.run(["virsh", "-q", "-c", "qemu:///system", *args], input=stdin, capture_output=True,
                          text=True, check=True, timeout=120).stdout


def define(folder: Path, command: str, xml: str) -> None:
    path = folder / f"{command}.xml"
    path.write_text(xml)
    virsh(command, str(path))


@pytest.fixture
def made_with_virsh(tmp_path: Path, conn):
    xml = tmp_path / "xml"
    xml.mkdir()
    define(xml, "net-define", NETWORK)
    virsh("net-start", "ib-lab-net")
    define(xml, "define", DOMAIN.replace("NAME", "web-vm"))
    before = identities(conn, "ib-")
    assert set(before) == {"network ib-lab-net", "domain ib-web-vm"}
    yield before
    for name in [d.name() for d in conn.listAllDomains() if d.name().startswith("ib-")]:
        virsh("undefine", name)
    for name in [n.name() for n in conn.listAllNetworks() if n.name().startswith("ib-")]:
        virsh("net-destroy", name) if conn.networkLookupByName(name).isActive() else None
        virsh("net-undefine", name)


def test_import_through_generated_configuration_then_empty_plan_then_destroy(tmp_path: Path, conn,
                                                                             made_with_virsh) -> None:
    workdir = tmp_path / "ib"
    workdir.mkdir()
    (workdir / "imports.hcl").write_text(IMPORTS)
    cli = Cli(workdir)
    missing = cli("plan", check=1)
    assert "Import target not declared" in missing.stderr and "imports.hcl line 1" in missing.stderr

    plan = cli("plan", "--generate-config-out=generated.hcl")
    generated = (workdir / "generated.hcl").read_text()
    assert 'network "lab"' in generated and 'name = "ib-lab-net"' in generated.replace("  ", " ")
    assert 'domain "web"' in generated and "mac" not in generated and "machine" not in generated
    assert "# network.lab will be imported\n" in plan.stdout and "# domain.web will be imported\n" in plan.stdout, plan.stdout
    assert "Plan: 2 to import, 0 to add, 0 to change, 0 to replace, 0 to destroy." in plan.stdout
    again = cli("plan", "--generate-config-out=generated.hcl", check=None)
    assert again.returncode == 0 and "nothing was written" in again.stderr    # declared now: nothing to write

    cli("apply", "--auto-approve")
    state = json.loads((workdir / "kvmstate.state.json").read_text())
    recorded = {r["address"]: (r["name"], r["identity"]) for r in state["resources"]}
    assert recorded == {"network.lab": ("ib-lab-net", made_with_virsh["network ib-lab-net"]),
                        "domain.web": ("ib-web-vm", made_with_virsh["domain ib-web-vm"])}
    assert identities(conn, "ib-") == made_with_virsh                 # imported, never recreated
    assert 'address="domain.web"' in virsh("dumpxml", "ib-web-vm")            # kvmstate's ownership mark
    assert cli("plan", "--detailed-exitcode").returncode == 0                 # the second plan is empty

    (workdir / "generated.hcl").write_text(generated.replace('domain "web" {', 'domain "web" {\n  autostart = true'))
    change = json.loads(cli("plan", "--json").stdout)["resource_changes"]
    assert [(c["address"], c["action"], [x["update"] for x in c["changes"]]) for c in change
            if c["action"] != "no-op"] == [("domain.web", "update", ["live"])]         # autostart: live
    cli("apply", "--auto-approve")
    assert virsh("dominfo", "ib-web-vm").count("Autostart:      enable") == 1

    cli("destroy", "--auto-approve", "--shutdown-timeout", "1")
    assert identities(conn, "ib-") == {}


def test_an_import_of_an_object_libvirt_does_not_have_names_the_block(tmp_path: Path, made_with_virsh) -> None:
    workdir = tmp_path / "ib"
    workdir.mkdir()
    (workdir / "main.yaml").write_text("networks:\n  lab:\n    name: ib-other-net\n    mode: isolated\n"
                                       "import:\n  - to: network.lab\n    id: ib-other-net\n")
    result = Cli(workdir)("plan", check=1)
    assert "No such object" in result.stderr and "main.yaml line 6" in result.stderr, result.stderr
    assert "libvirt has no network named 'ib-other-net'" in result.stderr
