#!/usr/bin/env python3
"""bench/soak-receiver.py: the webhook receiver of bench/soak.sh.

    soak-receiver.py PORT LOGFILE [FAIL_EVERY]

Listens on 127.0.0.1:PORT (HTTP/1.1, keep-alive, a thread per connection),
answers 204 to every POST and appends one line per request to LOGFILE:

    <epoch seconds> <webhook-id> <status>

With FAIL_EVERY = N > 0, the first delivery of every event whose id is a
multiple of N is answered 503 instead, so that retries are exercised; the
next attempt of that event gets 204.  Stops on SIGTERM.
"""

import http.server
import signal
import socketserver
import sys
import threading
import time


class Receiver(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "soak-receiver"

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        wid = self.headers.get("webhook-id", "-")
        status = 204
        srv = self.server
        if srv.fail_every > 0 and wid.isdigit() and int(wid) % srv.fail_every == 0:
            with srv.lock:
                if wid not in srv.failed:
                    srv.failed.add(wid)
                    status = 503
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()
        with srv.lock:
            srv.log.write("%.3f %s %d\n" % (time.time(), wid, status))

    def log_message(self, fmt, *args):
        pass


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request, client_address):
        # a sender killed mid-request (the soak kills the helper) resets
        # its connections: not worth a traceback
        pass


def main():
    port, logfile = int(sys.argv[1]), sys.argv[2]
    srv = Server(("127.0.0.1", port), Receiver)
    srv.fail_every = int(sys.argv[3]) if len(sys.argv) > 3 else 0
    srv.failed = set()
    srv.lock = threading.Lock()
    srv.log = open(logfile, "a", buffering=1)
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=srv.shutdown).start())
    srv.serve_forever()
    srv.log.close()


if __name__ == "__main__":
    main()
