"""Separate "hosts" on one machine: a network namespace each, on a private LAN, with temporary folders of their own.

A `Lan` is a Linux bridge in the root namespace with the address .1 of a /24 in 10.213.0.0/16 (the
servers' machine: Redis, MariaDB and the S3 endpoint listen there and nowhere else) and one network
namespace per host, each joined to the bridge by a veth pair and given .2, .3, ... A host reaches
nothing but the LAN: its loopback is its own, so the servers on the machine's 127.0.0.1 are out of
reach. `Host.wrap` runs a command in its namespace and in a mount namespace of its own, with an empty
tmpfs over each private folder, so that what one host writes there no other host (nor the test) sees.

Every namespace and link is named after the process that made it (`cfn<pid>`), so a run removes what
a crashed earlier run left behind, and never what another live run is using. Needs root and iproute2.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import re
import shlex
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

#: Prefix of every namespace and link made here; the owner's pid follows it.
PREFIX = "cfn"
#: The LANs are /24s in here; each run takes one that no interface or route uses.
SUPERNET = ipaddress.ip_network("10.213.0.0/16")
_OWNED = re.compile(rf"{PREFIX}(\d+)")


def unavailable() -> str | None:
    """Why this machine cannot make hosts (not root, a tool missing), or None when it can."""
    if os.geteuid() != 0:
        return "network namespaces need root"
    missing = [tool for tool in ("ip", "unshare", "mount") if shutil.which(tool) is None]
    return f"{', '.join(missing)} not on PATH" if missing else None


def ip(*args: str) -> str:
    """Run `ip <args>`; its output (CalledProcessError with ip's message when it fails)."""
    return subprocess.run(["ip", *args], check=True, capture_output=True, text=True, timeout=30).stdout


@dataclass(frozen=True)
class Host:
    """One "machine": a network namespace with an address on the LAN."""

    name: str
    netns: str
    address: str

    def wrap(self, private: Sequence[Path], keep: Path | None = None) -> list[str]:
        """An argv prefix that runs a command on this host, with an empty tmpfs over each of the `private` folders.

        HOME moves into the first of them, so what a program keeps in it (gunicorn's control socket, caches)
        stays on the host too. `keep` (the checkout the hosts run) stays visible when a private folder holds it
        (a clone under /tmp): it is bound aside on /mnt, the folders above it are emptied, and it is moved back.
        """
        def tmpfs(path: Path) -> str:
            return f"mount -t tmpfs -o mode=1777 {self.netns} {shlex.quote(str(path))}"

        above = [path for path in private if keep is not None and keep.is_relative_to(path)]
        mounts = [tmpfs(path) for path in above]
        if above:
            kept = shlex.quote(str(keep))
            mounts = [f"mount --bind {kept} /mnt", *mounts, f"mkdir -p {kept}", f"mount --move /mnt {kept}"]
        mounts += [tmpfs(path) for path in private if path not in above]
        home = shlex.quote(str(private[0] / "home"))
        script = " && ".join([*mounts, f"mkdir {home}", f'HOME={home} exec "$@"'])
        return ["ip", "netns", "exec", self.netns, "unshare", "--mount", "--propagation", "private", "--",
                "sh", "-c", script, self.name]


class Lan:
    """A bridge with the servers' address and one network namespace per host; `remove` takes all of it down.

    Its names are the process's, so a process has one LAN at a time.
    """

    def __init__(self, names: Sequence[str]) -> None:
        self.tag = f"{PREFIX}{os.getpid()}"
        self.names = tuple(names)
        self.network: ipaddress.IPv4Network | None = None
        self.hosts: dict[str, Host] = {}

    @property
    def server_address(self) -> str:
        """The address the servers listen on (the bridge's, in the root namespace)."""
        return str(self.network[1])

    def create(self) -> None:
        """Make the bridge and the hosts (after removing what dead runs left); `remove` undoes a partial one."""
        remove_leftovers()
        self.network = free_network()
        ip("link", "add", self.tag, "type", "bridge")
        ip("addr", "add", f"{self.server_address}/24", "dev", self.tag)
        ip("link", "set", self.tag, "up")
        for number, name in enumerate(self.names, start=2):
            host = Host(name, f"{self.tag}-{name}", str(self.network[number]))
            ip("netns", "add", host.netns)
            self.hosts[name] = host
            cable = f"{self.tag}-{number}"
            ip("link", "add", cable, "type", "veth", "peer", "name", "eth0", "netns", host.netns)
            ip("link", "set", cable, "master", self.tag, "up")
            ip("-n", host.netns, "addr", "add", f"{host.address}/24", "dev", "eth0")
            ip("-n", host.netns, "link", "set", "eth0", "up")
            ip("-n", host.netns, "link", "set", "lo", "up")

    def remove(self) -> None:
        """Delete the namespaces (their veth pairs go with them) and the bridge; safe on a partial LAN."""
        remove_owned(self.tag)


def remove_owned(tag: str) -> None:
    """Delete every namespace and link whose name starts with `tag`."""
    for netns in ip("netns", "list").split():
        if netns.startswith(f"{tag}-"):
            with contextlib.suppress(subprocess.CalledProcessError):
                ip("netns", "delete", netns)
    for link in links():
        if link == tag or link.startswith(f"{tag}-"):
            with contextlib.suppress(subprocess.CalledProcessError):
                ip("link", "delete", link)


def remove_leftovers() -> None:
    """Remove the namespaces and links of runs whose process is gone (a run that crashed or was killed)."""
    names = [*ip("netns", "list").split(), *links()]
    for pid in {int(match.group(1)) for name in names if (match := _OWNED.match(name))}:
        if not Path(f"/proc/{pid}").exists():
            remove_owned(f"{PREFIX}{pid}")


def free_network() -> ipaddress.IPv4Network:
    """A /24 of SUPERNET that no address or route of the root namespace touches.

    The search starts at one that depends on the pid, so that two runs starting at once rarely pick the same.
    """
    used = ip("-4", "addr").split() + ip("-4", "route").split()
    taken = [ipaddress.ip_network(word, strict=False) for word in used
             if re.fullmatch(r"\d+\.\d+\.\d+\.\d+(/\d+)?", word)]
    candidates = list(SUPERNET.subnets(new_prefix=24))
    start = os.getpid() % len(candidates)
    for network in candidates[start:] + candidates[:start]:
        if not any(network.overlaps(other) for other in taken if other.prefixlen >= SUPERNET.prefixlen):
            return network
    raise RuntimeError(f"every /24 of {SUPERNET} is in use")


def links() -> list[str]:
    """Names of the root namespace's network interfaces (without the `@peer` suffix)."""
    return [line.split()[0].split("@")[0] for line in ip("-br", "link").splitlines() if line.strip()]
