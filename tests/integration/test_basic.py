"""examples/basic on a real libvirtd: what virsh would show after each step."""

from __future__ import annotations

import re
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import libvirt
import pytest

pytestmark = pytest.mark.libvirtd
MiB = 1024 * 1024


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


def net_xml(conn, name: str) -> ET.Element:
    return ET.fromstring(conn.networkLookupByName(name).XMLDesc(0))


def test_apply_creates_everything_and_second_plan_is_empty(cli, conn, workdir: Path) -> None:
    out = cli("apply", "--auto-approve").stdout
    assert "Plan: 4 to add, 0 to change, 0 to replace, 0 to destroy." in out
    assert "Apply complete! Resources: 4 added, 0 changed, 0 replaced, 0 destroyed." in out

    net = conn.networkLookupByName("basic-net")
    assert net.isActive() and net.autostart()
    root = net_xml(conn, "basic-net")
    assert root.find("bridge").get("name") == "ks-basic0"
    assert root.find("forward").get("mode") == "nat"
    assert root.find("ip").get("address") == "192.168.150.1"
    rng = root.find("ip/dhcp/range")
    assert (rng.get("start"), rng.get("end")) == ("192.168.150.10", "192.168.150.99")
    assert "ks-basic0" in subprocess.run(["ip", "link", "show", "ks-basic0"], capture_output=True, text=True).stdout
    assert subprocess.run(["pgrep", "-f", "dnsmasq.*basic-net"], capture_output=True).returncode == 0

    pool = conn.storagePoolLookupByName("basic-pool")
    assert pool.isActive()
    assert ET.fromstring(pool.XMLDesc(0)).findtext("target/path") == "/var/lib/libvirt/kvmstate-basic"
    assert Path("/var/lib/libvirt/kvmstate-basic").is_dir()

    vol = pool.storageVolLookupByName("basic-root")
    assert vol.info()[1] == 1024 * MiB
    assert ET.fromstring(vol.XMLDesc(0)).find("target/format").get("type") == "qcow2"
    info = subprocess.run(["qemu-img", "info", "-U", vol.path()], capture_output=True, text=True).stdout
    assert "file format: qcow2" in info

    dom = conn.lookupByName("basic-vm")
    state, max_mem, mem, vcpus, _ = dom.info()
    assert state == libvirt.VIR_DOMAIN_RUNNING
    assert max_mem == 128 * 1024 and vcpus == 1
    assert "kvmstate basic example" == dom.metadata(libvirt.VIR_DOMAIN_METADATA_DESCRIPTION, None)
    owner = ET.fromstring(dom.XMLDesc(0)).find("metadata/{https://kvmstate.dev/xmlns/owner/1}owner")
    assert owner is not None and owner.get("address") == "domain.basic-vm"

    again = cli("plan", "--detailed-exitcode")
    assert "No changes." in again.stdout

    listed = cli("state", "list").stdout.split()
    assert listed == ["domain.basic-vm", "network.basic-net", "pool.basic-pool", "volume.basic-root"]
    shown = cli("show").stdout
    assert dom.UUIDString() in shown and vol.key() in shown


def test_hcl_example_describes_the_same_topology(cli, workdir: Path) -> None:
    cli("apply", "--auto-approve")
    hcl = Path(__file__).resolve().parents[2] / "examples" / "basic-hcl"
    plan = cli("plan", str(hcl), "--state", str(workdir / "kvmstate.state.json"), "--detailed-exitcode")
    assert "No changes." in plan.stdout


def test_change_memory_and_dhcp_then_remove_the_domain(cli, conn, workdir: Path) -> None:
    cli("apply", "--auto-approve")
    dom_id = conn.lookupByName("basic-vm").ID()
    main = workdir / "main.yaml"
    edit(main, "memory: 128MiB", "memory: 256MiB")
    edit(main, "end: 192.168.150.99", "end: 192.168.150.120")

    plan = cli("plan", "--detailed-exitcode", check=2).stdout
    # No max_memory in the file: it follows memory, and raising the maximum needs a restart.
    assert re.search(r'~ max_memory += "128MiB" -> "256MiB" # requires restart', plan), plan
    assert re.search(r'~ memory += "128MiB" -> "256MiB"\n', plan), plan
    assert '~ dhcp.end = "192.168.150.99" -> "192.168.150.120"' in plan
    assert "Plan: 0 to add, 2 to change, 0 to replace, 0 to destroy." in plan

    cli("apply", "--auto-approve", "--shutdown-timeout", "1")
    dom = conn.lookupByName("basic-vm")
    assert dom.isActive() and dom.info()[1] == 256 * 1024
    assert dom.ID() != dom_id                                    # restarted once to take the new memory
    rng = net_xml(conn, "basic-net").find("ip/dhcp/range")
    assert rng.get("end") == "192.168.150.120"
    assert conn.networkLookupByName("basic-net").isActive()
    cli("plan", "--detailed-exitcode")

    text = main.read_text()
    main.write_text(text[:text.index("domains:")])
    plan = cli("plan", "--detailed-exitcode", check=2).stdout
    assert "# domain.basic-vm will be destroyed" in plan
    assert "Plan: 0 to add, 0 to change, 0 to replace, 1 to destroy." in plan
    cli("apply", "--auto-approve", "--shutdown-timeout", "1")
    assert "basic-vm" not in [d.name() for d in conn.listAllDomains()]
    assert conn.storagePoolLookupByName("basic-pool").storageVolLookupByName("basic-root")
    cli("plan", "--detailed-exitcode")


def test_destroy_leaves_nothing_behind(cli, conn, workdir: Path) -> None:
    cli("apply", "--auto-approve")
    vol_path = conn.storagePoolLookupByName("basic-pool").storageVolLookupByName("basic-root").path()
    out = cli("destroy", "--auto-approve", "--shutdown-timeout", "1").stdout
    assert "Plan: 0 to add, 0 to change, 0 to replace, 4 to destroy." in out
    assert not [d for d in conn.listAllDomains() if d.name() == "basic-vm"]
    assert not [n for n in conn.listAllNetworks() if n.name() == "basic-net"]
    assert not [p for p in conn.listAllStoragePools() if p.name() == "basic-pool"]
    assert not Path(vol_path).exists()
    assert subprocess.run(["ip", "link", "show", "ks-basic0"], capture_output=True).returncode != 0
    assert cli("state", "list").stdout == ""


def test_drift_outside_kvmstate_is_shown_and_repaired(cli, conn) -> None:
    cli("apply", "--auto-approve")
    conn.lookupByName("basic-vm").destroy()                      # someone stops the VM
    net = conn.networkLookupByName("basic-net")
    net.setAutostart(0)
    net.destroy()                                                # and stops the network
    plan = cli("plan", "--detailed-exitcode", check=2).stdout
    assert "# domain.basic-vm was changed outside kvmstate" in plan
    assert '~ power = "running" -> "stopped"' in plan
    assert re.search(r"~ autostart += true -> false", plan) and re.search(r"~ active += true -> false", plan)
    cli("apply", "--auto-approve")
    assert conn.lookupByName("basic-vm").isActive()
    net = conn.networkLookupByName("basic-net")
    assert net.isActive() and net.autostart()
    cli("plan", "--detailed-exitcode")

    net = conn.networkLookupByName("basic-net")                  # someone deletes the network
    net.destroy()
    net.undefine()
    plan = cli("plan", "--detailed-exitcode", check=2).stdout
    assert "# network.basic-net was deleted outside kvmstate" in plan
    assert "# network.basic-net will be created" in plan
    cli("apply", "--auto-approve")
    assert conn.networkLookupByName("basic-net").isActive()


def test_object_not_created_by_kvmstate_is_a_conflict(cli, conn) -> None:
    xml = "<network><name>basic-net</name><bridge name='ks-other0'/></network>"
    foreign = conn.networkDefineXML(xml)
    try:
        result = cli("plan", check=1)
        assert "Error: Object not managed by kvmstate" in result.stderr
        assert "network named 'basic-net'" in result.stderr and "main.yaml line" in result.stderr
        result = cli("apply", "--auto-approve", check=1)
        assert conn.networkLookupByName("basic-net").UUIDString() == foreign.UUIDString()
        assert [d for d in conn.listAllDomains() if d.name() == "basic-vm"] == []
    finally:
        foreign.undefine()


def test_failed_action_is_reported_and_the_rest_is_recorded(cli, conn, workdir: Path) -> None:
    conn.networkDefineXML("<network><name>squatter</name><bridge name='ks-basic0'/></network>").create()
    try:
        result = cli("apply", "--auto-approve", check=1)
        assert "network.basic-net" in result.stderr and "ks-basic0" in result.stderr
        assert "Run `kvmstate plan` to see what is left." in result.stderr
        assert cli("state", "list").stdout.splitlines() == ["pool.basic-pool", "volume.basic-root"]
        plan = cli("plan").stdout
        assert "Plan: 2 to add, 0 to change, 0 to replace, 0 to destroy." in plan
    finally:
        squatter = conn.networkLookupByName("squatter")
        squatter.destroy()
        squatter.undefine()
    cli("apply", "--auto-approve")
    cli("plan", "--detailed-exitcode")


def test_same_volume_name_in_another_pool_is_not_a_conflict(cli, conn, tmp_path: Path) -> None:
    (tmp_path / "other").mkdir()
    other = conn.storagePoolCreateXML(
        f"<pool type='dir'><name>other</name><target><path>{tmp_path / 'other'}</path></target></pool>", 0)
    try:
        other.createXML("<volume><name>basic-root</name><capacity unit='MiB'>8</capacity></volume>", 0)
        cli("apply", "--auto-approve")
        cli("plan", "--detailed-exitcode")
        cli("destroy", "--auto-approve", "--shutdown-timeout", "1")
        assert other.storageVolLookupByName("basic-root").info()[1] == 8 * MiB     # untouched
    finally:
        for vol in other.listAllVolumes():
            vol.delete(0)
        other.destroy()


def test_apply_without_a_terminal_needs_auto_approve_and_changes_nothing(cli, conn) -> None:
    result = cli("apply", check=1)
    assert "--auto-approve" in result.stderr
    assert "basic-net" not in [n.name() for n in conn.listAllNetworks()]
    assert cli("state", "list").stdout == ""


def test_plan_json_matches_its_schema(cli) -> None:
    import json

    import jsonschema
    plan = json.loads(cli("plan", "--json").stdout)
    schema = json.loads((Path(__file__).resolve().parents[2] / "schemas" / "plan.schema.json").read_text())
    jsonschema.validate(plan, schema)
    assert plan["summary"] == {"add": 4, "change": 0, "replace": 0, "destroy": 0}
    assert {c["address"]: c["action"] for c in plan["resource_changes"]} == {
        "domain.basic-vm": "create", "network.basic-net": "create", "pool.basic-pool": "create",
        "volume.basic-root": "create"}
