"""The manual pages against what the running programs say about
themselves: every field of GET /status and every metric of GET /metrics
is named in lbd(8)'s ADMIN API section, every command `lbctl -h` lists is
an entry of lbctl(8)'s COMMANDS, every option of `lbd -h` and `lbctl -h`
is in the page's OPTIONS. (lbd.yaml(5) against the loader's schema is
tests/man/check-man.)"""

import os
import re
import subprocess

from lbdtest import (LbdTestCase, admin_request, free_port, lbctl_bin, lbd_bin, pool,
                     listener, config, server)

TOP = os.environ.get("TOP_SRCDIR", os.path.join(os.path.dirname(__file__), "..", ".."))


def page(name):
    """The page's text: font escapes dropped, \\- as -."""
    with open(os.path.join(TOP, "man", name)) as f:
        text = f.read()
    text = re.sub(r"\\f(\[[A-Z]*\]|\(..|[BIRP])", "", text)
    return text.replace("\\-", "-").replace("\\&", "")


def section(text, title):
    m = re.search(r"^\.SH \"?%s\"?\n(.*?)(?=^\.SH |\Z)" % re.escape(title), text, re.S | re.M)
    assert m, "no section %s" % title
    return m.group(1)


def tags(text):
    """The first word of each entry's tag (the line after .TP), without
    macro and quotes."""
    out = set()
    lines = text.split("\n")
    for i, line in enumerate(lines[:-1]):
        if line.startswith(".TP"):
            words = re.sub(r"^\.[A-Z]+\s+", "", lines[i + 1]).replace('"', " ").split()
            if words:
                out.add(words[0])
    return out


def has_word(text, word):
    return re.search(r"(^|[^A-Za-z0-9_])%s([^A-Za-z0-9_]|$)" % re.escape(word), text, re.M)


def json_keys(obj, path=""):
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield (path + "." + k).lstrip("."), k
            yield from json_keys(v, (path + "." + k).lstrip("."))
    elif isinstance(obj, list):
        for v in obj:
            yield from json_keys(v, path + "[]")


class DocsTest(LbdTestCase):
    def admin_section(self):
        return section(page("lbd.8"), "ADMIN API")

    def test_every_status_field_is_documented(self):
        b1 = self.backends.http("b1")
        port = free_port()
        lbd = self.start_lbd(config([listener("web", port, "p")],
                                    [pool("p", [server(b1, name="one", weight=2),
                                                server(b1, name="two", backup=True)])]))
        st = admin_request(lbd.admin_socket, "GET", "/status")
        self.assertEqual(st.status, 200)
        doc = self.admin_section()
        keys = sorted(set(json_keys(st.json)))
        self.assertGreater(len(keys), 15)
        missing = [p for p, k in keys if not has_word(doc, k)]
        self.assertEqual(missing, [], "GET /status fields that lbd(8)'s ADMIN API does not name")

    def test_every_metric_is_documented(self):
        b1 = self.backends.http("b1")
        port = free_port()
        lbd = self.start_lbd(config([listener("web", port, "p")], [pool("p", [b1])]))
        m = admin_request(lbd.admin_socket, "GET", "/metrics")
        if m.status == 404:
            self.skipTest("this lbd has no GET /metrics")
        self.assertEqual(m.status, 200)
        names = re.findall(r"^# TYPE ([A-Za-z_:][A-Za-z0-9_:]*) ", m.body.decode(), re.M)
        self.assertTrue(names, "GET /metrics declares no metric (# TYPE lines)")
        text = page("lbd.8")
        missing = [n for n in names if not has_word(text, n)]
        self.assertEqual(missing, [], "metrics that lbd(8) does not name")

    def help_of(self, binary):
        out = subprocess.run([binary, "-h"], capture_output=True, text=True, timeout=10)
        self.assertEqual(out.returncode, 0, out.stderr)
        return out.stdout + out.stderr

    def test_every_lbctl_command_is_an_entry(self):
        if not lbctl_bin():
            self.skipTest("no lbctl")
        help_text = self.help_of(lbctl_bin())
        commands = [l.split()[0] for l in help_text.split("commands:", 1)[1].splitlines()
                    if l.strip()]
        self.assertIn("reload", commands)
        self.assertIn("health", commands)
        entries = tags(section(page("lbctl.8"), "COMMANDS"))
        self.assertEqual([c for c in commands if c not in entries], [],
                         "lbctl commands without an entry in lbctl(8) COMMANDS")

    def test_every_option_is_documented(self):
        for binary, name in ((lbd_bin(), "lbd.8"), (lbctl_bin(), "lbctl.8")):
            if not binary:
                continue
            opts = re.findall(r"(?<![\w-])(--?[A-Za-z][\w-]*)", self.help_of(binary).split("commands:")[0])
            opts = sorted(set(opts))
            self.assertIn("-h", opts)
            doc = section(page(name), "OPTIONS")
            missing = [o for o in opts if not re.search(r"(^|[\s\"])%s([\s\",]|$)" % re.escape(o), doc, re.M)]
            self.assertEqual(missing, [], "%s options that %s OPTIONS does not document"
                             % (os.path.basename(binary), name))
