#!/usr/bin/env python3
"""bench/soak-client.py: the tracked writes and the report of bench/soak.sh.

    soak-client.py write  PORT CLIENT USER RATE CONNS LO HI SECONDS LOG
    soak-client.py report DIR

write: preference upserts (POST Profile/{id}/Preferences) at RATE a second
over CONNS keep-alive connections until SECONDS have passed, to profiles
LO..HI in turn (a profile is written again only after every other one was,
so two writes of one profile are never in flight together).  The secret is
read from the environment (SOAK_SECRET).  Each write carries its sequence
number in CustomerDate (CUSTOMER_DATE_BASE + seq seconds); one line per
request goes to LOG:

    <sent> <answered> <seq> <profile> <status or 0> <error kind or -> <ms>

report: reads what bench/soak.sh left in DIR and prints the report; exits 1
when a check fails.
"""

import asyncio
import base64
import datetime
import hashlib
import hmac
import os
import sys
import time

# ---------------------------------------------------------------------------
# The request bodies of the soak, in one place.  (The other requests are
# GETs: the configuration read and the profile read in bench/soak.sh.)

CUSTOMER_DATE_BASE = 1767225600          # 2026-01-01T00:00:00Z


def preference_request(client, profile_id, seq):
    """The write: one preference of the profile's home email."""
    date = datetime.datetime.fromtimestamp(CUSTOMER_DATE_BASE + seq,
                                           datetime.timezone.utc)
    body = ('{"Emails":[{"EmailAddress":"p%d.home@example.com",'
            '"EmailPreferences":[{"FilterId":"NewsletterEmail",'
            '"PreferenceType":1,"FrequencyId":"W",'
            '"CustomerDate":"%s"}]}]}'
            % (profile_id, date.strftime("%Y-%m-%dT%H:%M:%SZ")))
    return "/Profiles/v4/%s/Profile/%d/Preferences" % (client, profile_id), body

# ---------------------------------------------------------------------------


def pnauth(client, user, secret):
    ts = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime())
    mac = hmac.new(secret.encode(), ("%s:%s:%s" % (client, user, ts)).encode(),
                   hashlib.sha256).digest()
    return "PNAUTHINFO3-HMAC-SHA256 Credential=%s/%s Signature=%s" % (
        user, ts, base64.b64encode(mac).decode())


class Writer:
    def __init__(self, port, client, user, rate, conns, lo, hi, secs, log):
        self.port, self.client, self.user = port, client, user
        self.secret = os.environ["SOAK_SECRET"]
        self.rate, self.conns = rate, conns
        self.lo, self.hi = lo, hi
        self.secs = secs
        self.log = open(log, "a", buffering=1 << 16)
        self.seq = 0
        self.auth, self.auth_at = None, 0

    def header(self):
        now = time.time()
        if now - self.auth_at > 60:
            self.auth, self.auth_at = pnauth(self.client, self.user, self.secret), now
        return self.auth

    async def connection(self):
        reader = writer = None
        loop = asyncio.get_running_loop()
        while True:
            seq = self.seq
            self.seq += 1
            due = self.t0 + seq / self.rate
            if due - self.t0 > self.secs:
                break
            delay = due - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            profile = self.lo + seq % (self.hi - self.lo + 1)
            path, body = preference_request(self.client, profile, seq)
            req = ("POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: %s\r\n"
                   "Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s"
                   % (path, self.header(), len(body), body)).encode()
            sent = time.time()
            status, err = 0, "-"
            try:
                if writer is None:
                    try:
                        reader, writer = await asyncio.wait_for(
                            asyncio.open_connection("127.0.0.1", self.port), 5)
                    except (OSError, asyncio.TimeoutError):
                        err = "connect"
                        raise
                writer.write(req)
                status, close = await asyncio.wait_for(self.response(reader), 10)
                if close:
                    writer.close()
                    writer = None
            except asyncio.TimeoutError:
                err = "timeout" if err == "-" else err
            except (ConnectionResetError, BrokenPipeError):
                err = "reset"
            except (asyncio.IncompleteReadError, EOFError):
                err = "eof"
            except OSError:
                err = "connect" if err == "-" else err
            if err != "-" and writer is not None:
                writer.close()
                writer = None
            done = time.time()
            self.log.write("%.4f %.4f %d %d %d %s %.2f\n" % (
                sent, done, seq, profile, status, err, (done - sent) * 1000))
        if writer is not None:
            writer.close()

    async def response(self, reader):
        line = await reader.readline()
        if not line:
            raise EOFError
        status = int(line.split()[1])
        length, close = 0, False
        while True:
            h = await reader.readline()
            if not h:
                raise EOFError
            if h in (b"\r\n", b"\n"):
                break
            k, _, v = h.decode("latin-1").partition(":")
            k = k.strip().lower()
            if k == "content-length":
                length = int(v)
            elif k == "connection" and v.strip().lower() == "close":
                close = True
        if length:
            await reader.readexactly(length)
        return status, close

    async def run(self):
        self.t0 = asyncio.get_running_loop().time()
        await asyncio.gather(*(self.connection() for _ in range(self.conns)))
        self.log.close()


# ---------------------------------------------------------------------------
# the report


def pct(values, p):
    if not values:
        return float("nan")
    v = sorted(values)
    return v[min(len(v) - 1, max(0, int(len(v) * p / 100.0 + 0.5) - 1))]


def read_kv(path):
    d = {}
    if os.path.exists(path):
        for line in open(path):
            k, _, v = line.rstrip("\n").partition("=")
            d[k] = v
    return d


def report(d):
    ev = read_kv(os.path.join(d, "events"))
    t_start, t_end = float(ev["start"]), float(ev["end"])
    grace = float(ev.get("grace", "10"))
    windows = []
    if "pg_stop" in ev:
        windows.append((float(ev["pg_stop"]), float(ev["pg_started"]) + grace))
    failures = []

    def inside(a, b=None):
        b = a if b is None else b
        return any(a <= w1 and b >= w0 for w0, w1 in windows)

    def rel(t):
        return t - t_start

    print("timeline (s from the start of the load):")
    if "pg_stop" in ev:
        print("  PostgreSQL restart: stop at %.1f, up again at %.1f; restart window "
              "%.1f .. %.1f (up + %g s)" % (rel(float(ev["pg_stop"])),
                                            rel(float(ev["pg_started"])),
                                            rel(windows[0][0]), rel(windows[0][1]), grace))
    if "helper_kill" in ev:
        print("  helper SIGKILL (pid %s) at %.1f; new helper pid %s at %.1f" % (
            ev.get("helper_pid"), rel(float(ev["helper_kill"])),
            ev.get("helper_new_pid", "?"), rel(float(ev.get("helper_new", ev["helper_kill"])))))
    print("  load ended at %.1f" % rel(t_end))

    # slices of 10 s: the wrk runs are slices already; writes are cut so
    slices = {}
    for kind in ("config", "profile"):
        path = os.path.join(d, "wrk-%s.txt" % kind)
        if not os.path.exists(path):
            continue
        for line in open(path):
            f = line.split()
            if not f or f[0] != "SLICE":
                continue
            a, b = float(f[1]), float(f[2])
            s = {"start": a, "end": b, "n": int(f[3]), "p99": float(f[4]) / 1000.0,
                 "errors": dict(x.split(":") for x in f[5].split(",") if x),
                 "status": dict(x.split(":") for x in (f[6] if len(f) > 6 else "").split(",")
                                if x)}
            slices.setdefault(kind, []).append(s)

    writes = []
    for line in open(os.path.join(d, "writes.log")):
        f = line.split()
        writes.append((float(f[0]), float(f[1]), int(f[2]), int(f[3]), int(f[4]), f[5],
                       float(f[6])))

    rss = []
    for line in open(os.path.join(d, "rss.log")):
        f = line.split()
        rss.append((float(f[0]), int(f[1]), int(f[2]), f[3]))

    nslices = int((t_end - t_start) // 10) + 1

    def slice_of(t):
        return max(0, min(nslices - 1, int((t - t_start) // 10)))

    wslices = [[] for _ in range(nslices)]
    for w in writes:
        wslices[slice_of(w[0])].append(w)

    # errors by kind, inside / outside the restart window
    errs = {}

    def count(kind, where, what, n=1):
        k = (kind, where, what)
        errs[k] = errs.get(k, 0) + n

    for kind, ss in slices.items():
        for s in ss:
            where = "inside" if inside(s["start"], s["end"]) else "outside"
            for code, n in s["status"].items():
                if not code.startswith("2") and code != "304":
                    count(kind, where, "HTTP " + code, int(n))
            for e, n in s["errors"].items():
                if int(n):
                    count(kind, where, "socket " + e, int(n))
    for w in writes:
        where = "inside" if inside(w[0], w[1]) else "outside"
        if w[5] != "-":
            count("write", where, "socket " + w[5])
        elif not 200 <= w[4] < 300:
            count("write", where, "HTTP %d" % w[4])

    print()
    print("per 10 s: requests/s and p99 (ms) of each kind; peak RSS (MiB) of the workers "
          "(sum) and the helper; * = the row overlaps the restart window")
    print("%6s %1s %17s %17s %17s %9s %9s" % ("t", "", "config rps/p99", "profile rps/p99",
                                              "write rps/p99", "workers", "helper"))
    for i in range(nslices):
        a = t_start + 10 * i
        cells = []
        for kind in ("config", "profile"):
            # the wrk runs whose middle falls in this row (a run lasts a
            # little more than 10 s): requests/s over them, the worst p99
            ss = [s for s in slices.get(kind, []) if a <= (s["start"] + s["end"]) / 2 < a + 10]
            if ss:
                span = sum(s["end"] - s["start"] for s in ss)
                cells.append("%7.0f %8.1f" % (sum(s["n"] for s in ss) / max(span, 0.001),
                                              max(s["p99"] for s in ss)))
            else:
                cells.append("%17s" % "-")
        ws = wslices[i]
        if ws:
            lat = [w[6] for w in ws if w[5] == "-"]
            cells.append("%7.0f %8.1f" % (len(ws) / 10.0, pct(lat, 99)))
        else:
            cells.append("%17s" % "-")
        rs = [r for r in rss if a <= r[0] < a + 10]
        wk = "%9.1f" % (max(r[1] for r in rs) / 1024.0) if rs else "%9s" % "-"
        hp = "%9.1f" % (max(r[2] for r in rs) / 1024.0) if rs else "%9s" % "-"
        print("%6d %1s %s %s %s %s %s" % (10 * i, "*" if inside(a, a + 10) else "",
                                          cells[0], cells[1], cells[2], wk, hp))

    print()
    print("errors by kind (request kind, where, what: count):")
    if not errs:
        print("  none")
    for (kind, where, what), n in sorted(errs.items()):
        print("  %-8s %-8s %-20s %d" % (kind, where, what, n))
    out5 = sum(n for (k, w, what), n in errs.items()
               if w == "outside" and (what.startswith("HTTP 5") or what.startswith("socket")))
    if out5:
        failures.append("%d 5xx answers or connection errors outside the restart window" % out5)

    # totals
    for kind, ss in slices.items():
        n = sum(s["n"] for s in ss)
        print("%s: %d requests, %.0f/s" % (kind, n, n / max(t_end - t_start, 1)))
    acked = [w for w in writes if w[5] == "-" and 200 <= w[4] < 300]
    print("write: %d requests, %.0f/s, %d acknowledged with 2xx" % (
        len(writes), len(writes) / max(t_end - t_start, 1), len(acked)))

    # RSS: flat means the last quarter's peak is within 25 % (+ 4 MiB) of the
    # second quarter's peak (the first quarter is the warm-up)
    def quarter_peak(q, col):
        a = t_start + (t_end - t_start) * q / 4.0
        b = t_start + (t_end - t_start) * (q + 1) / 4.0
        v = [r[col] for r in rss if a <= r[0] < b]
        return max(v) if v else 0

    for col, name in ((1, "workers"), (2, "helper")):
        q2, q4 = quarter_peak(1, col), quarter_peak(3, col)
        ok = q4 <= q2 * 1.25 + 4096
        print("RSS %s: peak %.1f MiB in the second quarter, %.1f MiB in the last: %s" % (
            name, q2 / 1024.0, q4 / 1024.0, "flat" if ok else "GROWING"))
        if not ok:
            failures.append("RSS of the %s grows" % name)

    # every acknowledged write is in the database: per profile, the value
    # found is the last acknowledged write's or a later attempt's
    last_ack, attempts = {}, {}
    for w in writes:
        attempts.setdefault(w[3], set()).add(w[2])
        if w[5] == "-" and 200 <= w[4] < 300:
            if w[2] > last_ack.get(w[3], -1):
                last_ack[w[3]] = w[2]
    found = {}
    for line in open(os.path.join(d, "db-writes.txt")):
        f = line.split("|")
        if len(f) == 2 and f[1].strip():
            found[int(f[0])] = int(f[1]) - CUSTOMER_DATE_BASE
    lost = 0
    for p, seq in last_ack.items():
        v = found.get(p)
        if v is None or v < seq or v not in attempts[p]:
            lost += 1
            if lost <= 5:
                print("  LOST: profile %d: last acknowledged write seq %d, database has %s" % (
                    p, seq, v))
    print("acknowledged writes: %d profiles checked, %d lost" % (len(last_ack), lost))
    if lost:
        failures.append("%d acknowledged writes are not in the database" % lost)

    # every event was delivered or is still being retried
    received = set()
    for line in open(os.path.join(d, "hook.log")):
        f = line.split()
        if len(f) == 3 and f[2].startswith("2"):
            received.add(f[1])
    states = {}
    missing = 0
    n_events = 0
    for line in open(os.path.join(d, "db-events.txt")):
        f = line.rstrip("\n").split("|")
        if len(f) != 2:
            continue
        n_events += 1
        eid, state = f[0], f[1] or "not claimed yet"
        if eid in received:
            st = "received"
        elif state in ("pending", "sending", "not claimed yet"):
            st = "retrying: " + state
        else:
            st = "LOST: " + state
            missing += 1
            if missing <= 5:
                print("  LOST: event %s, delivery %s, never received" % (eid, state))
        states[st] = states.get(st, 0) + 1
    print("events: %d the subscription selects: %s" % (
        n_events, ", ".join("%s %d" % kv for kv in sorted(states.items()))))
    if missing:
        failures.append("%d events neither delivered nor retrying" % missing)
    dup = sum(1 for line in open(os.path.join(d, "hook.log")) if line.split()[2:] == ["204"])
    print("receiver: %d 2xx answers for %d distinct events (duplicates are allowed: "
          "at-least-once)" % (dup, len(received)))

    # error.log: the lines at error or worse, by message, inside and outside
    # the restart window (the master's line on the helper killed on purpose
    # is expected)
    logged = {}
    path = os.path.join(d, "error.log")
    for line in open(path) if os.path.exists(path) else []:
        f = line.split(" ", 3)
        if len(f) < 4 or f[2] not in ("[error]", "[crit]", "[alert]", "[emerg]"):
            continue
        try:
            t = time.mktime(time.strptime(f[0] + " " + f[1], "%Y/%m/%d %H:%M:%S"))
        except ValueError:
            continue
        msg = f[3].split(": ", 1)[-1].strip()
        if f[2] == "[alert]" and "exited on signal 9" in msg:
            continue
        msg = " ".join(w if not any(c.isdigit() for c in w) else "N" for w in msg.split())[:100]
        key = ("inside" if inside(t - 1, t + 1) else "outside", f[2], msg)
        logged[key] = logged.get(key, 0) + 1
    print("error.log (error or worse; numbers as N):")
    if not logged:
        print("  none")
    for (where, level, msg), n in sorted(logged.items()):
        print("  %-8s %-8s %6d  %s" % (where, level, n, msg))

    print()
    if failures:
        for f in failures:
            print("FAIL: " + f)
        return 1
    print("PASS: no 5xx or connection error outside the restart window, flat RSS, "
          "nothing lost")
    return 0


def main():
    if len(sys.argv) >= 2 and sys.argv[1] == "write" and len(sys.argv) == 11:
        a = sys.argv[2:]
        w = Writer(int(a[0]), a[1], a[2], float(a[3]), int(a[4]), int(a[5]), int(a[6]),
                   float(a[7]), a[8])
        asyncio.run(w.run())
        return 0
    if len(sys.argv) == 3 and sys.argv[1] == "report":
        return report(sys.argv[2])
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main())
