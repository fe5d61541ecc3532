"""Tiny MaxMind DB files written at test time (with `mmdb-writer`), in the layouts of the real
databases a user supplies: MaxMind GeoLite2/GeoIP2 City (subdivision ISO codes) and DB-IP City
Lite (subdivision names only).

| network                | record                                                  |
|------------------------|---------------------------------------------------------|
| 81.169.145.0/24        | MaxMind layout: DE, subdivision BE "Land Berlin", Berlin |
| 2a01:238::/32          | MaxMind layout: DE, subdivision BY "Bavaria", Munich     |
| 80.67.169.0/24         | DB-IP layout: FR, subdivision "Île-de-France", Paris     |
| 8.8.8.0/24             | registered country US only                              |
| 193.0.6.0/24           | a continent only (no country: the bundled table answers) |
| 10.0.0.0/8, fc00::/7   | DE: private networks someone mapped (must still be ignored) |

Any other address has no record (the bundled table answers for its country).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mmdb_writer import MMDBWriter
from netaddr import IPSet

BERLIN_V4 = "81.169.145.66"
MUNICH_V6 = "2a01:238:20a:202:1000::22"
PARIS_V4 = "80.67.169.12"
REGISTERED_ONLY_V4 = "8.8.8.8"
NO_COUNTRY_V4 = "193.0.6.139"  # the bundled table: NL


def _names(english: str, **others: str) -> dict[str, str]:
    return {"en": english, **others}


def _country(code: str, english: str) -> dict[str, Any]:
    return {"geoname_id": 1, "iso_code": code, "names": _names(english)}


RECORDS: dict[str, dict[str, Any]] = {
    "81.169.145.0/24": {
        "city": {"geoname_id": 2950159, "names": _names("Berlin", de="Berlin")},
        "continent": {"code": "EU", "names": _names("Europe")},
        "country": _country("DE", "Germany"),
        "registered_country": _country("DE", "Germany"),
        "location": {"latitude": 52.52, "longitude": 13.40, "time_zone": "Europe/Berlin"},
        "subdivisions": [{"iso_code": "BE", "names": _names("Land Berlin", de="Berlin")}],
    },
    "2a01:238::/32": {
        "city": {"names": _names("Munich", de="München")},
        "country": _country("DE", "Germany"),
        "subdivisions": [{"iso_code": "BY", "names": _names("Bavaria", de="Bayern")}],
    },
    "80.67.169.0/24": {
        # DB-IP City Lite: no ISO code for the subdivision, only its name.
        "city": {"names": _names("Paris")},
        "continent": {"code": "EU", "names": _names("Europe")},
        "country": {"iso_code": "FR", "names": _names("France"), "is_in_european_union": True},
        "location": {"latitude": 48.85, "longitude": 2.35},
        "subdivisions": [{"names": _names("Île-de-France")}],
    },
    "8.8.8.0/24": {"registered_country": _country("US", "United States")},
    "193.0.6.0/24": {"continent": {"code": "EU", "names": _names("Europe")}},
    "10.0.0.0/8": {"country": _country("DE", "Germany")},
    "fc00::/7": {"country": _country("DE", "Germany")},
}


def write_city_database(
    path: Path,
    *,
    database_type: str = "GeoLite2-City",
    records: dict[str, dict[str, Any]] | None = None,
    ip_version: int = 6,
) -> Path:
    """Write a City-layout MaxMind DB file with `records` (default: `RECORDS`) to `path`."""
    writer = MMDBWriter(
        ip_version=ip_version,
        database_type=database_type,
        languages=["en", "de"],
        description={"en": "Footfall test database", "de": "Footfall-Testdatenbank"},
        ipv4_compatible=ip_version == 6,
    )
    for network, record in (RECORDS if records is None else records).items():
        if ip_version == 4 and ":" in network:
            continue
        writer.insert_network(IPSet([network]), record)
    writer.to_db_file(str(path))
    return path
