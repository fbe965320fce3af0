"""A blue-green split moved by reloads under load (SPEC §5, §10): while
keep-alive clients with 16 keys keep sending, the route's weights go
100/0 → 75/25 → 50/50 → 25/75 → 0/100, one reload each. Every request is
answered 200; a key stays on its side except when the boundary passes
it, so a key that reached green never goes back to blue; at 100/0 every
key is on blue and at 0/100 every key is on green."""

import threading
import time

from lbdtest import LbdTestCase, HttpClient, config, free_port, listener, pool

STEPS = [(100, 0), (75, 25), (50, 50), (25, 75), (0, 100)]
STEP_SECONDS = 1.5
THREADS = 8
KEYS_PER_THREAD = 2
MAX_REQUESTS_PER_THREAD = 100000


def split_config(port, blue, green, weights):
    route = {"match": {"path_prefix": "/"},
             "split": [{"pool": "blue", "weight": weights[0]},
                       {"pool": "green", "weight": weights[1]}],
             "split_key": "header:X-User"}
    return config([listener("web", port, routes=[route])],
                  [pool("blue", [blue]), pool("green", [green])], workers=2)


class SplitReloadTest(LbdTestCase):
    def test_weights_move_under_load_without_an_error(self):
        blue = self.backends.http("blue")
        green = self.backends.http("green")
        port = free_port()
        lbd = self.start_lbd(split_config(port, blue, green, STEPS[0]))
        # The steps that may be serving: from LO (its reload is done) to HI
        # (its reload was asked for). A request sent when LO is n and
        # answered when HI still is n was served by step n.
        lo, hi = [0], [0]
        stop = threading.Event()
        seen = {}           # key -> [(LO at send, HI at answer, side)]
        errors = []

        def client(t):
            keys = ["user-%d-%d" % (t, k) for k in range(KEYS_PER_THREAD)]
            for k in keys:
                seen[k] = []
            try:
                with HttpClient(port) as c:
                    for i in range(MAX_REQUESTS_PER_THREAD):
                        if stop.is_set():
                            break
                        key = keys[i % len(keys)]
                        before = lo[0]
                        r = c.request("GET", "/%d" % i, headers=[("X-User", key)])
                        if r.status != 200:
                            errors.append((key, r.status))
                            continue
                        seen[key].append((before, hi[0], r.header("x-backend")))
            except Exception as e:   # a broken connection is an error too
                errors.append(("thread %d" % t, repr(e)))

        threads = [threading.Thread(target=client, args=(t,)) for t in range(THREADS)]
        for th in threads:
            th.start()
        try:
            for i, weights in enumerate(STEPS[1:], 1):
                time.sleep(STEP_SECONDS)
                hi[0] = i
                ok, _ = lbd.reload(split_config(port, blue, green, weights))
                self.assertTrue(ok, weights)
                lo[0] = i
            time.sleep(STEP_SECONDS)
        finally:
            stop.set()
            for th in threads:
                th.join(30)
        self.assertEqual(errors, [])
        last = len(STEPS) - 1
        for key, answers in seen.items():
            sides = [side for _, _, side in answers]
            self.assertTrue(sides, key)
            # green only grows: once there, a key never goes back
            if "green" in sides:
                first = sides.index("green")
                self.assertEqual(set(sides[first:]), {"green"}, key)
            # fully inside the first step: blue; inside the last: green
            self.assertTrue({s for a, b, s in answers if a == b == 0} <= {"blue"}, key)
            self.assertEqual({s for a, b, s in answers if a == last}, {"green"}, key)
            # within one step a key never changes side
            for n in range(len(STEPS)):
                self.assertLessEqual(len({s for a, b, s in answers if a == b == n}), 1,
                                     (key, n))
        # the keys spread: some moved before the last step
        moved_early = [k for k, answers in seen.items()
                       if any(s == "green" and b < last for _, b, s in answers)]
        self.assertTrue(moved_early, seen.keys())
