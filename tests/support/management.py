"""RabbitMQ's management HTTP API as an outside client sees the broker (stdlib HTTP only)."""

import asyncio
import base64
import json
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import quote

from infra.stack import StackInfo
from tests.support.waits import eventually


class Management:
    def __init__(self, info: StackInfo, vhost: str = "podium") -> None:
        assert info.management_url is not None, "the stack runs without the management plugin"
        self.base = info.management_url.rstrip("/") + "/api"
        self.vhost = quote(vhost, safe="")
        token = f"{info.management_user}:{info.management_password}".encode()
        self.auth = "Basic " + base64.b64encode(token).decode()

    async def call(self, method: str, path: str, body: Any = None) -> Any:
        return await asyncio.to_thread(self._call, method, path, body)

    def _call(self, method: str, path: str, body: Any) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.base + path, data=data, method=method)
        request.add_header("Authorization", self.auth)
        request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                text = response.read()
        except urllib.error.HTTPError as err:
            if err.code == 404:
                return None
            raise
        return json.loads(text) if text else None

    async def exchange(self, name: str) -> dict[str, Any] | None:
        return await self.call("GET", f"/exchanges/{self.vhost}/{quote(name, safe='')}")

    async def queue(self, name: str) -> dict[str, Any] | None:
        return await self.call("GET", f"/queues/{self.vhost}/{quote(name, safe='')}")

    async def publish(
        self, exchange: str, routing_key: str, body: str | bytes, properties: dict[str, Any]
    ) -> bool:
        """Publish a raw body as an outside client would; True when some queue took it. Bytes
        go base64-encoded, so any body can be sent, valid UTF-8 or not."""
        raw = isinstance(body, bytes)
        answer = await self.call(
            "POST",
            f"/exchanges/{self.vhost}/{quote(exchange, safe='')}/publish",
            {
                "routing_key": routing_key,
                "payload": base64.b64encode(body).decode() if raw else body,
                "payload_encoding": "base64" if raw else "string",
                "properties": properties,
            },
        )
        return bool(answer["routed"])

    async def messages(self, queue: str, expected: int, within: float = 20.0) -> int:
        """The queue's message count once it equals `expected` (statistics lag a few seconds)."""
        found = await eventually(
            lambda: self.queue(queue),
            lambda q: q is not None and q.get("messages") == expected,
            within,
            interval=0.5,
            what=f"{queue} holding {expected} messages",
        )
        assert found is not None
        return int(found["messages"])

    async def connections_named(self, name: str) -> list[dict[str, Any]]:
        listed = await self.call("GET", "/connections") or []
        return [
            c for c in listed if (c.get("client_properties") or {}).get("connection_name") == name
        ]

    async def close_connection(self, name: str) -> None:
        await self.call("DELETE", f"/connections/{quote(name, safe='')}")
