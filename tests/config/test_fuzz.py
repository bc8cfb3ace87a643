"""Property-based fuzzing of the loaders: any text gives a valid model or diagnostics, never a traceback."""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kvmstate.config import load
from kvmstate.diagnostics import DiagnosticError
from kvmstate.provider import Registry

REGISTRY = Registry.discover()
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
YAML_SEED = (EXAMPLES / "basic" / "main.yaml").read_text()
HCL_SEED = (EXAMPLES / "basic-hcl" / "main.hcl").read_text()
FUZZ = settings(max_examples=int(__import__("os").environ.get("KVMSTATE_FUZZ_EXAMPLES", "300")), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                        HealthCheck.too_slow])


def load_text(folder: Path, name: str, text: str) -> None:
    for old in folder.iterdir():
        old.unlink()
    (folder / name).write_text(text, encoding="utf-8", errors="surrogatepass")
    try:
        load(folder, REGISTRY)
    except DiagnosticError as exc:
        assert exc.diagnostics and all(d.summary and d.position for d in exc.diagnostics)


def mutate(seed: str):
    """The seed with a slice replaced by other text: near-valid files reach deep into the validator."""
    return st.tuples(st.integers(0, len(seed)), st.integers(0, 40), st.text(max_size=30)).map(
        lambda t: seed[:t[0]] + t[2] + seed[t[0] + t[1]:])


@FUZZ
@given(text=st.one_of(mutate(YAML_SEED), st.text(max_size=200)))
def test_yaml_never_crashes(tmp_path_factory, text: str) -> None:
    load_text(tmp_path_factory.mktemp("y", numbered=True), "main.yaml", text)


@FUZZ
@given(text=st.one_of(mutate(HCL_SEED), st.text(max_size=200)))
def test_hcl_never_crashes(tmp_path_factory, text: str) -> None:
    load_text(tmp_path_factory.mktemp("h", numbered=True), "main.hcl", text)


values = st.recursive(st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False),
                                st.text(max_size=20)),
                      lambda inner: st.one_of(st.lists(inner, max_size=3),
                                              st.dictionaries(st.text(max_size=10), inner, max_size=3)), max_leaves=8)


@FUZZ
@given(section=st.sampled_from(["networks", "pools", "volumes", "domains"]),
       attrs=st.dictionaries(st.sampled_from(["mode", "bridge", "ipv4", "dhcp", "path", "pool", "capacity",
                                              "format", "memory", "vcpu", "disks", "interfaces", "power",
                                              "lifecycle", "depends_on", "machine"]), values, max_size=5))
def test_structured_yaml_values_never_crash(tmp_path_factory, section: str, attrs: dict) -> None:
    from ruamel.yaml import YAML
    import io
    buf = io.StringIO()
    YAML(typ="safe", pure=True).dump({section: {"x": attrs}}, buf)
    load_text(tmp_path_factory.mktemp("s", numbered=True), "main.yaml", buf.getvalue())
