"""IP geolocation (`footfall.ingestion.geo`): the bundled country table, a user's MaxMind DB
file in the MaxMind and DB-IP layouts, addresses that locate nowhere, and the refusal of a
file that cannot be used."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import maxminddb
import pytest

from footfall.config import Settings
from footfall.errors import GeoDatabaseError
from footfall.ingestion.addresses import Address, parse_address
from footfall.ingestion.client_ip import resolve_client
from footfall.ingestion.geo import NOWHERE, GeoLookup, Location, open_geo
from tests.ingestion.mmdb import (
    BERLIN_V4,
    MUNICH_V6,
    NO_COUNTRY_V4,
    PARIS_V4,
    REGISTERED_ONLY_V4,
    write_city_database,
)

# Addresses whose registry assignment has not moved in decades: Google's public resolver
# (ARIN, US) and the RIPE NCC's own web server (RIPE NCC, NL), over IPv4 and IPv6; an APNIC
# block assigned to Japan.
STABLE = [
    ("8.8.8.8", "US"),
    ("2001:4860:4860::8888", "US"),
    ("193.0.6.139", "NL"),
    ("2001:67c:2e8:22::c100:68b", "NL"),
    ("1.0.16.1", "JP"),
    ("::ffff:8.8.8.8", "US"),  # IPv4-mapped, as a dual-stack socket reports IPv4 clients
]

NOT_PUBLIC = [
    "10.1.2.3",
    "172.16.5.4",
    "192.168.1.1",
    "127.0.0.1",
    "169.254.1.1",
    "100.64.0.1",  # carrier-grade NAT
    "203.0.113.7",  # documentation
    "224.0.0.1",
    "0.0.0.0",
    "::1",
    "::",
    "fe80::1",
    "fc00::1",
    "2001:db8::1",
    "::ffff:10.1.2.3",
    "::ffff:100.64.0.1",  # IPv4-mapped: judged as the IPv4 address (ipaddress alone would not)
    "fe80::1%eth0",
]


def _parsed(ip: str) -> Address:
    address = parse_address(ip)
    assert address is not None
    return address


@pytest.fixture
def city_file(tmp_path: Path) -> Path:
    return write_city_database(tmp_path / "GeoLite2-City.mmdb")


@pytest.fixture
def bundled() -> Iterator[GeoLookup]:
    lookup = open_geo(None)
    yield lookup
    lookup.close()


@pytest.fixture
def city(city_file: Path) -> Iterator[GeoLookup]:
    lookup = open_geo(city_file)
    yield lookup
    lookup.close()


@pytest.mark.parametrize(("ip", "country"), STABLE)
def test_bundled_table_gives_the_country(bundled: GeoLookup, ip: str, country: str) -> None:
    assert bundled.locate(_parsed(ip)) == Location(country)


@pytest.mark.parametrize("ip", NOT_PUBLIC)
def test_addresses_that_are_not_public_locate_nowhere(
    bundled: GeoLookup, city: GeoLookup, ip: str
) -> None:
    assert bundled.locate(_parsed(ip)) is NOWHERE
    # The test file maps 10.0.0.0/8 and fc00::/7 to DE: ignored all the same.
    assert city.locate(_parsed(ip)) is NOWHERE


@pytest.mark.parametrize("ip", ["not an address", "", "testclient", "/run/ff.sock"])
def test_what_is_no_address_is_never_located(ip: str) -> None:
    # The pipeline locates only parsed addresses (`Hit.address`); these have none.
    assert parse_address(ip) is None
    assert resolve_client(ip or None, None, []).address is None


@pytest.mark.parametrize(
    ("ip", "expected"),
    [
        (BERLIN_V4, Location("DE", "DE-BE", "Berlin")),  # MaxMind layout: ISO 3166-2 code
        (f"::ffff:{BERLIN_V4}", Location("DE", "DE-BE", "Berlin")),
        (MUNICH_V6, Location("DE", "DE-BY", "Munich")),  # English names
        (f"{MUNICH_V6}%eth0", Location("DE", "DE-BY", "Munich")),  # a scope id: ignored
        (PARIS_V4, Location("FR", "Île-de-France", "Paris")),  # DB-IP layout: a name only
        (REGISTERED_ONLY_V4, Location("US")),  # only the registered country
        (NO_COUNTRY_V4, Location("NL")),  # a record without a country: the bundled table
        ("1.0.16.1", Location("JP")),  # no record at all: the bundled table
    ],
)
def test_city_database_gives_region_and_city(city: GeoLookup, ip: str, expected: Location) -> None:
    assert city.locate(_parsed(ip)) == expected


def test_ipv4_only_database_leaves_ipv6_to_the_bundled_table(tmp_path: Path) -> None:
    lookup = open_geo(write_city_database(tmp_path / "v4.mmdb", ip_version=4))
    try:
        assert lookup.locate(_parsed(BERLIN_V4)) == Location("DE", "DE-BE", "Berlin")
        assert lookup.locate(_parsed(MUNICH_V6)) == Location("DE")  # bundled: no region, no city
    finally:
        lookup.close()


def test_country_database_is_accepted(tmp_path: Path) -> None:
    path = write_city_database(
        tmp_path / "country.mmdb",
        database_type="DBIP-Country-Lite",
        records={"81.169.145.0/24": {"country": {"iso_code": "DE"}}},
    )
    lookup = open_geo(path)
    try:
        assert lookup.locate(_parsed(BERLIN_V4)) == Location("DE")
    finally:
        lookup.close()


def _garbage(path: Path) -> Path:
    path.write_bytes(b"this is not a MaxMind DB file\n" * 100)
    return path


def _truncated(path: Path) -> Path:
    data = write_city_database(path).read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


def _directory(path: Path) -> Path:
    path.mkdir()
    return path


def _scrambled_tree(path: Path) -> Path:
    """A file whose metadata reads but whose search tree is overwritten."""
    data = bytearray(write_city_database(path).read_bytes())
    metadata_start = data.rfind(b"\xab\xcd\xefMaxMind.com")
    data[: metadata_start - 16] = b"\xff" * (metadata_start - 16)
    path.write_bytes(bytes(data))
    return path


def _asn(path: Path) -> Path:
    return write_city_database(
        path,
        database_type="GeoLite2-ASN",
        records={"8.8.8.0/24": {"autonomous_system_number": 15169}},
    )


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda path: path, "no such file"),
        (_directory, "it is a directory"),
        (_garbage, "not a MaxMind DB file, or a damaged one"),
        (_truncated, "not a MaxMind DB file, or a damaged one"),
        (_scrambled_tree, "a damaged MaxMind DB file (its data does not read)"),
        (_asn, 'it is a "GeoLite2-ASN" database, which locates no countries'),
    ],
)
def test_unusable_database_is_refused_naming_the_setting(
    tmp_path: Path, make: object, reason: str
) -> None:
    assert callable(make)
    path = make(tmp_path / "geo.mmdb")
    with pytest.raises(GeoDatabaseError) as refused:
        open_geo(path)
    message = str(refused.value)
    assert message.startswith(f"FOOTFALL_GEOIP_DATABASE={path} cannot be used: {reason}")
    assert "unset it" in message


def test_damage_found_only_by_a_lookup_falls_back_to_the_bundled_table(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # One record, whose data section is then overwritten: the start-up probes (addresses
    # without a record) pass, lookups of the record's network fail.
    path = write_city_database(
        tmp_path / "city.mmdb", records={"81.169.145.0/24": {"city": {"names": {"en": "Berlin"}}}}
    )
    reader = maxminddb.open_database(str(path))
    metadata = reader.metadata()
    reader.close()
    data = bytearray(path.read_bytes())
    data_start = metadata.node_count * metadata.record_size * 2 // 8 + 16
    metadata_start = data.rfind(b"\xab\xcd\xefMaxMind.com")
    data[data_start:metadata_start] = b"\xff" * (metadata_start - data_start)
    path.write_bytes(bytes(data))
    lookup = open_geo(path)
    try:
        assert lookup.locate(_parsed(BERLIN_V4)) == Location("DE")  # the bundled table's answer
        assert lookup.locate(_parsed("81.169.145.67")) == Location("DE")
    finally:
        lookup.close()
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert warnings == [
        "FOOTFALL_GEOIP_DATABASE: the database has unreadable parts; using the bundled table"
    ]
    assert "81.169.145" not in caplog.text


def test_one_lookup_serves_many_threads(city: GeoLookup) -> None:
    ips = [BERLIN_V4, MUNICH_V6, PARIS_V4, REGISTERED_ONLY_V4, "8.8.4.4", "10.0.0.1"]
    expected = [city.locate(_parsed(ip)) for ip in ips]
    results: list[list[Location]] = []
    start = threading.Barrier(4)

    def work() -> None:
        start.wait()
        mine = []
        for _ in range(500):
            mine.extend(city.locate(_parsed(ip)) for ip in ips)
        results.append(mine)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 4
    assert all(result == expected * 500 for result in results)


def test_setting_from_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("FOOTFALL_GEOIP_DATABASE", str(tmp_path / "city.mmdb"))
    assert Settings().geoip_database == tmp_path / "city.mmdb"
    monkeypatch.setenv("FOOTFALL_GEOIP_DATABASE", "")
    assert Settings().geoip_database is None  # empty: unset, not the current folder
    monkeypatch.delenv("FOOTFALL_GEOIP_DATABASE")
    assert Settings().geoip_database is None
