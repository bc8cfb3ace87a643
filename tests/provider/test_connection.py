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


def test_a_host_that_does_not_answer_fails_fast_and_stays_failed(tmp_path):
    """A socket that accepts but never answers (a hung daemon, an ssh waiting for a prompt): the connection
    gives up after connect_timeout, names the host and URI, and later calls fail at once."""
    import socket
    import time
    from kvmstate.provider import HostUnreachable
    path = tmp_path / "silent.sock"
    silent = socket.socket(socket.AF_UNIX)
    silent.bind(str(path))
    silent.listen(8)
    try:
        p = LibvirtProvider()
        uri = f"qemu+unix:///system?socket={path}"
        p.configure({"slow": uri, "ok": "test:///default"}, {"connect_timeout": 0.5})
        p.connect(["slow", "ok"])
        started = time.monotonic()
        with pytest.raises(HostUnreachable, match=r"cannot connect to host slow \(.*silent.sock\): no answer "
                                                   r"within 0.5 seconds") as info:
            p.read("slow", ["network"])
        assert time.monotonic() - started < 3 and info.value.host == "slow" and info.value.uri == uri
        assert [o.name for o in p.read("ok", ["network"])] == ["default"]      # the other host is not held up
        started = time.monotonic()
        with pytest.raises(HostUnreachable):
            p.read("slow", ["network"])
        assert time.monotonic() - started < 0.2
        p.close()
    finally:
        silent.close()


def test_reconfiguring_keeps_open_connections_of_unchanged_hosts(uri):
    p = LibvirtProvider()
    p.configure({"a": uri}, {})
    first = p.connections.get("a")
    p.configure({"a": uri, "b": uri}, {})
    assert p.connections.get("a") is first and p.connections.get("b") is not first
    p.configure({"a": "test:///default", "b": uri}, {})
    assert p.connections.get("a") is not first
    p.close()


@pytest.mark.parametrize("text, hint", [
    ("Cannot recv data: Host key verification failed.: Connection reset by peer", "ssh does not know"),
    ("Cannot recv data: root@127.0.0.1: Permission denied (publickey).: Connection reset by peer",
     "check that `ssh HOST` works"),
    ("Cannot recv data: ssh: Could not resolve hostname kvm3: Name or service not known", "check that `ssh HOST`"),
])
def test_ssh_connect_hints(text, hint):
    assert connect_hint(FakeError(libvirt.VIR_ERR_SYSTEM_ERROR, text)).startswith(hint)


@pytest.mark.parametrize("uri, given", [
    ("qemu+ssh://root@kvm1/system", "qemu+ssh://root@kvm1/system?no_tty=1"),
    ("qemu+ssh://kvm1/system?keyfile=/k", "qemu+ssh://kvm1/system?keyfile=/k&no_tty=1"),
    ("qemu+ssh://kvm1/system?no_tty=0", "qemu+ssh://kvm1/system?no_tty=0"),
    ("qemu+libssh://kvm1/system", "qemu+libssh://kvm1/system"),
    ("qemu:///system", "qemu:///system"),
])
def test_ssh_never_prompts_unless_asked_to(uri, given):
    from kvmstate_libvirt.connection import non_interactive
    assert non_interactive(uri) == given
