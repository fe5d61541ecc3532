"""IP geolocation: microseconds per `GeoLookup.locate`, as the ingestion pipeline calls it
(with an address parsed once per request, by `client_ip`), and per parse of that address.

    python -m bench.geo

Measures the bundled country table and a MaxMind DB file in the GeoLite2-City layout (full
records: names in eight languages, location, subdivisions), written here with `mmdb-writer`
over 20,000 networks, so no database has to be downloaded. Addresses are random public IPv4
(80 %) and IPv6 (20 %), each looked up once per pass (no cache can help), plus private ones.
Prints one Markdown table.
"""

from __future__ import annotations

import ipaddress
import random
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import maxminddb
from mmdb_writer import MMDBWriter
from netaddr import IPSet

from footfall.ingestion.addresses import Address, parse_client_address
from footfall.ingestion.geo import GeoLookup, open_geo

LANGUAGES = ["de", "en", "es", "fr", "ja", "pt-BR", "ru", "zh-CN"]
ADDRESSES = 50_000
PASSES = 5


def _names(name: str) -> dict[str, str]:
    return {language: name for language in LANGUAGES}


def _record(index: int) -> dict[str, Any]:
    return {
        "city": {"geoname_id": 1000 + index, "names": _names(f"City {index}")},
        "continent": {"code": "EU", "geoname_id": 6255148, "names": _names("Europe")},
        "country": {"geoname_id": 2921044, "iso_code": "DE", "names": _names("Germany")},
        "location": {
            "accuracy_radius": 20,
            "latitude": 52.5 + index / 1e5,
            "longitude": 13.4,
            "time_zone": "Europe/Berlin",
        },
        "postal": {"code": f"{10000 + index % 90000}"},
        "registered_country": {"geoname_id": 2921044, "iso_code": "DE", "names": _names("Germany")},
        "subdivisions": [{"geoname_id": 2950157, "iso_code": "BE", "names": _names("Berlin")}],
    }


def city_database(path: Path, rng: random.Random) -> Path:
    writer = MMDBWriter(
        ip_version=6,
        database_type="GeoLite2-City",
        languages=LANGUAGES,
        description={language: "bench" for language in LANGUAGES},
        ipv4_compatible=True,
    )
    for index in range(20_000):
        network = f"{rng.randrange(1, 224)}.{rng.randrange(256)}.{rng.randrange(256)}.0/24"
        writer.insert_network(IPSet([network]), _record(index % 500))
    writer.to_db_file(str(path))
    return path


def addresses(rng: random.Random) -> list[str]:
    found: list[str] = []
    while len(found) < ADDRESSES:
        if rng.random() < 0.8:
            address: ipaddress.IPv4Address | ipaddress.IPv6Address = ipaddress.IPv4Address(
                rng.getrandbits(32)
            )
        else:
            address = ipaddress.IPv6Address((0x2 << 124) | rng.getrandbits(124))
        if address.is_global:
            found.append(str(address))
    return found


def parsed(ips: list[str]) -> list[Address]:
    found = [parse_client_address(ip) for ip in ips]
    return [address for address in found if address is not None]


def microseconds(lookup: GeoLookup, sample: list[Address]) -> float:
    """Median over passes of the mean time per `locate`."""
    runs = []
    for _ in range(PASSES):
        start = time.perf_counter()
        for address in sample:
            lookup.locate(address)
        runs.append((time.perf_counter() - start) / len(sample) * 1e6)
    return statistics.median(runs)


def parse_microseconds(ips: list[str]) -> float:
    """Median over passes of the mean time per `parse_client_address`."""
    runs = []
    for _ in range(PASSES):
        start = time.perf_counter()
        for ip in ips:
            parse_client_address(ip)
        runs.append((time.perf_counter() - start) / len(ips) * 1e6)
    return statistics.median(runs)


def main() -> None:
    rng = random.Random(4)
    ips = addresses(rng)
    private = [f"10.{i % 256}.{i // 256 % 256}.1" for i in range(ADDRESSES)]
    with tempfile.TemporaryDirectory() as folder:
        database = city_database(Path(folder) / "city.mmdb", rng)
        hits = [f"{n.split('/')[0][:-1]}{rng.randrange(1, 255)}" for n in _networks(database)]
        bundled, city = open_geo(None), open_geo(database)
        rows = [
            ("bundled table, public addresses", bundled, parsed(ips)),
            ("bundled table, private addresses", bundled, parsed(private)),
            ("City .mmdb, public addresses (mostly no record)", city, parsed(ips)),
            ("City .mmdb, addresses with a full City record", city, parsed(hits)),
        ]
        try:
            print("| lookup | µs per address |")
            print("|---|---|")
            print(f"| parsing the address (public ones) | {parse_microseconds(ips):.1f} |")
            for label, lookup, sample in rows:
                print(f"| {label} | {microseconds(lookup, sample):.1f} |")
        finally:
            bundled.close()
            city.close()


def _networks(database: Path) -> list[str]:
    with maxminddb.open_database(str(database)) as reader:
        found = [str(network) for network, _ in reader if network.version == 4]
    return found[:ADDRESSES]


if __name__ == "__main__":
    main()
