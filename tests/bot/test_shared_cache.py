"""The conditional-request cache shared through Redis (bot.github.shared_cache), on a real
redis-server: what one process stores another reads, bounded like the in-process cache, and
nothing written into Redis by anyone else is taken for GitHub's answer."""

from __future__ import annotations

import logging

import pytest
import redis

from bot.github.shared_cache import SharedETagCache
from bot.github.traffic import Stored
from tests.servers import Servers

KEY = ("42", "/repos/octo/demo/pulls/7", "application/json")


def _cache(url: str, entries: int = 100, max_bytes: int = 1 << 20, secret: bytes = b"the App's key") -> SharedETagCache:
    return SharedETagCache.from_url(url, 1, secret, entries, max_bytes)


def _answer(n: int, size: int = 10) -> Stored:
    return Stored(f'W/"{n}"', {"ETag": f'W/"{n}"', "Content-Type": "application/json"}, b"x" * size)


def test_what_one_process_stores_another_reads(servers: Servers) -> None:
    url = servers.redis_url()
    one, other = _cache(url), _cache(url)
    assert other.get(KEY) is None
    one.put(KEY, _answer(1))
    assert other.get(KEY) == _answer(1)
    other.put(KEY, _answer(2))  # a newer answer replaces the entry, and its size
    assert one.get(KEY) == _answer(2) and len(one) == 1
    assert other.get(("43", *KEY[1:])) is None  # another installation's view is its own


def test_the_least_recently_used_go_first_past_the_entries_bound(servers: Servers) -> None:
    cache = _cache(servers.redis_url(), entries=3)
    keys = [("42", f"/repos/octo/demo/pulls/{n}", "application/json") for n in range(4)]
    for key in keys[:3]:
        cache.put(key, _answer(1))
    assert cache.get(keys[0]) is not None  # used: the second is now the oldest
    cache.put(keys[3], _answer(1))
    assert len(cache) == 3
    assert cache.get(keys[1]) is None
    assert all(cache.get(k) is not None for k in (keys[0], keys[2], keys[3]))


def test_the_bytes_bound_holds_and_one_large_answer_is_not_stored(servers: Servers) -> None:
    url = servers.redis_url()
    cache = _cache(url, max_bytes=16 * 1000)
    keys = [("42", f"/repos/octo/demo/pulls/{n}", "application/json") for n in range(40)]
    for key in keys:
        cache.put(key, _answer(1, size=900))
    client = redis.Redis.from_url(url)
    stored = int(client.get("reviewgate:etag:1:bytes") or 0)
    assert 0 < stored <= 16 * 1000
    assert stored == sum(int(v) for v in client.hvals("reviewgate:etag:1:sizes"))
    assert cache.get(keys[-1]) is not None and cache.get(keys[0]) is None
    cache.put(KEY, _answer(2, size=1001))  # over a sixteenth of the bound
    assert cache.get(KEY) is None


def test_an_entry_written_without_the_apps_key_is_not_taken_for_githubs_answer(
    servers: Servers, caplog: pytest.LogCaptureFixture
) -> None:
    url = servers.redis_url()
    cache = _cache(url)
    cache.put(KEY, _answer(1))
    other_key = ("42", "/repos/octo/demo/pulls/8", "application/json")
    cache.put(other_key, _answer(2))
    client = redis.Redis.from_url(url)
    name, other_name = cache._name(KEY), cache._name(other_key)
    sealed = client.get(name)
    assert sealed is not None
    # Whoever can write to Redis: a changed body, an entry moved to another key, a cache of
    # the same namespace keyed from another secret.
    client.set(name, sealed[:-1] + b"y")
    with caplog.at_level(logging.WARNING):
        assert cache.get(KEY) is None
    assert "failed its signature check" in caplog.text
    client.set(name, client.get(other_name) or b"")
    assert cache.get(KEY) is None
    _cache(url, secret=b"another key").put(KEY, _answer(3))
    assert cache.get(KEY) is None
    assert cache.get(other_key) == _answer(2)


def test_a_redis_that_does_not_answer_is_a_miss_and_a_dropped_write(caplog: pytest.LogCaptureFixture) -> None:
    cache = _cache("redis://127.0.0.1:1/0")  # nothing listens there
    with caplog.at_level(logging.WARNING):
        cache.put(KEY, _answer(1))
        assert cache.get(KEY) is None
    assert len(cache) == 0
    # Said once, not once per request.
    assert caplog.text.count("did not answer") == 1
