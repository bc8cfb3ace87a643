"""Dependency order and cycles, in the graph and through the loader."""

from pathlib import Path

import pytest
from pydantic import BaseModel, ConfigDict, Field

from kvmstate.addrs import Address
from kvmstate.config import load
from kvmstate.diagnostics import DiagnosticError
from kvmstate.graph import CycleError, Graph
from kvmstate.provider import Registry, ResourceType


def test_order_puts_dependencies_first_and_is_stable() -> None:
    g = Graph()
    g.add("domain.web", ["volume.root", "network.lab"])
    g.add("volume.root", ["pool.images"])
    g.add("domain.db", ["volume.root"])
    order = g.order()
    assert order == ["network.lab", "pool.images", "volume.root", "domain.db", "domain.web"]


def test_cycle_is_named_in_order() -> None:
    g = Graph()
    g.add("a.x", ["a.y"])
    g.add("a.y", ["a.z"])
    g.add("a.z", ["a.x"])
    g.add("a.w", ["a.x"])
    with pytest.raises(CycleError) as exc:
        g.order()
    assert exc.value.cycle == ["a.x", "a.y", "a.z", "a.x"]


class Thing(BaseModel):
    model_config = ConfigDict(extra="forbid")
    needs: str | None = Field(None, json_schema_extra={"x-ref": "thing", "x-update": "replace"})


class ThingProvider:
    name = "things"

    def resource_types(self):
        return [ResourceType("thing", "things", Thing)]


def test_loader_reports_a_cycle_with_both_ends(tmp_path: Path) -> None:
    (tmp_path / "main.yaml").write_text("things:\n  a:\n    needs: b\n  b:\n    needs: a\n")
    with pytest.raises(DiagnosticError) as exc:
        load(tmp_path, Registry([ThingProvider()]))
    [diag] = exc.value.diagnostics
    assert diag.summary == "Dependency cycle"
    assert "thing.a -> thing.b -> thing.a" in diag.detail
    assert diag.position.line == 2


def test_depends_on_orders_without_a_reference(tmp_path: Path) -> None:
    (tmp_path / "main.yaml").write_text("things:\n  a:\n    depends_on: [thing.b]\n  b: {}\n")
    config = load(tmp_path, Registry([ThingProvider()]))
    assert config.graph.order() == ["thing.b", "thing.a"]


def test_hcl_depends_on_takes_references(tmp_path: Path) -> None:
    """`depends_on = [thing.b]` in HCL is a reference, as Terraform users write it, not a quoted address."""
    (tmp_path / "main.hcl").write_text('thing "a" {\n  depends_on = [thing.b]\n}\nthing "b" {}\n')
    config = load(tmp_path, Registry([ThingProvider()]))
    assert config.graph.order() == ["thing.b", "thing.a"]
    assert config.resources[Address("thing", "a")].meta.depends_on == ["thing.b"]
