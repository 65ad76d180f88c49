"""Cache of the dashboard's callback responses, so that a burst of users costs one computation per view.

Every callback of the dashboard is a pure function of its inputs and of the warehouse file, so a
response can be replayed byte for byte to anyone who sends the same request. The cache key is
the callback's outputs, inputs and states (canonical JSON); concurrent identical requests wait
for the first one (one computation, not twenty). The cache is emptied when the warehouse file is
replaced (:func:`electio.dashboard.app.reload_if_replaced`).
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict

from flask import Flask, Response, g, request

UPDATE_PATH = "/_dash-update-component"
MAX_BYTES = 96 * 1024 * 1024


class ResponseCache:
    """Byte-bounded LRU of serialised responses, with one lock per key being computed."""

    def __init__(self, max_bytes: int = MAX_BYTES) -> None:
        self.max_bytes = max_bytes
        self._items: OrderedDict[str, bytes] = OrderedDict()
        self._size = 0
        self._guard = threading.Lock()
        self._computing: dict[str, threading.Lock] = {}

    def get(self, key: str) -> bytes | None:
        with self._guard:
            body = self._items.get(key)
            if body is not None:
                self._items.move_to_end(key)
            return body

    def put(self, key: str, body: bytes) -> None:
        with self._guard:
            if key in self._items or len(body) > self.max_bytes:
                return
            self._items[key] = body
            self._size += len(body)
            while self._size > self.max_bytes:
                _, old = self._items.popitem(last=False)
                self._size -= len(old)

    def lock_for(self, key: str) -> threading.Lock:
        with self._guard:
            return self._computing.setdefault(key, threading.Lock())

    def clear(self) -> None:
        with self._guard:
            self._items.clear()
            self._size = 0

    def __len__(self) -> int:
        return len(self._items)


def request_key(body: bytes) -> str | None:
    """The cache key of a callback request (None when it cannot be read)."""
    try:
        payload = json.loads(body)
        wanted = {name: payload.get(name) or [] for name in ("output", "inputs", "state")}
        return hashlib.sha256(json.dumps(wanted, sort_keys=True, ensure_ascii=False).encode("utf-8")).hexdigest()
    except (ValueError, TypeError, AttributeError):
        return None


def callback_request(output: str, inputs: dict[str, object]) -> dict:
    """The body Dash's renderer posts for the callback ``output`` (as keyed in ``app.callback_map``) with these input values."""
    outputs = [dict(zip(("id", "property"), item.rsplit(".", 1), strict=True)) for item in output.strip(".").split("...")]
    return {"output": output, "outputs": outputs, "inputs": [{"id": k.rsplit(".", 1)[0], "property": k.rsplit(".", 1)[1], "value": v}
                                                            for k, v in inputs.items()], "changedPropIds": [], "state": []}


def prefill(server: Flask, bodies: list[dict], stop: threading.Event | None = None) -> int:
    """Post ``bodies`` to the app (in this process) so that their responses are cached; stops when ``stop`` is set
    or the main thread ends."""
    client = server.test_client()
    done = 0
    for body in bodies:
        if not threading.main_thread().is_alive() or (stop is not None and stop.is_set()):
            break
        done += client.post(UPDATE_PATH, json=body).status_code == 200
    return done


def install(server: Flask, cache: ResponseCache) -> None:
    """Serve repeated callback requests from ``cache`` (registered after the warehouse reload check)."""

    @server.before_request
    def replay() -> Response | None:
        if request.method != "POST" or not request.path.endswith(UPDATE_PATH):
            return None
        key = request_key(request.get_data())
        if key is None:
            return None
        hit = cache.get(key)
        if hit is None:
            lock = cache.lock_for(key)
            lock.acquire()
            hit = cache.get(key)  # computed by the request we waited for
            if hit is None:
                g.response_key, g.response_lock = key, lock
                return None
            lock.release()
        return Response(hit, mimetype="application/json")

    @server.after_request
    def keep(response: Response) -> Response:
        key = g.pop("response_key", None)
        if key is not None and response.status_code == 200 and not response.direct_passthrough:
            cache.put(key, response.get_data())
        return response

    @server.teardown_request
    def release(_error: BaseException | None) -> None:
        lock = g.pop("response_lock", None)
        if lock is not None:
            lock.release()
