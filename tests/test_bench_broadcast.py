"""wsframe.bench._broadcast runs end to end on a small scale (its figures are not checked:
no timing threshold in a test; the rows and the table are)."""

import pytest

from wsframe.bench import _broadcast


def test_fanout_rows_small():
    rows, skipped = _broadcast.fanout_rows("quick", rounds=1, emit=lambda line: None, connections=(20,),
                                           libraries=("wsframe.asyncio", "websockets"), count=5)
    assert not skipped
    assert {(r["library"], r["size"]) for r in rows} == {
        (lib, size) for lib in ("wsframe.asyncio", "websockets") for size in _broadcast.SIZES}
    for r in rows:
        assert r["connections"] == 20 and r["cpu_per_recipient_s"] > 0 and r["wall_per_recipient_s"] > 0
    table = _broadcast.markdown(rows)
    assert "| wsframe.asyncio |" in table and "20 conns, 1 KiB" in table


def test_frame_of_matches_the_encoder(impl):
    for size in _broadcast.SIZES:
        assert _broadcast.frame_of(size) == impl.FrameEncoder("server").text(_broadcast.text_message(size))


def test_redis_rows_small():
    pytest.importorskip("redis", reason="the redis package (wsframe[redis]) is not installed")
    from redis_server import REDIS_SERVER

    if REDIS_SERVER is None:
        pytest.skip("redis-server is not installed (CI installs it: apt-get install redis-server)")
    plan = dict(_broadcast.PLANS["quick"], redis_messages=50, latency_messages=20)
    _broadcast.PLANS["test"] = plan
    try:
        rows, skipped = _broadcast.redis_rows("test", rounds=1, emit=lambda line: None)
    finally:
        del _broadcast.PLANS["test"]
    assert not skipped and rows[0]["broadcasts_per_s"] > 0 and rows[0]["latency_median_s"] > 0
