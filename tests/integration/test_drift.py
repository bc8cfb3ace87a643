"""The drift suite: every change `virsh` (libvirt-python here) can make to an object kvmstate manages is seen
by the next plan and repaired by apply, so the plan after it is empty; or it is refused with a hint.

One topology is applied once for the module; each case changes it behind kvmstate's back, asserts the drift
and the action in `plan --json`, applies and plans again. Only `runner` boots (where power matters); `idle`
stays stopped, so its devices and settings change in its definition alone. Every `name` differs from its
address.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import libvirt
import pytest

from .conftest import Cli

pytestmark = pytest.mark.libvirtd
LIVE, CONFIG = libvirt.VIR_DOMAIN_AFFECT_LIVE, libvirt.VIR_DOMAIN_AFFECT_CONFIG

CONFIG_HCL = r'''
network "lan" {
  name = "drift-lan"
  mode = "nat"
  ipv4 = "192.168.154.0/24"
  dhcp {
    start = "192.168.154.10"
    end   = "192.168.154.99"
  }
}

pool "store" {
  name = "drift-store"
  path = "/var/lib/libvirt/drift-store"
}

volume "data" {
  name     = "drift-data"
  pool     = pool.store
  capacity = "8MiB"
}

cloudinit "seed" {
  name      = "drift-seed"
  pool      = pool.store
  user_data = "#cloud-config\n"
}

domain "runner" {
  name       = "drift-runner"
  type       = "qemu"
  machine    = "pc"
  memory     = "160MiB"
  vcpu       = 1
  max_vcpu   = 2
  kernel     = "GUEST/vmlinuz"
  initrd     = "GUEST/initrd.img"
  cmdline    = "console=ttyS0"
}

domain "idle" {
  name       = "drift-idle"
  type       = "qemu"
  memory     = "64MiB"
  max_memory = "128MiB"
  vcpu       = 1
  max_vcpu   = 2
  power      = "stopped"
  cloudinit  = cloudinit.seed
  disk {
    volume = volume.data
  }
  interface {
    network = network.lan
  }
}
'''


@pytest.fixture(scope="module")
def topology(tmp_path_factory, guest: Path):
    folder = tmp_path_factory.mktemp("drift")
    (folder / "main.hcl").write_text(CONFIG_HCL.replace("GUEST", str(guest)))
    cli = Cli(folder)
    libvirt.registerErrorHandler(lambda *a: None, None)
    conn = libvirt.open("qemu:///system")
    cli("apply", "--auto-approve")
    yield cli, conn
    cli("destroy", "--auto-approve", "--shutdown-timeout", "1", check=None)
    assert [d.name() for d in conn.listAllDomains()] == []
    conn.close()


def detach(conn: libvirt.virConnect, tag: str) -> None:
    """Detach idle's first device of a tag from its definition, as `virsh detach-device --config` does."""
    dom = conn.lookupByName("drift-idle")
    device = next(d for d in ET.fromstring(dom.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE)).find("devices")
                  if d.tag == tag and d.get("device", "disk") == "disk")
    dom.detachDeviceFlags(ET.tostring(device, encoding="unicode"), CONFIG)


@dataclass
class Case:
    change: Callable[[libvirt.virConnect], None]
    address: str
    kind: str                         # the drift's kind
    path: str | None                  # the drifted attribute, for kind "changed"
    live: object                      # its live value
    action: str                       # the planned action at `address`
    check: Callable[[libvirt.virConnect], bool] = lambda conn: True     # after the repair


CASES = {
    "power off": Case(lambda c: c.lookupByName("drift-runner").destroy(), "domain.runner", "changed", "power",
                      "stopped", "update", lambda c: c.lookupByName("drift-runner").isActive()),
    "paused": Case(lambda c: c.lookupByName("drift-runner").suspend(), "domain.runner", "changed", "power", "paused",
                   "update", lambda c: c.lookupByName("drift-runner").state()[0] == libvirt.VIR_DOMAIN_RUNNING),
    "transient": Case(lambda c: c.lookupByName("drift-runner").undefine(), "domain.runner", "changed", "power",
                      "running (transient)", "update", lambda c: c.lookupByName("drift-runner").isPersistent()),
    "persistent vcpus": Case(lambda c: c.lookupByName("drift-idle").setVcpusFlags(2, CONFIG), "domain.idle",
                             "changed", "vcpu", 2, "update"),
    "persistent memory": Case(lambda c: c.lookupByName("drift-idle").setMemoryFlags(96 * 1024, CONFIG),
                              "domain.idle", "changed", "memory", "96MiB", "update"),
    "detached disk": Case(lambda c: detach(c, "disk"), "domain.idle", "changed", "disks[0]", None, "update"),
    "detached interface": Case(lambda c: detach(c, "interface"), "domain.idle", "changed", "interfaces[0]",
                               None, "update"),
    "autostart": Case(lambda c: c.lookupByName("drift-idle").setAutostart(1), "domain.idle", "changed", "autostart",
                      True, "update"),
    "stopped network": Case(lambda c: c.networkLookupByName("drift-lan").destroy(), "network.lan", "changed",
                            "active", False, "update"),
    "stopped pool": Case(lambda c: c.storagePoolLookupByName("drift-store").destroy(), "pool.store", "changed",
                         "active", False, "update"),
    "deleted volume": Case(lambda c: c.storagePoolLookupByName("drift-store").storageVolLookupByName("drift-data")
                           .delete(0), "volume.data", "deleted", None, None, "create"),
}


@pytest.mark.parametrize("name", CASES)
def test_drift_is_planned_and_repaired(topology, name: str) -> None:
    cli, conn = topology
    case = CASES[name]
    case.change(conn)
    plan = json.loads(cli("plan", "--json").stdout)
    drift = {d["address"]: d for d in plan["drift"]}
    assert drift[case.address]["kind"] == case.kind, drift
    if case.path:
        (changed,) = [c for c in drift[case.address]["changes"] if c["path"] == case.path]
        assert changed["before"] == case.live, changed
    actions = {c["address"]: c["action"] for c in plan["resource_changes"] if c["action"] != "no-op"}
    assert actions == {case.address: case.action}, actions
    cli("apply", "--auto-approve")
    assert case.check(conn)
    again = cli("plan", "--detailed-exitcode", check=None)
    assert again.returncode == 0, again.stdout + again.stderr


def test_volumes_of_a_stopped_pool_are_unknown_not_deleted(topology) -> None:
    """Defect 3: an inactive pool's volumes cannot be listed; they are kept as recorded, never recreated,
    and the pool is started before the domain that uses them."""
    cli, conn = topology
    conn.storagePoolLookupByName("drift-store").destroy()
    conn.lookupByName("drift-idle").setAutostart(1)      # idle changes too: it waits for the pool
    plan = json.loads(cli("plan", "--json").stdout)
    drift = {d["address"]: d for d in plan["drift"]}
    for address in ("volume.data", "cloudinit.seed"):
        assert drift[address]["kind"] == "unknown"
        assert drift[address]["reason"] == "pool drift-store is inactive; its recorded state is kept"
    actions = {c["address"]: c["action"] for c in plan["resource_changes"] if c["action"] != "no-op"}
    assert actions == {"pool.store": "update", "domain.idle": "update"}
    text = cli("plan").stdout
    assert "# volume.data could not be read: pool drift-store is inactive" in text
    cli("apply", "--auto-approve", "--parallelism", "1")
    assert cli("plan", "--detailed-exitcode", check=None).returncode == 0


def test_live_vcpus_a_guest_cannot_give_back_are_refused_with_a_hint(topology) -> None:
    """`virsh setvcpus --live` is drift; QEMU under TCG cannot take vCPUs back from a running guest, so the
    apply sets the definition and says how to finish; following the hint converges."""
    cli, conn = topology
    dom = conn.lookupByName("drift-runner")
    dom.setVcpusFlags(2, LIVE)
    plan = json.loads(cli("plan", "--json").stdout)
    (drift,) = [d for d in plan["drift"] if d["address"] == "domain.runner"]
    assert [(c["path"], c["before"], c["after"]) for c in drift["changes"]] == [("vcpu", 2, 1)]
    assert [c["action"] for c in plan["resource_changes"] if c["address"] == "domain.runner"] == ["update"]
    result = cli("apply", "--auto-approve", check=None)
    if result.returncode == 0:         # a guest that gives vCPUs back (KVM with CPU hot-unplug)
        assert dom.vcpusFlags(LIVE) == 1
    else:
        assert "runs with 2 vCPUs and its guest did not give 1 back" in result.stderr + result.stdout, result
        assert "Shut the guest down (virsh shutdown drift-runner) and apply again" in result.stderr + result.stdout
        assert dom.vcpusFlags(CONFIG) == 1
        dom.destroy()
        cli("apply", "--auto-approve")
        assert dom.vcpusFlags(LIVE) == 1
    assert cli("plan", "--detailed-exitcode", check=None).returncode == 0


def test_a_change_past_the_recorded_fingerprint_is_seen(topology) -> None:
    """Apply records each object's fingerprint (a version 1 state gains them at its next apply), which lets a
    no-op plan skip reading its values; `virsh net-update` changes the network's document, so its fingerprint,
    and the next plan compares it and shows it."""
    cli, conn = topology
    state_file = cli.workdir / "kvmstate.state.json"
    old = json.loads(state_file.read_text())        # as kvmstate wrote it before fingerprints: version 1, none
    old["version"] = 1
    for recorded in old["resources"]:
        recorded.pop("fingerprint", None)
    state_file.write_text(json.dumps(old))
    cli("apply", "--auto-approve")                  # nothing to change: records the fingerprints it compared
    before = {r["address"]: r.get("fingerprint") for r in json.loads(state_file.read_text())["resources"]}
    assert all(before[a] for a in ("network.lan", "pool.store", "volume.data", "domain.idle", "domain.runner"))
    assert cli("plan", "--detailed-exitcode", check=None).returncode == 0
    net, section = conn.networkLookupByName("drift-lan"), libvirt.VIR_NETWORK_SECTION_IP_DHCP_RANGE
    flags = libvirt.VIR_NETWORK_UPDATE_AFFECT_LIVE | libvirt.VIR_NETWORK_UPDATE_AFFECT_CONFIG
    net.update(libvirt.VIR_NETWORK_UPDATE_COMMAND_DELETE, section, -1,
               "<range start='192.168.154.10' end='192.168.154.99'/>", flags)
    net.update(libvirt.VIR_NETWORK_UPDATE_COMMAND_ADD_LAST, section, -1,
               "<range start='192.168.154.10' end='192.168.154.150'/>", flags)
    plan = json.loads(cli("plan", "--json").stdout)
    (drift,) = [d for d in plan["drift"] if d["address"] == "network.lan"]
    assert [(c["path"], c["before"]) for c in drift["changes"]] == [("dhcp.end", "192.168.154.150")], drift
    actions = {c["address"]: c["action"] for c in plan["resource_changes"] if c["action"] != "no-op"}
    assert actions == {"network.lan": "update"}, actions
    cli("apply", "--auto-approve")
    after = {r["address"]: r.get("fingerprint") for r in json.loads(state_file.read_text())["resources"]}
    assert after["network.lan"]         # recorded again by the repair, which compared the network equal
    assert cli("plan", "--detailed-exitcode", check=None).returncode == 0
