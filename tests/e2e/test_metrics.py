"""GET /metrics (SPEC §6): the Prometheus text format 0.0.4, checked by a
strict parser of that format; counters that equal exactly the requests a
real client sent, per listener, pool, server and status class; histograms
whose count equals the proxied requests; counters that survive reloads;
reloads by result; lbctl metrics; bad admin paths still answered."""

import math
import re
import socket
import threading
import time

import backends as B
from lbdtest import (HttpClient, LbdTestCase, admin_request, build_request, config, curl,
                     free_port, lbctl, listener, pool, server, wait_port)

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

# ---------------------------------------------------------------------------
# A strict parser of the text exposition format 0.0.4.

METRIC_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
FLOAT = re.compile(r"^(?:[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|[+-]Inf|NaN)$")
TYPES = {"counter", "gauge", "histogram", "summary", "untyped"}


class FormatError(AssertionError):
    pass


def parse_float(text, where):
    if not FLOAT.match(text):
        raise FormatError("%s: %r is not a float" % (where, text))
    return float(text.replace("Inf", "inf"))


def unescape_help(text, where):
    out, i = [], 0
    while i < len(text):
        c = text[i]
        if c == "\\":
            nxt = text[i + 1:i + 2]
            if nxt not in ("\\", "n"):
                raise FormatError("%s: bad escape \\%s in HELP" % (where, nxt))
            out.append("\n" if nxt == "n" else "\\")
            i += 2
        else:
            out.append(c)
            i += 1
    return "".join(out)


def parse_labels(text, i, where):
    """Labels from just after '{'; returns (dict, index after '}')."""
    labels = {}
    while True:
        if text[i:i + 1] == "}":
            return labels, i + 1
        m = LABEL_NAME.match(text, i)
        if not m:
            raise FormatError("%s: bad label name at %r" % (where, text[i:]))
        name = m.group(0)
        if name.startswith("__"):
            raise FormatError("%s: reserved label name %s" % (where, name))
        if name in labels:
            raise FormatError("%s: label %s twice" % (where, name))
        i = m.end()
        if text[i:i + 2] != '="':
            raise FormatError("%s: expected =\" after %s" % (where, name))
        i += 2
        value = []
        while True:
            if i >= len(text):
                raise FormatError("%s: unterminated label value" % where)
            c = text[i]
            if c == "\\":
                nxt = text[i + 1:i + 2]
                if nxt not in ('\\', '"', 'n'):
                    raise FormatError("%s: bad escape \\%s in a label value" % (where, nxt))
                value.append({"\\": "\\", '"': '"', "n": "\n"}[nxt])
                i += 2
            elif c == '"':
                i += 1
                break
            elif c == "\n":
                raise FormatError("%s: raw newline in a label value" % where)
            else:
                value.append(c)
                i += 1
        labels[name] = "".join(value)
        if text[i:i + 1] == ",":
            i += 1
        elif text[i:i + 1] != "}":
            raise FormatError("%s: expected , or } after a label" % where)


def family_of(name, types):
    """The declared family a sample name belongs to, or None."""
    if name in types and types[name] != "histogram":
        return name
    for suffix in ("_bucket", "_sum", "_count"):
        if name.endswith(suffix) and types.get(name[:-len(suffix)]) == "histogram":
            return name[:-len(suffix)]
    return None


def parse_exposition(text):
    """Parse TEXT strictly; returns {"types", "help", "samples"} where
    samples maps (name, frozenset(labels.items())) to a float. Raises
    FormatError on anything the format does not allow."""
    if not text.endswith("\n"):
        raise FormatError("the text does not end with a newline")
    types, helps, samples = {}, {}, {}
    order = []          # families in the order their samples appear
    for n, line in enumerate(text[:-1].split("\n"), 1):
        where = "line %d" % n
        if line == "":
            raise FormatError("%s: empty line" % where)
        if line.startswith("#"):
            m = re.match(r"^# (HELP|TYPE) ([^ ]+) (.*)$", line)
            if not m:
                raise FormatError("%s: a comment other than HELP or TYPE: %r" % (where, line))
            kind, name, rest = m.groups()
            if not METRIC_NAME.fullmatch(name):
                raise FormatError("%s: bad metric name %r" % (where, name))
            if not name.startswith("lbd_"):
                raise FormatError("%s: %s lacks the lbd_ prefix" % (where, name))
            if kind == "HELP":
                if name in helps:
                    raise FormatError("%s: second HELP for %s" % (where, name))
                if name in types:
                    raise FormatError("%s: HELP for %s after its TYPE" % (where, name))
                if not rest.strip():
                    raise FormatError("%s: empty HELP for %s" % (where, name))
                helps[name] = unescape_help(rest, where)
            else:
                if rest not in TYPES:
                    raise FormatError("%s: unknown type %r" % (where, rest))
                if name in types:
                    raise FormatError("%s: second TYPE for %s" % (where, name))
                if name in order:
                    raise FormatError("%s: TYPE for %s after its samples" % (where, name))
                if name not in helps:
                    raise FormatError("%s: TYPE for %s without HELP" % (where, name))
                types[name] = rest
            continue
        m = METRIC_NAME.match(line)
        if not m:
            raise FormatError("%s: bad metric name in %r" % (where, line))
        name, i = m.group(0), m.end()
        labels = {}
        if line[i:i + 1] == "{":
            labels, i = parse_labels(line, i + 1, where)
        if line[i:i + 1] != " ":
            raise FormatError("%s: expected a space before the value: %r" % (where, line))
        parts = line[i + 1:].split(" ")
        if len(parts) not in (1, 2) or not parts[0]:
            raise FormatError("%s: expected a value and an optional timestamp" % where)
        value = parse_float(parts[0], where)
        if len(parts) == 2 and not re.fullmatch(r"-?\d+", parts[1]):
            raise FormatError("%s: bad timestamp %r" % (where, parts[1]))
        fam = family_of(name, types)
        if fam is None:
            raise FormatError("%s: sample %s of no declared family" % (where, name))
        if order and order[-1] != fam:
            if fam in order:
                raise FormatError("%s: samples of %s are not together" % (where, fam))
        if not order or order[-1] != fam:
            order.append(fam)
        if types[fam] == "counter":
            if not name.endswith("_total"):
                raise FormatError("%s: counter %s does not end in _total" % (where, name))
            if value < 0 or math.isnan(value):
                raise FormatError("%s: counter %s is %r" % (where, name, value))
        if types[fam] == "histogram" and name.endswith("_bucket"):
            if "le" not in labels:
                raise FormatError("%s: bucket without le" % where)
            parse_float(labels["le"], where)
        elif "le" in labels:
            raise FormatError("%s: le outside a histogram bucket" % where)
        key = (name, frozenset(labels.items()))
        if key in samples:
            raise FormatError("%s: duplicate series %s%s" % (where, name, labels))
        samples[key] = value
    check_histograms(types, samples)
    return {"types": types, "help": helps, "samples": samples}


def check_histograms(types, samples):
    for fam, t in types.items():
        if t != "histogram":
            continue
        series = {}
        for (name, labels), v in samples.items():
            if name == fam + "_bucket":
                rest = frozenset((k, x) for k, x in labels if k != "le")
                le = float(dict(labels)["le"].replace("Inf", "inf"))
                series.setdefault(rest, []).append((le, v))
        for rest, buckets in series.items():
            buckets.sort()
            if buckets[-1][0] != math.inf:
                raise FormatError("%s%s: no +Inf bucket" % (fam, dict(rest)))
            counts = [v for _, v in buckets]
            if counts != sorted(counts):
                raise FormatError("%s%s: buckets not cumulative: %r" % (fam, dict(rest),
                                                                        buckets))
            count = samples.get((fam + "_count", rest))
            if count is None or (fam + "_sum", rest) not in samples:
                raise FormatError("%s%s: _count or _sum missing" % (fam, dict(rest)))
            if count != counts[-1]:
                raise FormatError("%s%s: _count %r != +Inf bucket %r" %
                                  (fam, dict(rest), count, counts[-1]))
        for (name, labels) in samples:
            if name in (fam + "_sum", fam + "_count") and frozenset(labels) not in series:
                raise FormatError("%s%s without buckets" % (name, dict(labels)))


class Scrape:
    """One parsed scrape; value(name, **labels) of one series."""

    def __init__(self, text):
        self.text = text
        doc = parse_exposition(text)
        self.types, self.samples = doc["types"], doc["samples"]

    def value(self, name, **labels):
        key = (name, frozenset(labels.items()))
        if key not in self.samples:
            raise AssertionError("no series %s%s in:\n%s" % (name, labels, self.text))
        return self.samples[key]

    def codes(self, name, **labels):
        """{code: value} of a by-status family, classes with 0 left out."""
        out = {}
        for c in ("1xx", "2xx", "3xx", "4xx", "5xx", "other"):
            v = self.value(name, code=c, **labels)
            if v:
                out[c] = v
        return out

    def buckets(self, name, **labels):
        out = {}
        for (n, ls), v in self.samples.items():
            d = dict(ls)
            if n == name + "_bucket" and {k: x for k, x in d.items() if k != "le"} == labels:
                out[d["le"]] = v
        return out


def scrape(where):
    r = admin_request(where, "GET", "/metrics")
    assert r.status == 200, r
    assert r.header("content-type") == CONTENT_TYPE, r.headers
    return Scrape(r.body.decode("utf-8"))


# ---------------------------------------------------------------------------
class ParserSelfTest(LbdTestCase):
    """The parser refuses what the format does not allow (so that a pass
    means something)."""

    GOOD = ('# HELP lbd_x_total An x.\n# TYPE lbd_x_total counter\n'
            'lbd_x_total{a="q\\"\\\\\\n"} 1\n')

    def test_accepts_good_text(self):
        doc = parse_exposition(self.GOOD)
        self.assertEqual(doc["samples"][("lbd_x_total", frozenset({("a", 'q"\\\n')}))], 1.0)

    def test_refuses_bad_text(self):
        hdr = "# HELP lbd_x_total An x.\n# TYPE lbd_x_total counter\n"
        hist = "# HELP lbd_h A h.\n# TYPE lbd_h histogram\n"
        bad = [
            "lbd_x_total 1\n",                                     # no TYPE
            hdr + "lbd_x_total{a=\"\\t\"} 1\n",                    # bad escape
            hdr + "lbd_x_total{a=\"b\"} one\n",                    # not a float
            hdr + "lbd_x_total 1\nlbd_x_total 2\n",                # duplicate
            hdr + "lbd_x_total{a=\"b\",a=\"c\"} 1\n",              # label twice
            hdr + "lbd_x_total{1a=\"b\"} 1\n",                     # label name
            hdr + "lbd_x_total 1",                                 # no final newline
            hdr + "\nlbd_x_total 1\n",                             # empty line
            "# TYPE lbd_x_total counter\nlbd_x_total 1\n",         # no HELP
            hist + 'lbd_h_bucket{le="1"} 2\nlbd_h_bucket{le="+Inf"} 1\n'
                   'lbd_h_sum 1\nlbd_h_count 1\n',                 # not cumulative
            hist + 'lbd_h_bucket{le="1"} 1\nlbd_h_sum 1\nlbd_h_count 1\n',   # no +Inf
            hist + 'lbd_h_bucket{le="+Inf"} 2\nlbd_h_sum 1\nlbd_h_count 1\n',  # count
        ]
        for text in bad:
            with self.assertRaises(FormatError, msg=text):
                parse_exposition(text)


# ---------------------------------------------------------------------------
def app_handler(backend, req):
    if req.target.startswith("/missing"):
        return B.Response(404, b"no such thing\n")
    return B.Response(200, b"ok\n")


class MetricsTestCase(LbdTestCase):
    def setUp(self):
        super().setUp()
        self.app = self.backends.http("app1", app_handler)
        self.web, self.api = free_port(), free_port()
        self.dead = self.backends.dead_address()

    def cfg(self, extra_server=False, weight=1, **kw):
        app_servers = [server(self.app, weight=weight)]
        if extra_server:
            # Weight 0: in the pool (and in the metrics), given no requests.
            app_servers.append(server(self.backends.dead_address(), name="spare", weight=0))
        return config(
            [listener("web", self.web, routes=[
                {"match": {"path_prefix": "/gone"}, "pool": "gone"},
                {"match": {"path_prefix": "/off"}, "pool": "off"},
                {"match": {"path_prefix": "/"}, "pool": "app"}]),
             listener("api", self.api, routes=[
                 {"match": {"path_prefix": "/api"}, "pool": "app"}])],
            [pool("app", app_servers), pool("gone", [server(self.dead, name="dead")]),
             pool("off", [server(self.app, name="o1")])],
            workers=2, retries=0, **kw)

    def send(self, port, target, n, want):
        """N requests, each on its own connection; the bytes both ways."""
        sent = received = 0
        for i in range(n):
            raw = build_request("GET", "%s/%d" % (target, i))
            with HttpClient(port) as c:
                c.send(raw)
                r = c.read_response()
            self.assertEqual(r.status, want, r)
            sent += len(raw)
            received += len(r.raw_head) + len(r.body)
        return sent, received

    def wait_counted(self, lbd, total, listeners=("web", "api")):
        """Scrape until LISTENERS counted TOTAL requests and no client
        connection is open any more (counting happens as the response
        leaves)."""
        deadline = time.monotonic() + 10
        while True:
            s = scrape(lbd)
            n = sum(sum(s.codes("lbd_listener_requests_total", listener=x).values())
                    for x in listeners)
            if (n >= total and s.value("lbd_connections") == 0) or time.monotonic() > deadline:
                return s
            time.sleep(0.05)


class CountsTest(MetricsTestCase):
    def traffic(self, lbd):
        out = {}
        out["ok"] = self.send(self.web, "/ok", 7, 200)
        out["missing"] = self.send(self.web, "/missing", 3, 404)
        out["gone"] = self.send(self.web, "/gone", 2, 502)
        out["off"] = self.send(self.web, "/off", 4, 503)
        out["noroute"] = self.send(self.api, "/nothing", 5, 404)
        return out

    def test_counts_equal_what_was_sent(self):
        lbd = self.start_lbd(self.cfg())
        self.assertEqual(admin_request(lbd, "POST", "/servers/off/o1/disable").status, 200)
        bytes_by = self.traffic(lbd)
        s = self.wait_counted(lbd, 21)

        self.assertEqual(s.codes("lbd_listener_requests_total", listener="web"),
                         {"2xx": 7, "4xx": 3, "5xx": 6})
        self.assertEqual(s.codes("lbd_listener_requests_total", listener="api"), {"4xx": 5})
        self.assertEqual(s.codes("lbd_pool_requests_total", pool="app"), {"2xx": 7, "4xx": 3})
        self.assertEqual(s.codes("lbd_pool_requests_total", pool="gone"), {"5xx": 2})
        self.assertEqual(s.codes("lbd_pool_requests_total", pool="off"), {"5xx": 4})
        self.assertEqual(s.codes("lbd_server_requests_total", pool="app", server="app1"),
                         {"2xx": 7, "4xx": 3})
        self.assertEqual(s.codes("lbd_server_requests_total", pool="gone", server="dead"),
                         {"5xx": 2})
        self.assertEqual(s.codes("lbd_server_requests_total", pool="off", server="o1"), {})

        # One more each: the harness's readiness probe connects once per port.
        self.assertEqual(s.value("lbd_listener_connections_accepted_total", listener="web"), 17)
        self.assertEqual(s.value("lbd_listener_connections_accepted_total", listener="api"), 6)
        self.assertEqual(s.value("lbd_listener_connections", listener="web"), 0)
        web_in = sum(bytes_by[k][0] for k in ("ok", "missing", "gone", "off"))
        web_out = sum(bytes_by[k][1] for k in ("ok", "missing", "gone", "off"))
        self.assertEqual(s.value("lbd_listener_received_bytes_total", listener="web"), web_in)
        self.assertEqual(s.value("lbd_listener_sent_bytes_total", listener="web"), web_out)
        self.assertEqual(s.value("lbd_listener_received_bytes_total", listener="api"),
                         bytes_by["noroute"][0])
        self.assertEqual(s.value("lbd_listener_sent_bytes_total", listener="api"),
                         bytes_by["noroute"][1])

        # The histograms count what a server answered: app1's 10.
        for name, labels in (("lbd_pool_upstream_response_seconds", {"pool": "app"}),
                             ("lbd_server_upstream_response_seconds",
                              {"pool": "app", "server": "app1"})):
            self.assertEqual(s.value(name + "_count", **labels), 10)
            self.assertEqual(s.buckets(name, **labels)["+Inf"], 10)
            self.assertGreater(s.value(name + "_sum", **labels), 0)
        self.assertEqual(s.value("lbd_pool_upstream_response_seconds_count", pool="gone"), 0)
        self.assertEqual(s.value("lbd_server_upstream_response_seconds_count",
                                 pool="gone", server="dead"), 0)

        self.assertEqual(s.value("lbd_server_selected_total", pool="app", server="app1"), 10)
        self.assertEqual(s.value("lbd_server_selected_total", pool="gone", server="dead"), 2)
        self.assertEqual(s.value("lbd_server_failures_total", pool="gone", server="dead"), 2)
        self.assertEqual(s.value("lbd_server_failures_total", pool="app", server="app1"), 0)
        self.assertEqual(s.value("lbd_server_active_requests", pool="app", server="app1"), 0)

        self.assertEqual(s.value("lbd_server_up", pool="app", server="app1"), 1)
        self.assertEqual(s.value("lbd_server_up", pool="off", server="o1"), 0)
        for st, v in (("up", 0), ("down", 0), ("draining", 0), ("disabled", 1)):
            self.assertEqual(s.value("lbd_server_state", pool="off", server="o1", state=st), v)
        for st, v in (("enabled", 0), ("draining", 0), ("disabled", 1)):
            self.assertEqual(s.value("lbd_server_admin_state", pool="off", server="o1",
                                     state=st), v)
        self.assertEqual(s.value("lbd_server_admin_state", pool="app", server="app1",
                                 state="enabled"), 1)
        self.assertEqual(s.value("lbd_pool_servers_up", pool="off"), 0)
        self.assertEqual(s.value("lbd_pool_servers_up", pool="app"), 1)
        self.assertEqual(s.value("lbd_server_weight", pool="app", server="app1"), 1)

        self.assertEqual(s.value("lbd_config_generation"), 1)
        self.assertEqual(s.value("lbd_config_live_generations"), 1)
        self.assertGreater(s.value("lbd_start_time_seconds"), 1.6e9)
        self.assertGreaterEqual(s.value("lbd_uptime_seconds"), 0)

        # The counters agree with the access log, line for line.
        lines = lbd.access_lines(count=21)
        self.assertEqual(len(lines), 21)
        self.assertEqual(sum(ln["bytes"] for ln in lines if ln["listener"] == "web"), web_out)

    def test_every_family_declared_and_documented(self):
        lbd = self.start_lbd(self.cfg())
        self.send(self.web, "/ok", 1, 200)
        s = self.wait_counted(lbd, 1)
        with open(self.man_page()) as f:
            man = f.read().replace("\\_", "_").replace("\\-", "-").replace("\\fB", "") \
                .replace("\\fR", "")
        for name in s.types:
            self.assertIn(name, man, "%s is not documented in lbd(8)" % name)

    @staticmethod
    def man_page():
        import os
        top = os.environ.get("TOP_SRCDIR") or os.path.join(os.path.dirname(__file__), "..", "..")
        return os.path.join(top, "man", "lbd.8")

    def test_histogram_buckets_see_slow_answers(self):
        slow = self.backends.http("slow", B.delay_handler(0.06))
        port = free_port()
        lbd = self.start_lbd(config([listener("web", port, "p")], [pool("p", [slow])]))
        for _ in range(3):
            with HttpClient(port) as c:
                self.assertEqual(c.request().status, 200)
        s = self.wait_counted(lbd, 3, listeners=("web",))
        deadline = time.monotonic() + 10
        while s.value("lbd_pool_upstream_response_seconds_count", pool="p") < 3 and \
                time.monotonic() < deadline:
            time.sleep(0.05)
            s = scrape(lbd)
        b = s.buckets("lbd_pool_upstream_response_seconds", pool="p")
        self.assertEqual(b["+Inf"], 3)
        # Each answer took at least 60 ms: none is in a bucket at or below 50 ms.
        for le in ("0.001", "0.0025", "0.005", "0.01", "0.025", "0.05"):
            self.assertEqual(b[le], 0, b)
        self.assertGreaterEqual(s.value("lbd_pool_upstream_response_seconds_sum", pool="p"),
                                0.18)
        self.assertEqual(list(b), ["0.001", "0.0025", "0.005", "0.01", "0.025", "0.05", "0.1",
                                   "0.25", "0.5", "1", "2.5", "5", "10", "+Inf"])

    def test_tcp_listener(self):
        echo = self.backends.tcp("echo", farewell=False)
        port = free_port()
        lbd = self.start_lbd(config([listener("raw", port, "t", protocol="tcp")],
                                    [pool("t", [echo])]))
        for payload in (b"hello\n", b"x" * 1000):
            with socket.create_connection(("127.0.0.1", port), timeout=5) as c:
                c.sendall(payload)
                got = b""
                while len(got) < len(payload):
                    got += c.recv(65536)
                self.assertEqual(got, payload)
        deadline = time.monotonic() + 10
        while True:
            s = scrape(lbd)
            if s.value("lbd_listener_connections", listener="raw") == 0 or \
                    time.monotonic() > deadline:
                break
            time.sleep(0.05)
        # Two, and the harness's readiness probe (which lbd relays too).
        self.assertEqual(s.value("lbd_listener_connections_accepted_total", listener="raw"), 3)
        self.assertEqual(s.value("lbd_listener_received_bytes_total", listener="raw"), 1006)
        self.assertEqual(s.value("lbd_listener_sent_bytes_total", listener="raw"), 1006)
        self.assertEqual(s.value("lbd_server_selected_total", pool="t", server="echo"), 3)
        # A tcp listener answers no HTTP requests: no by-status series.
        self.assertFalse([k for k in s.samples if k[0] == "lbd_listener_requests_total"])


class ReloadTest(MetricsTestCase):
    def test_counters_survive_a_reload(self):
        lbd = self.start_lbd(self.cfg())
        self.send(self.web, "/ok", 5, 200)
        self.send(self.web, "/gone", 2, 502)
        before = self.wait_counted(lbd, 7)
        self.assertEqual(lbd.reload(self.cfg(extra_server=True, weight=3)), (True, 2))
        after = scrape(lbd)
        self.assertEqual(after.value("lbd_config_generation"), 2)
        self.assertEqual(after.value("lbd_server_weight", pool="app", server="app1"), 3)
        for (name, labels), v in before.samples.items():
            if after.types.get(name) == "counter" or name.endswith(("_bucket", "_count",
                                                                    "_sum")):
                if name == "lbd_reloads_total":
                    continue
                self.assertEqual(after.samples.get((name, labels)), v,
                                 "%s%s changed in a reload" % (name, dict(labels)))
        self.assertEqual(after.value("lbd_server_requests_total", pool="app", server="spare",
                                     code="2xx"), 0)
        self.send(self.web, "/ok", 3, 200)
        self.send(self.api, "/api", 1, 200)
        later = self.wait_counted(lbd, 11)
        self.assertEqual(later.codes("lbd_listener_requests_total", listener="web"),
                         {"2xx": 8, "5xx": 2})
        self.assertEqual(later.codes("lbd_pool_requests_total", pool="app"), {"2xx": 9})
        self.assertEqual(later.value("lbd_pool_upstream_response_seconds_count", pool="app"), 9)
        self.assertEqual(later.value("lbd_server_upstream_response_seconds_count",
                                     pool="app", server="app1"), 9)
        for (name, labels), v in after.samples.items():
            if later.types.get(name) == "counter" or name.endswith(("_bucket", "_count")):
                self.assertGreaterEqual(later.samples[(name, labels)], v, name)

    def test_request_in_flight_across_a_reload_counts_for_its_server(self):
        slow = self.backends.http("slow", B.delay_handler(0.8))
        port = free_port()

        def cfg(weight):
            return config([listener("web", port, "p")], [pool("p", [server(slow, weight=weight)])])
        lbd = self.start_lbd(cfg(1))
        got = []
        t = threading.Thread(target=lambda: got.append(self.send(port, "/slow", 1, 200)))
        t.start()
        self.addCleanup(t.join, 10)
        self.assertTrue(slow.wait_requests(1, timeout=5))
        s = scrape(lbd)
        self.assertEqual(s.value("lbd_server_active_requests", pool="p", server="slow"), 1)
        self.assertEqual(s.value("lbd_listener_connections", listener="web"), 1)
        self.assertEqual(lbd.reload(cfg(2)), (True, 2))
        t.join(10)
        self.assertEqual(len(got), 1)
        s = self.wait_counted(lbd, 1, listeners=("web",))
        self.assertEqual(s.codes("lbd_server_requests_total", pool="p", server="slow"),
                         {"2xx": 1})
        self.assertEqual(s.value("lbd_server_upstream_response_seconds_count", pool="p",
                                 server="slow"), 1)
        self.assertGreaterEqual(s.value("lbd_server_upstream_response_seconds_sum", pool="p",
                                        server="slow"), 0.8)
        self.assertEqual(s.value("lbd_server_active_requests", pool="p", server="slow"), 0)

    def test_pool_histogram_keeps_a_removed_servers_answers(self):
        other = self.backends.http("app2")
        port = free_port()

        def cfg(servers):
            return config([listener("web", port, "p")], [pool("p", servers)])
        lbd = self.start_lbd(cfg([self.app, other]))
        self.send(port, "/x", 4, 200)
        before = self.wait_counted(lbd, 4, listeners=("web",))
        self.assertEqual(before.value("lbd_pool_upstream_response_seconds_count", pool="p"), 4)
        self.assertEqual(lbd.reload(cfg([self.app])), (True, 2))
        after = scrape(lbd)
        self.assertEqual(after.value("lbd_pool_upstream_response_seconds_count", pool="p"), 4)
        self.assertNotIn(("lbd_server_up", frozenset({("pool", "p"), ("server", "app2")})),
                         after.samples)

    def test_reloads_by_result(self):
        lbd = self.start_lbd(self.cfg())
        good = self.cfg()
        s = scrape(lbd)
        self.assertEqual(s.value("lbd_reloads_total", result="ok"), 0)
        self.assertEqual(s.value("lbd_reloads_total", result="rejected"), 0)
        self.assertEqual(s.value("lbd_config_last_reload_successful"), 1)
        ok, _ = lbd.reload(good.replace("servers:", "servrs:"))
        self.assertFalse(ok)
        s = scrape(lbd)
        self.assertEqual(s.value("lbd_reloads_total", result="rejected"), 1)
        self.assertEqual(s.value("lbd_reloads_total", result="ok"), 0)
        self.assertEqual(s.value("lbd_config_last_reload_successful"), 0)
        self.assertEqual(s.value("lbd_config_generation"), 1)
        lbd.rewrite(good)
        r = admin_request(lbd, "POST", "/reload")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(lbd.reload(), (True, 3))
        s = scrape(lbd)
        self.assertEqual(s.value("lbd_reloads_total", result="ok"), 2)
        self.assertEqual(s.value("lbd_reloads_total", result="rejected"), 1)
        self.assertEqual(s.value("lbd_config_last_reload_successful"), 1)
        self.assertEqual(s.value("lbd_config_generation"), 3)


class ConcurrentTest(MetricsTestCase):
    def test_scrapes_under_load_parse_and_never_go_back(self):
        lbd = self.start_lbd(self.cfg())
        stop = threading.Event()
        sent = [0] * 4

        def client(i):
            while not stop.is_set():
                with HttpClient(self.web) as c:
                    for _ in range(20):
                        if stop.is_set():
                            break
                        self.assertEqual(c.request("GET", "/ok").status, 200)
                        sent[i] += 1
        threads = [threading.Thread(target=client, args=(i,)) for i in range(4)]
        for t in threads:
            t.start()
        try:
            prev = None
            for _ in range(15):
                s = scrape(lbd)
                if prev:
                    for key, v in prev.samples.items():
                        name = key[0]
                        if prev.types.get(name) == "counter" or \
                                name.endswith(("_bucket", "_count", "_sum")):
                            self.assertGreaterEqual(s.samples[key], v, key)
                prev = s
                time.sleep(0.05)
        finally:
            stop.set()
            for t in threads:
                t.join(10)
        s = self.wait_counted(lbd, sum(sent))
        self.assertEqual(s.codes("lbd_listener_requests_total", listener="web"),
                         {"2xx": sum(sent)})
        self.assertEqual(s.value("lbd_pool_upstream_response_seconds_count", pool="app"),
                         sum(sent))
        self.assertGreater(sum(sent), 0)


class HealthMetricsTest(LbdTestCase):
    def test_check_families_follow_the_checks(self):
        a = self.backends.http("a", B.health_handler())
        b = self.backends.http("b", B.health_handler())
        port = free_port()
        hc = {"type": "http", "path": "/healthz", "interval": "100ms", "timeout": "100ms",
              "rise": 2, "fall": 2}
        lbd = self.start_lbd(config(
            [listener("web", port, "p"), listener("plain", free_port(), "q")],
            [pool("p", [server(a), server(b)], health_check=hc),
             pool("q", [server(self.backends.dead_address(), name="nocheck")])]))

        def until(pred):
            deadline = time.monotonic() + 10
            while True:
                s = scrape(lbd)
                if pred(s) or time.monotonic() > deadline:
                    return s
                time.sleep(0.05)

        s = until(lambda s: s.value("lbd_server_checks_total", pool="p", server="a",
                                    result="passed") >= 2)
        self.assertEqual(s.value("lbd_server_check_up", pool="p", server="a"), 1)
        self.assertEqual(s.value("lbd_server_checks_total", pool="p", server="a",
                                 result="failed"), 0)
        self.assertGreaterEqual(s.value("lbd_server_check_duration_seconds", pool="p",
                                        server="a"), 0)
        # No check configured: no check series (neither 0 nor 1 would be true).
        self.assertNotIn(("lbd_server_check_up",
                          frozenset({"pool": "q", "server": "nocheck"}.items())), s.samples)
        self.assertEqual(s.value("lbd_server_passive_out", pool="q", server="nocheck"), 0)

        a.health_status = 500
        s = until(lambda s: s.value("lbd_server_check_up", pool="p", server="a") == 0)
        self.assertEqual(s.value("lbd_server_check_up", pool="p", server="a"), 0)
        self.assertGreaterEqual(s.value("lbd_server_checks_total", pool="p", server="a",
                                        result="failed"), 2)
        self.assertEqual(s.value("lbd_server_up", pool="p", server="a"), 0)
        self.assertEqual(s.value("lbd_server_state", pool="p", server="a", state="down"), 1)
        self.assertEqual(s.value("lbd_server_admin_state", pool="p", server="a",
                                 state="enabled"), 1)
        self.assertEqual(s.value("lbd_pool_servers_up", pool="p"), 1)
        self.assertEqual(s.value("lbd_server_check_up", pool="p", server="b"), 1)

        a.health_status = 200
        s = until(lambda s: s.value("lbd_server_up", pool="p", server="a") == 1)
        self.assertEqual(s.value("lbd_server_check_up", pool="p", server="a"), 1)
        self.assertEqual(s.value("lbd_server_state", pool="p", server="a", state="up"), 1)


class AdminPathsTest(MetricsTestCase):
    def test_metrics_on_every_admin_transport(self):
        admin_port = free_port()
        lbd = self.start_lbd(self.cfg(admin_listen="127.0.0.1:%d" % admin_port))
        self.assertTrue(wait_port(admin_port))
        self.send(self.web, "/ok", 2, 200)
        self.wait_counted(lbd, 2)
        tcp = scrape(("127.0.0.1", admin_port))
        self.assertEqual(tcp.codes("lbd_listener_requests_total", listener="web"), {"2xx": 2})
        out = curl("-i", "--unix-socket", lbd.admin_socket, "http://lbd/metrics")
        self.assertEqual(out.returncode, 0, out.stderr)
        head, _, body = out.stdout.decode().partition("\r\n\r\n")
        self.assertIn("Content-Type: " + CONTENT_TYPE, head)
        self.assertEqual(Scrape(body).codes("lbd_listener_requests_total", listener="web"),
                         {"2xx": 2})
        r = lbctl("metrics", socket_path=lbd.admin_socket)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(Scrape(r.stdout).codes("lbd_pool_requests_total", pool="app"),
                         {"2xx": 2})
        r = lbctl("metrics", "extra", socket_path=lbd.admin_socket)
        self.assertEqual(r.returncode, 1)

    def test_bad_paths_and_methods(self):
        lbd = self.start_lbd(self.cfg())
        for method, path, want in (("POST", "/metrics", 405), ("PUT", "/metrics", 405),
                                   ("GET", "/metrics/extra", 404), ("GET", "/metricsx", 404),
                                   ("GET", "/metrics/%zz", 400), ("GET", "/%00", 400),
                                   ("GET", "/metrics?name[]=lbd_up", 200)):
            r = admin_request(lbd, method, path)
            self.assertEqual(r.status, want, (method, path, r))
            if want == 405:
                self.assertEqual(r.header("allow"), "GET, HEAD")
        scrape(lbd)
        self.assertTrue(lbd.alive())
