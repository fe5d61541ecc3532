"""The hot-path address parser and `is_global` (`footfall.ingestion.addresses`) against the
standard library they replace: the same strings accepted, the same canonical text and value,
the same answer to "is it global" at every range boundary and on random addresses."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import event, example, given, settings
from hypothesis import strategies as st

import tests.hostile.conftest  # noqa: F401 (the Hypothesis profiles: "repeatable" by default)
from footfall.ingestion import addresses
from footfall.ingestion.addresses import (
    NON_GLOBAL,
    Address,
    is_global,
    parse_address,
    parse_client_address,
    unmapped,
)

PROPERTY = settings(max_examples=300, deadline=None)
BITS = {4: 32, 6: 128}
MAPPED = 0xFFFF << 32


def reference(text: str) -> Address | None:
    """What `ipaddress` makes of `text`, as an `Address`."""
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    return Address(str(address), address.version, int(address))


def reference_is_global(version: int, value: int) -> bool:
    """The standard library's `is_global`, IPv4-mapped addresses judged as IPv4 (as
    `geo.public_address` always did)."""
    address = ipaddress.IPv4Address(value) if version == 4 else ipaddress.IPv6Address(value)
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped.is_global
    return address.is_global


def make(version: int, value: int) -> Address:
    text = str(ipaddress.IPv4Address(value) if version == 4 else ipaddress.IPv6Address(value))
    return Address(text, version, value)


# -- is_global ---------------------------------------------------------------------------------


def _stdlib_boundaries(version: int) -> set[int]:
    """Both ends of every network the standard library's constants name, and their
    neighbours; and those of the derived table."""
    constants = vars(ipaddress)["_IPv4Constants" if version == 4 else "_IPv6Constants"]
    ends: set[int] = set()
    for value in vars(constants).values():
        for item in value if isinstance(value, list | tuple) else (value,):
            if getattr(item, "version", None) != version:
                continue
            if isinstance(item, ipaddress.IPv4Network | ipaddress.IPv6Network):
                ends.update((int(item.network_address), int(item.broadcast_address)))
            elif isinstance(item, ipaddress.IPv4Address | ipaddress.IPv6Address):
                ends.add(int(item))
    starts, stops = NON_GLOBAL[version]
    ends.update(starts, stops)
    top = (1 << BITS[version]) - 1
    return {n for end in ends for n in (end - 1, end, end + 1) if 0 <= n <= top}


@pytest.mark.parametrize("version", [4, 6])
def test_is_global_at_every_range_boundary(version: int) -> None:
    points = sorted(_stdlib_boundaries(version))
    assert len(points) > 40  # the constants were found: not a vacuous test
    for value in points:
        assert is_global(make(version, value)) == reference_is_global(version, value), hex(value)


def test_the_table_is_sorted_disjoint_and_merged() -> None:
    for version, (starts, ends) in NON_GLOBAL.items():
        assert len(starts) == len(ends) > 3
        assert all(start <= end for start, end in zip(starts, ends, strict=True))
        # Strictly increasing with a gap: adjacent ranges would have been merged.
        assert all(end + 1 < start for end, start in zip(ends, starts[1:], strict=False))
        assert ends[-1] < 1 << BITS[version]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("8.8.8.8", True),
        ("100.63.255.255", True),
        ("100.64.0.0", False),  # carrier-grade NAT: not global, yet not "private" either
        ("100.127.255.255", False),
        ("100.128.0.0", True),
        ("192.0.0.7", False),
        ("192.0.0.8", True),
        ("255.255.255.254", False),
        ("::ffff:8.8.8.8", True),
        ("::ffff:100.64.0.1", False),  # ipaddress's IPv6 is_global alone would say True
        ("::ffff:10.0.0.1", False),
        ("2001:4860:4860::8888", True),
        ("2001:1ff:ffff:ffff:ffff:ffff:ffff:ffff", False),
        ("2001:200::", True),
        ("2001:db8::1", False),
        ("fe80::1%eth0", False),
        ("2001:4860::1%eth0", True),
        ("::", False),
        ("::2", True),  # ipaddress 3.11: only ::/128 and ::1/128 of ::/8 are named
    ],
)
def test_is_global_examples(text: str, expected: bool) -> None:
    address = parse_address(text)
    assert address is not None
    assert is_global(address) is expected
    assert reference_is_global(address.version, address.value) is expected


@PROPERTY
@given(value=st.integers(0, 2**32 - 1))
@example(value=0x64400000)  # 100.64.0.0
def test_is_global_of_ipv4(value: int) -> None:
    assert is_global(make(4, value)) == ipaddress.IPv4Address(value).is_global


def _v6_values() -> st.SearchStrategy[int]:
    """Random IPv6 integers, many inside or next to the special ranges (IPv4-mapped too)."""
    starts, ends = NON_GLOBAL[6]
    near = st.builds(
        lambda edge, delta: min(max(edge + delta, 0), 2**128 - 1),
        st.sampled_from([*starts, *ends]),
        st.integers(-(2**20), 2**20),
    )
    mapped = st.integers(0, 2**32 - 1).map(lambda v: MAPPED | v)
    prefixed = st.builds(
        lambda top, rest: (top << 112) | rest,
        st.sampled_from([0, 0x100, 0x2001, 0x2002, 0x64, 0xFC00, 0xFE80, 0xFEC0, 0xFF02]),
        st.integers(0, 2**112 - 1),
    )
    return st.one_of(st.integers(0, 2**128 - 1), near, mapped, prefixed)


@PROPERTY
@given(value=_v6_values())
def test_is_global_of_ipv6(value: int) -> None:
    assert is_global(make(6, value)) == reference_is_global(6, value)


# -- parsing -----------------------------------------------------------------------------------


@PROPERTY
@given(value=st.integers(0, 2**32 - 1))
def test_ipv4_text_round_trips(value: int) -> None:
    text = str(ipaddress.IPv4Address(value))
    assert parse_address(text) == Address(text, 4, value)


def _groups_values() -> st.SearchStrategy[int]:
    """IPv6 integers built from groups that are often zero: runs of every length and place."""
    group = st.sampled_from([0, 0, 0, 1, 0xFFFF, 0xABC, 0x10])
    return st.lists(group, min_size=8, max_size=8).map(
        lambda groups: sum(g << (16 * (7 - i)) for i, g in enumerate(groups))
    )


@PROPERTY
@given(value=st.one_of(_v6_values(), _groups_values()))
@example(value=0)
@example(value=1)
@example(value=MAPPED | 0x01020304)
@example(value=0x01020304)  # ::1.2.3.4: the C library writes it dotted
def test_ipv6_canonical_text(value: int) -> None:
    expected = str(ipaddress.IPv6Address(value))
    assert addresses._v6_text(value) == expected
    assert addresses._v6_text_python(value) == expected  # the fallback
    exploded = ipaddress.IPv6Address(value).exploded
    assert parse_address(exploded) == Address(expected, 6, value)
    assert parse_address(exploded.upper()) == Address(expected, 6, value)


def test_this_platform_formats_with_inet_ntop() -> None:
    # glibc writes what ipaddress writes; on such a platform the fast formatter is in use.
    assert addresses._ntop_agrees()
    assert addresses._v6_text is addresses._v6_text_ntop


ADDRESS_CHARS = "0123456789abcdefABCDEF:.%/ \t\n\x00xX-+_\u0663\uff11\u00b9"


def _spellings(value: int, version: int, choice: int, scope: str) -> str:
    """One of many ways to write an address, valid or nearly so."""
    if version == 4:
        octets = [str((value >> s) & 0xFF) for s in (24, 16, 8, 0)]
        forms = [
            ".".join(octets),
            ".".join(o.zfill(2) for o in octets),  # leading zeros: refused
            ".".join(octets) + "%" + scope,
            " " + ".".join(octets),
            ".".join(octets[:3]),
            ".".join(octets) + ".0",
            ".".join(o.zfill(4) for o in octets),
        ]
    else:
        address = ipaddress.IPv6Address(value)
        groups = address.exploded.split(":")
        dotted = str(ipaddress.IPv4Address(value & 0xFFFFFFFF))
        forms = [
            str(address),
            address.exploded,
            address.exploded.upper(),
            ":".join(g.lstrip("0") or "0" for g in groups),
            ":".join(groups[:6]) + ":" + dotted,  # embedded IPv4
            "::" + dotted,
            "::ffff:" + dotted,
            "::FFFF:" + ".".join(p.zfill(3) for p in dotted.split(".")),
            str(address) + "%" + scope,
            ":".join(groups[:6]) + ":" + dotted + "%" + scope,
            str(address) + "%",
            ":".join(groups) + ":",
            ":" + str(address),
            str(address) + "::",
            ":".join(groups[:7]) + "::",
            "::" + ":".join(groups[1:]),
            ":".join(groups[:4]) + "::" + ":".join(groups[5:]),
            ":".join(groups[:3]) + "::" + ":".join(groups[4:]) + "::",
            "0" + ":".join(groups),  # a five-digit group
            "[" + str(address) + "]",
            str(address) + "/64",
            str(address).replace("::", ":::"),
            str(address) + " ",
        ]
    return forms[choice % len(forms)]


@PROPERTY
@given(
    text=st.one_of(
        st.text(alphabet=ADDRESS_CHARS, max_size=45),
        st.builds(
            _spellings,
            st.one_of(st.integers(0, 2**32 - 1), _v6_values(), _groups_values()),
            st.sampled_from([4, 6]),
            st.integers(0, 100),
            st.sampled_from(["eth0", "1", "%", "a%b", " ", "é"]),
        ).filter(lambda t: t is not None),
        st.text(max_size=20),
    )
)
@example(text="::")
@example(text="fe80::1%eth0")
@example(text="fe80::1%")
@example(text="fe80::1%eth0%1")
@example(text="1.2.3.4%eth0")
@example(text="1.2.3.04")
@example(text="01.2.3.4")
@example(text="1.2.3.4 ")
@example(text=" 1.2.3.4")
@example(text="\uff11.2.3.4")  # a full-width digit
@example(text="1.2.3.\u0663")  # an Arabic-Indic digit
@example(text="1.2.3.4\x00")
@example(text="\ud800")  # a lone surrogate: no UTF-8 for inet_pton
@example(text="::FFFF:1.2.3.4")
@example(text="::ffff:1.2.3.4%eth0")
@example(text="1:2:3:4:5:6:7::")
@example(text="::1:2:3:4:5:6:7")
@example(text="1:2:3:4:5:6:7:8::")
@example(text="1:2:3:4:5:6:1.2.3.4")
@example(text="1:2:3:4:5:6:7:1.2.3.4")
@example(text="1::2::3")
@example(text="1:2:3:4:5:6:7:8:9")
@example(text="::1.2.3")
@example(text="::01.2.3.4")
@example(text="1.2.3.4::")
@example(text="2001:DB8::0001")
@example(text="2001:db8::00001")
@example(text="1.2.3.256")
@example(text="4294967295")
@example(text="")
def test_parse_accepts_exactly_what_ipaddress_accepts(text: str) -> None:
    expected = reference(text)
    event("accepted" if expected is not None else "refused")  # --hypothesis-show-statistics
    assert parse_address(text) == expected


@PROPERTY
@given(value=_v6_values())
def test_client_addresses_are_unmapped(value: int) -> None:
    text = str(ipaddress.IPv6Address(value))
    ipv4 = ipaddress.IPv6Address(value).ipv4_mapped
    expected = make(4, int(ipv4)) if ipv4 is not None else make(6, value)
    assert parse_client_address(text) == expected
    parsed = parse_address(text)
    assert parsed is not None and unmapped(parsed) == expected


def test_unmapping_drops_a_scope_id_as_ipaddress_does() -> None:
    assert parse_client_address("::ffff:1.2.3.4%eth0") == Address("1.2.3.4", 4, 0x01020304)
    assert parse_client_address("fe80::1%eth0") == reference("fe80::1%eth0")
    assert parse_client_address("garbage") is None
