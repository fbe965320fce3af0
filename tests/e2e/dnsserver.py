"""A real DNS server for lbd's end-to-end tests: unbound (Debian package
`unbound`, /usr/sbin/unbound) in the foreground on 127.0.0.1, on a free
port, from a configuration in a temporary directory.

- DnsServer(zones=("service.consul.", "svc.cluster.local.", "test.")):
  each zone is a static local-zone (a name in it that has no record is
  NXDOMAIN; no root hints, no recursion: a name outside every zone is
  REFUSED, so nothing leaves the machine). unbound-checkconf checks the
  configuration first, for a clear error.
- add_a(name, ip, ttl), add_aaaa(name, ip, ttl), add_srv(name, priority,
  weight, port, target, ttl), add_records(lines) (many zone-file lines at
  once), remove(name): records changed at run time through
  unbound-control on a UNIX socket; no restart, no cache to wait for.
- query_count(name, type): how many queries for NAME (with or without the
  final dot) and TYPE ("A", "AAAA", "SRV"; None: any) reached the server,
  from its query log (log-queries). Over UDP and then TCP counts twice.
- stop_answering() / cont(): SIGSTOP / SIGCONT, for "resolver down".
- stop(): SIGCONT, SIGTERM, SIGKILL after a bounded wait; idempotent. A
  test registers it with addCleanup, so the server goes also on failure.
- query(name, qtype): one UDP query from Python, (rcode, answer count).

`ns` is "127.0.0.1:PORT", as lbd and tests/discovery/resolve take it.
"""

import os
import random
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import time

UNBOUND = shutil.which("unbound") or "/usr/sbin/unbound"
UNBOUND_CONTROL = shutil.which("unbound-control") or "/usr/sbin/unbound-control"
UNBOUND_CHECKCONF = shutil.which("unbound-checkconf") or "/usr/sbin/unbound-checkconf"

QTYPES = {"A": 1, "AAAA": 28, "SRV": 33, "TXT": 16}


def available():
    """True when unbound and its tools are installed."""
    return all(os.access(p, os.X_OK) for p in (UNBOUND, UNBOUND_CONTROL, UNBOUND_CHECKCONF))


def _free_udp_tcp_port(host="127.0.0.1"):
    """A port free for both UDP and TCP (unbound takes both)."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
            u.bind((host, 0))
            port = u.getsockname()[1]
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as t:
                try:
                    t.bind((host, port))
                except OSError:
                    continue
                return port
    raise RuntimeError("no free port for UDP and TCP")


def _absolute(name):
    return name if name.endswith(".") else name + "."


class DnsError(Exception):
    pass


class DnsServer:
    def __init__(self, zones=("service.consul.", "svc.cluster.local.", "test."),
                 start_timeout=5.0):
        self.tmp = tempfile.TemporaryDirectory(prefix="lbd-dns-")
        self.dir = self.tmp.name
        self.port = _free_udp_tcp_port()
        self.ns = "127.0.0.1:%d" % self.port
        self.conf = os.path.join(self.dir, "unbound.conf")
        self.log = os.path.join(self.dir, "unbound.log")
        self.sock = os.path.join(self.dir, "control.sock")
        self.proc = None
        with open(self.conf, "w") as f:
            f.write(self._config(zones))
        chk = subprocess.run([UNBOUND_CHECKCONF, self.conf], capture_output=True, text=True,
                             timeout=10)
        if chk.returncode != 0:
            self.tmp.cleanup()
            raise DnsError("unbound-checkconf %s: %s" % (self.conf, (chk.stdout + chk.stderr).strip()))
        self.stderr = open(os.path.join(self.dir, "unbound.stderr"), "w+")
        self.proc = subprocess.Popen([UNBOUND, "-d", "-c", self.conf], stdout=self.stderr,
                                     stderr=subprocess.STDOUT, cwd=self.dir)
        try:
            self._wait_ready(start_timeout)
        except Exception:
            self.stop()
            raise

    def _config(self, zones):
        lines = [
            "server:",
            "    interface: 127.0.0.1",
            "    port: %d" % self.port,
            "    do-ip6: no",
            "    do-daemonize: no",
            "    username: \"\"",
            "    chroot: \"\"",
            "    directory: \"%s\"" % self.dir,
            "    pidfile: \"\"",
            "    use-syslog: no",
            "    logfile: \"%s\"" % self.log,
            "    log-queries: yes",
            "    verbosity: 0",
            "    num-threads: 1",
            "    so-reuseport: no",
            "    access-control: 127.0.0.0/8 allow",
            # No recursion, no DNSSEC: only the zones below are answered.
            "    module-config: \"iterator\"",
            "    root-hints: \"\"",
            "    local-zone: \".\" refuse",
        ]
        for z in zones:
            lines.append("    local-zone: \"%s\" static" % _absolute(z))
        lines += [
            "remote-control:",
            "    control-enable: yes",
            "    control-interface: \"%s\"" % self.sock,
            "    control-use-cert: no",
            "",
        ]
        return "\n".join(lines)

    def _wait_ready(self, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise DnsError("unbound exited with %s: %s" % (self.proc.returncode, self.output()))
            try:
                self.query("ready.invalid.", "A", timeout=0.2)
                if os.path.exists(self.sock):
                    return
            except (socket.timeout, OSError):
                pass
            time.sleep(0.02)
        raise DnsError("unbound did not answer on %s within %.1f s: %s"
                       % (self.ns, timeout, self.output()))

    def output(self):
        """unbound's stderr and log so far, for error messages."""
        text = ""
        for path in (os.path.join(self.dir, "unbound.stderr"), self.log):
            try:
                with open(path, errors="replace") as f:
                    text += f.read()
            except OSError:
                pass
        return text.strip()[-2000:]

    # --- records at run time -------------------------------------------
    def control(self, *args, input=None):
        r = subprocess.run([UNBOUND_CONTROL, "-c", self.conf] + list(args), input=input,
                           capture_output=True, text=True, timeout=10)
        if r.returncode != 0 or r.stdout.startswith("error"):
            raise DnsError("unbound-control %s: %s" % (" ".join(args), (r.stdout + r.stderr).strip()))
        return r.stdout

    def add_records(self, lines):
        """Zone-file lines ("NAME TTL IN TYPE DATA"), all at once."""
        self.control("local_datas", input="".join(line + "\n" for line in lines))

    def add_a(self, name, ip, ttl=300):
        self.add_records(["%s %d IN A %s" % (_absolute(name), ttl, ip)])

    def add_aaaa(self, name, ip, ttl=300):
        self.add_records(["%s %d IN AAAA %s" % (_absolute(name), ttl, ip)])

    def add_srv(self, name, priority, weight, port, target, ttl=30):
        self.add_records(["%s %d IN SRV %d %d %d %s"
                          % (_absolute(name), ttl, priority, weight, port, _absolute(target))])

    def remove(self, name):
        """Every record of NAME."""
        self.control("local_data_remove", _absolute(name))

    # --- what reached the server ---------------------------------------
    def query_count(self, name, qtype=None):
        want = _absolute(name).lower()
        n = 0
        try:
            with open(self.log, errors="replace") as f:
                for line in f:
                    # "[1700000000] unbound[1:0] info: 127.0.0.1 NAME. A IN"
                    words = line.split()
                    if len(words) < 4 or words[-1] != "IN" or words[-3].lower() != want:
                        continue
                    if qtype is None or words[-2] == qtype:
                        n += 1
        except FileNotFoundError:
            pass
        return n

    # --- the process ---------------------------------------------------
    def stop_answering(self):
        self.proc.send_signal(signal.SIGSTOP)

    def cont(self):
        self.proc.send_signal(signal.SIGCONT)

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGCONT)
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        if self.proc is not None:
            self.stderr.close()
        self.proc = None
        self.tmp.cleanup()

    # --- a client, for the harness's own checks ------------------------
    def query(self, name, qtype="A", timeout=2.0):
        """One UDP query: (rcode, number of answer records)."""
        qid = random.randrange(65536)
        q = struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0)
        for label in _absolute(name).split(".")[:-1]:
            q += bytes([len(label)]) + label.encode()
        q += b"\0" + struct.pack(">HH", QTYPES[qtype], 1)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.settimeout(timeout)
            s.sendto(q, ("127.0.0.1", self.port))
            while True:
                data = s.recv(65535)
                if len(data) >= 12 and struct.unpack(">H", data[:2])[0] == qid:
                    break
        flags, _, ancount = struct.unpack(">HHH", data[2:8])
        return flags & 0xF, ancount
