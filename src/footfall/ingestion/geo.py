"""Where a visitor is: country, and with a city database region and city, from their IP address.

Only the answer is kept. The address is looked up in memory and forgotten: it is never stored,
logged, or put in an error message.

Two sources, chosen once at start-up by `open_geo`:

- **Bundled** (`BundledCountries`, the default): the table of the `iptocc` package, built
  from the five Regional Internet Registries' public delegation files and refreshed with each
  release of the package. IPv4 and IPv6; country only. It names the country a block was
  *assigned* to, which agrees with commercial databases for ~95 % of IPv4 addresses.
- **A MaxMind DB file** the user supplies (`MaxMindLocations`, setting
  `FOOTFALL_GEOIP_DATABASE`): MaxMind GeoLite2 / GeoIP2 City or Country, or DB-IP's City or
  Country Lite. Country, region (ISO 3166-2, `DE-BE`; DB-IP Lite carries subdivision names
  only, so its region is the English name) and city (English name). Where the file knows no
  country for an address, the bundled table answers.

Both are read-only after start-up, so one instance is shared by every request and thread.
Addresses arrive parsed (`ingestion.addresses`, once per request); private, loopback,
link-local and reserved ones locate nowhere.
"""

from __future__ import annotations

import ipaddress
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import iptocc
import maxminddb

from footfall.errors import GeoDatabaseError
from footfall.ingestion.addresses import Address, is_global, unmapped

log = logging.getLogger(__name__)

SETTING = "FOOTFALL_GEOIP_DATABASE"

# Codes the registries use that are not countries (EU: "somewhere in Europe", AP: "Asia/
# Pacific", ZZ: unknown); stored as no country rather than as a fake one.
_NOT_COUNTRIES = frozenset({"EU", "AP", "ZZ"})

# Words in a MaxMind DB's `database_type` of the databases that carry a country per address
# (GeoLite2-City, GeoIP2-Country, GeoIP2-Enterprise, DBIP-City-Lite, DBIP-Country-Lite, …).
_LOCATION_TYPES = ("city", "country", "enterprise", "location")

# Addresses looked up once at start-up to prove that the search tree and data section read.
_PROBES = ("1.1.1.1", "8.8.8.8", "2001:4860:4860::8888")


@dataclass(frozen=True, slots=True)
class Location:
    """Where an address is. `country` is ISO 3166-1 alpha-2; any field may be unknown."""

    country: str | None = None
    region: str | None = None
    city: str | None = None


NOWHERE = Location()


class GeoLookup(Protocol):
    """Locates IP addresses; built once at start-up, safe to share between threads."""

    description: str
    """What answers lookups, for the start-up log (never an address)."""

    def locate(self, address: Address) -> Location:
        """Where `address` is; `NOWHERE` for non-public addresses. Never raises."""
        ...

    def close(self) -> None:
        """Release the database (no lookups after this)."""
        ...


def public_address(address: Address) -> Address | None:
    """`address` when it is a globally routable address (`ipaddress`'s `is_global`), else None.

    An IPv4 address written as IPv4-mapped IPv6 (`::ffff:8.8.8.8`, what a dual-stack socket
    reports) is returned as the IPv4 address.
    """
    address = unmapped(address)
    return address if is_global(address) else None


def _country(code: object) -> str | None:
    if isinstance(code, str) and len(code) == 2 and code.isascii() and code.isalpha():
        code = code.upper()
        return None if code in _NOT_COUNTRIES else code
    return None


class BundledCountries:
    """The country of an address from the registries' table that ships with `iptocc`."""

    description = "bundled country table (Regional Internet Registry data, iptocc)"

    def __init__(self) -> None:
        # The table is embedded in the extension; the first lookup builds its index, so make
        # it here, not in the first request.
        iptocc.country_code("8.8.8.8")

    def country(self, address: Address) -> str | None:
        """The country of an address already known to be public (see `public_address`)."""
        return _country(iptocc.country_code(address.text))

    def locate(self, address: Address) -> Location:
        public = public_address(address)
        if public is None:
            return NOWHERE
        country = self.country(public)
        return Location(country) if country else NOWHERE

    def close(self) -> None:
        pass


def _text(record: object, *keys: str | int) -> str | None:
    """The string at `keys` inside a decoded MaxMind record, None if any step is missing."""
    value = record
    for key in keys:
        if isinstance(key, int):
            if not isinstance(value, list) or len(value) <= key:
                return None
            value = value[key]
        else:
            if not isinstance(value, dict):
                return None
            value = value.get(key)
    return value if isinstance(value, str) and value else None


class MaxMindLocations:
    """Country, region and city from a MaxMind DB file (MaxMind or DB-IP layout)."""

    def __init__(self, path: Path, fallback: BundledCountries) -> None:
        """Open and check the file; `GeoDatabaseError` (naming the setting) if it is unusable."""
        self._fallback = fallback
        self._warned = False
        if path.is_dir():
            raise _unusable(path, "it is a directory")
        try:
            self._reader = maxminddb.open_database(str(path))
        except FileNotFoundError:
            raise _unusable(path, "no such file") from None
        except PermissionError:
            raise _unusable(path, "permission denied") from None
        except (ValueError, maxminddb.InvalidDatabaseError):
            raise _unusable(path, "not a MaxMind DB file, or a damaged one") from None
        except OSError as error:
            raise _unusable(path, f"it cannot be read ({error.strerror or error})") from None
        try:
            metadata = self._reader.metadata()
            kind = str(metadata.database_type)
            # An IPv4-only file cannot be asked about IPv6 addresses (the reader raises).
            self._ipv6 = metadata.ip_version == 6
            if not any(word in kind.lower() for word in _LOCATION_TYPES):
                raise _unusable(
                    path, f'it is a "{kind}" database, which locates no countries'
                ) from None
            for probe in _PROBES:
                if self._ipv6 or ":" not in probe:
                    self._reader.get(probe)
        except (OSError, ValueError, maxminddb.InvalidDatabaseError):
            self._reader.close()
            raise _unusable(path, "a damaged MaxMind DB file (its data does not read)") from None
        except GeoDatabaseError:
            self._reader.close()
            raise
        self.description = f'MaxMind DB "{kind}" (region and city), bundled table as fallback'

    def locate(self, address: Address) -> Location:
        public = public_address(address)
        if public is None:
            return NOWHERE
        if public.version == 6 and not self._ipv6:
            return self._fallback.locate(public)
        # The reader parses text fastest, but knows no scope ids (`fe80::1%eth0`).
        key = public.text if "%" not in public.text else ipaddress.IPv6Address(public.value)
        try:
            record = self._reader.get(key)
        except (OSError, ValueError, maxminddb.InvalidDatabaseError):
            # A file that passed the start-up checks but is damaged further in: keep ingesting
            # with the bundled country, and say so once (without the address).
            if not self._warned:
                self._warned = True
                log.warning(
                    "%s: the database has unreadable parts; using the bundled table", SETTING
                )
            record = None
        if not isinstance(record, dict):
            return self._fallback.locate(public)
        country = (
            _country(_text(record, "country", "iso_code"))
            or _country(_text(record, "registered_country", "iso_code"))
            or self._fallback.country(public)
        )
        # MaxMind lists subdivisions largest first and gives their ISO 3166-2 code without the
        # country part ("BE"); DB-IP Lite gives names only.
        code = _text(record, "subdivisions", 0, "iso_code")
        if code and country:
            region: str | None = f"{country}-{code.upper()}"
        else:
            region = _text(record, "subdivisions", 0, "names", "en")
        city = _text(record, "city", "names", "en")
        if country is None and region is None and city is None:
            return NOWHERE
        return Location(country, region, city)

    def close(self) -> None:
        self._reader.close()


def _unusable(path: Path, reason: str) -> GeoDatabaseError:
    return GeoDatabaseError(
        f"{SETTING}={path} cannot be used: {reason}. Point it at a MaxMind GeoLite2/GeoIP2 City "
        "or Country .mmdb file (or DB-IP's City/Country Lite .mmdb), or unset it to locate "
        "visitors by country with the bundled table."
    )


def open_geo(database: Path | None) -> GeoLookup:
    """The lookup the settings ask for: the user's MaxMind DB file, else the bundled table.

    Raises `GeoDatabaseError` when `database` is set but cannot be used, so that the server
    refuses to start rather than failing on every request.
    """
    bundled = BundledCountries()
    lookup: GeoLookup = bundled if database is None else MaxMindLocations(database, bundled)
    log.info("IP geolocation: %s", lookup.description)
    return lookup
