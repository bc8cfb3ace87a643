"""The wider libvirt surface on a real libvirtd: static DHCP hosts and DNS entries changed live, a network's
domain and MTU by a restart, the platform devices of a domain (guest agent, TPM, RNG, watchdog, ...), disk
options, volume clones and XML patches: each applied, planned again (empty), changed with the update class the
documentation promises, and destroyed.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import libvirt
import pytest

from .conftest import Cli

pytestmark = pytest.mark.libvirtd
MAC = "52:54:00:5e:00:10"


@pytest.fixture
def surf(tmp_path: Path, guest: Path, conn):
    """A folder holding one configuration document (written by `write`); destroyed afterwards."""
    folder = tmp_path / "surface"
    folder.mkdir()
    cli = Cli(folder)
    cli.pool = tmp_path / "pool"

    def write(networks=None, domains=None, volumes=None, pools=None):
        doc = {key: value for key, value in (("networks", networks), ("pools", pools), ("volumes", volumes),
                                             ("domains", domains)) if value}
        (folder / "main.yaml").write_text(json.dumps(doc, indent=2))

    def guest_domain(**extra):
        spec = {"type": "qemu", "machine": "pc", "memory": "160MiB", "kernel": str(guest / "vmlinuz"),
                "initrd": str(guest / "initrd.img"), "cmdline": "console=ttyS0"}
        spec.update(extra)
        return spec

    cli.write = write
    cli.guest_domain = guest_domain
    cli.state = lambda: json.loads((folder / "kvmstate.state.json").read_text())
    yield cli
    cli("destroy", "--auto-approve", "--shutdown-timeout", "2", check=None)
    assert [d.name() for d in conn.listAllDomains()] == [] and conn.listAllNetworks() == []


def no_changes(cli: Cli) -> None:
    result = cli("plan", "--detailed-exitcode", check=None)
    assert result.returncode == 0, result.stdout + result.stderr


def net_xml(conn, name: str, flags: int = 0) -> ET.Element:
    return ET.fromstring(conn.networkLookupByName(name).XMLDesc(flags))


def dnsmasq_pid(name: str) -> str:
    return Path(f"/run/libvirt/network/{name}.pid").read_text().strip()


def test_static_dhcp_host_gives_the_guest_its_address_and_changes_live(surf, conn) -> None:
    hosts = [{"mac": MAC, "ip": "192.168.152.42", "name": "guest"}]
    net = {"ipv4": "192.168.152.0/24", "dhcp": {"start": "192.168.152.100", "end": "192.168.152.150", "hosts": hosts},
           "dns": {"hosts": [{"ip": "192.168.152.5", "hostnames": ["nas"]}]}}
    dom = surf.guest_domain(interfaces=[{"network": "snet", "mac": MAC, "wait_for_ip": True, "wait_timeout": 90}])
    surf.write(networks={"snet": net}, domains={"guest": dom})
    surf("apply", "--auto-approve")
    (guest,) = [r for r in surf.state()["resources"] if r["address"] == "domain.guest"]
    assert guest["computed"]["interfaces"][0]["ipv4"] == "192.168.152.42"     # the static host, not the range
    no_changes(surf)
    pid = dnsmasq_pid("snet")

    # Live: a static host added, the guest's moved, a DNS entry changed; dnsmasq is signalled, not restarted.
    hosts = [{"mac": "52:54:00:5e:00:11", "ip": "192.168.152.43", "name": "db"},
             {"mac": MAC, "ip": "192.168.152.44", "name": "guest"}]
    net = {**net, "dhcp": {**net["dhcp"], "hosts": hosts},
           "dns": {"hosts": [{"ip": "192.168.152.6", "hostnames": ["nas", "files"]}]}}
    surf.write(networks={"snet": net}, domains={"guest": dom})
    plan = surf("plan").stdout
    assert "will be updated in place" in plan and "requires restart" not in plan and "forces" not in plan
    surf("apply", "--auto-approve")
    assert dnsmasq_pid("snet") == pid
    hostsfile = Path("/var/lib/libvirt/dnsmasq/snet.hostsfile").read_text()
    assert f"{MAC},192.168.152.44,guest" in hostsfile and "192.168.152.42" not in hostsfile
    assert "192.168.152.6 nas files" in Path("/var/lib/libvirt/dnsmasq/snet.addnhosts").read_text().replace("\t", " ")
    no_changes(surf)

    # Live too: a second range (libvirt restarts dnsmasq for ranges; the network and the guest's link stay).
    net = {**net, "dhcp": {"ranges": [{"start": "192.168.152.100", "end": "192.168.152.150"},
                                      {"start": "192.168.152.200", "end": "192.168.152.210"}], "hosts": hosts}}
    surf.write(networks={"snet": net}, domains={"guest": dom})
    surf("apply", "--auto-approve")
    for flags in (0, libvirt.VIR_NETWORK_XML_INACTIVE):
        root = net_xml(conn, "snet", flags)
        assert sorted(h.get("ip") for h in root.findall("ip/dhcp/host")) == ["192.168.152.43", "192.168.152.44"]
        assert len(root.findall("ip/dhcp/range")) == 2
        assert [h.get("ip") for h in root.findall("dns/host")] == ["192.168.152.6"]
    no_changes(surf)

    # Restart class: the network's domain and MTU; the same network (UUID), restarted.
    uuid = conn.networkLookupByName("snet").UUIDString()
    surf.write(networks={"snet": {**net, "domain": "lab.test", "mtu": 1400}}, domains={"guest": dom})
    plan = surf("plan").stdout
    assert "# requires restart" in plan
    surf("apply", "--auto-approve")
    root = net_xml(conn, "snet")
    assert root.find("domain").get("name") == "lab.test" and root.find("mtu").get("size") == "1400"
    assert conn.networkLookupByName("snet").UUIDString() == uuid and conn.networkLookupByName("snet").isActive()
    no_changes(surf)


def test_bridge_network_onto_an_existing_host_bridge(surf, conn) -> None:
    # A host bridge made by another libvirt network stands in for br0 (creating one needs no more than that).
    surf.write(networks={"host": {"mode": "isolated", "bridge": "kvs-host0", "ipv4": "10.77.0.0/24"},
                         "lan": {"mode": "bridge", "bridge": "kvs-host0"}})
    surf("apply", "--auto-approve")
    root = net_xml(conn, "lan")
    assert root.find("forward").get("mode") == "bridge" and root.find("bridge").get("name") == "kvs-host0"
    no_changes(surf)


def test_platform_devices_apply_plan_empty_and_restart(surf, conn) -> None:
    platform = {"guest_agent": True, "tpm": {"version": "2.0"}, "rng": True, "video": "vga", "boot_menu": True,
                "watchdog": {"model": "i6300esb", "action": "poweroff"}, "on_reboot": "restart", "on_crash": "destroy",
                "graphics": {"type": "vnc"}, "boot_order": ["network", "disk"],
                "interfaces": [{"network": "pnet"}],
                "disks": [{"volume": "pdata", "cache": "writeback", "io": "threads", "discard": "unmap",
                           "serial": "pdata-1"}]}
    networks = {"pnet": {"ipv4": "192.168.153.0/24", "dhcp": {"start": "192.168.153.10", "end": "192.168.153.20"}}}
    storage = {"pools": {"ppool": {"path": str(surf.pool)}},
               "volumes": {"pdata": {"pool": "ppool", "capacity": "16MiB"}}}
    surf.write(networks=networks, domains={"guest": surf.guest_domain(**platform)}, **storage)
    surf("apply", "--auto-approve")
    dom = conn.lookupByName("guest")
    assert dom.isActive()
    live = ET.fromstring(dom.XMLDesc(0))
    assert live.find("devices/channel/target").get("name") == "org.qemu.guest_agent.0"
    assert live.find("devices/tpm/backend").get("type") == "emulator"
    assert Path(f"/var/lib/libvirt/swtpm/{dom.UUIDString()}").is_dir()        # swtpm made the TPM's state
    assert live.find("devices/rng/backend").text == "/dev/urandom"
    assert live.find("devices/watchdog").get("action") == "poweroff"
    assert live.find("devices/interface/boot").get("order") == "1"
    driver = live.find("devices/disk/driver")
    assert (driver.get("cache"), driver.get("io"), driver.get("discard")) == ("writeback", "threads", "unmap")
    assert live.findtext("devices/disk/serial") == "pdata-1"
    no_changes(surf)
    first_id = dom.ID()

    disk = {**platform["disks"][0], "readonly": True}
    surf.write(networks=networks, domains={"guest": surf.guest_domain(**{**platform, "on_crash": "restart",
                                                                         "tpm": {"model": "tpm-crb"},
                                                                         "disks": [disk]})}, **storage)
    plan = surf("plan").stdout
    assert "# requires restart" in plan and "forces replacement" not in plan
    surf("apply", "--auto-approve", "--shutdown-timeout", "5")
    assert dom.isActive() and conn.lookupByName("guest").ID() != first_id
    live = ET.fromstring(dom.XMLDesc(0))
    assert live.findtext("on_crash") == "restart" and live.find("devices/tpm").get("model") == "tpm-crb"
    assert live.find("devices/disk/readonly") is not None
    no_changes(surf)
    uuid = dom.UUIDString()
    surf("destroy", "--auto-approve", "--shutdown-timeout", "2")
    assert not Path(f"/var/lib/libvirt/swtpm/{uuid}").exists()                 # the TPM's state went with it


def test_secure_boot_picks_the_enrolled_firmware(surf, conn) -> None:
    dom = surf.guest_domain(machine="q35", firmware="uefi", secure_boot=True, power="stopped")
    surf.write(domains={"guest": dom})
    surf("apply", "--auto-approve")
    no_changes(surf)
    vm = conn.lookupByName("guest")
    vm.create()                  # libvirt resolves the firmware when the domain starts
    loader = ET.fromstring(vm.XMLDesc(0)).find("os/loader")
    assert loader.get("secure") == "yes", loader.text
    vm.destroy()
    surf.write(domains={"guest": {**dom, "secure_boot": False}})
    assert "# requires restart" in surf("plan").stdout
    surf("apply", "--auto-approve")
    no_changes(surf)


def test_workstation_example_applies_with_software_emulation(tmp_path, conn) -> None:
    import shutil
    from .conftest import ROOT
    folder = tmp_path / "workstation"
    shutil.copytree(ROOT / "examples" / "workstation", folder)
    cli = Cli(folder)
    args = ["--var", "virt_type=qemu", "--var", "memory=512MiB", "--var", f"pool_path={tmp_path / 'pool'}"]
    try:
        cli("apply", "--auto-approve", *args)
        assert cli("plan", "--detailed-exitcode", *args, check=None).returncode == 0
        live = ET.fromstring(conn.lookupByName("ws-desk").XMLDesc(0))
        assert live.find("os/loader").get("secure") == "yes"
        assert live.find("devices/tpm").get("model") == "tpm-crb"
        assert live.find("devices/filesystem/driver").get("type") == "virtiofs"
        hosts = net_xml(conn, "ws-lan").findall("ip/dhcp/host")
        assert [(h.get("mac"), h.get("ip")) for h in hosts] == [("52:54:00:16:00:10", "192.168.160.10")]
    finally:
        cli("destroy", "--auto-approve", "--shutdown-timeout", "1", *args, check=None)
    assert conn.listAllDomains() == [] and conn.listAllNetworks() == []
