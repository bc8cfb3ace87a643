"""The state commands on a real libvirtd: `state mv`, `state rm`, `import` and `state recover`, with the
resource still in the configuration or not. Names differ from addresses, and instances come from `count`
and `for_each`. After each command, plan and apply never delete a declared object: every object keeps its
UUID (a volume its key) from first apply to the end."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.integration.conftest import Cli
from tests.integration.conftest import identities as all_identities

pytestmark = pytest.mark.libvirtd

CONFIG = '''
network "net" {
  count  = NETS
  name   = "sc-net-${count.index}"
  mode   = "isolated"
  bridge = "ks-sc${count.index}"
}

pool "store" {
  name = "sc-pool"
  path = "/var/lib/libvirt/kvmstate-sc"
}

volume "disk" {
  for_each = { a = "64MiB", b = "64MiB" }
  name     = "sc-disk-${each.key}.qcow2"
  pool     = pool.store
  capacity = each.value
  format   = "qcow2"
}

domain "VM" {
  for_each = { a = "64MiB", b = "64MiB" }
  name     = "sc-vm-${each.key}"
  type     = "qemu"
  vcpu     = 1
  memory   = each.value
  power    = "stopped"
  disk {
    volume = volume.disk[each.key]
  }
}

output "disk_a" {
  value = volume.disk["a"].name
}
'''


def write(workdir: Path, vm: str = "vm", nets: int = 1) -> None:
    (workdir / "main.hcl").write_text(CONFIG.replace("VM", vm).replace("NETS", str(nets)))


def identities(conn) -> dict[str, str]:
    """Every object of this suite: kind and name -> UUID (a volume's key)."""
    return all_identities(conn, "sc-")


@pytest.fixture
def sc(tmp_path: Path, conn):
    workdir = tmp_path / "sc"
    workdir.mkdir()
    write(workdir)
    cli = Cli(workdir)
    cli("apply", "--auto-approve")
    before = identities(conn)
    assert len(before) == 6 and json.loads(cli("output", "--json").stdout)["disk_a"]["value"] == "sc-disk-a.qcow2"
    yield cli, workdir, before
    write(workdir)
    done = cli("destroy", "--auto-approve", "--shutdown-timeout", "1", check=None)
    assert done.returncode == 0, done.stderr             # an output naming one instance: still exit 0
    assert json.loads((workdir / "kvmstate.state.json").read_text())["outputs"] == {}
    assert identities(conn) == {}, "left behind"


def plan_then_apply(cli: Cli, conn, before: dict[str, str], refused: str | None = None) -> str:
    """Plan and apply; neither deletes or replaces anything, and every object keeps its identity."""
    plan = cli("plan", "--json", check=None)
    if refused:
        assert plan.returncode == 1 and refused in plan.stderr, plan.stderr
        assert cli("apply", "--auto-approve", check=1)
    else:
        actions = {c["address"]: c["action"] for c in json.loads(plan.stdout)["resource_changes"]}
        assert not {a for a, act in actions.items() if act in ("delete", "replace")}, actions
        cli("apply", "--auto-approve")
    assert identities(conn) == before
    return plan.stderr


@pytest.mark.parametrize("address", ['domain.vm["a"]', 'volume.disk["b"]', "network.net[0]"])
def test_state_mv_to_an_undeclared_address_is_refused_then_undone(sc, conn, address: str) -> None:
    cli, workdir, before = sc
    cli("state", "mv", address, address.split(".")[0] + ".gone")
    err = plan_then_apply(cli, conn, before, refused="One object at two addresses")
    assert f"record it there with `kvmstate state mv {address.split('.')[0]}.gone {address}`" in err
    cli("state", "mv", address.split(".")[0] + ".gone", address)
    assert cli("plan", "--detailed-exitcode").stdout.startswith("No changes.")


def test_rename_in_the_configuration_then_state_mv_keeps_the_domains(sc, conn) -> None:
    cli, workdir, before = sc
    write(workdir, vm="machine")
    plan_then_apply(cli, conn, before, refused="One object at two addresses")     # renamed, not yet moved
    for key in ("a", "b"):
        cli("state", "mv", f'domain.vm["{key}"]', f'domain.machine["{key}"]')
    assert "carries the ownership mark of another address" in cli("plan").stdout
    plan_then_apply(cli, conn, before)
    assert 'address="domain.machine[&quot;a&quot;]"' in conn.lookupByName("sc-vm-a").XMLDesc(0)
    assert cli("plan", "--detailed-exitcode").stdout.startswith("No changes.")


def test_state_rm_and_import_with_the_configuration_present_or_not(sc, conn) -> None:
    cli, workdir, before = sc
    cli("state", "rm", 'domain.vm["b"]')                  # marked: recorded again, with what happened
    out = cli("plan").stdout
    assert "carries this state's ownership mark but is not recorded (after `state rm`" in out
    assert "interrupted apply but not recorded" not in out
    plan_then_apply(cli, conn, before)

    cli("state", "rm", 'volume.disk["a"]')                # unmarked: a conflict until imported
    err = plan_then_apply(cli, conn, before, refused="Object not managed by kvmstate")
    assert "`kvmstate import volume.disk[\"a\"] sc-disk-a.qcow2`" in err
    cli("import", 'volume.disk["a"]', "sc-disk-a.qcow2")
    plan_then_apply(cli, conn, before)

    cli("state", "rm", "network.net[0]")                  # gone from the configuration and the state: let go
    write(workdir, nets=0)
    plan_then_apply(cli, conn, before)
    write(workdir, nets=1)                                # declared again: its mark brings it back
    plan_then_apply(cli, conn, before)
    assert "network.net[0]" in cli("state", "list").stdout
    assert cli("plan", "--detailed-exitcode").stdout.startswith("No changes.")


def test_lost_state_is_recovered_without_losing_an_object(sc, conn) -> None:
    cli, workdir, before = sc
    (workdir / "kvmstate.state.json").unlink()
    err = plan_then_apply(cli, conn, before, refused="Object not managed by kvmstate")
    assert "`kvmstate state recover`" in err
    cli("state", "recover")
    plan_then_apply(cli, conn, before)
    assert cli("plan", "--detailed-exitcode").stdout.startswith("No changes.")


def test_recover_after_a_rename_records_the_declared_address(sc, conn) -> None:
    cli, workdir, before = sc
    write(workdir, vm="machine")                          # renamed, and the state lost before `state mv`
    (workdir / "kvmstate.state.json").unlink()
    out = cli("state", "recover").stdout                  # the marks still say domain.vm[...]
    assert 'it carries this state\'s ownership mark for domain.vm["a"]' in out
    assert "carries the ownership mark of another address" in cli("plan").stdout
    plan_then_apply(cli, conn, before)
    assert 'address="domain.machine[&quot;b&quot;]"' in conn.lookupByName("sc-vm-b").XMLDesc(0)
    assert cli("plan", "--detailed-exitcode").stdout.startswith("No changes.")
