"""Domain registrations looked up over RDAP from the sandbox (spiders.registration): answers, could-not-check
states, the store's cache with its TTL, and the concurrency bound."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from core.config import parse_config
from core.observation import REG_NOT_FOUND, REG_OK, REG_RATE_LIMITED, REG_TIMEOUT
from scanner.sandbox import Sandbox
from scanner.sandbox.world import parse_world
from scanner.store.registration_cache import StoreRegistrationCache
from spiders.registration import Registrations

WORLD = {
    "name": "registrations",
    "registry": {"subjects": [{"subject_number": "京ICP备10000000号", "name": "北京示例科技有限公司", "nature": "企业",
                               "websites": [{"website_number": "京ICP备10000000号-1",
                                             "domains": ["example.cn", "www.example.com.cn"]}]}]},
    "domains": {
        "gone.cn": {"registered": "2014-01-01", "expires": "-3d", "registrant": "某某公司"},
        "slow.cn": {"answer": "timeout"},
        "busy.cn": {"answer": "429"},
    },
}


@pytest.fixture(scope="module")
def box():
    with Sandbox(parse_world(WORLD), lifetime_s=300) as sandbox:
        yield sandbox


def _config(box, **domains):
    return parse_config({"domains": {"rdap_urls": {"*": box.rdap_url}, "timeout_s": 0.5, **domains}})


def _lookup(registrations: Registrations, names: list[str]):
    async def run():
        try:
            return await registrations.for_names(names)
        finally:
            await registrations.close()

    return asyncio.run(run())


def test_answers_and_could_not_check_states(box):
    found = _lookup(Registrations(_config(box)), ["example.cn", "www.example.com.cn", "gone.cn", "slow.cn", "busy.cn", "nobody.cn"])
    assert set(found) == {"example.cn", "example.com.cn", "gone.cn", "slow.cn", "busy.cn", "nobody.cn"}
    assert found["example.cn"].state == REG_OK and found["example.cn"].registrant == "北京示例科技有限公司"
    assert found["example.com.cn"].filed == ["www.example.com.cn"]
    assert found["gone.cn"].expires < found["example.cn"].expires
    assert found["slow.cn"].state == REG_TIMEOUT and "timed out" in found["slow.cn"].reason
    assert found["busy.cn"].state == REG_RATE_LIMITED and "429" in found["busy.cn"].reason
    assert found["nobody.cn"].state == REG_NOT_FOUND


def test_cached_answers_are_not_asked_again_failures_are(box, store):
    cache = StoreRegistrationCache(store)
    before = len(box.rdap.domain_queries)
    _lookup(Registrations(_config(box), cache), ["example.cn", "gone.cn", "busy.cn"])
    assert sorted(box.rdap.domain_queries[before:]) == ["busy.cn", "example.cn", "gone.cn"]
    again = Registrations(_config(box), cache)
    found = _lookup(again, ["example.cn", "gone.cn", "busy.cn"])
    assert sorted(box.rdap.domain_queries[before + 3:]) == ["busy.cn"]  # the 429 is asked again
    assert found["example.cn"].cached and found["example.cn"].registrant == "北京示例科技有限公司"
    assert again.queries == 1 and again.cached == 2
    no_cache = Registrations(_config(box, cache_ttl_days=0), cache)
    _lookup(no_cache, ["example.cn"])
    assert no_cache.queries == 1


def test_sandbox_config_never_points_at_a_public_rdap_server(box):
    config = box.config()
    assert config["domains"]["rdap_urls"] == {"*": box.rdap_url}
    assert config["fetch"]["extra_ca"] == box.ca_file


def test_at_most_concurrency_queries_at_once():
    in_flight = peak = 0

    async def handler(request: httpx.Request) -> httpx.Response:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await asyncio.sleep(0.01)
        in_flight -= 1
        return httpx.Response(429)

    async def run():
        client = httpx.AsyncClient(transport=httpx.MockTransport(handler))
        config = parse_config({"domains": {"rdap_urls": {"*": "http://rdap.test"}, "concurrency": 2,
                                           "per_server_per_s": 100000.0}})
        registrations = Registrations(config, client=client)
        found = await registrations.for_names([f"site{i}.cn" for i in range(6)])
        await registrations.close()
        return found

    found = asyncio.run(run())
    assert len(found) == 6 and all(r.state == REG_RATE_LIMITED for r in found.values())
    assert peak == 2
