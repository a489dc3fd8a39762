"""A webhook receiver on loopback for the tests: verifies Standard Webhooks signatures and
counts what arrives by `webhook-id`, answering 500 on demand to exercise retries."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from service.notify.signing import verify


@dataclass
class Received:
    webhook_id: str
    timestamp: str
    body: dict[str, Any]
    signature_ok: bool
    answered: int
    raw: bytes = b""  # the body as sent, and the signature header: to verify with other secrets
    signature: str = ""


class WebhookSink:
    def __init__(self) -> None:
        self.secret: str | None = None  # set once the subscription is created
        self.received: list[Received] = []
        self.fail_first: int = 0  # answer 500 to the first N attempts of each webhook-id
        self.always_fail = False
        self.hang_first: float = 0  # seconds the first attempt of each webhook-id waits before answering
        self._attempts: Counter[str] = Counter()
        self._lock = threading.Lock()
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                raw = self.rfile.read(int(self.headers.get("content-length", "0")))
                msg_id = self.headers.get("webhook-id", "")
                timestamp = self.headers.get("webhook-timestamp", "")
                signature = self.headers.get("webhook-signature", "")
                ok = bool(sink.secret) and verify(sink.secret or "", msg_id, timestamp, raw, signature)
                with sink._lock:
                    sink._attempts[msg_id] += 1
                    first = sink._attempts[msg_id] == 1
                if first and sink.hang_first:  # recorded as unanswered (0); the sender may die meanwhile
                    with sink._lock:
                        sink.received.append(Received(msg_id, timestamp, json.loads(raw), ok, 0))
                    time.sleep(sink.hang_first)
                    return
                with sink._lock:
                    failing = sink.always_fail or sink._attempts[msg_id] <= sink.fail_first
                    status = 500 if failing or not ok else 204
                    sink.received.append(Received(msg_id, timestamp, json.loads(raw), ok, status, raw, signature))
                self.send_response(status)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:  # quiet
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> WebhookSink:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def snapshot(self) -> list[Received]:
        with self._lock:
            return list(self.received)

    def delivered(self) -> Counter[str]:
        """webhook-id → how many times it was accepted (2xx)."""
        return Counter(r.webhook_id for r in self.snapshot() if 200 <= r.answered < 300)

    def attempts(self) -> Counter[str]:
        return Counter(r.webhook_id for r in self.snapshot())
