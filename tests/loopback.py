"""A small loopback HTTP server that records what it receives and answers as scripted: a
webhook receiver, or a stand-in for another vendor's OAuth server or API (the `loopback`
fixture of conftest.py)."""

import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Received:
    method: str
    path: str
    headers: dict
    body: bytes


@dataclass
class Answer:
    status: int = 200
    body: bytes | str = b""
    headers: dict = field(default_factory=dict)


class LoopbackServer:
    """Answers each request with the next scripted Answer (or `default` once they run out)."""

    def __init__(self):
        self.received: list[Received] = []
        self.script: list[Answer] = []
        self.default = Answer()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self):
                length = int(self.headers.get("Content-Length") or 0)
                server.received.append(
                    Received(self.command, self.path, dict(self.headers), self.rfile.read(length))
                )
                answer = server.script.pop(0) if server.script else server.default
                body = answer.body.encode() if isinstance(answer.body, str) else answer.body
                self.send_response(answer.status)
                for name, value in answer.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_DELETE = _serve

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def answer(self, *answers: Answer) -> None:
        self.script.extend(answers)

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
