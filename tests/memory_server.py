#!/usr/bin/env python3
"""A stand-in for the hosted memory API (README.md, "The hosted API this speaks"), for the
tests and the benchmarks. Standard library only; listens on 127.0.0.1.

    python3 tests/memory_server.py [--port 0] [--latency-ms N]

prints "PORT <n>" once it listens. Besides the API it answers, under
/_test/ (no API route starts so):
    POST /_test/reset             forget data, log, faults; latency to 0 (after
                                  the requests being answered have landed)
    POST /_test/config            {"latency_ms": 10, "coerce_numbers": false}
    POST /_test/faults            a list of faults, consumed in order:
        {"kind": "status", "status": 503, "retry_after": 1, "count": 2,
         "method": "PUT", "path": "/memory/a"}   (method, path: optional
                                                  filters; path a prefix)
        kind "status":  answer that status with {"detail": ...} (and a
                        "location" header, for redirects)
        kind "delay":   wait "seconds", then answer normally
        kind "garbage": 200 with a body that is not JSON
        kind "drop":    close the connection without an answer
        kind "huge":    200 with "bytes" bytes of body ("chunked": true to
                        send no Content-Length)
        kind "body":    200 with the given "body" (JSON text): a server lie
        kind "raw":     the given bytes ("raw") as the whole answer, then close
    GET  /_test/log               every request so far, in order
    POST /_test/log/clear
    POST /_test/bulk              {"namespace", "count"}: store count keys
"""
import argparse
import json
import re
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote

NAMESPACE_RE = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
KEY_RE = re.compile(r"^[a-zA-Z0-9_.-]{1,128}$")
BAD_NAMESPACE = "Invalid namespace. Use 1-64 alphanumeric/underscore/dash chars."
BAD_KEY = "Invalid key. Use 1-128 alphanumeric/underscore/dash/dot chars."


class State:
    def __init__(self):
        self.lock = threading.Lock()
        self.inflight = 0  # API requests being answered
        self.reset()

    def reset(self):
        self.data = {}  # namespace -> key -> {value, created_at, updated_at}
        self.log = []
        self.faults = []
        self.latency = 0.0
        self.coerce_numbers = False

    def take_fault(self, method, path):
        with self.lock:
            for fault in self.faults:
                if fault.get("method", method) != method:
                    continue
                if not path.startswith(fault.get("path", "")):
                    continue
                fault["count"] = fault.get("count", 1) - 1
                if fault["count"] <= 0:
                    self.faults.remove(fault)
                return fault
        return None


STATE = State()


def validation_error(loc, msg, typ):
    return 422, {"detail": [{"loc": loc, "msg": msg, "type": typ}]}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the hosted service
    disable_nagle_algorithm = True  # headers and body go out as two writes
    server_version = "memory-test-server/1"

    def log_message(self, *args):
        pass

    # -- plumbing -------------------------------------------------------
    def read_body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def send_json(self, status, obj, extra_headers=()):
        body = json.dumps(obj).encode()
        self.send_raw(status, body, extra_headers)

    def send_raw(self, status, body, extra_headers=()):
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for name, value in extra_headers:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def handle_any(self, method):
        raw_path, _, query = self.path.partition("?")
        body = self.read_body()
        if raw_path.startswith("/_test/"):
            return self.control(method, raw_path, body)
        with STATE.lock:
            STATE.inflight += 1
        try:
            self.answer(method, raw_path, query, body)
        finally:
            with STATE.lock:
                STATE.inflight -= 1

    def answer(self, method, raw_path, query, body):
        with STATE.lock:
            STATE.log.append({
                "method": method, "path": raw_path, "query": query,
                "authorization": self.headers.get("Authorization"),
                "content_type": self.headers.get("Content-Type"),
                "body": body.decode("utf-8", "replace") if body else None,
                "time": time.time(),
                "client_port": self.client_address[1],  # one per connection
            })
            latency = STATE.latency
        if latency:
            time.sleep(latency)
        fault = STATE.take_fault(method, raw_path)
        if fault and self.apply_fault(fault):
            return
        status, obj, headers = self.route(method, raw_path, query, body)
        self.send_json(status, obj, headers)

    def apply_fault(self, fault):
        """Answer with the fault; False to answer normally afterwards."""
        kind = fault["kind"]
        if kind == "delay":
            time.sleep(fault["seconds"])
            return False
        if kind == "status":
            headers = []
            if "retry_after" in fault:
                headers.append(("Retry-After", str(fault["retry_after"])))
            if "location" in fault:
                headers.append(("Location", fault["location"]))
            self.send_json(fault["status"], {"detail": fault.get(
                "detail", f"injected {fault['status']}")}, headers)
        elif kind == "garbage":
            self.send_raw(200, b"<html>this is not JSON</html>")
        elif kind == "body":
            self.send_raw(200, fault["body"].encode())
        elif kind == "drop":
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        elif kind == "huge":
            self.send_huge(fault["bytes"], fault.get("chunked", False))
        elif kind == "raw":
            self.close_connection = True
            self.wfile.write(fault["raw"].encode("latin-1"))
        return True

    def send_huge(self, total, chunked):
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
        else:
            self.send_header("Content-Length", str(total))
        self.end_headers()
        block = b'"' + b"x" * 65534 + b'"'
        sent = 0
        try:
            while sent < total:
                part = block[:min(len(block), total - sent)]
                if chunked:
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
                else:
                    self.wfile.write(part)
                sent += len(part)
            if chunked:
                self.wfile.write(b"0\r\n\r\n")
        except OSError:
            pass  # the client gave up, as it should
        self.close_connection = True

    # -- the API --------------------------------------------------------
    def route(self, method, raw_path, query, body):
        segments = raw_path.split("/")
        names = [unquote(s) for s in segments[1:]]
        # A decoded '/' never matches a route (FastAPI/Starlette).
        if any("/" in n for n in names):
            return 404, {"detail": "Not Found"}, ()
        if names == ["stats", "memory"] and method == "GET":
            with STATE.lock:
                entries = sum(len(v) for v in STATE.data.values())
                total = sum(len(e["value"]) for v in STATE.data.values()
                            for e in v.values())
                namespaces = sum(1 for v in STATE.data.values() if v)
            return 200, {"total_entries": entries,
                         "total_namespaces": namespaces,
                         "total_bytes": total}, ()
        if len(names) == 2 and names[0] == "memory" and names[1] and method == "GET":
            return self.list_keys(names[1], query) + ((),)
        if len(names) == 3 and names[0] == "memory" and names[1] and names[2]:
            ns, key = names[1], names[2]
            if method == "PUT":
                return self.put(ns, key, body) + ((),)
            if method == "GET":
                return self.get(ns, key) + ((),)
            if method == "DELETE":
                return self.delete(ns, key) + ((),)
            return 405, {"detail": "Method Not Allowed"}, ()
        return 404, {"detail": "Not Found"}, ()

    @staticmethod
    def check_names(ns, key):
        if not NAMESPACE_RE.match(ns):
            return 400, {"detail": BAD_NAMESPACE}
        if key is not None and not KEY_RE.match(key):
            return 400, {"detail": BAD_KEY}
        return None

    def put(self, ns, key, body):
        try:
            doc = json.loads(body)
        except ValueError:
            return validation_error(["body"], "invalid JSON", "value_error.jsondecode")
        if not isinstance(doc, dict) or "value" not in doc:
            return validation_error(["body", "value"], "field required",
                                    "value_error.missing")
        value = doc["value"]
        if isinstance(value, (int, float)) and STATE.coerce_numbers:
            value = str(value)
        if not isinstance(value, str):
            return validation_error(["body", "value"], "str type expected",
                                    "type_error.str")
        bad = self.check_names(ns, key)
        if bad:
            return bad
        if len(value) > 100000:
            return 400, {"detail": "Value too large. Max 100KB."}
        now = time.time()
        with STATE.lock:
            entries = STATE.data.setdefault(ns, {})
            old = entries.get(key)
            entries[key] = {"value": value,
                            "created_at": old["created_at"] if old else now,
                            "updated_at": now}
        return 200, {"namespace": ns, "key": key, "stored": True,
                     "bytes": len(value)}

    def get(self, ns, key):
        bad = self.check_names(ns, key)
        if bad:
            return bad
        with STATE.lock:
            entry = STATE.data.get(ns, {}).get(key)
            entry = dict(entry) if entry else None
        if entry is None:
            return 404, {"detail": f"Key not found: {ns}/{key}"}
        return 200, {"namespace": ns, "key": key, **entry}

    def delete(self, ns, key):
        bad = self.check_names(ns, key)
        if bad:
            return bad
        with STATE.lock:
            entry = STATE.data.get(ns, {}).pop(key, None)
        if entry is None:
            return 404, {"detail": f"Key not found: {ns}/{key}"}
        return 200, {"deleted": True, "namespace": ns, "key": key}

    def list_keys(self, ns, query):
        params = parse_qs(query)
        limit = 100
        if "limit" in params:
            try:
                limit = int(params["limit"][-1])
            except ValueError:
                return validation_error(["query", "limit"],
                                        "value is not a valid integer",
                                        "type_error.integer")
            if limit < 1:
                return validation_error(["query", "limit"],
                                        "ensure this value is greater than or equal to 1",
                                        "value_error.number.not_ge")
            if limit > 1000:
                return validation_error(["query", "limit"],
                                        "ensure this value is less than or equal to 1000",
                                        "value_error.number.not_le")
        bad = self.check_names(ns, None)
        if bad:
            return bad
        with STATE.lock:
            entries = sorted(STATE.data.get(ns, {}).items(),
                             key=lambda kv: kv[1]["updated_at"], reverse=True)
            keys = [{"key": k, "bytes": len(e["value"]),
                     "updated_at": e["updated_at"]} for k, e in entries[:limit]]
        return 200, {"namespace": ns, "count": len(keys), "keys": keys}

    # -- test controls ----------------------------------------------------
    def control(self, method, path, body):
        doc = json.loads(body) if body else None
        if path == "/_test/reset":
            # A request a client gave up on (a timeout) may still be asleep
            # in its latency or fault: let it land before the next test
            # starts, not in the middle of it.
            deadline = time.time() + 15
            while time.time() < deadline:
                with STATE.lock:
                    if STATE.inflight == 0:
                        break
                time.sleep(0.01)
        with STATE.lock:
            if path == "/_test/reset" and method == "POST":
                STATE.reset()
                answer = {"ok": True}
            elif path == "/_test/config" and method == "POST":
                if "latency_ms" in doc:
                    STATE.latency = doc["latency_ms"] / 1000.0
                if "coerce_numbers" in doc:
                    STATE.coerce_numbers = bool(doc["coerce_numbers"])
                answer = {"ok": True}
            elif path == "/_test/faults" and method == "POST":
                STATE.faults.extend(doc)
                answer = {"ok": True}
            elif path == "/_test/bulk" and method == "POST":
                # {"namespace", "count"}: that many keys k0000.., value "v",
                # without a request each (a namespace past the listing window)
                now = time.time()
                ns = STATE.data.setdefault(doc["namespace"], {})
                for i in range(doc["count"]):
                    ns[f"k{i:04d}"] = {"value": "v", "created_at": now + i * 1e-6,
                                       "updated_at": now + i * 1e-6}
                answer = {"ok": True}
            elif path == "/_test/log" and method == "GET":
                answer = STATE.log
            elif path == "/_test/log/clear" and method == "POST":
                STATE.log = []
                answer = {"ok": True}
            else:
                answer = None
        if answer is None:
            self.send_json(404, {"detail": "Not Found"})
        else:
            self.send_json(200, answer)

    def do_GET(self):
        self.handle_any("GET")

    def do_PUT(self):
        self.handle_any("PUT")

    def do_DELETE(self):
        self.handle_any("DELETE")

    def do_POST(self):
        self.handle_any("POST")


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256

    def handle_error(self, request, client_address):
        # A client that goes away mid-answer (load generators, timeouts,
        # refused floods) is expected; anything else is printed.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--latency-ms", type=float, default=0)
    args = parser.parse_args()
    STATE.latency = args.latency_ms / 1000.0
    server = Server(("127.0.0.1", args.port), Handler)
    print(f"PORT {server.server_address[1]}", flush=True)
    # Stop when the parent goes away: tests start us, and must not leave us.
    threading.Thread(target=lambda: (sys.stdin.read(), server.shutdown()),
                     daemon=True).start()
    server.serve_forever()


if __name__ == "__main__":
    main()
