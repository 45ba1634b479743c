"""The conditional-request cache of `bot.github.traffic`, kept in Redis and shared by every
process of the App, for the scale-out topology.

With a cache per process, a re-evaluation that lands on a worker that never saw the pull
request asks for the configuration, the files, the roles and the commits again, and each
answer counts against the installation's rate limit once per worker. Shared, a 304 from any
worker is answered from what another one stored.

Redis is easier to reach than the state database in most deployments, and a stored answer
is handed to PyGithub as if GitHub had sent it: each entry is signed (HMAC-SHA256, keyed from
the App's private key, over its name and content), so whoever can write to Redis cannot make
the bot read a forged review or configuration. An entry that fails the check is a miss. A
stale entry replayed in place of a newer one is harmless: its ETag no longer matches, and
GitHub answers in full.

Bounded as the in-process cache is (entries and bytes, least recently used out first), by a
Lua script that stores and evicts in one atomic step; the queue's keys in the same Redis are
never evicted. The cache is best-effort: when Redis does not answer, a read is a miss and a
write is dropped (the queue's own errors are what /readyz reports).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import struct
import threading
import time
from typing import Any

import redis

from bot.github.traffic import Stored, fits

log = logging.getLogger(__name__)

# KEYS: the LRU sorted set, the sizes hash, the byte counter. ARGV: entry name, content, now,
# max entries, max bytes.
_PUT = """
local old = redis.call('HGET', KEYS[2], ARGV[1])
if old then redis.call('DECRBY', KEYS[3], old) end
redis.call('SET', ARGV[1], ARGV[2])
redis.call('HSET', KEYS[2], ARGV[1], #ARGV[2])
redis.call('INCRBY', KEYS[3], #ARGV[2])
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
while redis.call('ZCARD', KEYS[1]) > tonumber(ARGV[4])
      or tonumber(redis.call('GET', KEYS[3]) or '0') > tonumber(ARGV[5]) do
  local popped = redis.call('ZPOPMIN', KEYS[1])
  if #popped == 0 then break end
  local size = redis.call('HGET', KEYS[2], popped[1])
  if size then
    redis.call('DECRBY', KEYS[3], size)
    redis.call('HDEL', KEYS[2], popped[1])
  end
  redis.call('DEL', popped[1])
end
return 1
"""

_MAC = 32
_LENGTH = struct.Struct(">I")
# A warning at most this often while Redis does not answer (each request would log one).
_QUIET_SECONDS = 60.0


class SharedETagCache:
    """`ETagCache`'s contract (get, put, len) in Redis, under `namespace`."""

    def __init__(self, client: redis.Redis, namespace: str, secret: bytes, entries: int, max_bytes: int) -> None:
        self.client = client
        self.namespace = namespace
        self.entries = entries
        self.max_bytes = max_bytes
        self._key = hashlib.sha256(b"reviewgate conditional-request cache\0" + secret).digest()
        self._lru, self._sizes, self._bytes = (f"{namespace}:lru", f"{namespace}:sizes", f"{namespace}:bytes")
        self._put = client.register_script(_PUT)
        self._warned = 0.0
        self._lock = threading.Lock()

    @classmethod
    def from_url(cls, url: str, app_id: int, secret: bytes, entries: int, max_bytes: int) -> SharedETagCache:
        # Short timeouts: a cache that makes a request wait longer than GitHub would is worse
        # than none.
        client = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        return cls(client, f"reviewgate:etag:{app_id}", secret, entries, max_bytes)

    def get(self, key: tuple[str, str, str]) -> Stored | None:
        name = self._name(key)
        try:
            with self.client.pipeline(transaction=False) as pipe:
                pipe.get(name)
                pipe.zadd(self._lru, {name: time.time()}, xx=True)
                content, _ = pipe.execute()
        except redis.RedisError as exc:
            self._unavailable(exc)
            return None
        return None if content is None else self._open(name, content)

    def put(self, key: tuple[str, str, str], item: Stored) -> None:
        if not fits(item, self.max_bytes):
            return
        name = self._name(key)
        try:
            self._put(keys=[self._lru, self._sizes, self._bytes],
                      args=[name, self._seal(name, item), time.time(), self.entries, self.max_bytes])
        except redis.RedisError as exc:
            self._unavailable(exc)

    def __len__(self) -> int:
        try:
            return int(self.client.zcard(self._lru))
        except redis.RedisError:
            return 0

    def _name(self, key: tuple[str, str, str]) -> str:
        # Hashed: a URL is user-controlled data (file paths), kept out of Redis's key space.
        return f"{self.namespace}:e:" + hashlib.sha256("\0".join(key).encode()).hexdigest()

    def _seal(self, name: str, item: Stored) -> bytes:
        head = json.dumps({"etag": item.etag, "headers": item.headers}).encode()
        content = _LENGTH.pack(len(head)) + head + item.body
        return self._mac(name, content) + content

    def _open(self, name: str, sealed: bytes) -> Stored | None:
        mac, content = sealed[:_MAC], sealed[_MAC:]
        if not hmac.compare_digest(mac, self._mac(name, content)):
            log.warning("a conditional-request cache entry in Redis failed its signature check: ignored")
            return None
        (length,) = _LENGTH.unpack_from(content)
        head: dict[str, Any] = json.loads(content[_LENGTH.size:_LENGTH.size + length])
        return Stored(head["etag"], head["headers"], content[_LENGTH.size + length:])

    def _mac(self, name: str, content: bytes) -> bytes:
        # Over the entry's name too: content moved under another key does not check out.
        return hmac.new(self._key, name.encode() + b"\0" + content, hashlib.sha256).digest()

    def _unavailable(self, exc: Exception) -> None:
        with self._lock:
            now = time.monotonic()
            if now - self._warned < _QUIET_SECONDS and self._warned:
                return
            self._warned = now
        log.warning("the shared conditional-request cache (Redis) did not answer, asking GitHub in full: %s", exc)
