"""The workflow on a real libvirtd: saved plans (and stale ones), import, state mv/rm, refresh-only,
--target and --replace, and `plan --json` against its schema."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import jsonschema
import pytest

from tests.integration.conftest import ROOT

pytestmark = pytest.mark.libvirtd
OWNER = "{https://kvmstate.dev/xmlns/owner/1}owner"


def names(conn) -> set[str]:
    pools = conn.listAllStoragePools()
    return {d.name() for d in conn.listAllDomains()} | {n.name() for n in conn.listAllNetworks()} | \
        {p.name() for p in pools} | {v.name() for p in pools if p.isActive() for v in p.listAllVolumes()}


def state(workdir: Path) -> dict:
    return json.loads((workdir / "kvmstate.state.json").read_text())


def test_saved_plan_applies_exactly_and_a_stale_one_is_refused(cli, conn, workdir: Path) -> None:
    comment = cli("plan", "--format", "markdown", "--out", "plan.bin").stdout
    assert comment.startswith("### kvmstate plan: 4 to add") and "<details>" in comment
    assert (workdir / "plan.bin").stat().st_mode & 0o777 == 0o600
    shown = json.loads(cli("show", "--json", "plan.bin").stdout)
    assert shown["summary"]["add"] == 4 and shown["prior_serial"] is None

    cli("apply", "--auto-approve", "--target", "pool.basic-pool")      # something else is applied in between
    before = (names(conn), state(workdir))
    refused = cli("apply", "plan.bin", check=1)
    assert "Stale plan" in refused.stderr and "serial" in refused.stderr
    assert (names(conn), state(workdir)) == before                         # nothing was touched

    cli("plan", "--out", "plan.bin")
    out = cli("apply", "plan.bin").stdout
    assert "Apply complete! Resources: 3 added" in out
    assert {"basic-net", "basic-root", "basic-vm"} <= names(conn)
    assert cli("plan", "--detailed-exitcode").stdout.startswith("No changes.")


def test_plan_json_validates_against_its_schema(cli, conn) -> None:
    schema = json.loads((ROOT / "schemas" / "plan.schema.json").read_text())
    jsonschema.validate(json.loads(cli("plan", "--json").stdout), schema)
    cli("apply", "--auto-approve", "--target", "network.basic-net")
    conn.networkLookupByName("basic-net").setAutostart(0)
    plan = json.loads(cli("plan", "--format", "json", "--target", "network.basic-net").stdout)
    jsonschema.validate(plan, schema)
    change = plan["resource_changes"][0]
    assert (change["action"], change["before"]["autostart"], change["after"]["autostart"]) == ("update", False, True)


def handmade_network(conn):
    root = ET.Element("network")
    ET.SubElement(root, "name").text = "basic-net"
    ET.SubElement(root, "forward", mode="nat")
    ET.SubElement(root, "bridge", name="ks-basic0")
    ip = ET.SubElement(root, "ip", address="192.168.150.1", prefix="24")
    ET.SubElement(ET.SubElement(ip, "dhcp"), "range", start="192.168.150.10", end="192.168.150.99")
    net = conn.networkDefineXML(ET.tostring(root, encoding="unicode"))
    net.setAutostart(1)
    net.create()
    return net


def test_import_adopts_a_handmade_network(cli, conn, workdir: Path) -> None:
    net = handmade_network(conn)
    conflict = cli("plan", "--target", "network.basic-net", check=1)
    assert "Object not managed by kvmstate" in conflict.stderr

    (workdir / "main.yaml").write_text((workdir / "main.yaml").read_text().replace("autostart: true", "autostart: false"))
    differs = cli("import", "network.basic-net", "basic-net", check=1)
    assert "autostart: true (live) != false (file)" in differs.stderr
    assert not (workdir / "kvmstate.state.json").exists()

    (workdir / "main.yaml").write_text((workdir / "main.yaml").read_text().replace("autostart: false", "autostart: true"))
    cli("import", "network.basic-net", "basic-net")
    assert state(workdir)["resources"][0]["identity"] == net.UUIDString()
    mark = ET.fromstring(net.XMLDesc(1)).find(f"metadata/{OWNER}")        # 1: the persistent definition
    assert mark is not None and mark.get("address") == "network.basic-net" and net.isActive()
    assert cli("plan", "--target", "network.basic-net", "--detailed-exitcode").stdout.startswith("No changes.")


def test_state_rm_then_import_and_state_mv(cli, conn, workdir: Path) -> None:
    cli("apply", "--auto-approve", "--target", "volume.basic-root")
    cli("state", "rm", "volume.basic-root")
    assert cli("state", "list").stdout.split() == ["pool.basic-pool"]
    assert "basic-root" in names(conn)                                    # the object stays
    assert "Object not managed by kvmstate" in cli("plan", "--target", "volume.basic-root", check=1).stderr
    cli("import", "volume.basic-root", "basic-root")
    assert cli("plan", "--target", "volume.basic-root", "--detailed-exitcode").stdout.startswith("No changes.")

    cli("state", "mv", "pool.basic-pool", "pool.moved")
    assert json.loads((workdir / "kvmstate.state.json.backup").read_text())["resources"][0]["address"] == \
        "pool.basic-pool"
    assert state(workdir)["resources"][1]["dependencies"] == ["pool.moved"]
    cli("state", "mv", "pool.moved", "pool.basic-pool")
    assert cli("plan", "--target", "volume.basic-root", "--detailed-exitcode").stdout.startswith("No changes.")


def test_refresh_only_records_drift_without_changing_the_object(cli, conn, workdir: Path) -> None:
    cli("apply", "--auto-approve", "--target", "network.basic-net")
    net = conn.networkLookupByName("basic-net")
    net.setAutostart(0)
    out = cli("plan", "--refresh-only", "--detailed-exitcode", check=2).stdout
    assert "network.basic-net was changed outside kvmstate" in out and "autostart" in out
    cli("apply", "--refresh-only", "--auto-approve")
    assert state(workdir)["resources"][0]["attributes"]["autostart"] is False
    assert not net.autostart()
    assert cli("plan", "--refresh-only", "--detailed-exitcode").stdout.startswith("No changes.")
    plan = cli("plan", "--target", "network.basic-net").stdout            # the file still wants autostart
    assert '~ autostart = false -> true' in plan and "Objects changed outside" not in plan


def test_target_and_replace(cli, conn, workdir: Path) -> None:
    out = cli("apply", "--auto-approve", "--target", "volume.basic-root").stdout
    assert "Apply complete! Resources: 2 added" in out
    assert {"basic-pool", "basic-root"} <= names(conn) and not {"basic-net", "basic-vm"} & names(conn)

    cli("apply", "--auto-approve", "--target", "network.basic-net")
    old = conn.networkLookupByName("basic-net").UUIDString()
    out = cli("apply", "--auto-approve", "--target", "network.basic-net", "--replace", "network.basic-net").stdout
    assert "because its replacement was requested with --replace" in out
    new = conn.networkLookupByName("basic-net")
    assert new.UUIDString() != old and new.isActive()
    assert cli("plan", "--target", "network.basic-net", "--detailed-exitcode").stdout.startswith("No changes.")
