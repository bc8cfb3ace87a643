"""What a domain's devices need from the host, read from domain capabilities: plan-time problems and doctor lines."""

import xml.etree.ElementTree as ET

import pytest

from kvmstate_libvirt import capabilities, features
from kvmstate_libvirt.schema import Domain

WITHOUT = """<domainCapabilities><os><loader supported='yes'><value>/usr/share/OVMF/OVMF_CODE_4M.fd</value>
  <enum name='secure'><value>no</value></enum></loader></os>
  <devices><tpm supported='no'/><filesystem supported='yes'><enum name='driverType'><value>path</value></enum>
  </filesystem></devices></domainCapabilities>"""
WITH = """<domainCapabilities><os><loader supported='yes'><enum name='secure'><value>yes</value><value>no</value>
  </enum></loader></os><devices><tpm supported='yes'><enum name='backendModel'><value>passthrough</value>
  <value>emulator</value></enum></tpm><filesystem supported='yes'><enum name='driverType'><value>path</value>
  <value>virtiofs</value></enum></filesystem></devices></domainCapabilities>"""
SPEC = Domain(type="qemu", machine="q35", firmware="uefi", secure_boot=True, tpm={}, filesystems=[
    {"source": "/srv/share", "target": "share"}])


@pytest.fixture
def caps(monkeypatch):
    def use(xml):
        monkeypatch.setattr(capabilities, "domain_types", lambda host: ["qemu", "kvm"])
        monkeypatch.setattr(capabilities, "domain_caps", lambda host, t, m: ET.fromstring(xml))
        monkeypatch.setattr(capabilities, "lib_version", lambda host: 9_000_000)
    return use


class FakeHost:
    name = "h1"


def test_missing_helpers_are_plan_time_problems_that_say_what_to_install(caps):
    caps(WITHOUT)
    problems = {p.path: p.message for p in features.check(FakeHost(), SPEC)}
    assert set(problems) == {"tpm", "filesystems", "secure_boot"}
    assert "swtpm swtpm-tools" in problems["tpm"] and "virtiofsd" in problems["filesystems"]
    assert [c.ok for c in features.doctor_checks(FakeHost())] == [False, False, False]


def test_present_helpers_pass(caps):
    caps(WITH)
    assert features.check(FakeHost(), SPEC) == []
    assert [c.ok for c in features.doctor_checks(FakeHost())] == [True, True, True]


def test_a_domain_without_those_devices_asks_nothing(caps, monkeypatch):
    monkeypatch.setattr(capabilities, "domain_types", lambda host: ["qemu"])
    monkeypatch.setattr(capabilities, "domain_caps", lambda *a: pytest.fail("asked"))
    monkeypatch.setattr(capabilities, "lib_version", lambda host: 9_000_000)
    assert features.check(FakeHost(), Domain(type="qemu")) == []


@pytest.mark.parametrize("version,refused", [(9_000_000, True), (9_001_000, False)])
def test_a_device_model_newer_than_the_hosts_libvirt_is_refused_at_plan_time(caps, monkeypatch, version, refused):
    """libvirt 9.0 accepted the plan's itco watchdog only to refuse it when defining the domain."""
    caps(WITH)
    monkeypatch.setattr(capabilities, "lib_version", lambda host: version)
    problems = features.check(FakeHost(), Domain(type="qemu", machine="q35", watchdog={"model": "itco"}))
    assert [(p.path, "libvirt 9.0.0" in p.message and "9.1.0 or later" in p.message) for p in problems] == \
        ([("watchdog.model", True)] if refused else [])
