"""Several private libvirtds for multi-host tests, and an sshd in front of one of them.

Each daemon is scripts/private-libvirtd run once more (nested in the test's own namespaces), with its temp
folder under one shared folder; its UNIX socket is reached through
`qemu+unix:///system?socket=<folder>/run/libvirt-sock`. The command it runs next to the daemon waits on a
FIFO: writing to it ends the command, and with it the daemon's namespaces and every process in them.

The sshd listens on 127.0.0.1 (the test's network namespace) on a non-default port, with its own host key,
in a mount namespace where /run/libvirt is one daemon's run folder: `qemu+ssh://HOST/system` there reaches
that daemon through virt-ssh-helper, as on a real host. The client side is a private ~/.ssh (config entry
with the port, user key, known_hosts with the host key, BatchMode) bind-mounted over ~/.ssh only in the
mount namespace of each kvmstate command the tests run, so the machine's own ~/.ssh is never read or changed.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SSH_ALIAS = "kvm-ssh"


class Daemon:
    """One private libvirtd, started in the background."""

    def __init__(self, name: str, base: Path):
        self.name = name
        self.base = base / name
        self.base.mkdir(parents=True)
        script = ("mkfifo /run/libvirt/kvmstate-stop && touch /run/libvirt/kvmstate-ready && "
                  "cat /run/libvirt/kvmstate-stop >/dev/null")
        self.process = subprocess.Popen([str(ROOT / "scripts" / "private-libvirtd"), "sh", "-c", script],
                                        env={**os.environ, "TMPDIR": str(self.base)}, stdin=subprocess.DEVNULL,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        self.run_dir: Path | None = None

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while True:
            ready = list(self.base.glob("kvmstate-libvirtd.*/run/kvmstate-ready"))
            if ready:
                self.run_dir = ready[0].parent
                return
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"private libvirtd {self.name} did not start: {self.process.communicate()[1]}")
            time.sleep(0.1)

    @property
    def uri(self) -> str:
        return f"qemu+unix:///system?socket={self.run_dir}/libvirt-sock"

    def stop(self) -> None:
        """End the command next to the daemon: its namespaces, with the daemon, go away."""
        if self.process.poll() is None and self.run_dir is not None:
            with open(self.run_dir / "kvmstate-stop", "w") as fifo:
                fifo.write("stop\n")
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()             # the outer script, started here; its namespace then ends
            self.process.wait()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Sshd:
    """An sshd on 127.0.0.1:port whose sessions see `daemon`'s /run/libvirt, and the ~/.ssh that reaches it."""

    def __init__(self, daemon: Daemon, base: Path):
        self.dir = base / "sshd"
        self.home_ssh = base / "home" / ".ssh"
        self.dir.mkdir()
        self.home_ssh.mkdir(mode=0o700, parents=True)
        self.port = free_port()
        keygen = ["ssh-keygen", "-q", "-t", "ed25519", "-N", ""]
        subprocess.run([*keygen, "-f", str(self.dir / "host_key")], check=True)
        subprocess.run([*keygen, "-f", str(self.home_ssh / "id_ed25519")], check=True)
        shutil.copy(self.home_ssh / "id_ed25519.pub", self.dir / "authorized_keys")
        host_key = (self.dir / "host_key.pub").read_text().split()[:2]
        (self.home_ssh / "known_hosts").write_text(f"[127.0.0.1]:{self.port} {' '.join(host_key)}\n")
        (self.home_ssh / "config").write_text(
            f"Host {SSH_ALIAS}\n  HostName 127.0.0.1\n  Port {self.port}\n  User root\n"
            "  IdentityFile ~/.ssh/id_ed25519\n  IdentitiesOnly yes\n"
            "  UserKnownHostsFile ~/.ssh/known_hosts\n  StrictHostKeyChecking yes\n  BatchMode yes\n"
            "  ConnectTimeout 10\n")
        for f in self.home_ssh.iterdir():
            f.chmod(0o600)
        (self.dir / "sshd_config").write_text(
            f"Port {self.port}\nListenAddress 127.0.0.1\nHostKey {self.dir / 'host_key'}\nPidFile none\n"
            f"AuthorizedKeysFile {self.dir / 'authorized_keys'}\nPermitRootLogin prohibit-password\n"
            "PasswordAuthentication no\nKbdInteractiveAuthentication no\nUsePAM no\nStrictModes no\n"
            "PrintMotd no\n")
        # A mount namespace with a private /run: sshd's privilege-separation folder, and the daemon's
        # run folder as /run/libvirt.
        inner = (f"mount -t tmpfs tmpfs /run && mkdir -p /run/sshd /run/libvirt && "
                 f"mount --bind {daemon.run_dir} /run/libvirt && exec /usr/sbin/sshd -D -e -f {self.dir / 'sshd_config'}")
        self.process = subprocess.Popen(["unshare", "--mount", "--propagation", "private", "sh", "-c", inner],
                                        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                        stderr=open(self.dir / "sshd.log", "w"))
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"sshd did not start: {(self.dir / 'sshd.log').read_text()}")
                time.sleep(0.1)

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)

    def wrap(self, command: list[str]) -> list[str]:
        """`command` in a mount namespace where ~/.ssh (of the passwd entry, which ssh reads) is this test's
        folder. A machine without ~/.ssh gets an empty one as the mount point, as ssh itself would make."""
        dot_ssh = Path(pwd.getpwuid(os.getuid()).pw_dir) / ".ssh"
        mount = f"mkdir -p -m 700 {dot_ssh} && mount --bind {self.home_ssh} {dot_ssh}"
        return ["unshare", "--mount", "--propagation", "private", "sh", "-c", f'{mount} && exec "$@"', "sh", *command]


def start(names: list[str]) -> tuple[Path, dict[str, Daemon]]:
    """Start the daemons in parallel (a short shared folder: UNIX socket paths are limited to 107 bytes)."""
    base = Path(tempfile.mkdtemp(prefix="ksh-", dir="/tmp"))
    daemons = {name: Daemon(name, base) for name in names}
    for daemon in daemons.values():
        daemon.wait_ready()
    return base, daemons


KVMSTATE = [sys.executable, "-m", "kvmstate"]
