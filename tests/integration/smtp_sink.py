#!/usr/bin/python3
"""smtp_sink.py: the worker tests' SMTP server: aiosmtpd's Maildir sink that can refuse chosen recipients.

usage: smtp_sink.py HOST:PORT MAILDIR [--reject ADDR]... [--tempfail ADDR:N]... [--log FILE]

  --reject ADDR     answer RCPT TO:<ADDR> with 550 (a permanent failure), every time
  --tempfail ADDR:N answer RCPT TO:<ADDR> with 451 (a temporary failure) the first N times
  --log FILE        append "RCPT <addr> <code>" for every RCPT TO, so a test can count attempts

Every other message is stored in MAILDIR exactly as aiosmtpd.handlers.Mailbox stores it.
Runs until SIGTERM or SIGINT. Needs Debian's python3-aiosmtpd (/usr/bin/python3).
"""
import argparse
import signal
import threading

from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Mailbox


class Sink(Mailbox):
    def __init__(self, maildir, reject, tempfail, log):
        super().__init__(maildir)
        self.reject = set(a.lower() for a in reject)
        self.tempfail = {}
        for spec in tempfail:
            addr, _, n = spec.rpartition(":")
            self.tempfail[addr.lower()] = int(n)
        self.log = log
        self.lock = threading.Lock()

    def note(self, addr, code):
        if self.log:
            with self.lock, open(self.log, "a") as f:
                f.write("RCPT %s %d\n" % (addr, code))

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        key = address.lower()
        if key in self.reject:
            self.note(address, 550)
            return "550 5.1.1 <%s>: mailbox unavailable" % address
        if self.tempfail.get(key, 0) > 0:
            self.tempfail[key] -= 1
            self.note(address, 451)
            return "451 4.3.0 <%s>: try again later" % address
        self.note(address, 250)
        envelope.rcpt_tos.append(address)
        return "250 OK"


def main():
    p = argparse.ArgumentParser(description="Maildir SMTP sink that can refuse recipients")
    p.add_argument("listen")
    p.add_argument("maildir")
    p.add_argument("--reject", action="append", default=[])
    p.add_argument("--tempfail", action="append", default=[])
    p.add_argument("--log")
    a = p.parse_args()
    host, _, port = a.listen.rpartition(":")
    controller = Controller(Sink(a.maildir, a.reject, a.tempfail, a.log), hostname=host, port=int(port))
    controller.start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    controller.stop()


if __name__ == "__main__":
    main()
