#!/usr/bin/env python3
"""inherited_socket.py: a service restarted or killed on a socket it inherited costs clients a wait, never an error.

usage: inherited_socket.py BINARY ENV_FILE HEALTH_PATH [LOG_FILE]

Plays systemd's part of socket activation (store-svc@.socket): it makes and holds the
listening unix socket and starts BINARY (with the KEY=value lines of ENV_FILE, and
STORE_LISTEN=fd:0) with that socket as its standard input, as StandardInput=socket does.
Clients keep sending FastCGI GETs of HEALTH_PATH straight to the socket while the
service is
  1. stopped with SIGTERM, then started again on the same socket (systemctl restart), and
  2. killed with SIGKILL, then started again (a crash and Restart=on-failure).
Every request must be answered 200: those that arrive while no process runs wait in
the socket's queue for the next one. The only exception is a crash: the requests the
killed process had already taken (at most one per thread) die with it; every request
that started after it was dead must be answered. A service that shuts its inherited socket down on
SIGTERM fails this (connections refused or reset). The service must also exit 0 on
SIGTERM, and the socket must still be listening after each stop. The service's output
goes to LOG_FILE (default: a file in a temporary directory).
Run by `scripts/store test` against the test stack's MariaDB and Redis.
"""
import os
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

CLIENTS = 4
GAP_S = 0.3  # how long the service stays down before the next start


def fcgi_record(rtype, content, req_id=1):
    return struct.pack(">BBHHBB", 1, rtype, req_id, len(content), 0, 0) + content


def fcgi_pair(name, value):
    out = b""
    for n in (len(name), len(value)):
        out += bytes([n]) if n < 128 else struct.pack(">I", n | 0x80000000)
    return out + name + value


def fcgi_get(path, sock_path, timeout=15.0):
    """One FastCGI GET; returns the HTTP status the service answered, or raises."""
    params = b"".join(fcgi_pair(k.encode(), v.encode()) for k, v in (
        ("REQUEST_METHOD", "GET"), ("REQUEST_URI", path), ("SCRIPT_NAME", path), ("QUERY_STRING", ""),
        ("STORE_LISTENER", "public"), ("REQUEST_ID", "inherited-socket-test")))
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        s.connect(sock_path)
        s.sendall(fcgi_record(1, struct.pack(">HB5x", 1, 0)) + fcgi_record(4, params) + fcgi_record(4, b"")
                  + fcgi_record(5, b""))
        buf, stdout = b"", b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                raise ConnectionError("connection closed before the end of the answer")
            buf += chunk
            while len(buf) >= 8:
                _, rtype, _, clen, plen, _ = struct.unpack(">BBHHBB", buf[:8])
                if len(buf) < 8 + clen + plen:
                    break
                content, buf = buf[8:8 + clen], buf[8 + clen + plen:]
                if rtype == 6:
                    stdout += content
                elif rtype == 3:
                    head = stdout.split(b"\r\n", 1)[0].decode("latin-1")
                    if not head.startswith("Status: "):
                        raise ValueError("no Status line: %r" % head)
                    return int(head.split()[1])
    finally:
        s.close()


class Clients:
    def __init__(self, path, sock_path):
        self.path, self.sock_path = path, sock_path
        self.ok = 0
        self.failures = []
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self.run, daemon=True) for _ in range(CLIENTS)]

    def run(self):
        while not self.stop.is_set():
            started = time.monotonic()
            try:
                status = fcgi_get(self.path, self.sock_path)
                err = None if status == 200 else "status %d" % status
            except (OSError, ValueError) as e:
                err = "%s: %s" % (type(e).__name__, e)
            with self.lock:
                if err:
                    self.failures.append((started, err))
                else:
                    self.ok += 1

    def failed_since(self, t):
        """The failures of requests that started after monotonic time t."""
        with self.lock:
            return [f for f in self.failures if f[0] > t]

    def count(self):
        with self.lock:
            return self.ok, len(self.failures)


def start(binary, env, lsock, log):
    return subprocess.Popen([binary], stdin=lsock.fileno(), stdout=log, stderr=log, env=env, close_fds=True)


def wait_ready(path, sock_path, proc):
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.exit("FAIL: the service exited with %s at start" % proc.returncode)
        try:
            if fcgi_get(path, sock_path, timeout=2) == 200:
                return
        except (OSError, ValueError):
            pass
        time.sleep(0.1)
    sys.exit("FAIL: the service did not answer 200 within 20 s")


def still_listening(sock_path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.connect(sock_path)  # queued by the kernel while the socket listens, refused once it does not
        return True
    except OSError:
        return False
    finally:
        s.close()


def main():
    if len(sys.argv) not in (4, 5):
        sys.exit(__doc__)
    binary, env_file, path = sys.argv[1:4]
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    for var in ("ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS"):
        if var in os.environ:
            env[var] = os.environ[var]
    with open(env_file) as f:
        for line in f:
            line = line.strip()
            if line and not line.startswith("#") and "=" in line:
                k, v = line.split("=", 1)
                env[k] = v
    env["STORE_LISTEN"] = "fd:0"
    env["STORE_THREADS"] = "4"

    tmp = tempfile.mkdtemp(prefix="store-inherited-")
    sock_path = os.path.join(tmp, "svc.sock")
    lsock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    lsock.bind(sock_path)
    lsock.listen(1024)
    log_path = sys.argv[4] if len(sys.argv) == 5 else os.path.join(tmp, "service.log")
    log = open(log_path, "ab")
    log_start = log.tell()
    rc = 0
    proc = start(binary, env, lsock, log)
    try:
        wait_ready(path, sock_path, proc)
        clients = Clients(path, sock_path)
        for t in clients.threads:
            t.start()
        time.sleep(0.5)
        in_flight = 0
        for how in ("SIGTERM", "SIGKILL"):
            before = clients.count()
            proc.send_signal(signal.SIGTERM if how == "SIGTERM" else signal.SIGKILL)
            code = proc.wait(timeout=40)
            dead_at = time.monotonic()
            if how == "SIGTERM" and code != 0:
                print("FAIL: the service exited %s on SIGTERM, not 0" % code)
                rc = 1
            if not still_listening(sock_path):
                print("FAIL: after %s the inherited socket no longer listens (the service shut it down)" % how)
                rc = 1
            time.sleep(GAP_S)
            proc = start(binary, env, lsock, log)
            time.sleep(1.0)
            after = clients.count()
            failed = after[1] - before[1]
            late = len(clients.failed_since(dead_at))
            print("%s, %.1f s down, then started again: %d requests answered 200, %d failed (%d of them "
                  "started after the process was gone)" % (how, GAP_S, after[0] - before[0], failed, late))
            if after[0] - before[0] == 0:
                print("FAIL: no request was answered across the %s restart" % how)
                rc = 1
            if how == "SIGKILL":
                # Taken by the process when it was killed: lost with it (nginx retries a GET
                # on another instance where there is one). Never more than its threads.
                in_flight = failed - late
                if in_flight > int(env["STORE_THREADS"]):
                    print("FAIL: %d requests failed across the kill, more than the %s the process held" % (
                        in_flight, env["STORE_THREADS"]))
                    rc = 1
        clients.stop.set()
        for t in clients.threads:
            t.join(20)
        ok, failed = clients.count()
        print("in all: %d requests answered 200, %d failed: %d in flight in the killed process, %d others" % (
            ok, failed, in_flight, failed - in_flight))
        if failed - in_flight:
            print("FAIL: %d requests failed besides those the killed process held; the first: %s" % (
                failed - in_flight, clients.failures[0][1]))
            rc = 1
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=40)
            except subprocess.TimeoutExpired:
                proc.kill()
        log.close()
        lsock.close()
        if rc:
            with open(log_path, "rb") as f:
                f.seek(log_start)
                sys.stdout.write(f.read().decode("utf-8", "replace")[-3000:])
    print("PASS" if rc == 0 else "FAIL")
    return rc


if __name__ == "__main__":
    sys.exit(main())
