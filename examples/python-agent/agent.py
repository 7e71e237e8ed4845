"""A Surfaces agent in Python: agent protocol v1 over one WebSocket.

This file is the protocol side and rarely needs changes. Your model or agent
framework goes into my_agent.py, which gets a `Turn` per user message and
calls `await turn.text(...)`, `turn.tool_call(...)`, `turn.confirm(...)`,
`turn.file(...)` and so on. Protocol reference: docs/agent-protocol.md and
schema/agent-protocol-v1.json in the Surfaces repository.

Run:  AGENT_WORKSPACE=./workspace python agent.py
Env:  AGENT_HOST (127.0.0.1), AGENT_PORT (8080; 0 = any free port),
      AGENT_WORKSPACE (/workspace), AGENT_TOKEN (unset = no auth), LOG_LEVEL (INFO).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import os
import signal
from http import HTTPStatus
from pathlib import Path
from typing import Any

from websockets.asyncio.server import ServerConnection, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

import my_agent

PROTOCOL = 1
AGENT = {"name": "python-example-agent", "version": "0.1.0"}
CAPABILITIES = ["files", "blocks", "cancel", "confirm"]
MAX_FRAME_BYTES = 1024 * 1024

log = logging.getLogger("agent")


class Turn:
    """One user message and everything your code may send back for it.

    Every method sends one frame. The turn's `end` is sent for you when
    `my_agent.respond` returns; an exception becomes an `error` frame.
    """

    def __init__(self, session: "Session", frame: dict[str, Any]) -> None:
        self._session = session
        self.request_id: str = frame["request_id"]
        self.chat_id: str = frame["chat_id"]
        self.text_in: str = frame.get("text", "")
        self.user: dict[str, Any] = frame.get("user", {})
        # Each attachment: {"path": relative to the workspace, "name", "mime", "size"}.
        self.attachments: list[dict[str, Any]] = frame.get("attachments", [])
        self.workspace: Path = session.workspace
        self._confirms: dict[str, asyncio.Future[bool]] = {}
        self._ids = itertools.count(1)

    async def text(self, delta: str) -> None:
        """Streams the next piece of the answer (Markdown)."""
        await self._send({"type": "text", "delta": delta})

    async def progress(self, text: str) -> None:
        """A status line ("reading 3 files…"); also keeps a long turn from timing out."""
        await self._send({"type": "progress", "text": text})

    async def tool_call(self, name: str, args: Any = None) -> str:
        """Reports that a tool started; returns the call_id for `tool_result`."""
        call_id = f"call-{next(self._ids)}"
        await self._send({"type": "tool_call", "call_id": call_id, "name": name, "args": args})
        return call_id

    async def tool_result(self, call_id: str, ok: bool, summary: str | None = None) -> None:
        frame: dict[str, Any] = {"type": "tool_result", "call_id": call_id, "ok": ok}
        if summary is not None:
            frame["summary"] = summary
        await self._send(frame)

    async def table(self, headers: list[str], rows: list[list[Any]]) -> None:
        await self._send({"type": "block", "block": {"kind": "table", "headers": headers, "rows": rows}})

    async def file(self, path: str, caption: str | None = None, mime: str | None = None) -> None:
        """Sends a workspace file to the user; `path` is relative to the workspace."""
        frame: dict[str, Any] = {"type": "file", "path": path}
        if caption is not None:
            frame["caption"] = caption
        if mime is not None:
            frame["mime"] = mime
        await self._send(frame)

    async def confirm(self, prompt: str) -> bool:
        """Asks the user to approve something; waits for !yes / !no (or a reaction)."""
        confirm_id = f"confirm-{next(self._ids)}"
        answer: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._confirms[confirm_id] = answer
        try:
            await self._send({"type": "confirm", "confirm_id": confirm_id, "prompt": prompt})
            return await answer
        finally:
            self._confirms.pop(confirm_id, None)

    def _answer(self, confirm_id: str, approved: bool) -> None:
        answer = self._confirms.get(confirm_id)
        if answer is not None and not answer.done():
            answer.set_result(approved)

    async def _send(self, frame: dict[str, Any]) -> None:
        await self._session.send({**frame, "request_id": self.request_id})


class Session:
    """One connection from the surface. Turns run as tasks; `cancel` cancels the task."""

    def __init__(self, ws: ServerConnection, workspace: Path) -> None:
        self.ws = ws
        self.workspace = workspace
        self.turns: dict[str, tuple[asyncio.Task[None], Turn]] = {}

    async def send(self, frame: dict[str, Any]) -> None:
        raw = json.dumps(frame, ensure_ascii=False)
        if len(raw.encode()) > MAX_FRAME_BYTES:
            raise ValueError(f"{frame['type']} frame larger than {MAX_FRAME_BYTES} bytes; split it")
        try:
            await self.ws.send(raw)
        except ConnectionClosed:
            pass  # the surface is gone; it already failed this turn for the user

    async def run(self) -> None:
        try:
            if not await self.handshake():
                return
            async for raw in self.ws:
                self.dispatch(raw)
        except ConnectionClosed:
            pass
        finally:
            # Abandon this connection's turns: the surface has ended them as connection_lost.
            for task, _ in self.turns.values():
                task.cancel()

    async def handshake(self) -> bool:
        frame = parse(await self.ws.recv())
        if frame is None or frame.get("type") != "hello":
            await self.ws.close(4002, "expected hello")
            return False
        # Answer with our hello even on a mismatch, so the surface can log what we speak.
        await self.send({"type": "hello", "protocol": PROTOCOL, "agent": AGENT, "capabilities": CAPABILITIES})
        if frame.get("protocol") != PROTOCOL:
            log.error("surface speaks protocol %s, we speak %s; closing", frame.get("protocol"), PROTOCOL)
            await self.ws.close(4001, "protocol mismatch")
            return False
        log.info("surface connected: %s %s", frame.get("surface"), frame.get("version"))
        return True

    def dispatch(self, raw: str | bytes) -> None:
        frame = parse(raw)
        kind = frame.get("type") if frame else None
        if kind == "message" and isinstance(frame.get("request_id"), str) and isinstance(frame.get("chat_id"), str):
            self.start_turn(frame)
        elif kind == "cancel":
            running = self.turns.get(frame.get("request_id"))
            if running:
                running[0].cancel()
        elif kind == "confirm_result":
            running = self.turns.get(frame.get("request_id"))
            if running:
                running[1]._answer(frame.get("confirm_id"), frame.get("approved") is True)
        elif kind == "chat_closed":
            my_agent.chat_closed(frame.get("chat_id"), frame.get("reason"))
        else:
            # Unknown types and fields are ignored: newer surfaces may send more.
            log.warning("ignored a frame: %.200r", raw)

    def start_turn(self, frame: dict[str, Any]) -> None:
        if frame["request_id"] in self.turns:
            return
        turn = Turn(self, frame)
        task = asyncio.create_task(self.run_turn(turn))
        self.turns[turn.request_id] = (task, turn)

    async def run_turn(self, turn: Turn) -> None:
        terminal: dict[str, Any] = {"type": "end"}
        try:
            await my_agent.respond(turn)
        except asyncio.CancelledError:
            log.info("turn %s cancelled", turn.request_id)  # what was streamed stays; finish with end
        except Exception as err:  # noqa: BLE001 - any failure of the model becomes the turn's error
            log.exception("turn %s failed", turn.request_id)
            terminal = {"type": "error", "code": "agent_error", "message": str(err), "retryable": False}
        finally:
            self.turns.pop(turn.request_id, None)
        await turn._send(terminal)


def parse(raw: str | bytes) -> dict[str, Any] | None:
    try:
        value = json.loads(raw)
    except (ValueError, TypeError):
        return None
    return value if isinstance(value, dict) else None


def http_routes(token: str | None):
    """GET /health, and the bearer check before the WebSocket upgrade."""

    def process_request(connection: ServerConnection, request: Request) -> Response | None:
        path = request.path.split("?")[0]
        if path == "/health":
            body = json.dumps({"status": "ok", "protocol": PROTOCOL}).encode()
            headers = Headers([("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
            return Response(HTTPStatus.OK, "OK", headers, body)
        if path not in ("/agent_ws/", "/agent_ws"):
            return connection.respond(HTTPStatus.NOT_FOUND, "not found\n")
        if token and request.headers.get("Authorization") != f"Bearer {token}":
            log.warning("refused a connection with a missing or wrong bearer token")
            return connection.respond(HTTPStatus.UNAUTHORIZED, "unauthorized\n")
        return None

    return process_request


async def main() -> None:
    host = os.environ.get("AGENT_HOST", "127.0.0.1")
    port = int(os.environ.get("AGENT_PORT", "8080"))
    workspace = Path(os.environ.get("AGENT_WORKSPACE", "/workspace")).resolve()
    token = os.environ.get("AGENT_TOKEN") or None
    workspace.mkdir(parents=True, exist_ok=True)

    async def handler(ws: ServerConnection) -> None:
        await Session(ws, workspace).run()

    stop = asyncio.get_running_loop().create_future()
    for sig in (signal.SIGINT, signal.SIGTERM):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set_result, None)
    async with serve(handler, host, port, process_request=http_routes(token), max_size=8 * MAX_FRAME_BYTES) as server:
        bound = server.sockets[0].getsockname()[1]
        log.info("listening on http://%s:%s (workspace %s, auth %s)", host, bound, workspace, "on" if token else "off")
        await stop


if __name__ == "__main__":
    logging.basicConfig(level=os.environ.get("LOG_LEVEL", "INFO"), format="%(asctime)s %(levelname)s %(name)s %(message)s")
    asyncio.run(main())
