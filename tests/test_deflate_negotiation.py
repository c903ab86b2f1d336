"""permessage-deflate negotiation (RFC 7692 sections 5 and 7.1): client_offer,
server_negotiate (declines, never fatal) and client_accept (1010 on a bad response)."""

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wsframe import ProtocolError
from wsframe.deflate import PerMessageDeflate, client_accept, client_offer, server_negotiate
from wsframe.handshake import parse_extensions

PMD = "permessage-deflate"


def agreed(pmd):
    return (
        pmd.server_no_context_takeover,
        pmd.client_no_context_takeover,
        pmd.server_max_window_bits,
        pmd.client_max_window_bits,
    )


# --- client_offer --------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs, expected",
    [
        ({}, "permessage-deflate; client_max_window_bits"),
        ({"client_max_window_bits": None}, "permessage-deflate"),
        ({"client_max_window_bits": False}, "permessage-deflate"),
        ({"client_max_window_bits": 10}, "permessage-deflate; client_max_window_bits=10"),
        (
            {
                "server_no_context_takeover": True,
                "client_no_context_takeover": True,
                "server_max_window_bits": 8,
                "client_max_window_bits": 15,
            },
            "permessage-deflate; server_no_context_takeover; client_no_context_takeover; "
            "server_max_window_bits=8; client_max_window_bits=15",
        ),
    ],
)
def test_client_offer(kwargs, expected):
    assert client_offer(**kwargs) == expected


@pytest.mark.parametrize(
    "kwargs",
    [
        {"server_max_window_bits": 7},
        {"server_max_window_bits": 16},
        {"server_max_window_bits": True},
        {"client_max_window_bits": 16},
        {"client_max_window_bits": "9"},
    ],
)
def test_client_offer_rejects(kwargs):
    with pytest.raises(ValueError):
        client_offer(**kwargs)


# --- server_negotiate: accepting -----------------------------------------------------


@pytest.mark.parametrize(
    "offer, config, response, expected",
    [
        # plain offer
        (PMD, {}, PMD, (False, False, 15, 15)),
        # 7.1.1.1 server_no_context_takeover: offered -> must be in the response
        (PMD + "; server_no_context_takeover", {}, PMD + "; server_no_context_takeover", (True, False, 15, 15)),
        # ... and the server may add it on its own
        (PMD, {"server_no_context_takeover": True}, PMD + "; server_no_context_takeover", (True, False, 15, 15)),
        # 7.1.1.2 client_no_context_takeover: offered (a hint) -> echoed
        (PMD + "; client_no_context_takeover", {}, PMD + "; client_no_context_takeover", (False, True, 15, 15)),
        # ... or asked by the server even if not offered
        (PMD, {"client_no_context_takeover": True}, PMD + "; client_no_context_takeover", (False, True, 15, 15)),
        # 7.1.2.1 server_max_window_bits: offered -> at most that
        (PMD + "; server_max_window_bits=10", {}, PMD + "; server_max_window_bits=10", (False, False, 10, 15)),
        (
            PMD + "; server_max_window_bits=10",
            {"server_max_window_bits": 12},
            PMD + "; server_max_window_bits=10",
            (False, False, 10, 15),
        ),
        (
            PMD + "; server_max_window_bits=10",
            {"server_max_window_bits": 9},
            PMD + "; server_max_window_bits=9",
            (False, False, 9, 15),
        ),
        # ... and the server may limit itself without an offer
        (PMD, {"server_max_window_bits": 11}, PMD + "; server_max_window_bits=11", (False, False, 11, 15)),
        # window 8 is accepted (zlib's wbits=9 fits a 256-byte window, see deflate.py)
        (PMD + "; server_max_window_bits=8", {}, PMD + "; server_max_window_bits=8", (False, False, 8, 15)),
        # quoted values are unquoted first
        (PMD + '; server_max_window_bits="10"', {}, PMD + "; server_max_window_bits=10", (False, False, 10, 15)),
        # 7.1.2.2 client_max_window_bits: without a value -> the server may pick one
        (PMD + "; client_max_window_bits", {}, PMD, (False, False, 15, 15)),
        (
            PMD + "; client_max_window_bits",
            {"client_max_window_bits": 10},
            PMD + "; client_max_window_bits=10",
            (False, False, 15, 10),
        ),
        (
            PMD + "; client_max_window_bits",
            {"client_max_window_bits": 8},
            PMD + "; client_max_window_bits=8",
            (False, False, 15, 8),
        ),
        # ... with a value -> at most that value, echoed so both sides agree explicitly
        (PMD + "; client_max_window_bits=11", {}, PMD + "; client_max_window_bits=11", (False, False, 15, 11)),
        (
            PMD + "; client_max_window_bits=11",
            {"client_max_window_bits": 9},
            PMD + "; client_max_window_bits=9",
            (False, False, 15, 9),
        ),
        (
            PMD + "; client_max_window_bits=11",
            {"client_max_window_bits": 13},
            PMD + "; client_max_window_bits=11",
            (False, False, 15, 11),
        ),
        # ... not offered -> never in the response, whatever the server would like
        (PMD, {"client_max_window_bits": 10}, PMD, (False, False, 15, 15)),
        # everything at once
        (
            PMD + "; server_no_context_takeover; client_no_context_takeover; "
            "server_max_window_bits=9; client_max_window_bits",
            {"client_max_window_bits": 12},
            PMD + "; server_no_context_takeover; client_no_context_takeover; "
            "server_max_window_bits=9; client_max_window_bits=12",
            (True, True, 9, 12),
        ),
        # extension names compare case-insensitively
        ("Permessage-Deflate", {}, PMD, (False, False, 15, 15)),
    ],
)
def test_server_accepts(offer, config, response, expected):
    pmd, value = server_negotiate(offer, **config)
    assert value == response
    assert pmd.role == "server"
    assert agreed(pmd) == expected


@pytest.mark.parametrize("request_value", [None, "", "  ", "x-webkit-deflate-frame", "foo; bar=1, baz"])
def test_server_without_offer(request_value):
    assert server_negotiate(request_value) == (None, None)


BAD_OFFERS = [
    PMD + "; foo",  # unknown parameter
    PMD + "; foo=1",
    PMD + "; server_no_context_takeover; server_no_context_takeover",  # duplicate
    PMD + "; client_max_window_bits; client_max_window_bits=10",
    PMD + "; server_no_context_takeover=1",  # value where none is allowed
    PMD + "; client_no_context_takeover=true",
    PMD + "; server_max_window_bits",  # value required
    PMD + "; server_max_window_bits=7",
    PMD + "; server_max_window_bits=16",
    PMD + "; server_max_window_bits=010",  # leading zero
    PMD + "; server_max_window_bits=0x9",
    PMD + "; server_max_window_bits=abc",
    PMD + '; server_max_window_bits="1 0"',  # not a token once unquoted: bad syntax
    PMD + "; client_max_window_bits=7",
    PMD + "; client_max_window_bits=16",
    PMD + "; client_max_window_bits=09",
    PMD + ";",  # bad syntax
    PMD + " x",
]


@pytest.mark.parametrize("offer", BAD_OFFERS + [PMD + '; a="b, ' + PMD])
def test_server_declines_a_malformed_offer(offer):
    assert server_negotiate(offer) == (None, None)


@pytest.mark.parametrize("offer", BAD_OFFERS)
def test_server_skips_a_malformed_offer_for_the_next(offer):
    pmd, value = server_negotiate(offer + ", " + PMD + "; server_max_window_bits=12")
    assert value == PMD + "; server_max_window_bits=12"
    assert agreed(pmd) == (False, False, 12, 15)


def test_server_takes_the_first_acceptable_offer():
    request = (
        "x-foo; a=1, "
        + PMD
        + "; server_max_window_bits=10; client_max_window_bits, "
        + PMD
        + "; client_no_context_takeover, "
        + PMD
    )
    pmd, value = server_negotiate(request)
    assert value == PMD + "; server_max_window_bits=10"
    assert agreed(pmd) == (False, False, 10, 15)


def test_server_passes_local_options():
    pmd, _ = server_negotiate(PMD, level=1, threshold=0, max_ratio=50, backend="zlib")
    assert (pmd.level, pmd.threshold, pmd.max_ratio, pmd.backend) == (1, 0, 50, "zlib")
    with pytest.raises(ValueError):
        server_negotiate(PMD, server_max_window_bits=16)


# --- client_accept -------------------------------------------------------------------


@pytest.mark.parametrize(
    "offer_kwargs, response, expected",
    [
        ({}, PMD, (False, False, 15, 15)),
        ({}, PMD + "; server_no_context_takeover", (True, False, 15, 15)),
        ({}, PMD + "; client_no_context_takeover", (False, True, 15, 15)),
        # we offered client_no_context_takeover: we keep that promise even if not echoed
        ({"client_no_context_takeover": True}, PMD, (False, True, 15, 15)),
        ({"server_no_context_takeover": True}, PMD + "; server_no_context_takeover", (True, False, 15, 15)),
        # server_max_window_bits: the server may send it unasked, any legal value
        ({}, PMD + "; server_max_window_bits=8", (False, False, 8, 15)),
        ({"server_max_window_bits": 12}, PMD + "; server_max_window_bits=12", (False, False, 12, 15)),
        ({"server_max_window_bits": 12}, PMD + "; server_max_window_bits=9", (False, False, 9, 15)),
        # client_max_window_bits offered without a value: the server picks
        ({}, PMD + "; client_max_window_bits=9", (False, False, 15, 9)),
        ({}, PMD + "; client_max_window_bits=8", (False, False, 15, 8)),
        # offered with a value: at most that, and that value if the server is silent
        ({"client_max_window_bits": 12}, PMD + "; client_max_window_bits=10", (False, False, 15, 10)),
        ({"client_max_window_bits": 12}, PMD + "; client_max_window_bits=12", (False, False, 15, 12)),
        ({"client_max_window_bits": 12}, PMD, (False, False, 15, 12)),
        ({}, PMD + '; server_max_window_bits="11"', (False, False, 11, 15)),
        ({}, "PERMESSAGE-DEFLATE", (False, False, 15, 15)),
    ],
)
def test_client_accepts(offer_kwargs, response, expected):
    pmd = client_accept(client_offer(**offer_kwargs), response)
    assert pmd.role == "client"
    assert agreed(pmd) == expected


@pytest.mark.parametrize("response", [None, "", " , "])
def test_client_without_response_extension(response):
    assert client_accept(client_offer(), response) is None


def test_client_ignores_other_offered_extensions():
    offer = "x-foo, " + client_offer()
    assert client_accept(offer, "x-foo") is None
    assert agreed(client_accept(offer, "x-foo, " + PMD)) == (False, False, 15, 15)


@pytest.mark.parametrize(
    "offer, response, reason",
    [
        # 5.1: a parameter not defined for use in a response
        (client_offer(), PMD + "; foo", "unknown parameter foo"),
        (client_offer(), PMD + "; foo=bar", "unknown parameter foo"),
        # 5.1: the same parameter twice
        (
            client_offer(),
            PMD + "; server_no_context_takeover; server_no_context_takeover",
            "duplicate parameter server_no_context_takeover",
        ),
        (
            client_offer(),
            PMD + "; client_max_window_bits=10; client_max_window_bits=10",
            "duplicate parameter client_max_window_bits",
        ),
        # 5.1: an invalid value
        (client_offer(), PMD + "; server_no_context_takeover=1", "server_no_context_takeover takes no value"),
        (client_offer(), PMD + "; client_no_context_takeover=x", "client_no_context_takeover takes no value"),
        (client_offer(), PMD + "; server_max_window_bits", "server_max_window_bits must be 8 to 15"),
        (client_offer(), PMD + "; server_max_window_bits=7", "server_max_window_bits must be 8 to 15"),
        (client_offer(), PMD + "; server_max_window_bits=16", "server_max_window_bits must be 8 to 15"),
        (client_offer(), PMD + "; server_max_window_bits=08", "server_max_window_bits must be 8 to 15"),
        (client_offer(), PMD + "; client_max_window_bits=1a", "client_max_window_bits must be 8 to 15"),
        # 7.1.2.2: client_max_window_bits needs a value in a response
        (client_offer(), PMD + "; client_max_window_bits", "client_max_window_bits needs a value"),
        # 7.1.1.1: offered server_no_context_takeover missing from the response
        (
            client_offer(server_no_context_takeover=True),
            PMD,
            "server_no_context_takeover was offered but the response lacks it",
        ),
        # 7.1.2.1: offered server_max_window_bits missing, or larger than offered
        (
            client_offer(server_max_window_bits=10),
            PMD,
            "server_max_window_bits was offered but the response lacks it",
        ),
        (
            client_offer(server_max_window_bits=10),
            PMD + "; server_max_window_bits=11",
            "server_max_window_bits=11 is larger than the 10 offered",
        ),
        # 7.1.2.2: client_max_window_bits not offered, or larger than offered
        (
            client_offer(client_max_window_bits=None),
            PMD + "; client_max_window_bits=10",
            "client_max_window_bits in the response was not offered",
        ),
        (
            client_offer(client_max_window_bits=10),
            PMD + "; client_max_window_bits=11",
            "client_max_window_bits=11 is larger than the 10 offered",
        ),
        # 5: permessage-deflate twice in the response
        (client_offer(), PMD + ", " + PMD, "accepted permessage-deflate more than once"),
        # RFC 6455 9.1: an extension that was not offered
        (client_offer(), "x-foo", "accepted extension x-foo, which was not offered"),
        (client_offer(), PMD + ", x-foo", "accepted extension x-foo, which was not offered"),
        ("x-foo", PMD, "accepted extension permessage-deflate, which was not offered"),
        # bad syntax
        (client_offer(), PMD + ";", "malformed Sec-WebSocket-Extensions"),
        (client_offer(), PMD + '; server_max_window_bits="10', "malformed Sec-WebSocket-Extensions"),
    ],
)
def test_client_fails_a_bad_response_with_1010(offer, response, reason):
    with pytest.raises(ProtocolError) as info:
        client_accept(offer, response)
    assert info.value.code == 1010
    assert reason in info.value.reason
    assert len(info.value.reason.encode("utf-8")) <= 123


def test_client_reason_is_bounded():
    with pytest.raises(ProtocolError) as info:
        client_accept(client_offer(), PMD + "; " + "x" * 500)
    assert info.value.code == 1010
    assert len(info.value.reason.encode("utf-8")) <= 123


def test_client_matches_the_response_to_one_of_several_offers():
    offer = (
        client_offer(server_max_window_bits=10)
        + ", "
        + client_offer(server_no_context_takeover=True)
    )
    # fits the first offer
    pmd = client_accept(offer, PMD + "; server_max_window_bits=9")
    assert agreed(pmd) == (False, False, 9, 15)
    # fits only the second (no server_max_window_bits)
    pmd = client_accept(offer, PMD + "; server_no_context_takeover")
    assert agreed(pmd) == (True, False, 15, 15)
    # fits neither: the first offer's complaint
    with pytest.raises(ProtocolError) as info:
        client_accept(offer, PMD + "; server_max_window_bits=11")
    assert info.value.code == 1010
    assert "server_max_window_bits=11 is larger than the 10 offered" in info.value.reason


def test_client_passes_local_options():
    pmd = client_accept(client_offer(), PMD, level=9, max_ratio=10, threshold=5, backend="zlib")
    assert (pmd.level, pmd.max_ratio, pmd.threshold, pmd.backend) == (9, 10, 5, "zlib")


# --- both ends together ------------------------------------------------------------------

OFFERS = [
    dict(zip(("server_no_context_takeover", "client_no_context_takeover", "server_max_window_bits", "client_max_window_bits"), values))
    for values in itertools.product([False, True], [False, True], [None, 8, 12], [None, True, 9, 15])
]
CONFIGS = [
    dict(zip(("server_no_context_takeover", "client_no_context_takeover", "server_max_window_bits", "client_max_window_bits"), values))
    for values in itertools.product([False, True], [False, True], [None, 8, 10], [None, 8, 11])
]


@pytest.mark.parametrize("offer_kwargs", OFFERS, ids=str)
def test_every_offer_against_every_config(offer_kwargs):
    """Whatever both sides want, the server's answer satisfies the client, both agree on
    the same parameters, and messages flow both ways."""
    offer = client_offer(**offer_kwargs)
    for config in CONFIGS:
        server, response = server_negotiate(offer, **config)
        client = client_accept(offer, response)
        assert agreed(client) == agreed(server), (offer, config, response)
        # the server's wishes were honoured where the client let them be
        if config["server_no_context_takeover"] or offer_kwargs["server_no_context_takeover"]:
            assert server.server_no_context_takeover
        if config["client_no_context_takeover"]:
            assert client.client_no_context_takeover
        if config["server_max_window_bits"]:
            assert server.server_max_window_bits <= config["server_max_window_bits"]
        if offer_kwargs["server_max_window_bits"]:
            assert server.server_max_window_bits <= offer_kwargs["server_max_window_bits"]
        if isinstance(offer_kwargs["client_max_window_bits"], int) and not isinstance(
            offer_kwargs["client_max_window_bits"], bool
        ):
            assert client.client_max_window_bits <= offer_kwargs["client_max_window_bits"]
        if config["client_max_window_bits"] and offer_kwargs["client_max_window_bits"]:
            assert client.client_max_window_bits <= config["client_max_window_bits"]
        message = b"negotiated " * 40
        for _ in range(2):
            assert server.inflate(client.deflate(message, True), True, 1000) == message
            assert client.inflate(server.deflate(message, True), True, 1000) == message


def test_response_is_valid_extension_syntax():
    offer = client_offer(server_max_window_bits=9, client_max_window_bits=True)
    _, response = server_negotiate(offer, client_max_window_bits=10)
    assert parse_extensions(response) == [
        (PMD, [("server_max_window_bits", "9"), ("client_max_window_bits", "10")])
    ]
    assert agreed(client_accept(offer, response)) == (False, False, 9, 10)


# --- robustness (hypothesis) -----------------------------------------------------------


PIECES = st.sampled_from(
    [PMD, "x-foo", ";", ",", "=", " ", '"', "\\", "server_no_context_takeover",
     "client_no_context_takeover", "server_max_window_bits", "client_max_window_bits",
     "8", "9", "10", "15", "16", "07", "a"]
)
HEADERS = st.lists(PIECES, max_size=20).map("".join) | st.text(max_size=80)


@given(HEADERS)
def test_server_negotiate_never_fails(request_value):
    pmd, response = server_negotiate(request_value)
    if pmd is None:
        assert response is None
        return
    assert response.startswith(PMD)
    try:
        parse_extensions(request_value)
    except Exception:
        return  # the server skipped a malformed element; no client sends that
    # what we answer is acceptable to the client that made the offer, and both agree
    assert agreed(client_accept(request_value, response)) == agreed(pmd)


@given(HEADERS)
def test_client_accept_fails_only_with_1010(response):
    try:
        result = client_accept(client_offer(), response)
    except ProtocolError as exc:
        assert exc.code == 1010
        assert len(exc.reason.encode("utf-8")) <= 123
    else:
        assert result is None or result.role == "client"
