"""Custom error pages (SPEC §10): listeners[].errors gives the body of
lbd's own answers, read at load, with a Content-Type by the file's
extension, over HTTP/1 and HTTP/2; bad pages fail the load with
file:line:col."""

import os
import re
import shutil
import subprocess
import tempfile
import unittest

from lbdtest import (HOST, LbdTestCase, HttpClient, config, free_port, lbd_bin, listener,
                     pool)

CURL = shutil.which("curl")
HTML = b"<!doctype html><title>Not here</title><p>No such page.</p>\n"
TEXT = b"Go away.\n"


def page_dir(test):
    tmp = tempfile.mkdtemp(prefix="lbd-pages-")
    test.addCleanup(shutil.rmtree, tmp)
    for name, body in (("404.html", HTML), ("403.txt", TEXT)):
        with open(os.path.join(tmp, name), "wb") as f:
            f.write(body)
    return tmp


class ErrorPagesTest(LbdTestCase):
    def start(self):
        tmp = page_dir(self)
        b = self.backends.http("b1")
        port = free_port()
        web = listener("web", port, routes=[{"match": {"path_prefix": "/app"}, "pool": "p"}])
        web["trusted_proxies"] = ["127.0.0.1"]
        web["deny"] = ["10.0.0.0/8"]
        web["errors"] = {404: os.path.join(tmp, "404.html"),
                         403: os.path.join(tmp, "403.txt")}
        lbd = self.start_lbd(config([web], [pool("p", [b])]))
        return lbd, port

    def test_http1_pages(self):
        lbd, port = self.start()
        with HttpClient(port) as c:
            r = c.request(target="/nowhere")
            self.assertEqual(r.status, 404)
            self.assertEqual(r.header("content-type"), "text/html")
            self.assertEqual(int(r.header("content-length")), len(HTML))
            self.assertEqual(r.body, HTML)
            r = c.request(target="/app", headers=[("X-Forwarded-For", "10.0.0.1")])
            self.assertEqual(r.status, 403)
            self.assertEqual(r.header("content-type"), "text/plain")
            self.assertEqual(r.body, TEXT)
            r = c.request(target="/app")
            self.assertEqual(r.status, 200)
        lines = lbd.access_lines(count=3, timeout=3)
        self.assertEqual([ln["status"] for ln in lines], [404, 403, 200])
        self.assertEqual(lines[0]["bytes"] > len(HTML), True)

    @unittest.skipUnless(CURL, "no curl")
    def test_http2_page(self):
        _, port = self.start()
        out = subprocess.run([CURL, "-s", "--http2-prior-knowledge", "-D", "-",
                              "http://%s:%d/nowhere" % (HOST, port)],
                             capture_output=True, timeout=20)
        text = out.stdout.decode("latin-1")
        self.assertRegex(text.lower(), r"http/2 404")
        self.assertRegex(text.lower(), r"content-type: text/html\r\n")
        self.assertTrue(out.stdout.endswith(HTML), text)


class ErrorPagesConfigTest(unittest.TestCase):
    def check(self, errors):
        tmp = page_dir(self)
        with open(os.path.join(tmp, "big.html"), "wb") as f:
            f.write(b"x" * (64 * 1024 + 1))
        text = ("global: {admin: {socket: %s/admin.sock}}\n" % tmp +
                "listeners:\n"
                "  - name: web\n"
                "    bind: 127.0.0.1:8080\n"
                "    errors: " + errors + "\n"
                "    routes:\n"
                "      - pool: p\n"
                "pools:\n"
                "  - name: p\n"
                "    servers: [{address: 127.0.0.1:9000}]\n")
        path = os.path.join(tmp, "lbd.yaml")
        with open(path, "w") as f:
            f.write(text)
        return path, subprocess.run([lbd_bin(), "-t", "-c", path], capture_output=True,
                                    text=True, timeout=20)

    def test_good(self):
        # relative to the configuration file
        _, r = self.check("{404: 404.html, 503: 403.txt}")
        self.assertEqual(r.returncode, 0, r.stderr)

    def test_bad(self):
        for errors, col, what in (("{200: 404.html}", 14, "status lbd answers"),
                                  ("{404: missing.html}", 19, "cannot read"),
                                  ("{404: big.html}", 19, "more than 65536 bytes"),
                                  ("[404.html]", 13, "mapping")):
            path, r = self.check(errors)
            self.assertNotEqual(r.returncode, 0, errors)
            self.assertRegex(r.stderr, r"%s:5:%d: .*%s" % (re.escape(path), col, what),
                             errors)


if __name__ == "__main__":
    unittest.main()
