"""Harness for lbd's end-to-end tests.

- free_port(): an ephemeral port on 127.0.0.1 that nothing listens on.
- config(...) / to_yaml(obj): build an lbd configuration as YAML text.
- Lbd(config_yaml, ports=None): runs `$LBD_BIN -c CFG` in a temporary
  directory, waits until its listeners accept, captures stderr; stop(sig)
  returns the exit status (SIGKILL after a bounded wait); stderr(),
  access_lines(), rss_kb(), hwm_kb(). `@ACCESS_LOG@` and `@TMPDIR@` in the
  config text are replaced by the access-log path and the temporary
  directory. $LBD_WRAPPER is a command lbd runs under (`make valgrind-e2e`
  sets valgrind memcheck; `@DIR@` in it is that temporary directory), and
  $LBD_TIMEOUT_SCALE multiplies the start, stop and reload waits for it.
- HttpClient / http_raw / http_request / read_response: raw-socket HTTP
  exchanges that return exactly what lbd sent.
- Backends: starts and stops the programmable backends of backends.py,
  including backends in a separate process (so a test can kill them).
- LbdTestCase: a unittest.TestCase that cleans all of the above up.
- admin_request(sock, method, path, body): one request to the admin API
  over its UNIX socket (or (host, port) for global.admin.listen);
  lbctl(...) runs the control tool; metric(lbd, NAME, **labels) reads
  one series of /metrics.

Every wait is bounded; every process and thread a test starts is stopped in
its cleanup, also when the test fails.
"""

import collections
import http.client
import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import backends  # noqa: E402
from backends import (HTTPBackend, TcpEchoBackend, WebSocketBackend)  # noqa: E402,F401

HOST = "127.0.0.1"

# What lbd runs under (see the module doc), and how much slower it is then.
WRAPPER = shlex.split(os.environ.get("LBD_WRAPPER", ""))
TIMEOUT_SCALE = float(os.environ.get("LBD_TIMEOUT_SCALE") or 1)


def lbd_bin():
    """Path of the lbd under test: $LBD_BIN, else $TOP_BUILDDIR/lbd, else
    the build-tree lbd two levels up; None when there is none."""
    cands = [os.environ.get("LBD_BIN")]
    if os.environ.get("TOP_BUILDDIR"):
        cands.append(os.path.join(os.environ["TOP_BUILDDIR"], "lbd"))
    cands.append(os.path.join(HERE, "..", "..", "lbd"))
    for c in cands:
        if c and os.path.isfile(c) and os.access(c, os.X_OK):
            return os.path.abspath(c)
    return None


def free_port(host=HOST):
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(fam) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def wait_port(port, host=HOST, timeout=5.0, proc=None):
    """Poll until HOST:PORT accepts a TCP connection. False on timeout or
    when PROC exits first."""
    deadline = time.monotonic() + timeout
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            return False
        try:
            with socket.socket(fam) as s:
                s.settimeout(0.2)
                s.connect((host, port))
                return True
        except OSError:
            time.sleep(0.02)
    return False


def wait_unix(path, timeout=5.0, proc=None):
    """Poll until the UNIX socket PATH accepts a connection."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            return False
        try:
            with socket.socket(socket.AF_UNIX) as s:
                s.settimeout(0.2)
                s.connect(path)
                return True
        except OSError:
            time.sleep(0.02)
    return False


# ---------------------------------------------------------------------------
# Configuration text.
_PLAIN = re.compile(r"^[A-Za-z0-9_./][A-Za-z0-9_./:@*-]*$")
_RESERVED = {"true", "false", "yes", "no", "on", "off", "null", "~", "y", "n"}


def _scalar(v):
    if v is None:
        return "null"
    if v is True:
        return "true"
    if v is False:
        return "false"
    if isinstance(v, (int, float)):
        return str(v)
    s = str(v)
    if _PLAIN.match(s) and s.lower() not in _RESERVED and not re.match(r"^[-+0-9.]+$", s):
        return s
    return json.dumps(s)


def to_yaml(obj, indent=0):
    """Block-style YAML for dicts/lists of scalars (keys in dict order).
    Lists of scalars are written in flow style."""
    pad = " " * indent
    out = []
    if isinstance(obj, dict):
        for k, v in obj.items():
            if isinstance(v, dict) and v:
                out.append("%s%s:" % (pad, k))
                out.append(to_yaml(v, indent + 2))
            elif isinstance(v, list) and v and any(isinstance(x, (dict, list)) for x in v):
                out.append("%s%s:" % (pad, k))
                out.append(to_yaml(v, indent + 2))
            elif isinstance(v, list):
                out.append("%s%s: [%s]" % (pad, k, ", ".join(_scalar(x) for x in v)))
            elif isinstance(v, dict):
                out.append("%s%s: {}" % (pad, k))
            else:
                out.append("%s%s: %s" % (pad, k, _scalar(v)))
    elif isinstance(obj, list):
        for item in obj:
            sub = to_yaml(item, indent + 2).split("\n")
            out.append(pad + "- " + sub[0].lstrip())
            out.extend(sub[1:])
    return "\n".join(out)


def server(backend_or_addr, name=None, weight=None, backup=None):
    """A pool server entry for a backend object or an address string."""
    if isinstance(backend_or_addr, str):
        addr = backend_or_addr
        name = name or addr
    else:
        addr = backend_or_addr.address
        name = name or backend_or_addr.name
    s = {"name": name, "address": addr}
    if weight is not None:
        s["weight"] = weight
    if backup is not None:
        s["backup"] = backup
    return s


def pool(name, servers, **kw):
    p = {"name": name, "balance": "round_robin"}
    p.update(kw)
    p["servers"] = [s if isinstance(s, dict) else server(s) for s in servers]
    return p


def listener(name, port, pool_name=None, routes=None, protocol="http", host=HOST):
    b = "%s:%d" % (host if ":" not in host else "[%s]" % host, port)
    lst = {"name": name, "bind": b, "protocol": protocol}
    if routes is None:
        routes = [{"pool": pool_name}] if protocol == "tcp" else \
            [{"match": {"path_prefix": "/"}, "pool": pool_name}]
    lst["routes"] = routes
    return lst


def config(listeners, pools, workers=1, timeouts=None, retries=None, limits=None,
           max_connections=None, access="@ACCESS_LOG@", level="info", fmt="json",
           admin_socket="@TMPDIR@/admin.sock", admin_listen=None, user=None, group=None,
           admin_token_file=None, metrics_listen=None):
    """A whole configuration as YAML text; access log to the harness file,
    admin socket in the harness's temporary directory (Lbd.admin_socket)."""
    g = {"workers": workers}
    if max_connections is not None:
        g["max_connections"] = max_connections
    if user is not None:
        g["user"] = user
    if group is not None:
        g["group"] = group
    admin = {"socket": admin_socket}
    if admin_listen is not None:
        admin["listen"] = admin_listen
    if admin_token_file is not None:
        admin["token_file"] = admin_token_file
    g["admin"] = admin
    if metrics_listen is not None:
        g["metrics"] = {"listen": metrics_listen}
    g["log"] = {"level": level, "access": access, "format": fmt}
    d = {}
    t = {"connect": "1s", "header": "5s", "client_idle": "10s", "server": "10s",
         "tunnel": "10s", "drain": "5s"}
    t.update(timeouts or {})
    d["timeouts"] = t
    if retries is not None:
        d["retries"] = retries
    if limits:
        d["limits"] = limits
    return to_yaml({"global": g, "defaults": d, "listeners": listeners,
                    "pools": pools}) + "\n"


def simple_config(port, backends_list, **kw):
    """One http listener on PORT, one pool `p` of BACKENDS_LIST."""
    pool_kw = kw.pop("pool_kw", {})
    return config([listener("web", port, "p")], [pool("p", backends_list, **pool_kw)], **kw)


def check_config(test, text):
    """`lbd -t` on TEXT (`@TMPDIR@` in it: a temporary directory that TEST
    removes): the file's path and the finished process."""
    tmp = tempfile.mkdtemp(prefix="lbd-check-")
    test.addCleanup(shutil.rmtree, tmp)
    path = os.path.join(tmp, "lbd.yaml")
    with open(path, "w") as f:
        f.write(text.replace("@TMPDIR@", tmp))
    return path, subprocess.run([lbd_bin(), "-t", "-c", path], capture_output=True, text=True,
                                timeout=20)


# ---------------------------------------------------------------------------
class LbdError(Exception):
    pass


def lbctl_bin():
    """Path of the lbctl under test: $LBCTL_BIN, else beside lbd."""
    cands = [os.environ.get("LBCTL_BIN")]
    lbd = lbd_bin()
    if lbd:
        cands.append(os.path.join(os.path.dirname(lbd), "lbctl"))
    for c in cands:
        if c and os.path.isfile(c) and os.access(c, os.X_OK):
            return os.path.abspath(c)
    return None


def lbctl(*args, socket_path=None, env=None, timeout=30):
    """Run lbctl [-s SOCKET_PATH] ARGS; the CompletedProcess (text)."""
    binary = lbctl_bin()
    if not binary:
        raise unittest.SkipTest("no lbctl binary (set LBCTL_BIN)")
    e = dict(os.environ)
    e.pop("LBD_SOCKET", None)
    e.update(env or {})
    cmd = [binary] + (["-s", socket_path] if socket_path else []) + list(args)
    return subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                          timeout=timeout, env=e, check=False)


class _UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path, timeout):
        super().__init__("lbd", timeout=timeout)
        self._path = path

    def connect(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(self.timeout)
        s.connect(self._path)
        self.sock = s


class AdminResp:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    def header(self, name, default=None):
        return self.headers.get(name, default)

    @property
    def json(self):
        return json.loads(self.body.decode())

    def __repr__(self):
        return "<AdminResp %d %r>" % (self.status, self.body[:300])


def admin_request(where, method, path, body=None, headers=None, timeout=10.0):
    """One admin API request. WHERE: a socket path, an Lbd, or (host, port)."""
    if isinstance(where, Lbd):
        where = where.admin_socket
    if isinstance(where, tuple):
        conn = http.client.HTTPConnection(where[0], where[1], timeout=timeout)
    else:
        conn = _UnixHTTPConnection(where, timeout)
    try:
        if isinstance(body, (dict, list)):
            body = json.dumps(body)
        conn.request(method, path, body=body, headers=headers or {})
        r = conn.getresponse()
        return AdminResp(r.status, {k.lower(): v for k, v in r.getheaders()}, r.read())
    finally:
        conn.close()


def metric(where, name, **labels):
    """The value of one series of /metrics with exactly LABELS (0 when
    absent). WHERE as for admin_request()."""
    text = admin_request(where, "GET", "/metrics").body.decode()
    want = ",".join('%s="%s"' % kv for kv in sorted(labels.items()))
    for line in text.splitlines():
        m = re.match(r"^%s(?:\{(.*)\})? (\S+)$" % re.escape(name), line)
        if m and ",".join(sorted((m.group(1) or "").split(","))) == want:
            return float(m.group(2))
    return 0.0


def unix_raw(path, data, timeout=3.0):
    """Send DATA on the UNIX socket PATH; everything read until close."""
    out = b""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(timeout)
        s.connect(path)
        try:
            s.sendall(data)
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                out += chunk
        except (socket.timeout, ConnectionError):
            pass
    return out


_BIND_RE = re.compile(r"(\d+\.\d+\.\d+\.\d+|\[[0-9a-fA-F:.]+\]):(\d+)")


def _bind_ports(cfg):
    """(host, port) of every bind in the config text (bind lines only)."""
    out = []
    lines = cfg.splitlines()
    for i, line in enumerate(lines):
        if re.match(r"^\s*(- )?bind:", line):
            text = line
            j = i + 1   # block-style list under bind:
            while j < len(lines) and re.match(r"^\s*- [\"']?[\[0-9]", lines[j]):
                text += " " + lines[j]
                j += 1
            for h, p in _BIND_RE.findall(text):
                out.append((h.strip("[]"), int(p)))
    return out


class Lbd:
    """A running lbd. Use as a context manager or call start()/stop()."""

    def __init__(self, config_yaml, ports=None, wait=True, start_timeout=5.0, env=None,
                 binary=None, nofile=None, preexec=None):
        self.nofile = nofile          # RLIMIT_NOFILE for lbd, or None
        self.preexec = preexec        # run in the child before lbd (e.g. enter a netns)
        self.binary = binary or lbd_bin()
        if not self.binary:
            raise unittest.SkipTest("no lbd binary (set LBD_BIN)")
        self.tmp = tempfile.TemporaryDirectory(prefix="lbd-e2e-")
        self.dir = self.tmp.name
        self.access_path = os.path.join(self.dir, "access.log")
        self.config_path = os.path.join(self.dir, "lbd.yaml")
        self.config_text = config_yaml.replace("@ACCESS_LOG@", self.access_path) \
            .replace("@TMPDIR@", self.dir)
        with open(self.config_path, "w") as f:
            f.write(self.config_text)
        self.admin_socket = os.path.join(self.dir, "admin.sock")
        self.stderr_path = os.path.join(self.dir, "stderr.log")
        self.stdout_path = os.path.join(self.dir, "stdout.log")
        self.ports = ports if ports is not None else _bind_ports(self.config_text)
        self.wait_ready = wait
        self.start_timeout = start_timeout * TIMEOUT_SCALE
        self.env = env
        self.proc = None
        self.returncode = None

    def start(self):
        env = dict(os.environ)
        env.pop("NOTIFY_SOCKET", None)
        env.update(self.env or {})
        self._err = open(self.stderr_path, "wb")
        self._out = open(self.stdout_path, "wb")
        limit = self.preexec
        if self.nofile:
            import resource
            n, before = self.nofile, self.preexec
            def limit():
                if before:
                    before()
                resource.setrlimit(resource.RLIMIT_NOFILE, (n, n))
        wrapper = [w.replace("@DIR@", self.dir) for w in WRAPPER]
        self.proc = subprocess.Popen(wrapper + [self.binary, "-c", self.config_path],
                                     stdin=subprocess.DEVNULL, stdout=self._out,
                                     stderr=self._err, cwd=self.dir, env=env,
                                     preexec_fn=limit)
        if self.wait_ready:
            for hp in self.ports:
                host, port = hp if isinstance(hp, tuple) else (HOST, hp)
                if not wait_port(port, host, self.start_timeout, self.proc):
                    rc = self.proc.poll()
                    self.kill()
                    raise LbdError("lbd did not accept on %s:%d (exit %s); stderr:\n%s"
                                   % (host, port, rc, self.stderr()))
            if self.admin_socket in self.config_text and \
                    not wait_unix(self.admin_socket, self.start_timeout, self.proc):
                rc = self.proc.poll()
                self.kill()
                raise LbdError("lbd did not accept on %s (exit %s); stderr:\n%s"
                               % (self.admin_socket, rc, self.stderr()))
        return self

    @property
    def pid(self):
        return self.proc.pid

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, sig=signal.SIGTERM, timeout=10.0):
        """Send SIG, wait up to TIMEOUT; SIGKILL after it. Returns the exit
        status (negative signal number when killed)."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            try:
                self.proc.send_signal(sig)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(timeout * TIMEOUT_SCALE)
            except subprocess.TimeoutExpired:
                self.kill()
        self.returncode = self.proc.wait()
        return self.returncode

    def rewrite(self, config_yaml):
        """Replace the configuration file (for a reload)."""
        self.config_text = config_yaml.replace("@ACCESS_LOG@", self.access_path) \
            .replace("@TMPDIR@", self.dir)
        tmp = self.config_path + ".new"
        with open(tmp, "w") as f:
            f.write(self.config_text)
        os.replace(tmp, self.config_path)

    def reload(self, config_yaml=None, timeout=10.0):
        """SIGHUP (after writing CONFIG_YAML, if given); wait for the outcome.
        Returns (True, generation) or (False, stderr lines of the errors)."""
        if config_yaml is not None:
            self.rewrite(config_yaml)
        seen = len(self.stderr().splitlines())
        self.proc.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + timeout * TIMEOUT_SCALE
        while time.monotonic() < deadline:
            lines = self.stderr().splitlines()[seen:]
            for i, line in enumerate(lines):
                m = re.search(r"reload: generation (\d+) serving", line)
                if m:
                    return True, int(m.group(1))
                if "reload rejected" in line:
                    time.sleep(0.1)
                    rest = self.stderr().splitlines()[seen + i + 1:]
                    return False, [ln.split("reload: ", 1)[1] for ln in rest
                                   if ": error: reload: " in ln]
            time.sleep(0.02)
        raise AssertionError("no reload outcome within %ss; stderr:\n%s"
                             % (timeout, self.stderr()[-2000:]))

    def cpu_seconds(self):
        """User + system CPU time lbd has used so far."""
        with open("/proc/%d/stat" % self.proc.pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def wait(self, timeout=5.0):
        """Wait for lbd to exit on its own; its exit status, or None."""
        try:
            self.returncode = self.proc.wait(timeout * TIMEOUT_SCALE)
            return self.returncode
        except subprocess.TimeoutExpired:
            return None

    def kill(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                pass

    def close(self):
        self.kill()
        for f in (getattr(self, "_err", None), getattr(self, "_out", None)):
            if f:
                f.close()
        self.tmp.cleanup()

    def __enter__(self):
        return self.start()

    def __exit__(self, etype, exc, tb):
        try:
            self.stop(timeout=5)
            if etype is not None and not isinstance(exc, unittest.SkipTest):
                sys.stderr.write("\n--- lbd stderr ---\n%s\n" % self.stderr()[-4000:])
            report = self.memcheck_report()
            if report and etype is None:
                raise AssertionError("valgrind found errors in lbd:\n" + report)
        finally:
            self.close()

    def memcheck_report(self):
        """Under `make valgrind-e2e`: the valgrind log of this lbd when it
        reports an error (a definite leak counts), else None. An lbd that
        was killed leaves no summary, and is not judged."""
        path = os.path.join(self.dir, "valgrind.log")
        try:
            with open(path, errors="replace") as f:
                text = f.read()
        except OSError:
            return None
        m = re.search(r"ERROR SUMMARY: (\d+) errors", text)
        if not m or m.group(1) == "0":
            return None
        return text[-6000:]

    # -- inspection --------------------------------------------------------
    def stderr(self):
        try:
            with open(self.stderr_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def access_raw_lines(self):
        try:
            with open(self.access_path, "rb") as f:
                data = f.read().decode("utf-8", "replace")
        except FileNotFoundError:
            return []
        return [line for line in data.split("\n") if line.strip()]

    def access_lines(self, count=0, timeout=2.0, raw=False):
        """The access log's lines as JSON objects (ordered dicts), polling up
        to TIMEOUT until there are at least COUNT of them."""
        deadline = time.monotonic() + timeout
        while True:
            lines = self.access_raw_lines()
            if len(lines) >= count or time.monotonic() > deadline:
                break
            time.sleep(0.02)
        return lines if raw else [json.loads(line) for line in lines]

    def _status_kb(self, field):
        try:
            with open("/proc/%d/status" % self.proc.pid) as f:
                for line in f:
                    if line.startswith(field + ":"):
                        return int(line.split()[1])
        except OSError:
            pass
        return 0

    def rss_kb(self):
        """VmRSS of lbd in KiB (0 once it has exited)."""
        return self._status_kb("VmRSS")

    def hwm_kb(self):
        """VmHWM, the peak resident size of lbd so far, in KiB."""
        return self._status_kb("VmHWM")


class RssSampler:
    """Samples lbd's RSS every INTERVAL in a thread; .max_kb, .samples."""

    def __init__(self, lbd, interval=0.05):
        self.lbd = lbd
        self.interval = interval
        self.samples = []
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.is_set():
            self.samples.append(self.lbd.rss_kb())
            self._stop.wait(self.interval)

    def __enter__(self):
        self._t.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._t.join(2)

    @property
    def max_kb(self):
        return max(self.samples) if self.samples else 0


# ---------------------------------------------------------------------------
# Raw HTTP on the client side.
class Resp:
    def __init__(self, version, status, reason, headers, body, raw_head):
        self.version = version
        self.status = status
        self.reason = reason
        self.headers = headers
        self.body = body
        self.raw_head = raw_head
        self.chunked = False

    def header(self, name, default=None):
        name = name.lower()
        for k, v in self.headers:
            if k.lower() == name:
                return v
        return default

    def headers_all(self, name):
        return [v for k, v in self.headers if k.lower() == name.lower()]

    def __repr__(self):
        return "<Resp %d %r body=%d>" % (self.status, self.reason, len(self.body))


class Incomplete(Exception):
    """The connection closed (or timed out) before a complete response."""

    def __init__(self, msg, received=b""):
        super().__init__(msg)
        self.received = received


class HttpClient:
    """A client connection on a raw socket, with a read buffer."""

    def __init__(self, port, host=HOST, timeout=5.0):
        fam = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.sock = socket.socket(fam)
        self.sock.settimeout(timeout)
        self.sock.connect((host, port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.timeout = timeout
        self.buf = bytearray()
        self.eof = False
        self.sent = 0

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def send(self, data):
        if isinstance(data, str):
            data = data.encode("latin-1")
        self.sock.sendall(data)
        self.sent += len(data)

    def _fill(self, deadline):
        if self.eof:
            raise Incomplete("connection closed", bytes(self.buf))
        left = deadline - time.monotonic()
        if left <= 0:
            raise Incomplete("timed out", bytes(self.buf))
        self.sock.settimeout(left)
        try:
            data = self.sock.recv(262144)
        except socket.timeout:
            raise Incomplete("timed out", bytes(self.buf))
        except ConnectionResetError:
            self.eof = True
            raise Incomplete("connection reset", bytes(self.buf))
        if not data:
            self.eof = True
            raise Incomplete("connection closed", bytes(self.buf))
        self.buf += data

    def _line(self, deadline):
        while True:
            i = self.buf.find(b"\n")
            if i >= 0:
                line = bytes(self.buf[:i + 1])
                del self.buf[:i + 1]
                return line
            self._fill(deadline)

    def _take(self, n, deadline, sink=None):
        out = bytearray() if sink is None else None
        while n:
            if not self.buf:
                self._fill(deadline)
            k = min(n, len(self.buf))
            if sink is None:
                out += self.buf[:k]
            else:
                sink(self.buf[:k])
            del self.buf[:k]
            n -= k
        return bytes(out) if out is not None else b""

    def read_response(self, method="GET", timeout=None, sink=None, interim=False):
        """Read one response. Interim 1xx responses (except 101) are skipped
        unless INTERIM. SINK(bytes) receives the body instead of .body.
        Raises Incomplete if the connection ends first."""
        deadline = time.monotonic() + (timeout or self.timeout)
        r = self.read_head(timeout=timeout, interim=interim)
        return self.read_body(r, method, deadline - time.monotonic(), sink)

    def read_head(self, timeout=None, interim=False):
        """Read a status line and headers only."""
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            line = self._line(deadline)
            raw = bytearray(line)
            m = re.match(rb"^(HTTP/\d\.\d) (\d{3})(?: ([^\r\n]*))?\r?\n$", line)
            if not m:
                raise AssertionError("bad status line %r (buffer %r)" % (line, bytes(self.buf[:200])))
            headers = []
            while True:
                h = self._line(deadline)
                raw += h
                if h in (b"\r\n", b"\n"):
                    break
                k, _, v = h.partition(b":")
                headers.append((k.decode("latin-1"), v.strip().decode("latin-1")))
            r = Resp(m.group(1).decode(), int(m.group(2)), (m.group(3) or b"").decode("latin-1"),
                     headers, b"", bytes(raw))
            if 100 <= r.status < 200 and r.status != 101 and not interim:
                continue
            return r

    def read_body(self, r, method="GET", timeout=None, sink=None):
        """Read the body of response R (from read_head) into r.body or SINK."""
        deadline = time.monotonic() + (timeout if timeout is not None else self.timeout)
        body = bytearray()
        put = sink or body.extend
        te = ",".join(r.headers_all("transfer-encoding")).lower()
        if method == "HEAD" or r.status < 200 or r.status in (204, 304):
            pass
        elif te:
            r.chunked = True
            while True:
                size = int(self._line(deadline).split(b";")[0].strip(), 16)
                if size == 0:
                    while self._line(deadline) not in (b"\r\n", b"\n"):
                        pass
                    break
                if sink:
                    self._take(size, deadline, sink)
                else:
                    body += self._take(size, deadline)
                self._line(deadline)
        elif r.header("content-length") is not None:
            n = int(r.header("content-length"))
            if sink:
                self._take(n, deadline, sink)
            else:
                body += self._take(n, deadline)
        else:   # close-delimited
            while True:
                if self.buf:
                    put(bytes(self.buf))
                    self.buf.clear()
                try:
                    self._fill(deadline)
                except Incomplete as e:
                    if self.eof:
                        break
                    raise e
        r.body = bytes(body)
        return r

    def request(self, method="GET", target="/", headers=None, body=b"", host="example.com",
                version="HTTP/1.1", timeout=None):
        self.send(build_request(method, target, headers, body, host, version))
        return self.read_response(method, timeout)

    def closed_within(self, timeout):
        """True if lbd closes the connection (EOF or reset) within TIMEOUT
        without sending anything more; False on timeout. Unread bytes make
        it raise AssertionError."""
        deadline = time.monotonic() + timeout
        while True:
            if self.buf:
                raise AssertionError("unexpected bytes %r" % bytes(self.buf[:200]))
            try:
                self._fill(deadline)
            except Incomplete as e:
                return self.eof if e.args[0] != "timed out" else False

    def read_until_close(self, timeout=3.0):
        deadline = time.monotonic() + timeout
        while not self.eof:
            try:
                self._fill(deadline)
            except Incomplete:
                break
        data = bytes(self.buf)
        self.buf.clear()
        return data


def build_request(method="GET", target="/", headers=None, body=b"", host="example.com",
                  version="HTTP/1.1"):
    """Request bytes; Content-Length is added when BODY is non-empty and no
    framing header is given. HOST None = no Host header."""
    if isinstance(body, str):
        body = body.encode()
    lines = ["%s %s %s" % (method, target, version)]
    if host is not None:
        lines.append("Host: %s" % host)
    hs = list(headers or [])
    names = {k.lower() for k, _ in hs}
    if body and "content-length" not in names and "transfer-encoding" not in names:
        hs.append(("Content-Length", str(len(body))))
    lines += ["%s: %s" % kv for kv in hs]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


class LoadLoop:
    """Requests one after another on fresh connections from a thread, until
    stop() or LIMIT requests: the statuses seen, and which server answered."""

    def __init__(self, port, limit=20000):
        self.port, self.limit = port, limit
        self.statuses = collections.Counter()
        self.served = collections.Counter()
        self.errors = []
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        for i in range(self.limit):
            if self.done.is_set():
                return
            try:
                with HttpClient(self.port, timeout=5) as c:
                    r = c.request("GET", "/load%d" % i)
                self.statuses[r.status] += 1
                self.served[r.header("x-backend")] += 1
            except Exception as e:  # a reset or a timeout is a lost request
                self.errors.append(repr(e))

    def stop(self):
        self.done.set()
        self.thread.join(10)
        return self


def http_raw(port, data, timeout=3.0, host=HOST):
    """Send DATA, then read until lbd closes or TIMEOUT passes. Returns the
    bytes received."""
    with HttpClient(port, host, timeout) as c:
        c.send(data)
        return c.read_until_close(timeout)


def http_request(port, method="GET", target="/", headers=None, body=b"",
                 host="example.com", timeout=5.0):
    """One request on a fresh connection; returns the Resp."""
    with HttpClient(port, timeout=timeout) as c:
        return c.request(method, target, headers, body, host, timeout=timeout)


def parse_responses(data, methods=None):
    """Split raw bytes into responses (for pipelining checks)."""
    out = []
    c = HttpClient.__new__(HttpClient)
    c.buf = bytearray(data)
    c.eof = True
    c.timeout = 0.1
    i = 0
    while c.buf:
        m = methods[i] if methods and i < len(methods) else "GET"
        out.append(c.read_response(m))
        i += 1
    return out


def chunked(parts, trailers=b""):
    """Encode PARTS as a chunked body."""
    out = b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in parts if p)
    return out + b"0\r\n" + trailers + b"\r\n"


def assert_config_errors(test, check, cases):
    """For each (TEXT, LINE, COL, WORD) of CASES, CHECK(TEXT) returns (path,
    the CompletedProcess of `lbd -t`): it must fail with an error at
    PATH:LINE:COL whose message holds WORD."""
    for text, line, col, word in cases:
        path, r = check(text)
        test.assertNotEqual(r.returncode, 0, text)
        test.assertRegex(r.stderr, r"%s:%d:%d: .*%s" % (re.escape(path), line, col, word), text)


def curl(*args, timeout=10, input=None):
    """Run curl; returns CompletedProcess (stdout bytes). Skips without curl."""
    import shutil
    if not shutil.which("curl"):
        raise unittest.SkipTest("curl not installed")
    return subprocess.run(["curl", "-sS", "--max-time", str(timeout)] + list(args),
                          input=input, capture_output=True, timeout=timeout + 5)


# ---------------------------------------------------------------------------
class ProcessBackend:
    """A backend in its own python process (backends.py as a script), so a
    test can SIGKILL it mid-response."""

    def __init__(self, name, kind="http", args=()):
        self.name = name
        self.port = free_port()
        self.proc = subprocess.Popen(
            [sys.executable, os.path.join(HERE, "backends.py"), kind, "--name", name,
             "--port", str(self.port)] + list(args),
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if not wait_port(self.port, proc=self.proc):
            self.kill()
            raise RuntimeError("backend process %s did not start" % name)

    @property
    def address(self):
        return "%s:%d" % (HOST, self.port)

    def kill(self, sig=signal.SIGKILL):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)

    stop = kill


class Backends:
    """Creates backends and stops all of them in stop_all()."""

    def __init__(self):
        self.all = []

    def _add(self, b):
        self.all.append(b)
        return b

    def http(self, name, handler=None, **kw):
        return self._add(HTTPBackend(name, handler=handler, **kw).start())

    def websocket(self, name, **kw):
        return self._add(WebSocketBackend(name, **kw).start())

    def tcp(self, name, **kw):
        return self._add(TcpEchoBackend(name, **kw).start())

    def process(self, name, kind="http", args=()):
        return self._add(ProcessBackend(name, kind, args))

    @staticmethod
    def dead_address():
        """An address where nothing listens (connect is refused)."""
        return "%s:%d" % (HOST, free_port())

    def stop_all(self):
        for b in reversed(self.all):
            try:
                b.stop()
            except Exception:
                pass
        self.all = []

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop_all()


SANITIZER_REPORT = re.compile(r"ERROR: (AddressSanitizer|LeakSanitizer)|runtime error: ")


class LbdTestCase(unittest.TestCase):
    """TestCase with self.backends and self.start_lbd(), both cleaned up."""

    def setUp(self):
        if not lbd_bin():
            self.skipTest("no lbd binary (set LBD_BIN)")
        self.backends = Backends()
        self.addCleanup(self.backends.stop_all)

    def start_lbd(self, config_yaml, **kw):
        lbd = Lbd(config_yaml, **kw)
        self.addCleanup(self._cleanup_lbd, lbd)
        lbd.start()
        return lbd

    def _cleanup_lbd(self, lbd):
        """Stop lbd; a test whose lbd did not stop cleanly (exit 0 on
        SIGTERM) or whose stderr holds a sanitizer report fails here."""
        try:
            rc = None
            if lbd.alive():
                rc = lbd.stop(timeout=5)
            err = lbd.stderr()
            failed = self._outcome is not None and not getattr(self._outcome, "success", True)
            if failed:
                sys.stderr.write("\n--- lbd stderr (%s) ---\n%s\n" % (self.id(), err[-3000:]))
            report = SANITIZER_REPORT.search(err)
            if report:
                self.fail("sanitizer report from lbd:\n" + err[report.start():][:4000])
            report = lbd.memcheck_report()
            if report:
                self.fail("valgrind found errors in lbd:\n" + report)
            if rc not in (None, 0):
                self.fail("lbd exited %s on SIGTERM; stderr:\n%s" % (rc, err[-3000:]))
        finally:
            lbd.close()

    def one_backend(self, handler=None, name="b1", **cfg_kw):
        """Start one backend and lbd in front of it; returns (lbd, port, backend)."""
        b = self.backends.http(name, handler)
        port = free_port()
        lbd = self.start_lbd(simple_config(port, [b], **cfg_kw))
        return lbd, port, b

    def assertNothingReached(self, backend, msg=None):
        reqs = backend.wait_requests(1, timeout=0.2)
        self.assertEqual(reqs, [], msg)
        self.assertEqual(backend.bytes_received, 0, msg)

    def assertErrorResponse(self, resp, code):
        """lbd's own error format (SPEC §3 and the e2e contract)."""
        self.assertEqual(resp.status, code, resp)
        self.assertEqual(resp.version, "HTTP/1.1")
        self.assertTrue(resp.reason, "empty reason phrase")
        self.assertTrue(resp.header("content-type", "").startswith("text/plain"), resp.headers)
        self.assertEqual(resp.header("content-length"), str(len(resp.body)))
        self.assertEqual(resp.body, ("%d %s\n" % (code, resp.reason)).encode())
