"""Connections: lazy, cached per host, and failures as one-line ProviderErrors with a hint."""

import libvirt
import pytest

from kvmstate.provider import ProviderError
from kvmstate_libvirt import LibvirtProvider
from kvmstate_libvirt.errors import connect_hint

from provider_helpers import desired, request


def test_connections_are_lazy_and_cached_per_host(uri):
    p = LibvirtProvider()
    p.configure({"a": uri, "b": "qemu+unix:///system?socket=/nonexistent/kvmstate.sock"}, {})
    assert p.read("a", ["network"]) == []       # b is never opened
    assert p.connections.get("a") is p.connections.get("a")
    assert p.connections.get("a").shutdown_timeout == 60
    p.close()


def test_unknown_host():
    p = LibvirtProvider()
    p.configure({"a": "test:///default"}, {})
    with pytest.raises(ProviderError, match=r"unknown host 'zz'; configured hosts: a"):
        p.read("zz", ["domain"])


def test_daemon_down_gives_cause_and_hint():
    p = LibvirtProvider()
    p.configure({"h": "qemu+unix:///system?socket=/nonexistent/kvmstate.sock"}, {})
    with pytest.raises(ProviderError) as info:
        p.read("h", ["domain"])
    text = str(info.value)
    assert "\n" not in text
    assert text.startswith("cannot connect to host h (qemu+unix:///system?socket=/nonexistent/kvmstate.sock): ")
    assert "No such file or directory" in text
    assert text.endswith("is libvirtd running? start it with `libvirtd -d`")


class FakeError(libvirt.libvirtError):
    def __init__(self, code, text):
        Exception.__init__(self, text)
        self.err = (code, 0, text, 2, "", None, None, 0, 0)


@pytest.mark.parametrize("code, text, hint", [
    (libvirt.VIR_ERR_SYSTEM_ERROR, "Failed to connect socket to '/run/libvirt/libvirt-sock': Permission denied",
     "permission denied"),
    (libvirt.VIR_ERR_AUTH_FAILED, "authentication failed: access denied", "permission denied"),
    (libvirt.VIR_ERR_NO_CONNECT, "no connection driver available for foo:///bar", "check the URI"),
    (libvirt.VIR_ERR_SYSTEM_ERROR, "Failed to connect socket to '/run/libvirt/libvirt-sock': Connection refused",
     "is libvirtd running?"),
])
def test_connect_hints(code, text, hint):
    assert connect_hint(FakeError(code, text)).startswith(hint)


def test_libvirt_errors_name_the_action(provider, conn):
    conn.networkDefineXML("<network><name>taken</name></network>")
    with pytest.raises(ProviderError, match=r"^defining network taken: .*taken"):
        provider.create(request("network", "taken", desired("network", mode="isolated")))
