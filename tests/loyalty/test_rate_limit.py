"""The till API's rate limit per key, counted in the real Redis on 127.0.0.1:6379: past the limit a
call is refused with 429 on the hot path and through Django; another key keeps its allowance;
Redis away, the tills keep selling."""

from __future__ import annotations

import uuid

import pytest
from till_payloads import TillClient

from clientele.config import settings
from clientele.loyalty.identity import issue_api_key

redis = pytest.importorskip("redis")


@pytest.fixture
def limited(monkeypatch, store, programme_ready):
    client = redis.Redis.from_url("redis://127.0.0.1:6379/15")
    try:
        client.ping()
    except redis.RedisError:
        pytest.skip("no Redis on 127.0.0.1:6379")
    monkeypatch.setenv("CLIENTELE_REDIS_URL", "redis://127.0.0.1:6379/15")
    monkeypatch.setenv("CLIENTELE_TILL_RATE_LIMIT", "3")
    settings.cache_clear()
    yield
    settings.cache_clear()


def a_till(store) -> TillClient:
    _, raw = issue_api_key(store, f"till {uuid.uuid4().hex[:6]}")
    return TillClient(headers={"X-API-Key": raw})


def test_a_key_past_its_limit_is_refused_with_429_and_another_key_is_not(limited, store, card):
    busy, quiet = a_till(store), a_till(store)
    answers = [busy.get("/api/members/identify", {"card": card}).status_code for _ in range(4)]
    assert answers == [200, 200, 200, 429]
    refused = busy.get("/api/members/identify", {"card": card}).json()
    assert refused["code"] == "rate_limited" and refused["field"] == "X-API-Key"
    assert busy.post("/api/returns", {}, content_type="application/json").status_code == 429  # through Django
    assert quiet.get("/api/members/identify", {"card": card}).status_code == 200


def test_with_redis_away_the_till_keeps_selling(monkeypatch, store, programme_ready, card):
    monkeypatch.setenv("CLIENTELE_REDIS_URL", "redis://127.0.0.1:1/0")
    monkeypatch.setenv("CLIENTELE_TILL_RATE_LIMIT", "1")
    settings.cache_clear()
    try:
        till = a_till(store)
        assert [till.get("/api/members/identify", {"card": card}).status_code for _ in range(3)] == [200] * 3
    finally:
        settings.cache_clear()
