"""A private Postfix (Debian's package) for tests and the benchmark: started, read, stopped.

Not the system's mail server: an instance of its own under a temporary directory
(config_directory, queue_directory, data_directory, its log file), listening on a free port of
127.0.0.1 only, accepting mail for every domain and delivering it to ONE Maildir there (the
`virtual` delivery agent, with the postfix account's uid), so a test reads exactly what a
mailbox would hold: Postfix's own Received and Return-Path lines on top of what we sent.
Nothing can leave the machine: the default transport is an error, and no domain is relayed.

Postfix's master must start as root (it then runs as the `postfix` account that Debian's
package creates). `unavailable()` says why an instance cannot start here, for a clear skip.
"""

from __future__ import annotations

import contextlib
import grp
import mailbox
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path

POSTFIX = Path("/usr/sbin/postfix")
#: Mail to <this>@any.domain is refused at RCPT with 550 (a mailbox that does not exist).
REFUSED_LOCAL_PART = "inconnu"
#: The services this instance runs (master.cf), none chrooted; the smtpd line gets the port.
SERVICES = """\
pickup    unix  n - n 60    1 pickup
cleanup   unix  n - n -     0 cleanup
qmgr      unix  n - n 300   1 qmgr
rewrite   unix  - - n -     - trivial-rewrite
bounce    unix  - - n -     0 bounce
defer     unix  - - n -     0 bounce
trace     unix  - - n -     0 bounce
verify    unix  - - n -     1 verify
flush     unix  n - n 1000? 0 flush
proxymap  unix  - - n -     - proxymap
showq     unix  n - n -     - showq
error     unix  - - n -     - error
retry     unix  - - n -     - error
discard   unix  - - n -     - discard
virtual   unix  - n n -     - virtual
anvil     unix  - - n -     1 anvil
scache    unix  - - n -     1 scache
postlog   unix-dgram n - n - 1 postlogd
"""


def unavailable() -> str | None:
    """Return why a private Postfix cannot run here, or None when it can."""
    if not POSTFIX.exists():
        return "Postfix is not installed: apt-get install -y postfix (Debian's package)"
    if os.geteuid() != 0:
        return "Postfix's master must start as root to run its own instance"
    try:
        pwd.getpwnam("postfix")
    except KeyError:
        return "the postfix account is missing (Debian's package creates it)"
    return None


def _free_port() -> int:
    """Return a TCP port free on loopback right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Postfix:
    """One private Postfix instance under a directory of its own (made in /tmp when not given).

    The postfix account must reach its directories: they are made under /tmp (pytest's
    tmp_path sits in folders only root may enter), readable by all, holding nothing secret.
    """

    def __init__(self, root: Path | None = None, port: int | None = None) -> None:
        self.root = Path(root or tempfile.mkdtemp(prefix="irev-postfix-"))
        self.root.chmod(0o755)
        self.port = port or _free_port()
        self.config = self.root / "etc"
        self.queue = self.root / "queue"
        self.data = self.root / "data"
        self.mail_root = self.root / "mail"
        self.maildir = self.mail_root / "inbox"
        self.log_path = self.root / "maillog"

    def write_config(self) -> None:
        """Write main.cf and master.cf, and make the directories Postfix wants."""
        account = pwd.getpwnam("postfix")
        group = grp.getgrnam("postfix")
        for directory in (self.config, self.queue, self.data, self.mail_root):
            directory.mkdir(parents=True, exist_ok=True)
        for directory in (self.data, self.mail_root):
            os.chown(directory, account.pw_uid, group.gr_gid)
        (self.config / "domains").write_text("/./ OK\n")
        # An address that Postfix refuses at RCPT, as a real mailbox provider would.
        (self.config / "refused").write_text(f"/^{REFUSED_LOCAL_PART}@/ 550 5.1.1 No such user\n")
        refused = self.config / "refused"
        settings = {
            "compatibility_level": "3.6",
            "config_directory": self.config,
            "queue_directory": self.queue,
            "data_directory": self.data,
            "maillog_file": self.log_path,
            "maillog_file_prefixes": self.root,
            "inet_interfaces": "loopback-only",
            "inet_protocols": "ipv4",
            "myhostname": "mx.postfix.test",
            "mydomain": "postfix.test",
            "myorigin": "postfix.test",
            "mydestination": "",
            "mynetworks": "127.0.0.0/8",
            "alias_maps": "",
            "alias_database": "",
            "relayhost": "",
            # Every domain is delivered here, into one Maildir: nothing leaves the machine.
            "virtual_mailbox_domains": f"regexp:{self.config / 'domains'}",
            "virtual_mailbox_base": self.mail_root,
            "virtual_mailbox_maps": "static:inbox/",
            "virtual_uid_maps": f"static:{account.pw_uid}",
            "virtual_gid_maps": f"static:{group.gr_gid}",
            "virtual_mailbox_limit": "0",
            "message_size_limit": "20480000",
            "default_transport": "error:no delivery outside the test instance",
            "smtpd_relay_restrictions": "permit_mynetworks, reject_unauth_destination",
            "smtpd_recipient_restrictions": f"check_recipient_access regexp:{refused}",
            "smtputf8_enable": "yes",
            "biff": "no",
        }
        (self.config / "main.cf").write_text(
            "".join(f"{name} = {value}\n" for name, value in settings.items())
        )
        smtpd = f"127.0.0.1:{self.port} inet n - n - - smtpd\n"
        (self.config / "master.cf").write_text(SERVICES + smtpd)

    def _postfix(self, *command: str) -> subprocess.CompletedProcess:
        """Run the postfix command on this instance's configuration."""
        return subprocess.run(
            [str(POSTFIX), "-c", str(self.config), *command],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    def start(self, timeout: float = 30) -> None:
        """Start the instance and wait until its SMTP port answers."""
        self.write_config()
        for step in ("check", "start"):
            done = self._postfix(step)
            if done.returncode:
                raise RuntimeError(f"postfix {step} failed: {done.stderr}{self.log()}")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"Postfix did not answer on 127.0.0.1:{self.port}:\n{self.log()}")

    def stop(self, timeout: float = 30) -> None:
        """Stop the instance (its master and every service) and wait until it is gone."""
        pid_file = self.queue / "pid" / "master.pid"
        pid = int(pid_file.read_text().split()[0]) if pid_file.exists() else None
        self._postfix("stop")
        deadline = time.monotonic() + timeout
        while pid and time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.1)
        if pid:
            self._postfix("abort")

    def log(self) -> str:
        """Return the instance's log (Postfix's own lines: what it received and delivered)."""
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def raw_messages(self) -> list[bytes]:
        """Return every delivered message as the mailbox holds it (bytes), oldest first."""
        if not (self.maildir / "new").is_dir():
            return []
        box = mailbox.Maildir(self.maildir, factory=None, create=False)
        found = []
        for key in box.iterkeys():
            path = self.maildir / ("new" if (self.maildir / "new" / key).exists() else "cur") / key
            found.append((path.stat().st_mtime_ns, key, path.read_bytes()))
        return [raw for _, _, raw in sorted(found)]

    def messages(self) -> list[EmailMessage]:
        """Return every delivered message, parsed."""
        parser = BytesParser(policy=policy.default)
        return [parser.parsebytes(raw) for raw in self.raw_messages()]

    def wait_for(self, count: int, timeout: float = 60) -> list[EmailMessage]:
        """Wait until `count` messages are delivered; return them (fail with the log if not)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(self.raw_messages()) >= count:
                return self.messages()
            time.sleep(0.1)
        raise AssertionError(
            f"Postfix delivered {len(self.raw_messages())} of {count} messages:\n{self.log()}"
        )

    def clear(self) -> None:
        """Empty the mailbox."""
        for folder in ("new", "cur"):
            for path in (self.maildir / folder).glob("*"):
                path.unlink()

    def queue_is_empty(self) -> bool:
        """Return True when nothing waits in the queue (no deferred or bounced message)."""
        for folder in ("incoming", "active", "deferred", "hold", "maildrop"):
            if any(p.is_file() for p in (self.queue / folder).rglob("*")):
                return False
        return True


@contextlib.contextmanager
def running(root: Path | None = None, port: int | None = None) -> Iterator[Postfix]:
    """Run a private Postfix until the block ends, then stop it and remove its directory."""
    instance = Postfix(root, port)
    try:
        instance.start()
        yield instance
    finally:
        try:
            instance.stop()
        finally:
            shutil.rmtree(instance.root, ignore_errors=True)
