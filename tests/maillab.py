"""A private Dovecot and Postfix on loopback ports, started and stopped by the tests.

Dovecot serves IMAP (with the ACL plugin and a master user), LMTP and ManageSieve;
Postfix accepts SMTP, checks senders against an access map heron writes, and hands
mail to Dovecot over LMTP. Everything lives in a temporary folder: nothing under
/etc is read or changed. Both daemons need root (they drop to ``nobody`` for mail).

A machine without the Debian packages (dovecot-imapd, dovecot-lmtpd,
dovecot-managesieved, dovecot-sieve, postfix) skips these tests with the reason;
under CI that is a failure, since ``.ci/run`` installs them.
"""

from __future__ import annotations

import os
import shutil
import signal
import smtplib
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

DOMAIN = "example.test"
MASTER = "heron-admin"
MASTER_PASSWORD = "master-s3cret"
PASSWORD = "user-s3cret"
NOBODY = 65534


def missing_reason() -> str:
    """Why the lab cannot run here, or ""."""
    if os.geteuid() != 0:
        return "the mail lab starts Dovecot and Postfix, which needs root"
    for tool in ("dovecot", "doveadm", "postfix", "postmap"):
        if shutil.which(tool) is None and not Path(f"/usr/sbin/{tool}").exists():
            return (
                f"{tool} is not installed (apt-get install dovecot-imapd "
                "dovecot-lmtpd dovecot-managesieved dovecot-sieve postfix)"
            )
    if not Path("/usr/lib/dovecot/modules/lib01_acl_plugin.so").exists():
        return "Dovecot's ACL plugin is missing"
    if not Path("/usr/lib/dovecot/modules/lib90_sieve_plugin.so").exists():
        return "Dovecot's Sieve plugin is missing (apt-get install dovecot-sieve)"
    return ""


def require_lab() -> None:
    reason = missing_reason()
    if reason:
        if os.environ.get("CI"):
            pytest.fail(f"CI is set, so the mail lab must run: {reason}")
        pytest.skip(reason)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_for_port(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"daemon exited with {process.returncode}: {_tail(log)}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listens on {port} after 20 s: {_tail(log)}")


def _open_path(root: Path) -> None:
    """Let the daemons' unprivileged users through the folder and the temporary
    folders above it (``mkdtemp`` and pytest make folders only root may enter)."""
    top = Path(tempfile.gettempdir()).resolve()
    folder = root.resolve()
    while folder != top and top in folder.parents:
        os.chmod(folder, folder.stat().st_mode | 0o755)
        folder = folder.parent


def _tail(path: Path) -> str:
    try:
        return path.read_text(errors="replace")[-2000:]
    except OSError:
        return "(no log)"


@dataclass
class Dovecot:
    """One Dovecot instance with the users given to ``start``."""

    root: Path
    users: list[str]
    imap_port: int = field(default_factory=free_port)
    sieve_port: int = field(default_factory=free_port)
    lmtp_port: int = field(default_factory=free_port)
    imaps_port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def certificate(self) -> Path:
        """The server's self-signed certificate, made at start: a client that is
        given it as its CA file can check the server (for 127.0.0.1 and localhost)."""
        return self.root / "tls" / "cert.pem"

    @property
    def config(self) -> Path:
        return self.root / "dovecot.conf"

    @property
    def mail_root(self) -> Path:
        return self.root / "mail"

    def start(self) -> None:
        for sub in ("run", "state", "mail"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        os.chown(self.mail_root, NOBODY, NOBODY)
        _open_path(self.root)
        self.write_users(self.users)
        (self.root / "masters").write_text(f"{MASTER}:{{PLAIN}}{MASTER_PASSWORD}\n")
        os.chmod(self.root / "masters", 0o644)
        sendmail = self.root / "fake-sendmail.sh"
        sendmail.write_text(
            "#!/bin/sh\n"
            f'{{ echo "=== sendmail args: $*"; cat; }} >> {self.root}/redirected.mbox\n'
        )
        sendmail.chmod(0o755)
        redirected = self.root / "redirected.mbox"
        redirected.touch()
        redirected.chmod(0o666)
        self._make_certificate()
        self.config.write_text(self._config_text())
        check = subprocess.run(
            ["dovecot", "-c", str(self.config), "-n"], capture_output=True, text=True
        )
        if check.returncode != 0:
            raise RuntimeError(f"dovecot configuration refused: {check.stderr}")
        self.process = subprocess.Popen(
            ["dovecot", "-c", str(self.config), "-F"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for port in (self.imap_port, self.sieve_port, self.lmtp_port, self.imaps_port):
            _wait_for_port(port, self.process, self.root / "dovecot.log")

    def _make_certificate(self) -> None:
        folder = self.certificate.parent
        folder.mkdir(exist_ok=True)
        subprocess.run(
            [
                "openssl",
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-days",
                "2",
                "-subj",
                "/CN=localhost",
                "-addext",
                "subjectAltName=IP:127.0.0.1,DNS:localhost",
                "-keyout",
                str(folder / "key.pem"),
                "-out",
                str(self.certificate),
            ],
            check=True,
            capture_output=True,
        )

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def write_users(self, users: list[str]) -> None:
        self.users = list(users)
        path = self.root / "users"
        path.write_text("".join(f"{u}:{{PLAIN}}{PASSWORD}::::::\n" for u in users))
        os.chmod(path, 0o644)

    def deliver(self, raw: bytes, sender: str, recipients: list[str]) -> None:
        """Deliver one message over LMTP, so that each user's Sieve script runs.

        One transaction per recipient: LMTP answers each recipient after DATA, and
        smtplib reads only the first answer."""
        with smtplib.LMTP("127.0.0.1", self.lmtp_port) as lmtp:
            for recipient in recipients:
                for attempt in range(5):
                    try:
                        lmtp.sendmail(sender, [recipient], raw)
                        break
                    except smtplib.SMTPDataError as exc:
                        # A loaded machine can make Dovecot answer 451 for a
                        # moment; a delivery agent tries again, and so does this.
                        if exc.smtp_code // 100 != 4 or attempt == 4:
                            raise
                        time.sleep(0.5 * (attempt + 1))

    def doveadm(self, *args: str) -> str:
        done = subprocess.run(
            ["doveadm", "-c", str(self.config), *args],
            capture_output=True,
            text=True,
            check=True,
        )
        return done.stdout

    def _config_text(self) -> str:
        lab = self.root
        return f"""\
base_dir = {lab}/run
state_dir = {lab}/state
log_path = {lab}/dovecot.log
instance_name = heronlab-{self.imap_port}
protocols = imap lmtp sieve
listen = 127.0.0.1
# TLS is offered (IMAPS, and STARTTLS for IMAP and ManageSieve) but not required.
ssl = yes
ssl_cert = <{self.certificate}
ssl_key = <{self.certificate.parent / "key.pem"}
{"ssl_dh = </usr/share/dovecot/dh.pem" if Path("/usr/share/dovecot/dh.pem").exists() else ""}
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_master_user_separator = *
first_valid_uid = 1000
mail_location = maildir:~/Maildir
mail_uid = {NOBODY}
mail_gid = {NOBODY}
mail_plugins = $mail_plugins acl

passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {lab}/masters
  master = yes
  result_success = continue
}}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {lab}/users
}}
userdb {{
  driver = passwd-file
  args = username_format=%u {lab}/users
  default_fields = uid={NOBODY} gid={NOBODY} home={lab}/mail/%u
}}

namespace inbox {{
  inbox = yes
  separator = /
  mailbox Junk {{
    special_use = \\Junk
    auto = subscribe
  }}
  mailbox Trash {{
    special_use = \\Trash
    auto = subscribe
  }}
}}

service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {self.imap_port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {self.imaps_port}
  }}
}}
service pop3-login {{
  inet_listener pop3 {{
    port = 0
  }}
}}
service managesieve-login {{
  inet_listener sieve {{
    address = 127.0.0.1
    port = {self.sieve_port}
  }}
}}
service lmtp {{
  inet_listener lmtp {{
    address = 127.0.0.1
    port = {self.lmtp_port}
  }}
}}
protocol imap {{
  mail_plugins = $mail_plugins imap_acl
}}
protocol lmtp {{
  mail_plugins = $mail_plugins sieve
  postmaster_address = postmaster@{DOMAIN}
}}
plugin {{
  acl = vfile
  # heron logs in as user*master: rights are the user's, as for the user
  acl_user = %u
  sieve = file:~/sieve;active=~/.dovecot.sieve
}}
sendmail_path = {lab}/fake-sendmail.sh
"""


@dataclass
class Postfix:
    """A private Postfix: SMTP on a loopback port, mail to Dovecot over LMTP, and
    sender checks against an access map heron keeps."""

    root: Path
    lmtp_port: int
    recipients: list[str]
    smtp_port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def etc(self) -> Path:
        return self.root / "etc"

    @property
    def access_map(self) -> Path:
        return self.root / "sender_access"

    def start(self) -> None:
        for sub in ("etc", "queue", "data"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        _open_path(self.root)
        shutil.chown(self.root / "data", "postfix")
        self.access_map.write_text("")
        subprocess.run(["postmap", f"hash:{self.access_map}"], check=True)
        inline = ", ".join(f"{r}=ok" for r in self.recipients)
        (self.etc / "main.cf").write_text(
            f"""\
compatibility_level = 3.6
queue_directory = {self.root}/queue
data_directory = {self.root}/data
maillog_file = {self.root}/postfix.log
maillog_file_prefixes = /var, /dev/stdout, {self.root}
myhostname = mx.{DOMAIN}
mydomain = {DOMAIN}
myorigin = $mydomain
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
mydestination =
alias_maps =
alias_database =
local_recipient_maps =
virtual_mailbox_domains = {DOMAIN}
virtual_mailbox_maps = inline:{{ {inline} }}
virtual_transport = lmtp:inet:127.0.0.1:{self.lmtp_port}
# Mail for stuck.test waits in the queue: its next hop never answers.
relay_domains = stuck.test
transport_maps = inline:{{ stuck.test=smtp:[127.0.0.1]:9 }}
relayhost =
default_transport = error:outbound mail disabled in test instance
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
smtpd_sender_restrictions = check_sender_access hash:{self.access_map}
smtpd_banner = $myhostname ESMTP
biff = no
"""
        )
        master = Path("/usr/share/postfix/master.cf.dist").read_text()
        lines = []
        for line in master.splitlines():
            if line.startswith("smtp      inet"):
                line = f"127.0.0.1:{self.smtp_port} inet n - n - - smtpd"
            elif line and not line[0].isspace() and not line.startswith("#"):
                parts = line.split()
                if len(parts) >= 8:
                    parts[4] = "n"  # no chroot: the queue is not one
                    line = " ".join(parts)
            lines.append(line)
        (self.etc / "master.cf").write_text("\n".join(lines) + "\n")
        check = subprocess.run(
            ["script", "-qc", f"postfix -c {self.etc} check", "/dev/null"],
            capture_output=True,
            text=True,
        )
        if check.returncode != 0:
            raise RuntimeError(f"postfix check failed: {check.stdout}{check.stderr}")
        self.process = subprocess.Popen(
            ["postfix", "-c", str(self.etc), "start-fg"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        _wait_for_port(self.smtp_port, self.process, self.root / "postfix.log")

    def stop(self) -> None:
        subprocess.run(
            ["postfix", "-c", str(self.etc), "stop"], capture_output=True, check=False
        )
        if self.process is not None:
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def queue(self) -> list[dict[str, object]]:
        """The queue as ``postqueue -j`` lists it."""
        import json

        done = subprocess.run(
            ["postqueue", "-c", str(self.etc), "-j"],
            capture_output=True,
            text=True,
            check=True,
        )
        return [json.loads(line) for line in done.stdout.splitlines() if line.strip()]

    def send(self, raw: bytes, sender: str, recipients: list[str]) -> None:
        """Send over SMTP; raises smtplib.SMTPSenderRefused when the map blocks it."""
        with smtplib.SMTP("127.0.0.1", self.smtp_port, timeout=30) as smtp:
            smtp.sendmail(sender, recipients, raw)


# Mailboxes of the lab, by the test that uses them, so that tests never see each
# other's mail.
GROUPS = {
    "loop": ["ann", "ben", "cat"],
    "forward": ["fay"],
    "delegation": ["dan", "eve"],
    "block": ["gil"],
    "purge": ["hal", "ian"],
    "crash": [f"bulk{n:02d}" for n in range(1, 51)],
    "poll": ["ida"],
    "contract": ["joe"],
    "odd": ["kim"],
    "forward2": ["gus"],
    "sealed": ["lea"],
}


def addresses(group: str) -> list[str]:
    return [f"{name}@{DOMAIN}" for name in GROUPS[group]]


class Lab:
    def __init__(self, root: Path) -> None:
        users = sorted(a for group in GROUPS for a in addresses(group))
        self.root = root
        self.dovecot = Dovecot(root / "dovecot", users)
        self.postfix = Postfix(root / "postfix", self.dovecot.lmtp_port, users)

    def start(self) -> None:
        self.dovecot.start()
        try:
            self.postfix.start()
        except BaseException:
            self.dovecot.stop()
            raise

    def stop(self) -> None:
        self.postfix.stop()
        self.dovecot.stop()

    def connectors(self, group: str) -> list[dict[str, object]]:
        return [
            {
                "type": "dovecot",
                "name": "lab",
                "host": "127.0.0.1",
                "imap_port": self.dovecot.imap_port,
                "imap_tls": "none",
                "sieve_port": self.dovecot.sieve_port,
                "sieve_tls": "none",
                "allow_plaintext": True,
                "master_user": MASTER,
                "password_env": "HERON_SECRET_LAB",
                "users": addresses(group),
                "timeout": 30,
            },
            {
                "type": "postfix",
                "name": "mx",
                "access_map": str(self.postfix.access_map),
                "config_dir": str(self.postfix.etc),
            },
        ]
