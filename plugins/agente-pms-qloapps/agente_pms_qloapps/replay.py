"""A local server that answers like the QloApps 1.6.1 webservice, built from recorded exchanges.

Why: the QloApps plugin and the PMS conformance kit need something to talk to that behaves like
the real install, quirks included (HTTP 500 on PHP notices, ``200 text/html`` dies, ids typed
differently in lists and single GETs, bookings errors as HTTP 400 with code 404, ...). A
hand-written happy path would let the plugin pass against a server that does not exist.

Where the behaviour comes from:

* ``shared/pms/qloapps/recorded/*.json`` are 138 real request/response pairs taken from a
  QloApps 1.6.1 install (see ``NOTES.md`` beside them). :func:`load_recordings` reads them.
* ``qloapps_seed.json`` (beside this module) vendors, byte for byte, the subset of those
  exchanges that the server derives its data from: the demo hotel, its room types, rooms,
  services, currencies, order states, countries, the static schema documents, and the exact
  shape of every row and echo. :func:`build_seed` regenerates it from the recordings, and the
  tests check that the vendored copy still equals them, so the server never needs ``../shared``
  at run time.
* A few facts were never recorded (demo order 1 and its customer, the full text of room types
  1, 3 and 4, country names). They are the ``_SYNTHESIZED_*`` constants below, named as such.

The state machine (availability, allocation, modify/cancel, order states, histories, payments)
follows ``NOTES.md``. Behaviour that neither the recordings nor the notes pin down is listed in
``UNRECORDED_CHOICES`` so that nobody mistakes it for QloApps' own.

Contract: :func:`create_qloapps_replay` builds a :class:`QloAppsReplay`; its ``.app`` is a raw
ASGI application (HTTP only). Use it with ``httpx.AsyncClient(transport=httpx.ASGITransport(
app=replay.app), base_url="http://127.0.0.1:8089")`` or serve it with granian.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import os
import re
import secrets
import string
import time
import xml.etree.ElementTree as ET
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

import attrs
import msgspec

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Iterable, Mapping, MutableMapping

    _Scope = MutableMapping[str, Any]
    _Message = MutableMapping[str, Any]
    _Receive = Callable[[], Awaitable[_Message]]
    _Send = Callable[[_Message], Awaitable[None]]

__all__ = [
    "ENV_RECORDINGS",
    "RECORDED_BASE_URL",
    "SEED_EXCHANGES",
    "UNRECORDED_CHOICES",
    "OrderSnapshot",
    "QloAppsReplay",
    "RecordedRequest",
    "RecordedResponse",
    "Recording",
    "RecordingsNotFound",
    "RoomLineSnapshot",
    "SeedExchange",
    "build_seed",
    "create_qloapps_replay",
    "find_recordings_dir",
    "load_recordings",
    "load_seed",
]

ENV_RECORDINGS = "AGENTE_QLOAPPS_RECORDINGS"
"""Environment variable naming the folder of recorded exchanges (overrides the search)."""

RECORDED_BASE_URL = "http://127.0.0.1:8089"
"""The host the recordings were taken from; it appears in every ``xlink:href``."""

_RECORDINGS_REL = Path("shared") / "pms" / "qloapps" / "recorded"
_SEED_PATH = Path(__file__).with_name("qloapps_seed.json")
_ROOT = "{QLOAPPS_ROOT}"

SEED_EXCHANGES: tuple[str, ...] = (
    "001", "002", "012", "013", "014", "017b", "018", "019", "021", "022", "023", "024", "025",
    "026", "030", "032", "033", "034", "035", "036", "037", "040", "041", "042", "048", "063",
    "063b", "063c", "063d", "064", "065", "066", "067", "070", "070b", "071", "075", "076",
    "079", "081", "101", "141",
)  # fmt: skip
"""Fixture numbers vendored in ``qloapps_seed.json`` (the server's only source of data)."""

UNRECORDED_CHOICES: tuple[str, ...] = (
    "Demo order 1 (DR-101, 10-12 Dec 2026, customer 2) exists before the recordings; only its room"
    " line is recorded (fixture 048), so its order row, customer and reference are synthesized.",
    "Room types 1, 3 and 4 are only recorded partially (fixture 023): their full GET copies room"
    " type 2 with the recorded name, price and rooms; descriptions and images are left empty.",
    "ARI never fills partially_available (fixture 048 puts a room booked for part of the range in"
    " 'booked'); rooms whose id_status is not 1 go to 'unavailable'.",
    "bookings POST validation order: id, currency, id_property, customer_detail, phone, payment"
    " type, room types (dates, room type, room count), availability; the first failure is reported."
    " A missing check-out date answers 'Invalid check out date in the request'.",
    "bookings POST/PUT with a missing booking_status/payment_status behaves as 1/3.",
    "A partial or full payment given as price_details.total_paid is recorded as a single history"
    " entry (state 8 or 2); booking_status 2 or payment_status 1 without an amount gives 1 then 2.",
    "PUT bookings keeps the order state for booking_status 1/2 unless the order is cancelled or"
    " refunded (then it re-opens, fixture 126); booking_status 3 cancels, 4 refunds.",
    "PUT bookings with the same (room type, dates) key but another number_of_rooms adds or removes"
    " lines at the end of that group.",
    "With stock_php_ini, PUT bookings answers 500 with the getBookingDetails notices after applying"
    " the change; failed validations answer their usual 400.",
    "Writes (POST/PUT) are emulated for hotels, room_types, hotel_rooms, customers and"
    " stock_availables only; other writes and every DELETE but bookings' answer 501 'not emulated'.",
    "Resources recorded only through display=[...] (services, order_states, countries, languages)"
    " return those recorded fields for display=full too.",
)
"""Behaviour this server had to choose because the recordings and notes do not show it."""


class RecordingsNotFound(LookupError):
    """The folder of recorded QloApps exchanges could not be found."""


# --------------------------------------------------------------------------------------------
# Recordings
# --------------------------------------------------------------------------------------------


class RecordedRequest(msgspec.Struct, frozen=True, kw_only=True):
    """The request half of one recorded exchange."""

    method: str
    path: str
    query: dict[str, str]
    auth: str
    headers: dict[str, str]
    body: str | None = None


class RecordedResponse(msgspec.Struct, frozen=True, kw_only=True):
    """The response half: status, content-type (``None`` when absent) and the raw body."""

    status: int
    headers: dict[str, str | None]
    body: str

    @property
    def content_type(self) -> str | None:
        return self.headers.get("content-type")


class Recording(msgspec.Struct, frozen=True, kw_only=True):
    """One recorded exchange with the real QloApps 1.6.1 webservice."""

    qloapps_version: str
    name: str
    note: str
    server_profile: dict[str, str]
    request: RecordedRequest
    response: RecordedResponse
    elapsed_ms: float

    @property
    def number(self) -> str:
        """The fixture number, e.g. ``"063b"``."""
        return self.name.split("_", 1)[0]

    @property
    def stock_php_ini(self) -> bool:
        """Recorded with PHP notices reported (the 900 series)."""
        return "notices reported" in self.server_profile.get("error_reporting", "")


_recording_decoder = msgspec.json.Decoder(Recording)


def find_recordings_dir(path: str | os.PathLike[str] | None = None) -> Path:
    """Locate ``shared/pms/qloapps/recorded``.

    Order: the explicit ``path``; the ``AGENTE_QLOAPPS_RECORDINGS`` variable; then every parent of
    the current directory and of this module for a ``shared/pms/qloapps/recorded`` folder.
    Raises :class:`RecordingsNotFound` naming all the places looked at.
    """
    tried: list[str] = []
    if path is not None:
        candidate = Path(path)
        if candidate.is_dir():
            return candidate
        raise RecordingsNotFound(f"recordings folder {candidate} does not exist")
    env = os.environ.get(ENV_RECORDINGS)
    if env:
        if Path(env).is_dir():
            return Path(env)
        tried.append(f"${ENV_RECORDINGS}={env}")
    for start in (Path.cwd(), Path(__file__).resolve().parent):
        for parent in (start, *start.parents):
            candidate = parent / _RECORDINGS_REL
            if candidate.is_dir():
                return candidate
            tried.append(str(candidate))
    raise RecordingsNotFound(
        f"no {_RECORDINGS_REL} found; set {ENV_RECORDINGS} or pass a path. Looked at: "
        + ", ".join(dict.fromkeys(tried))
    )


def load_recordings(path: str | os.PathLike[str] | None = None) -> list[Recording]:
    """Parse every recorded exchange, in file-name order (see :func:`find_recordings_dir`)."""
    folder = find_recordings_dir(path)
    files = sorted(folder.glob("*.json"))
    if not files:
        raise RecordingsNotFound(f"{folder} holds no recorded exchanges")
    return [_recording_decoder.decode(f.read_bytes()) for f in files]


# --------------------------------------------------------------------------------------------
# The vendored seed
# --------------------------------------------------------------------------------------------


class SeedExchange(msgspec.Struct, frozen=True, kw_only=True):
    """One recorded exchange as vendored in ``qloapps_seed.json`` (bodies byte for byte)."""

    name: str
    method: str
    path: str
    query: dict[str, str]
    request_body: str | None
    status: int
    content_type: str | None
    response_body: str


class _SeedFile(msgspec.Struct, frozen=True, kw_only=True):
    about: str
    recorded_base_url: str
    exchanges: list[SeedExchange]


_seed_decoder = msgspec.json.Decoder(_SeedFile)


def build_seed(recordings: Iterable[Recording]) -> dict[str, Any]:
    """The content of ``qloapps_seed.json``: the :data:`SEED_EXCHANGES` copied verbatim."""
    wanted = set(SEED_EXCHANGES)
    chosen = [r for r in recordings if r.number in wanted]
    missing = wanted - {r.number for r in chosen}
    if missing:
        raise RecordingsNotFound(f"recordings lack fixtures {sorted(missing)}")
    return {
        "about": (
            "Generated by agente_pms_qloapps.replay.build_seed from shared/pms/qloapps/recorded"
            " (real QloApps 1.6.1 exchanges). Do not edit by hand."
        ),
        "recorded_base_url": RECORDED_BASE_URL,
        "exchanges": [
            {
                "name": r.name,
                "method": r.request.method,
                "path": r.request.path,
                "query": r.request.query,
                "request_body": r.request.body,
                "status": r.response.status,
                "content_type": r.response.content_type,
                "response_body": r.response.body,
            }
            for r in chosen
        ],
    }


def load_seed(path: str | os.PathLike[str] | None = None) -> dict[str, SeedExchange]:
    """The vendored exchanges keyed by fixture number (``"012"``, ``"063b"``...)."""
    raw = Path(path or _SEED_PATH).read_bytes()
    seed = _seed_decoder.decode(raw)
    return {e.name.split("_", 1)[0]: e for e in seed.exchanges}


# --------------------------------------------------------------------------------------------
# Facts the recordings do not contain
# --------------------------------------------------------------------------------------------

_SYNTHESIZED_CUSTOMERS: dict[int, dict[str, str]] = {
    1: {"firstname": "John", "lastname": "DEMO", "email": "pub@qloapps.com", "phone": "0987654321"},
    2: {"firstname": "Demo", "lastname": "Guest", "email": "demo.guest@example.com", "phone": "5550000000"},
}  # fmt: skip
_SYNTHESIZED_ORDER_1 = {"reference": "QLODEMOAA", "date_add": "2026-11-22 13:13:40"}
_SYNTHESIZED_COUNTRY_NAMES = {8: "France", 21: "United States"}
_SYNTHESIZED_STATE_NAMES = {1: "Alabama"}
_SYNTHESIZED_HOTEL_ADDRESS = {1: 2}  # hotel id -> id_address (orders' id_address_tax, fixture 075)
_SYNTHESIZED_NEXT_IDS = {
    "hotel": 2,  # fixture 017b creates hotel 2
    "address": 3,
    "customer": 3,  # 900 creates customer 3, 066 customer 4
    "order": 2,
    "cart": 2,
    "line": 2,
    "history": 2,
    "payment": 1,
    "invoice": 1,
    "order_detail": 2,
}

_SCHEMAS: dict[tuple[str, str, bool], str] = {
    ("hotels", "synopsis", False): "014",
    ("hotels", "synopsis", True): "014",
    ("hotel_ari", "blank", False): "040",
    ("hotel_ari", "blank", True): "040",
    ("hotel_ari", "synopsis", False): "041",
    ("hotel_ari", "synopsis", True): "041",
    ("customers", "blank", False): "065",
    ("customers", "blank", True): "065",
    ("bookings", "blank", False): "070",
    ("bookings", "blank", True): "070b",
    ("bookings", "synopsis", False): "071",
    ("bookings", "synopsis", True): "071",
}

_PAYMENT_TYPES = {"online": 1, "pay at hotel": 2, "remote": 3}
_LOGABLE_STATES = frozenset({2, 7, 8, 10})
_ORDER_STATE_CANCELLED = 4
_ORDER_STATE_REFUNDED = 5

_LIST_NODES: dict[str, tuple[str, str]] = {
    "hotel_rooms": ("rooms", "room"),
    "room_bookings": ("bookings", "booking"),
}
_SINGULAR_EXCEPTIONS = {
    "currencies": "currency",
    "countries": "country",
    "order_histories": "order_history",
    "addresses": "address",
    "categories": "category",
    "taxes": "tax",
}


def _singular(resource: str) -> str:
    if resource in _SINGULAR_EXCEPTIONS:
        return _SINGULAR_EXCEPTIONS[resource]
    return resource[:-1] if resource.endswith("s") else resource


def _list_nodes(resource: str) -> tuple[str, str]:
    return _LIST_NODES.get(resource, (resource, _singular(resource)))


# --------------------------------------------------------------------------------------------
# Small helpers: money, dates, PHP-isms
# --------------------------------------------------------------------------------------------

_CENT = Decimal("0.01")
_ZERO = Decimal(0)


def _dec(value: Any) -> Decimal:
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return _ZERO


def _money(value: Decimal) -> Decimal:
    return value.quantize(_CENT, rounding=ROUND_HALF_UP)


def _num(value: Decimal) -> int | float:
    """PHP-ish JSON number: integral floats print without a fraction in the recordings."""
    value = _money(value)
    return int(value) if value == value.to_integral_value() else float(value)


def _f6(value: Decimal) -> str:
    return f"{_money(value):.6f}"


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and re.fullmatch(r"\s*-?\d+\s*", value):
        return int(value)
    return None


_PS_DATE = re.compile(
    r"^([0-9]{4})-((?:0?[0-9])|(?:1[0-2]))-((?:0?[0-9])|(?:[1-2][0-9])|(?:3[01]))"
    r"( [0-9]{2}:[0-9]{2}:[0-9]{2})?$"
)


def _ps_date(value: Any) -> date | None:
    """PrestaShop ``Validate::isDate`` plus ``checkdate``."""
    if not isinstance(value, str):
        return None
    m = _PS_DATE.match(value.strip())
    if not m:
        return None
    try:
        return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    except ValueError:
        return None


_PS_PHONE = re.compile(r"^[+0-9. ()/-]*$")
_PS_EMAIL = re.compile(
    r"^[a-z0-9!#$%&'*+/=?^`{}|~_-]+[.a-z0-9!#$%&'*+/=?^`{}|~_-]*@[a-z0-9]+[._a-z0-9-]*\.[a-z0-9]+$",
    re.I,
)


def _levenshtein(a: str, b: str) -> int:
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def _closest(word: str, candidates: Iterable[str]) -> str:
    """``WebserviceRequest::getClosest``: smallest levenshtein, ties go to the later word."""
    best, shortest = "", -1
    for cand in candidates:
        lev = _levenshtein(word, cand)
        if lev == 0:
            return cand
        if shortest < 0 or lev <= shortest:
            best, shortest = cand, lev
    return best


def _php_json(value: Any) -> bytes:
    """``json_encode`` as PHP 7.4 writes it: compact, ASCII-escaped, with ``\\/``."""
    text = json.dumps(value, ensure_ascii=True, separators=(",", ":"))
    return text.replace("/", "\\/").encode()


def _libxml_warnings(text: str, func: str) -> list[str]:
    """The PHP warnings libxml prints for a body that is not XML (three lines per error).

    Covers what the recordings show: a body that does not start with ``<`` and a truncated
    document. Other parse errors reuse the expat message.
    """
    stripped_at = len(text) - len(text.lstrip())
    if text.strip() == "":
        return [f"{func}(): Entity: line 1: parser error : Document is empty"]
    if not text.lstrip().startswith("<"):
        message, pos = "Start tag expected, '<' not found", stripped_at
    else:
        try:
            ET.fromstring(text)  # noqa: S314 - a local test server parsing its client's body
        except ET.ParseError as exc:
            line, col = exc.position
            offset = sum(len(x) + 1 for x in text.split("\n")[: line - 1]) + col
            if exc.code in (3, 5):  # no element found / unclosed token
                stack: list[tuple[str, int]] = []
                for m in re.finditer(r"<(/?)([A-Za-z_][\w.:-]*)[^>]*?(/?)>", text):
                    if m.group(1):
                        if stack:
                            stack.pop()
                    elif not m.group(3):
                        stack.append((m.group(2), text.count("\n", 0, m.start()) + 1))
                tag, tag_line = stack[-1] if stack else ("", 1)
                message = f"Premature end of data in tag {tag} line {tag_line}"
                pos = len(text)
            else:
                message, pos = str(exc).split(":")[0], offset
        else:
            return []
    line_no = text.count("\n", 0, pos) + 1
    line_start = text.rfind("\n", 0, pos) + 1
    line_end = text.find("\n", pos)
    line_text = text[line_start : line_end if line_end >= 0 else len(text)]
    shown = line_text[:80]
    caret = " " * min(pos - line_start, 80) + "^"
    return [
        f"{func}(): Entity: line {line_no}: parser error : {message}",
        f"{func}(): {shown}",
        f"{func}(): {caret}",
    ]


def _php_warning(message: str, file: str, line: int) -> tuple[int, str]:
    return (3, f"[PHP Warning #2] {message} ({_ROOT}/{file}, line {line})")


def _php_notice(message: str, file: str, line: int) -> tuple[int, str]:
    return (5, f"[PHP Notice #8] {message} ({_ROOT}/{file}, line {line})")


_BOOKINGS_PHP = "classes/webservice/WebserviceSpecificManagementBookings.php"
_ARI_PHP = "modules/hotelreservationsystem/classes/WebserviceSpecificManagementHotelAri.php"
_REQUEST_PHP = "classes/webservice/WebserviceRequest.php"
_NOTICES_GET = (
    _php_notice("Undefined variable: useTax", _BOOKINGS_PHP, 3463),
    _php_notice("Undefined variable: useTax", _BOOKINGS_PHP, 3494),
)
_NOTICES_POST = (_php_notice("Undefined index: total_tax", _BOOKINGS_PHP, 504), *_NOTICES_GET)


# --------------------------------------------------------------------------------------------
# XML in and out
# --------------------------------------------------------------------------------------------

_XML_HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?>\n<qloapps xmlns:xlink="http://www.w3.org/1999/xlink">\n'
)
_XML_TAIL = "</qloapps>\n"
_XLINK = "{http://www.w3.org/1999/xlink}href"
_LIST_CONTAINERS = {
    "room_types": "room_type",
    "rooms": "room",
    "cart_rules": "cart_rule",
    "services": "service",
    "facilities": "facility",
    "child_ages": "child_age",
    "room_occupancies": "room_occupancy",
    "remarks": "remark",
}


def _cdata(text: str) -> str:
    return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def _text(value: Any) -> str:
    if value is None or value is False:
        return ""
    if value is True:
        return "1"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _xml_to_data(el: ET.Element) -> Any:
    """A SimpleXML-ish array: leaves are stripped text, known containers become lists."""
    children = list(el)
    if not children:
        return (el.text or "").strip()
    if el.tag in _LIST_CONTAINERS:
        return [_xml_to_data(c) for c in children]
    out: dict[str, Any] = {}
    for child in children:
        out[child.tag] = _xml_to_data(child)
    return out


def _xml_write_fields(el: ET.Element) -> tuple[dict[str, Any], dict[str, list[dict[str, Any]]]]:
    """Field values of an ObjectModel write body; language fields give their text."""
    values: dict[str, Any] = {}
    assocs: dict[str, list[dict[str, Any]]] = {}
    for child in el:
        if child.tag == "associations":
            for assoc in child:
                assocs[assoc.tag] = [
                    {g.tag: (g.text or "").strip() for g in item} for item in assoc
                ]
            continue
        langs = child.findall("language")
        values[child.tag] = (langs[0].text or "") if langs else (child.text or "").strip()
    return values, assocs


@attrs.frozen
class _Field:
    name: str
    xlink: str | None = None  # "countries", or "images/room_types/{id}"
    not_filterable: bool = False
    lang: bool = False


@attrs.frozen
class _Assoc:
    name: str
    node_type: str
    api: str
    fields: tuple[str, ...] = ()


@attrs.frozen
class _Spec:
    node: str
    fields: tuple[_Field, ...]
    assocs: tuple[_Assoc, ...] = ()
    filters: tuple[str, ...] | None = None  # as listed by a recorded code-32 error, when known

    def names(self) -> list[str]:
        return [f.name for f in self.fields]

    def filterable(self) -> list[str]:
        if self.filters is not None:
            return list(self.filters)
        return [f.name for f in self.fields if not f.lang]

    def accepts_filter(self, name: str) -> bool:
        return name in self.filterable() or any(f.lang and f.name == name for f in self.fields)

    @classmethod
    def from_xml(cls, body: str, base: str, json_row: Mapping[str, Any] | None = None) -> _Spec:
        root = ET.fromstring(body)  # noqa: S314 - vendored, recorded document
        obj = root[0]
        obj_id = (obj.findtext("id") or "").strip()
        fields: list[_Field] = []
        assocs: list[_Assoc] = []
        json_assocs = (json_row or {}).get("associations", {})
        for child in obj:
            if child.tag == "associations":
                for a in child:
                    extra: tuple[str, ...] = ()
                    sample = json_assocs.get(a.tag) or []
                    if sample:
                        extra = tuple(k for k in sample[0] if k != "id")
                    assocs.append(
                        _Assoc(a.tag, a.get("nodeType", a.tag), a.get("api", a.tag), extra)
                    )
                continue
            href = child.get(_XLINK)
            xlink = None
            if href:
                target = href.removeprefix(base + "/api/").rsplit("/", 1)[0]
                if obj_id and target.endswith("/" + obj_id):
                    target = target[: -len(obj_id)] + "{id}"
                xlink = target
            lang = child.find("language") is not None
            fields.append(_Field(child.tag, xlink, child.get("notFilterable") == "true", lang))
        return cls(obj.tag, tuple(fields), tuple(assocs))

    @classmethod
    def from_row(
        cls, node: str, row: Mapping[str, Any], assoc_node: Mapping[str, str] | None = None
    ) -> _Spec:
        fields = tuple(_Field(k) for k in row if k != "associations")
        assocs = tuple(
            _Assoc(k, (assoc_node or {}).get(k, _singular(k)), k)
            for k in row.get("associations", {})
        )
        return cls(node, fields, assocs)


def _xml_object(spec: _Spec, row: Mapping[str, Any], base: str, *, fields: Iterable[str] | None = None, associations: bool = True) -> str:  # fmt: skip
    wanted = set(fields) if fields is not None else None
    obj_id = _text(row.get("id"))
    out = [f"<{spec.node}>\n"]
    for f in spec.fields:
        if wanted is not None and f.name not in wanted:
            continue
        value = row.get(f.name)
        if f.lang:
            if value is None:
                out.append(f'\t<{f.name}><language id="1"></language></{f.name}>\n')
            else:
                out.append(
                    f'\t<{f.name}><language id="1" xlink:href="{base}/api/languages/1">'
                    f"{_cdata(_text(value))}</language></{f.name}>\n"
                )
            continue
        text = _text(value)
        attr = ""
        if f.xlink and text not in ("", "0"):
            attr += f' xlink:href="{base}/api/{f.xlink.format(id=obj_id)}/{text}"'
        if f.not_filterable:
            attr += ' notFilterable="true"'
        out.append(f"\t<{f.name}{attr}>{_cdata(text) if text else ''}</{f.name}>\n")
    if associations and spec.assocs and wanted is None:
        out.append("<associations>\n")
        row_assocs = row.get("associations") or {}
        for a in spec.assocs:
            items = row_assocs.get(a.name) or []
            head = f'<{a.name} nodeType="{a.node_type}" api="{a.api}"'
            if not items:
                out.append(head + "/>\n")
                continue
            out.append(head + ">\n")
            for item in items:
                item_id = _text(item.get("id"))
                if a.api == "images":
                    href = (
                        f"{base}/api/images/{_list_nodes_for_images(spec.node)}/{obj_id}/{item_id}"
                    )
                else:
                    href = f"{base}/api/{a.api}/{item_id}"
                out.append(f'\t<{a.node_type} xlink:href="{href}">\n')
                for key, val in item.items():
                    t = _text(val)
                    out.append(f"\t<{key}>{_cdata(t) if t else ''}</{key}>\n")
                out.append(f"\t</{a.node_type}>\n")
            out.append(f"</{a.name}>\n")
        out.append("</associations>\n")
    out.append(f"</{spec.node}>\n")
    return "".join(out)


def _list_nodes_for_images(node: str) -> str:
    return {"room_type": "room_types", "hotel": "hotels"}.get(node, node + "s")


def _xml_compact(name: str, value: Any) -> str:
    """The bookings API's own array-to-XML writer (fixture 074): no indentation."""
    if isinstance(value, dict):
        return f"<{name}>" + "".join(_xml_compact(k, v) for k, v in value.items()) + f"</{name}>"
    if isinstance(value, list):
        if not value:
            return f"<{name}>{_cdata('0')}</{name}>\n"
        item = _LIST_CONTAINERS.get(name, _singular(name))
        return f"<{name}>" + "".join(_xml_compact(item, v) for v in value) + f"</{name}>"
    return f"<{name}>{_cdata(_text(value))}</{name}>\n"


# --------------------------------------------------------------------------------------------
# Responses
# --------------------------------------------------------------------------------------------

_CT_JSON = "application/json"
_CT_XML = "text/xml;charset=utf-8"
_CT_HTML = "text/html; charset=utf-8"


@attrs.frozen
class _Resp:
    status: int
    body: bytes = b""
    content_type: str | None = None
    extra_headers: tuple[tuple[str, str], ...] = ()


def _errors(status: int, errors: Iterable[tuple[int, str]], as_json: bool) -> _Resp:
    errs = list(errors)
    if as_json:
        body = _php_json({"errors": [{"code": c, "message": m} for c, m in errs]})
        return _Resp(status, body, _CT_JSON)
    inner = "".join(
        f"<error>\n<code>{_cdata(str(c))}</code>\n<message>{_cdata(m)}</message>\n</error>\n"
        for c, m in errs
    )
    return _Resp(
        status, (_XML_HEAD + "<errors>\n" + inner + "</errors>\n" + _XML_TAIL).encode(), _CT_XML
    )


def _not_emulated(method: str, resource: str, as_json: bool) -> _Resp:
    return _errors(
        501, [(0, f"Not emulated by the QloApps replay server: {method} {resource}")], as_json
    )


# --------------------------------------------------------------------------------------------
# State
# --------------------------------------------------------------------------------------------


class RoomLineSnapshot(msgspec.Struct, frozen=True, kw_only=True):
    """One ``htl_booking_detail`` row (a booked physical room) as the server holds it."""

    id: int
    id_order: int
    id_hotel: int
    id_room_type: int
    id_room: int
    room_num: str
    date_from: date
    date_to: date
    adults: int
    children: int
    price_tax_excl: Decimal
    price_tax_incl: Decimal
    is_cancelled: bool
    is_refunded: bool


class OrderSnapshot(msgspec.Struct, frozen=True, kw_only=True):
    """An order (= booking) with its room lines, for test assertions."""

    id: int
    reference: str
    id_customer: int
    id_hotel: int
    current_state: int
    source: str
    total_tax_excl: Decimal
    total_tax_incl: Decimal
    total_paid_real: Decimal
    remarks: tuple[str, ...]
    lines: tuple[RoomLineSnapshot, ...]


@attrs.define
class _Line:
    id: int
    id_order: int
    id_cart: int
    id_order_detail: int
    id_product: int
    id_hotel: int
    id_room: int
    id_customer: int
    date_from: date
    date_to: date
    adults: int
    children: int
    child_ages: list[int]
    price_excl: Decimal
    tax: Decimal
    date_add: str
    date_upd: str
    is_cancelled: bool = False
    is_refunded: bool = False

    @property
    def price_incl(self) -> Decimal:
        return self.price_excl + self.tax

    @property
    def active(self) -> bool:
        return not (self.is_cancelled or self.is_refunded)


@attrs.define
class _Order:
    id: int
    reference: str
    id_customer: int
    id_cart: int
    id_hotel: int
    id_address_tax: int
    source: str
    date_add: str
    date_upd: str
    current_state: int
    payment: str
    payment_type: int
    secure_key: str
    total_paid_real: Decimal = _ZERO
    invoice_number: int = 0
    invoice_date: str = "0000-00-00 00:00:00"
    remarks: list[str] = attrs.Factory(list)


@attrs.define
class _Fault:
    status: int
    remaining: int
    body: bytes
    content_type: str | None
    path_prefix: str | None
    delay: float


@attrs.define
class _Req:
    method: str
    path: str
    params: dict[str, str]
    headers: dict[str, str]
    body: bytes

    @property
    def host(self) -> str:
        return self.headers.get("host", RECORDED_BASE_URL.split("://", 1)[1])


# --------------------------------------------------------------------------------------------
# The server
# --------------------------------------------------------------------------------------------


def _default_clock(today: date) -> Callable[[], datetime]:
    def clock() -> datetime:
        now = datetime.now()  # the server's local wall time, like PHP's date()
        return datetime.combine(today, now.time().replace(microsecond=0))

    return clock


def create_qloapps_replay(
    *,
    api_key: str = "TEST_KEY",
    stock_php_ini: bool = False,
    now: date = date(2026, 11, 22),
    clock: Callable[[], datetime] | None = None,
    with_hotel2: bool = True,
    latency: float = 0.0,
    seed_path: str | os.PathLike[str] | None = None,
) -> QloAppsReplay:
    """Build a fresh replay server.

    ``api_key`` is the one valid key (any other 32-character key is "not active"; another length
    is "invalid format"). ``stock_php_ini`` reproduces fixtures 900-903 (notices turn bookings
    answers into HTTP 500). ``now`` is the server date (2026-11-22 during the recordings);
    ``clock`` overrides the wall time used for ``date_add`` and friends. ``with_hotel2`` replays
    the recorded creation of the second hotel (017b, 018, 019, 063, 063b, 063d plus rooms S-202
    and S-203), leaving it bookable; pass ``False`` for the state at the start of the recordings.
    ``latency`` (seconds) delays every answer.
    """
    replay = QloAppsReplay(
        api_key=api_key,
        stock_php_ini=stock_php_ini,
        now=now,
        clock=clock or _default_clock(now),
        latency=latency,
        seed=load_seed(seed_path),
    )
    if with_hotel2:
        replay.bootstrap_hotel2()
    return replay


@attrs.define
class QloAppsReplay:
    """The emulated QloApps install: state plus the ASGI app (``.app``) that serves it.

    Build it with :func:`create_qloapps_replay`. ``stock_php_ini`` and ``latency`` may be changed
    at any time. Everything runs on the event loop without awaiting while state changes, so
    concurrent requests see each change whole.
    """

    api_key: str
    stock_php_ini: bool
    now: date
    clock: Callable[[], datetime]
    latency: float
    seed: dict[str, SeedExchange] = attrs.field(repr=False)
    _tables: dict[str, dict[int, dict[str, Any]]] = attrs.field(
        init=False, factory=dict, repr=False
    )
    _specs: dict[str, _Spec] = attrs.field(init=False, factory=dict, repr=False)
    _resources: list[str] = attrs.field(init=False, factory=list, repr=False)
    _next: dict[str, int] = attrs.field(init=False, factory=dict, repr=False)
    _orders: dict[int, _Order] = attrs.field(init=False, factory=dict, repr=False)
    _lines: dict[int, _Line] = attrs.field(init=False, factory=dict, repr=False)
    _histories: list[dict[str, Any]] = attrs.field(init=False, factory=list, repr=False)
    _payments: list[dict[str, Any]] = attrs.field(init=False, factory=list, repr=False)
    _cart_bookings: list[dict[str, Any]] = attrs.field(init=False, factory=list, repr=False)
    _categories: dict[int, list[int]] = attrs.field(init=False, factory=dict, repr=False)
    _hotel_address: dict[int, int] = attrs.field(init=False, factory=dict, repr=False)
    _tax_by_country: dict[int, Decimal] = attrs.field(init=False, factory=dict, repr=False)
    _faults: list[_Fault] = attrs.field(init=False, factory=list, repr=False)
    requests: list[tuple[str, str, int]] = attrs.field(init=False, factory=list, repr=False)
    """Every answered request as (method, path, status), oldest first."""

    def __attrs_post_init__(self) -> None:
        self._load_seed()

    # ---- public inspection ------------------------------------------------------------------

    @property
    def app(self) -> Callable[[_Scope, _Receive, _Send], Awaitable[None]]:
        """The ASGI application."""
        return self._asgi

    @property
    def orders(self) -> list[OrderSnapshot]:
        """Every order (booking), by id."""
        return [self.order(i) for i in sorted(self._orders)]

    def order(self, order_id: int) -> OrderSnapshot:
        """One order with its lines; ``KeyError`` when unknown."""
        o = self._orders[order_id]
        lines = tuple(
            RoomLineSnapshot(
                id=ln.id,
                id_order=ln.id_order,
                id_hotel=ln.id_hotel,
                id_room_type=ln.id_product,
                id_room=ln.id_room,
                room_num=str(self._tables["hotel_rooms"][ln.id_room]["room_num"]),
                date_from=ln.date_from,
                date_to=ln.date_to,
                adults=ln.adults,
                children=ln.children,
                price_tax_excl=ln.price_excl,
                price_tax_incl=ln.price_incl,
                is_cancelled=ln.is_cancelled,
                is_refunded=ln.is_refunded,
            )
            for ln in self._order_lines(order_id)
        )
        excl, tax = self._totals(order_id)
        return OrderSnapshot(
            id=o.id,
            reference=o.reference,
            id_customer=o.id_customer,
            id_hotel=o.id_hotel,
            current_state=o.current_state,
            source=o.source,
            total_tax_excl=excl,
            total_tax_incl=excl + tax,
            total_paid_real=o.total_paid_real,
            remarks=tuple(o.remarks),
            lines=lines,
        )

    @property
    def customers(self) -> dict[int, dict[str, Any]]:
        """Customer rows as ``GET /api/customers/{id}`` shows them."""
        return {k: dict(v) for k, v in self._tables["customers"].items()}

    def order_histories(self, order_id: int) -> list[int]:
        """The order states an order went through, oldest first."""
        return [int(h["id_order_state"]) for h in self._histories if int(h["id_order"]) == order_id]

    def free_rooms(self, room_type: int, date_from: date, date_to: date) -> list[int]:
        """Ids of the rooms of ``room_type`` free for the whole stay."""
        return [r for r in self._rooms_of(room_type) if self._room_free(r, date_from, date_to)]

    def fail_next(
        self,
        status: int,
        *,
        times: int = 1,
        body: bytes = b"",
        content_type: str | None = None,
        path_prefix: str | None = None,
        delay: float = 0,
    ) -> None:
        """Answer the next ``times`` requests (under ``path_prefix`` if given) with ``status``.

        The request is not processed: nothing changes on the server. ``delay`` (seconds) is
        waited first, which lets a client's timeout fire. Faults queue up in call order.
        """
        self._faults.append(_Fault(status, times, body, content_type, path_prefix, delay))

    def clear_faults(self) -> None:
        """Drop every pending fault."""
        self._faults.clear()

    def bootstrap_hotel2(self) -> None:
        """Create hotel 2 as the recordings did (017b, 018, 019+2, 063, 063b, 063d)."""
        room_body = self.seed["019"].request_body or ""
        steps = [
            ("POST", "/api/hotels", self.seed["017b"].request_body),
            ("POST", "/api/room_types", self.seed["018"].request_body),
            ("POST", "/api/hotel_rooms", room_body),
            ("POST", "/api/hotel_rooms", room_body.replace("S-201", "S-202")),
            ("POST", "/api/hotel_rooms", room_body.replace("S-201", "S-203")),
            ("PUT", "/api/room_types/11", self.seed["063"].request_body),
            ("PUT", "/api/room_types/11", self.seed["063b"].request_body),
            ("PUT", "/api/stock_availables/11", self.seed["063d"].request_body),
        ]
        for method, path, body in steps:
            req = _Req(method, path, {"ws_key": self.api_key}, {}, (body or "").encode())
            resp = self._handle(req)
            if resp.status >= 400:  # pragma: no cover - the seed is checked by the tests
                raise RuntimeError(
                    f"bootstrap {method} {path} answered {resp.status}: {resp.body!r}"
                )

    # ---- seed ---------------------------------------------------------------------------------

    def _json(self, number: str) -> Any:
        return json.loads(self.seed[number].response_body)

    def _echo_field(self, number: str, field: str) -> str:
        root = ET.fromstring(self.seed[number].response_body)  # noqa: S314 - vendored document
        return root[0].findtext(field) or "0"

    def _load_seed(self) -> None:
        base = RECORDED_BASE_URL
        self._resources = list(self._json("001"))
        hotel1 = self._json("012")["hotel"]
        rt2 = self._json("021")["room_type"]
        listed = self._json("101")["errors"][0]["message"].split("The full list is: ", 1)[1]
        hotel_filters = tuple(n.strip('"') for n in listed.split(", "))
        self._specs["hotels"] = attrs.evolve(
            _Spec.from_xml(self.seed["013"].response_body, base, hotel1), filters=hotel_filters
        )
        self._specs["room_types"] = _Spec.from_xml(self.seed["022"].response_body, base, rt2)
        self._specs["hotel_rooms"] = _Spec.from_xml(self.seed["019"].response_body, base)
        samples = {
            "hotel_room_types": self._json("025")["hotel_room_types"][0],
            "services": self._json("030")["services"][0],
            "currencies": self._json("032")["currencies"][0],
            "order_states": self._json("033")["order_states"][0],
            "countries": self._json("034")["countries"][0],
            "languages": self._json("035")["languages"][0],
            "customers": self._json("067")["customer"],
            "stock_availables": self._json("063c")["stock_available"],
            "orders": self._json("075")["order"],
            "order_histories": self._json("079")["order_histories"][0],
            "order_payments": self._json("081")["order_payments"][0],
            "room_bookings": self._json("076")["bookings"][0],
            "cart_bookings": self._json("141")["cart_bookings"][0],
        }
        assoc_nodes = {"hotel_rooms": "hotel_room", "bookings": "booking", "groups": "group"}
        for res, row in samples.items():
            self._specs[res] = _Spec.from_row(_singular(res), row, assoc_nodes)
        features = self._json("036")["errors"][0]["message"].split("available: ", 1)[1]
        self._specs["hotel_features"] = _Spec(
            "hotel_feature", tuple(_Field(n) for n in features.split(", "))
        )

        t = self._tables
        t["hotels"] = {1: hotel1}
        subset = {int(r["id"]): r for r in self._json("023")["room_types"]}
        t["room_types"] = {}
        for rid in (1, 2, 3, 4):
            if rid == 2:
                t["room_types"][rid] = rt2
                continue
            row = dict(rt2)
            sub = subset[rid]
            row.update({k: v for k, v in sub.items() if k != "id"})
            row.update(
                id=rid,
                link_rewrite=str(sub["name"]).lower().replace(" ", "-"),
                description="",
                description_short="",
                id_default_image=False,
            )
            assocs = dict(rt2["associations"])
            assocs.pop("images", None)
            assocs["advance_payments"] = [dict(assocs["advance_payments"][0], id=str(rid))]
            row["associations"] = assocs
            t["room_types"][rid] = row
        self._categories = {
            rid: [int(c["id"]) for c in rt2["associations"]["categories"]] for rid in (1, 2, 3, 4)
        }
        t["hotel_room_types"] = {
            int(r["id"]): r
            for r in self._json("025")["hotel_room_types"]
            if r["id_product"] in ("1", "2", "3", "4")
        }
        t["hotel_rooms"] = {int(r["id"]): r for r in self._json("026")["rooms"]}
        t["services"] = {int(r["id"]): r for r in self._json("030")["services"]}
        t["currencies"] = {int(r["id"]): r for r in self._json("032")["currencies"]}
        t["order_states"] = {int(r["id"]): r for r in self._json("033")["order_states"]}
        t["countries"] = {int(r["id"]): r for r in self._json("034")["countries"]}
        t["languages"] = {int(r["id"]): r for r in self._json("035")["languages"]}
        for empty in ("hotel_features", "feature_prices", "hotel_refund_rules", "extra_demands"):
            t[empty] = {}
        stock = self._json("063c")["stock_available"]
        t["stock_availables"] = {
            i: dict(stock, id=i, id_product=str(i), quantity="999999999", out_of_stock="1")
            for i in range(1, 11)
        }
        t["customers"] = {}
        for cid, who in _SYNTHESIZED_CUSTOMERS.items():
            t["customers"][cid] = self._customer_row(cid, who, "2026-11-22 13:12:20")

        # Taxes: the recorded ARI answers give the rate by the hotel's country.
        for number, country in (("042", 21), ("064", 8)):
            first = self._json(number)["hotel_ari"]["room_types"][0]
            rate = (
                Decimal(str(first["base_price_with_tax"])) / Decimal(str(first["base_price"])) - 1
            )
            self._tax_by_country[country] = rate.quantize(Decimal("0.0001"))
        self._hotel_address = dict(_SYNTHESIZED_HOTEL_ADDRESS)
        self._next = dict(_SYNTHESIZED_NEXT_IDS)
        # The ids the recorded creations got are the next free ones at the start.
        self._next["category"] = int(self._echo_field("017b", "id_category"))
        self._next["product"] = int(self._echo_field("018", "id"))
        self._next["room"] = int(self._echo_field("019", "id"))
        self._next["hotel_room_type"] = max(self._tables["hotel_room_types"]) + 1

        # Demo order 1: its line is recorded in 048, the rest is synthesized.
        detail = self._json("048")["hotel_ari"]["room_types"][0]["rooms"]["booked"]["6"]["detail"][
            0
        ]
        stamp = _SYNTHESIZED_ORDER_1["date_add"]
        customer = int(detail["id_customer"])
        order = _Order(
            id=1,
            reference=str(_SYNTHESIZED_ORDER_1["reference"]),
            id_customer=customer,
            id_cart=1,
            id_hotel=1,
            id_address_tax=self._hotel_address[1],
            source="127.0.0.1:8089",
            date_add=str(stamp),
            date_upd=str(stamp),
            current_state=1,
            payment="Order from API",
            payment_type=1,
            secure_key=str(t["customers"][customer]["secure_key"]),
        )
        self._orders[1] = order
        d_from = date.fromisoformat(detail["date_from"][:10])
        d_to = date.fromisoformat(detail["date_to"][:10])
        price = self._room_price(2) * (d_to - d_from).days
        self._lines[1] = _Line(
            id=int(detail["id_htl_booking"]),
            id_order=1,
            id_cart=1,
            id_order_detail=1,
            id_product=2,
            id_hotel=1,
            id_room=6,
            id_customer=customer,
            date_from=d_from,
            date_to=d_to,
            adults=2,
            children=0,
            child_ages=[],
            price_excl=price,
            tax=self._tax(1, price),
            date_add=str(stamp),
            date_upd=str(stamp),
        )
        self._histories.append(
            {"id": 1, "id_employee": "0", "id_order_state": "1", "id_order": "1", "date_add": stamp}
        )
        self._cart_bookings.append(self._cart_booking_row(self._lines[1]))

    # ---- basic lookups ----------------------------------------------------------------------

    def _stamp(self) -> str:
        return self.clock().strftime("%Y-%m-%d %H:%M:%S")

    def _take(self, counter: str) -> int:
        value = self._next[counter]
        self._next[counter] = value + 1
        return value

    def _hotel(self, hotel_id: int) -> dict[str, Any] | None:
        return self._tables["hotels"].get(hotel_id)

    def _tax(self, hotel_id: int, amount: Decimal) -> Decimal:
        hotel = self._hotel(hotel_id) or {}
        rate = self._tax_by_country.get(_int(hotel.get("id_country")) or 0, _ZERO)
        return _money(amount * rate)

    def _room_price(self, room_type: int) -> Decimal:
        return _dec(self._tables["room_types"][room_type]["price"])

    def _auto_services_per_night(self, room_type: int) -> Decimal:
        row = self._tables["room_types"].get(room_type, {})
        linked = {int(s["id"]) for s in (row.get("associations") or {}).get("services", [])}
        total = _ZERO
        for sid in sorted(linked):
            svc = self._tables["services"].get(sid)
            if svc and svc.get("auto_add_to_cart") == "1" and svc.get("price_addition_type") == "1":
                total += _dec(svc.get("price"))
        return total

    def _room_type_info(self, room_type: int) -> dict[str, Any] | None:
        for row in self._tables["hotel_room_types"].values():
            if _int(row["id_product"]) == room_type:
                return row
        return None

    def _rooms_of(self, room_type: int) -> list[int]:
        return sorted(
            i for i, r in self._tables["hotel_rooms"].items() if _int(r["id_product"]) == room_type
        )

    def _room_free(
        self, room_id: int, d_from: date, d_to: date, *, exclude: Iterable[int] = ()
    ) -> bool:
        room = self._tables["hotel_rooms"].get(room_id)
        if room is None or room.get("id_status") != "1":
            return False
        skip = set(exclude)
        for ln in self._lines.values():
            if (
                ln.id_room == room_id
                and ln.active
                and ln.id not in skip
                and ln.date_from < d_to
                and d_from < ln.date_to
            ):
                return False
        return True

    def _order_lines(self, order_id: int) -> list[_Line]:
        return sorted(
            (ln for ln in self._lines.values() if ln.id_order == order_id), key=lambda ln: ln.id
        )

    def _totals(self, order_id: int) -> tuple[Decimal, Decimal]:
        lines = self._order_lines(order_id)
        return sum((ln.price_excl for ln in lines), _ZERO), sum((ln.tax for ln in lines), _ZERO)

    def _visible_room_types(self, hotel_id: int) -> list[int]:
        """Room types ARI shows: of the hotel, active, linked to the hotel's category."""
        hotel = self._hotel(hotel_id)
        if hotel is None:
            return []
        category = _int(hotel.get("id_category"))
        out = []
        for rid, row in sorted(self._tables["room_types"].items()):
            if str(row.get("id_hotel")) != str(hotel_id) or row.get("active") != "1":
                continue
            if category in self._categories.get(rid, []):
                out.append(rid)
        return out

    # ---- rows of every resource ---------------------------------------------------------------

    def _rows(self, resource: str) -> dict[int, dict[str, Any]] | None:
        if resource == "orders":
            return {i: self._order_row(o) for i, o in sorted(self._orders.items())}
        if resource == "room_bookings":
            return {i: self._line_row(ln) for i, ln in sorted(self._lines.items())}
        if resource == "order_histories":
            return {int(h["id"]): h for h in self._histories}
        if resource == "order_payments":
            return {int(p["id"]): p for p in self._payments}
        if resource == "cart_bookings":
            return {int(c["id"]): c for c in self._cart_bookings}
        table = self._tables.get(resource)
        if table is None:
            return None
        return {i: self._with_associations(resource, row) for i, row in sorted(table.items())}

    def _with_associations(self, resource: str, row: dict[str, Any]) -> dict[str, Any]:
        spec = self._specs.get(resource)
        if spec is None or not spec.assocs:
            return row
        stored = dict(row.get("associations") or {})
        rid = _int(row.get("id")) or 0
        if resource == "hotels":
            stored["room_types"] = [
                {"id": str(i)}
                for i, r in sorted(self._tables["room_types"].items())
                if str(r.get("id_hotel")) == str(rid)
            ]
        elif resource == "room_types":
            stored["hotel_rooms"] = [{"id": str(i)} for i in self._rooms_of(rid)]
            stored["categories"] = [{"id": str(c)} for c in self._categories.get(rid, [])]
        elif resource == "hotel_room_types":
            stored["hotel_rooms"] = [
                {"id": str(i)} for i in self._rooms_of(_int(row.get("id_product")) or 0)
            ]
        assocs = {a.name: stored[a.name] for a in spec.assocs if stored.get(a.name)}
        out = {k: v for k, v in row.items() if k != "associations"}
        if assocs:
            out["associations"] = assocs
        return out

    def _order_row(self, o: _Order) -> dict[str, Any]:
        excl, tax = self._totals(o.id)
        incl = excl + tax
        state = o.current_state
        return {
            "id": o.id,
            "id_address_delivery": "0",
            "id_address_invoice": "0",
            "id_address_tax": str(o.id_address_tax),
            "id_cart": str(o.id_cart),
            "id_currency": "1",
            "id_lang": "1",
            "id_customer": str(o.id_customer),
            "current_state": str(state),
            "module": "wsorder",
            "invoice_number": str(o.invoice_number),
            "invoice_date": o.invoice_date,
            "valid": "1" if state in _LOGABLE_STATES else "0",
            "date_add": o.date_add,
            "date_upd": o.date_upd,
            "transaction_id": None,
            "secure_key": o.secure_key,
            "payment": o.payment,
            "payment_type": str(o.payment_type),
            "total_discounts": "0.000000",
            "total_discounts_tax_incl": "0.000000",
            "total_discounts_tax_excl": "0.000000",
            "total_paid": _f6(incl),
            "total_paid_tax_incl": _f6(incl),
            "total_paid_tax_excl": _f6(excl),
            "total_paid_real": _f6(o.total_paid_real),
            "total_products": _f6(excl),
            "total_products_wt": _f6(incl),
            "conversion_rate": "1.000000",
            "source": o.source,
            "reference": o.reference,
            "is_advance_payment": "0",
            "advance_paid_amount": _f6(incl),
            "with_occupancy": "0",
            "associations": {"bookings": [{"id": str(ln.id)} for ln in self._order_lines(o.id)]},
        }

    def _line_row(self, ln: _Line) -> dict[str, Any]:
        hotel = self._hotel(ln.id_hotel) or {}
        room = self._tables["hotel_rooms"].get(ln.id_room, {})
        rt = self._tables["room_types"].get(ln.id_product, {})
        return {
            "id": str(ln.id),
            "id_product": str(ln.id_product),
            "id_hotel": str(ln.id_hotel),
            "id_order": str(ln.id_order),
            "id_order_detail": str(ln.id_order_detail),
            "id_cart": str(ln.id_cart),
            "id_room": str(ln.id_room),
            "id_customer": str(ln.id_customer),
            "booking_type": "1",
            "id_status": "1",
            "comment": "",
            "check_in": "0000-00-00 00:00:00",
            "check_out": "0000-00-00 00:00:00",
            "date_from": f"{ln.date_from} 00:00:00",
            "date_to": f"{ln.date_to} 00:00:00",
            "total_price_tax_excl": _f6(ln.price_excl),
            "total_price_tax_incl": _f6(ln.price_incl),
            "total_paid_amount": _f6(ln.price_incl),
            "is_refunded": "1" if ln.is_refunded else "0",
            "is_cancelled": "1" if ln.is_cancelled else "0",
            "is_back_order": "0",
            "room_num": room.get("room_num", ""),
            "room_type_name": rt.get("name", ""),
            "hotel_name": hotel.get("hotel_name", ""),
            "city": hotel.get("city", ""),
            "state": _SYNTHESIZED_STATE_NAMES.get(_int(hotel.get("id_state")) or 0, ""),
            "country": _SYNTHESIZED_COUNTRY_NAMES.get(_int(hotel.get("id_country")) or 0, ""),
            "zipcode": hotel.get("zipcode", ""),
            "phone": hotel.get("phone", ""),
            "email": hotel.get("email", ""),
            "check_in_time": hotel.get("check_in", ""),
            "check_out_time": hotel.get("check_out", ""),
            "adults": str(ln.adults),
            "children": str(ln.children),
            "child_ages": json.dumps(ln.child_ages, separators=(",", ":")),
            "date_add": ln.date_add,
            "date_upd": ln.date_upd,
        }

    def _cart_booking_row(self, ln: _Line) -> dict[str, Any]:
        return {
            "id": str(ln.id),
            "id_hotel": str(ln.id_hotel),
            "id_product": str(ln.id_product),
            "id_room": str(ln.id_room),
            "id_cart": str(ln.id_cart),
            "id_guest": "0",
            "id_order": str(ln.id_order),
            "id_customer": str(ln.id_customer),
            "id_currency": "1",
            "quantity": str((ln.date_to - ln.date_from).days),
            "booking_type": "1",
            "comment": "",
            "is_refunded": "0",
            "is_back_order": "0",
            "date_from": f"{ln.date_from} 00:00:00",
            "date_to": f"{ln.date_to} 00:00:00",
            "adults": str(ln.adults),
            "children": str(ln.children),
            "child_ages": json.dumps(ln.child_ages, separators=(",", ":")),
            "extra_demands": "[]",
            "date_add": ln.date_add,
            "date_upd": ln.date_upd,
        }

    def _customer_row(self, cid: int, who: Mapping[str, str], stamp: str) -> dict[str, Any]:
        row = dict(self._json("067")["customer"])
        gen = datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S") - timedelta(hours=6)
        row.update(
            id=cid,
            firstname=who["firstname"],
            lastname=who["lastname"],
            email=who["email"],
            phone=who.get("phone", ""),
            secure_key=secrets.token_hex(16),
            passwd=secrets.token_hex(16),
            last_passwd_gen=gen.strftime("%Y-%m-%d %H:%M:%S"),
            date_add=stamp,
            date_upd=stamp,
        )
        return row

    # ---- HTTP entry -----------------------------------------------------------------------------

    async def _asgi(self, scope: _Scope, receive: _Receive, send: _Send) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":  # pragma: no cover - websockets are not part of QloApps
            return
        chunks: list[bytes] = []
        while True:
            message = await receive()
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        query = scope.get("query_string", b"").decode("latin-1")
        headers = {
            k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])
        }
        req = _Req(
            method=scope["method"].upper(),
            path=scope["path"],
            params=dict(parse_qsl(query, keep_blank_values=True)),
            headers=headers,
            body=b"".join(chunks),
        )
        if self.latency:
            await asyncio.sleep(self.latency)
        fault = self._take_fault(req.path)
        if fault is not None:
            if fault.delay:
                await asyncio.sleep(fault.delay)
            resp = _Resp(fault.status, fault.body, fault.content_type)
        else:
            resp = self._handle(req)
        self.requests.append((req.method, req.path, resp.status))
        await self._send(send, req, resp)

    def _take_fault(self, path: str) -> _Fault | None:
        for fault in self._faults:
            if fault.path_prefix is None or path.startswith(fault.path_prefix):
                fault.remaining -= 1
                if fault.remaining <= 0:
                    self._faults.remove(fault)
                return fault
        return None

    async def _send(self, send: _Send, req: _Req, resp: _Resp) -> None:
        body = b"" if req.method == "HEAD" else resp.body
        headers: list[tuple[bytes, bytes]] = []
        if resp.content_type is not None:
            headers.append((b"content-type", resp.content_type.encode()))
        headers += [
            (b"psws-version", b"1.6.1.23"),
            (b"x-powered-by", b"PrestaShop Webservice"),
            (b"execution-time", b"0.01"),
            (b"access-time", str(int(time.time())).encode()),
            (b"content-sha1", hashlib.sha1(resp.body, usedforsecurity=False).hexdigest().encode()),
            (b"content-length", str(len(body)).encode()),
        ]
        headers += [(k.lower().encode(), v.encode()) for k, v in resp.extra_headers]
        await send({"type": "http.response.start", "status": resp.status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    # ---- dispatch -----------------------------------------------------------------------------

    def _handle(self, req: _Req) -> _Resp:
        if not (req.path == "/api" or req.path.startswith("/api/")):
            return _Resp(404, b"Not Found", _CT_HTML)
        segs = [s for s in req.path[4:].split("/") if s]
        key = req.params.get("ws_key")
        if not key:
            auth = req.headers.get("authorization", "")
            if auth.lower().startswith("basic "):
                try:
                    key = base64.b64decode(auth[6:].strip()).decode().split(":", 1)[0]
                except (ValueError, UnicodeDecodeError):
                    key = None
        fmt_param = (req.params.get("output_format") or req.params.get("io_format") or "").upper()
        fmt_header = (
            req.headers.get("output-format") or req.headers.get("io-format") or ""
        ).upper()
        as_json = "JSON" in (fmt_param, fmt_header)
        if not key:
            realm = 'Basic realm="Welcome to PrestaShop Webservice, please enter the authentication key as the login. No password required."'
            return _Resp(401, b"401 Unauthorized", _CT_HTML, (("WWW-Authenticate", realm),))
        if key != self.api_key:
            if len(key) != 32:
                return _errors(401, [(18, "Invalid authentication key format")], as_json)
            return _errors(
                401,
                [
                    (20, "Authentification key is not active"),
                    (21, "No permission for this authentication key"),
                ],
                as_json,
            )
        if not segs:
            return self._api_root(req, as_json)
        resource = segs[0]
        if resource not in self._resources:
            names = ", ".join(f'"{r}"' for r in self._resources)
            closest = _closest(resource, self._resources)
            return _errors(
                400,
                [
                    (
                        27,
                        f'Resource of type "{resource}" does not exists. Did you mean: "{closest}"? The full list is: {names}',
                    )
                ],
                as_json,
            )
        ident = segs[1] if len(segs) > 1 else None
        if resource == "hotel_ari":
            return self._hotel_ari(req, as_json)
        if resource == "bookings":
            return self._bookings(req, ident, as_json)
        if resource == "qlo":
            methods = ["getRoomTypes", "getRoomRates", "updRoomRateAvail"]
            name = ident or ""
            if name not in methods:
                listed = ", ".join(f'"{m}"' for m in methods)
                return _errors(
                    400,
                    [
                        (
                            48,
                            f'Method with name "{name}" does not exist in Qlo Library,. Did you mean: "{_closest(name, methods)}"? The full list is: {listed}',
                        )
                    ],
                    as_json,
                )
            return _not_emulated(req.method, f"qlo/{name}", as_json)
        if resource == "search" and req.method != "GET":
            return _errors(
                405, [(101, f"Method {req.method} is not allowed for the resource search")], as_json
            )
        if req.method in ("GET", "HEAD"):
            return self._get(req, resource, ident, as_json)
        if req.method == "POST":
            return self._write(req, resource, None, as_json)
        if req.method == "PUT":
            return self._write(req, resource, ident, as_json)
        return _not_emulated(req.method, resource, as_json)

    def _api_root(self, req: _Req, as_json: bool) -> _Resp:
        if as_json:
            return _Resp(200, _php_json(self._resources), _CT_JSON)
        base = f"http://{req.host}"
        body = self.seed["002"].response_body.replace(RECORDED_BASE_URL, base)
        return _Resp(200, body.encode(), _CT_XML)

    def _static(self, number: str, req: _Req) -> _Resp:
        ex = self.seed[number]
        body = ex.response_body.replace(RECORDED_BASE_URL, f"http://{req.host}")
        return _Resp(ex.status, body.encode(), ex.content_type)

    # ---- generic GET ----------------------------------------------------------------------------

    def _get(self, req: _Req, resource: str, ident: str | None, as_json: bool) -> _Resp:
        schema = req.params.get("schema")
        if schema:
            number = _SCHEMAS.get((resource, schema, as_json))
            return (
                self._static(number, req)
                if number
                else _not_emulated(f"GET schema={schema}", resource, as_json)
            )
        rows = self._rows(resource)
        if rows is None:
            return _not_emulated(req.method, resource, as_json)
        spec = self._specs.get(resource) or _Spec(_singular(resource), ())
        base = f"http://{req.host}"
        if ident is not None:
            row = rows.get(_int(ident) or -1)
            if row is None:
                return _Resp(404)
            if "display" in req.params:  # fixture 086: a list node holding only the id
                list_node, _ = _list_nodes(resource)
                if as_json:
                    return _Resp(200, _php_json({list_node: [{"id": row["id"]}]}), _CT_JSON)
                item = _list_nodes(resource)[1]
                body = f'<{list_node}>\n<{item} id="{row["id"]}" xlink:href="{base}/api/{resource}/{row["id"]}"/>\n</{list_node}>\n'
                return _Resp(200, (_XML_HEAD + body + _XML_TAIL).encode(), _CT_XML)
            if as_json:
                return _Resp(200, _php_json({spec.node: row}), _CT_JSON)
            return _Resp(
                200, (_XML_HEAD + _xml_object(spec, row, base) + _XML_TAIL).encode(), _CT_XML
            )
        return self._list(req, resource, spec, rows, as_json)

    def _list(
        self, req: _Req, resource: str, spec: _Spec, rows: dict[int, dict[str, Any]], as_json: bool
    ) -> _Resp:
        params = req.params
        base = f"http://{req.host}"
        display = params.get("display")
        shown: list[str] | None = None
        if display and display != "full":
            asked = [f.strip() for f in display.strip("[]").split(",") if f.strip()]
            known = spec.names()
            for name in asked:
                if known and name not in known:
                    return _errors(
                        400,
                        [
                            (
                                35,
                                f'Unable to display this field "{name}". However, these are available: {", ".join(known)}',
                            )
                        ],
                        as_json,
                    )
            shown = [n for n in known if n in asked] if known else asked
        selected = list(rows.values())
        dates = params.get("date") == "1"
        for key, value in params.items():
            if not (key.startswith("filter[") and key.endswith("]")):
                continue
            name = key[7:-1]
            filterable = spec.filterable()
            if filterable and not spec.accepts_filter(name):
                listed = ", ".join(f'"{n}"' for n in filterable)
                return _errors(
                    400,
                    [
                        (
                            32,
                            f'This filter does not exist. Did you mean: "{_closest(name, filterable)}"? The full list is: {listed}',
                        )
                    ],
                    as_json,
                )
            selected = [r for r in selected if _filter_match(r.get(name), value, dates=dates)]
        sort = params.get("sort")
        if sort:
            for part in reversed([p.strip() for p in sort.strip("[]").split(",") if p.strip()]):
                field, _, direction = part.rpartition("_")
                selected.sort(key=_sort_by(field), reverse=direction.upper() == "DESC")
        limit = params.get("limit")
        if limit:
            parts = [p.strip() for p in limit.split(",")]
            offset, count = (
                (int(parts[0]), int(parts[1])) if len(parts) == 2 else (0, int(parts[0]))
            )
            selected = selected[offset : offset + count]
        list_node, item_node = _list_nodes(resource)
        if as_json:
            if not selected:
                return _Resp(200, b"[]", _CT_JSON)
            if display == "full":
                items: list[dict[str, Any]] = selected
            elif shown is not None:
                items = [{k: r.get(k) for k in shown} for r in selected]
            else:
                items = [{"id": _int(r["id"])} for r in selected]
            return _Resp(200, _php_json({list_node: items}), _CT_JSON)
        out = [f"<{list_node}>\n"]
        for r in selected:
            if display == "full":
                out.append(_xml_object(spec, r, base))
            elif shown is not None:
                out.append(_xml_object(spec, r, base, fields=shown))
            else:
                out.append(
                    f'<{item_node} id="{r["id"]}" xlink:href="{base}/api/{resource}/{r["id"]}"/>\n'
                )
        out.append(f"</{list_node}>\n")
        return _Resp(200, (_XML_HEAD + "".join(out) + _XML_TAIL).encode(), _CT_XML)

    # ---- ObjectModel writes (hotels, room_types, hotel_rooms, customers, stock_availables) ----

    def _write_templates(self, resource: str) -> tuple[dict[str, Any], set[str], dict[str, Any], set[str], dict[str, Any] | None, set[str]] | None:  # fmt: skip
        """(post echo, fields sent with it, stored row, fields sent for it, put echo, put sent)."""

        def xml_echo(number: str) -> dict[str, Any]:
            values: dict[str, Any] = {}
            el = ET.fromstring(self.seed[number].response_body)[0]  # noqa: S314
            for child in el:
                if child.tag == "associations":
                    continue
                lang = child.find("language")
                node = lang if lang is not None else child
                has_value = node.text is not None or (
                    lang is not None and lang.get(_XLINK) is not None
                )
                values[child.tag] = (node.text or "") if has_value else None
            return values

        def sent(number: str) -> set[str]:
            body = self.seed[number].request_body or ""
            values, _ = _xml_write_fields(ET.fromstring(body)[0])  # noqa: S314
            return set(values)

        if resource == "hotels":
            return (
                xml_echo("017b"),
                sent("017b"),
                self._json("037")["hotel"],
                sent("017b"),
                None,
                set(),
            )
        if resource == "room_types":
            put = self._json("063")["room_type"]
            return (
                xml_echo("018"),
                sent("018"),
                self._json("024")["room_type"],
                sent("018"),
                put,
                sent("063"),
            )
        if resource == "hotel_rooms":
            stored = self._json("026")["rooms"][0]
            return xml_echo("019"), sent("019"), stored, set(stored), None, set()
        if resource == "customers":
            return (
                self._json("066")["customer"],
                sent("066"),
                self._json("067")["customer"],
                sent("066"),
                None,
                set(),
            )
        if resource == "stock_availables":
            put = self._json("063d")["stock_available"]
            stored = self._json("063c")["stock_available"]
            return put, set(), stored, set(), put, sent("063d")
        return None

    def _write(self, req: _Req, resource: str, ident: str | None, as_json: bool) -> _Resp:
        templates = self._write_templates(resource)
        if templates is None:
            return _not_emulated(req.method, resource, as_json)
        post_echo, post_sent, stored_tpl, stored_sent, put_echo, put_sent = templates
        text = req.body.decode("utf-8", "replace")
        try:
            root = ET.fromstring(text)  # noqa: S314 - local test server
        except ET.ParseError:
            warnings = [
                _php_warning(w, _REQUEST_PHP, 1388)
                for w in _libxml_warnings(text, "SimpleXMLElement::__construct")
            ]
            detail = f"XML error : String could not be parsed as XML\nXML length : {len(text)}\nOriginal XML : {text}"
            return _errors(500, [*warnings, (127, detail)], as_json)
        node = _singular(resource) if resource != "hotel_rooms" else "room"
        el = root.find(node) if root.tag != node else root
        if el is None:
            return _errors(
                400, [(26, f"Invalid XML: the resource node <{node}> is missing")], as_json
            )
        values, assocs = _xml_write_fields(el)
        if req.method == "POST" and "id" in values:
            return _errors(400, [(91, "id is forbidden when adding a new resource")], as_json)
        if req.method == "PUT" and not values.get("id"):
            return _errors(400, [(90, "id is required when modifying a resource")], as_json)
        error = self._validate_write(resource, values)
        if error:
            return _errors(400, [error], as_json)
        spec = self._specs[resource]
        stamp = self._stamp()
        table = self._tables[resource]
        if req.method == "PUT":
            rid = _int(ident if ident is not None else values["id"]) or 0
            if rid not in table:
                return _Resp(404)
            echo_tpl, echo_sent = (put_echo, put_sent) if put_echo is not None else (None, set())
        else:
            rid = self._new_id(resource)
            echo_tpl, echo_sent = post_echo, post_sent
        old = table.get(rid, {})
        row = _merge(spec.names(), values, stored_tpl, stored_sent)
        row["id"] = _like(stored_tpl.get("id"), rid)
        if "date_add" in row:
            row["date_add"] = old.get("date_add", stamp) if req.method == "PUT" else stamp
            row["date_upd"] = stamp
        computed = self._write_side_effects(resource, rid, values, assocs, row, old, stamp)
        table[rid] = row
        if echo_tpl is not None:
            echo = _merge(spec.names(), values, echo_tpl, echo_sent, missing=None)
        else:
            echo = dict(row)
        echo.update(computed)
        echo["id"] = str(rid)  # echoes carry the id as a string (017b, 066, 063, 063d)
        if "date_add" in echo:
            echo["date_add"] = stamp
            echo["date_upd"] = stamp
        if spec.assocs:
            echo = self._with_associations(
                resource, {**echo, "associations": row.get("associations", {})}
            )
        if req.method == "POST" and resource == "hotels":
            echo.pop("associations", None)  # a new hotel has none yet (fixture 017b)
        status = 201 if req.method == "POST" else 200
        if as_json:
            return _Resp(status, _php_json({spec.node: echo}), _CT_JSON)
        base = f"http://{req.host}"
        return _Resp(
            status, (_XML_HEAD + _xml_object(spec, echo, base) + _XML_TAIL).encode(), _CT_XML
        )

    def _new_id(self, resource: str) -> int:
        if resource == "hotels":
            return self._take("hotel")
        if resource == "room_types":
            return self._take("product")
        if resource == "hotel_rooms":
            return self._take("room")
        if resource == "customers":
            return self._take("customer")
        table = self._tables[resource]
        return max(table, default=0) + 1

    def _validate_write(self, resource: str, values: Mapping[str, Any]) -> tuple[int, str] | None:
        if resource == "hotels":
            for name in (
                "phone",
                "address",
                "id_country",
                "city",
                "email",
                "rating",
                "check_in",
                "check_out",
                "hotel_name",
            ):
                if not values.get(name):
                    return (41, f'parameter "{name}" required')
            if values.get("use_global_max_order_date") in (None, "", "0") and not values.get(
                "max_order_date"
            ):
                return (85, 'Validation error: "Maximum date to book a room is required."')
        if resource == "customers":
            email = str(values.get("email", ""))
            if email and not _PS_EMAIL.match(email):
                return (85, 'Validation error: "Property Customer->email is not valid"')
        if resource == "hotel_rooms" and (
            (_int(values.get("id_product")) or 0) not in self._tables["room_types"]
        ):
            return (
                85,
                'Validation error: "Property HotelRoomInformation->id_product is not valid"',
            )
        return None

    def _write_side_effects(
        self,
        resource: str,
        rid: int,
        values: Mapping[str, Any],
        assocs: Mapping[str, list[dict[str, Any]]],
        row: dict[str, Any],
        old: Mapping[str, Any],
        stamp: str,
    ) -> dict[str, Any]:
        """Apply what QloApps does besides saving the row; returns echo fields it computes."""
        if resource == "hotels":
            category = old.get("id_category") or str(self._take("category"))
            row["id_category"] = category
            if rid not in self._hotel_address:
                self._hotel_address[rid] = self._take("address")
            return {"id_category": category}
        if resource == "room_types":
            if "categories" in assocs:
                self._categories[rid] = [
                    int(c["id"]) for c in assocs["categories"] if _int(c.get("id"))
                ]
            row["type"] = "virtual" if str(values.get("is_virtual")) == "1" else "simple"
            if rid not in self._tables["stock_availables"]:
                stock = dict(self._json("063c")["stock_available"], id=rid, id_product=str(rid))
                self._tables["stock_availables"][rid] = stock
            info = self._room_type_info(rid)
            adults, children = str(values.get("adults", "2")), str(values.get("children", "0"))
            if info is None:
                hrt_id = self._take("hotel_room_type")
                twelve = self.clock().strftime(
                    "%Y-%m-%d %I:%M:%S"
                )  # QloApps writes 'h', fixture 025
                self._tables["hotel_room_types"][hrt_id] = {
                    "id": str(hrt_id),
                    "id_product": str(rid),
                    "id_hotel": str(values.get("id_hotel", "")),
                    "adults": adults,
                    "children": children,
                    "max_adults": adults,
                    "max_children": "0",
                    "max_guests": adults,
                    "min_los": "1",
                    "max_los": "0",
                    "date_add": twelve,
                    "date_upd": twelve,
                }
            else:
                info.update(
                    id_hotel=str(values.get("id_hotel", info["id_hotel"])),
                    adults=adults,
                    children=children,
                )
            return {"type": row["type"], "position_in_category": "1" if old else "0"}
        if resource == "hotel_rooms":
            rt = self._tables["room_types"][_int(values.get("id_product")) or 0]
            row["id_hotel"] = str(rt.get("id_hotel"))
            return {"id_hotel": row["id_hotel"]}
        if resource == "customers":
            gen = (datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S") - timedelta(hours=6)).strftime(
                "%Y-%m-%d %H:%M:%S"
            )
            secure = secrets.token_hex(16)
            passwd = hashlib.md5(
                str(values.get("passwd", "")).encode(), usedforsecurity=False
            ).hexdigest()
            row.update(secure_key=secure, passwd=passwd, last_passwd_gen=gen)
            if "groups" in assocs:
                row["associations"] = {
                    "groups": [{"id": str(g.get("id"))} for g in assocs["groups"]]
                }
            return {"secure_key": secure, "passwd": passwd, "last_passwd_gen": gen}
        return {}

    # ---- hotel_ari --------------------------------------------------------------------------------

    def _hotel_ari(self, req: _Req, as_json: bool) -> _Resp:
        if req.method in ("GET", "HEAD"):
            schema = req.params.get("schema")
            number = _SCHEMAS.get(("hotel_ari", schema or "", as_json))
            if number:
                return self._static(number, req)
            return _errors(405, [(23, f"Method {req.method} is not valid")], as_json)
        if req.method != "POST":
            return _errors(405, [(23, f"Method {req.method} is not valid")], as_json)
        text = req.body.decode("utf-8", "replace")
        if not text.strip():
            return _errors(
                400, [(85, "Validation error: ARI search parameters are missing.")], as_json
            )
        try:
            root = ET.fromstring(text)  # noqa: S314 - local test server
        except ET.ParseError:
            warnings = [
                _php_warning(w, _ARI_PHP, 476)
                for w in _libxml_warnings(text, "simplexml_load_string")
            ]
            return _errors(
                400,
                [*warnings, (85, "Validation error: Invalid ARI search parameters found.")],
                as_json,
            )
        node = root if root.tag == "hotel_ari" else root.find("hotel_ari")
        if node is None:
            return _errors(
                400, [(85, "Validation error: Invalid ARI search parameters found.")], as_json
            )
        data = _xml_to_data(node)
        params = data if isinstance(data, dict) else {}
        for name in ("id_hotel", "date_from", "date_to"):
            if not params.get(name):
                return _errors(400, [(41, f'parameter "{name}" required')], as_json)
        d_from, d_to = _ps_date(params["date_from"]), _ps_date(params["date_to"])
        if d_from is None:
            return _errors(
                400, [(85, 'Validation error: "The date_from field is invalid."')], as_json
            )
        if d_to is None:
            return _errors(
                400, [(85, 'Validation error: "The date_to field is invalid."')], as_json
            )
        if d_to <= d_from:
            return _errors(
                400, [(85, 'Validation error: "Date to" must be after "date from"')], as_json
            )
        occupancies = (
            (params.get("associations") or {}).get("room_occupancies")
            if isinstance(params.get("associations"), dict)
            else None
        )
        occupancies = occupancies if isinstance(occupancies, list) else []
        for n, occ in enumerate(occupancies, 1):
            adults = _int(occ.get("adults")) if isinstance(occ, dict) else None
            if adults is None or adults < 1:
                return _errors(
                    400,
                    [
                        (
                            85,
                            f"Validation error: Invalid value for number of adults for Room-{n} occupancy(value must be greater than 0).",
                        )
                    ],
                    as_json,
                )
        flags = {k: str(params.get(k, "")) == "1" for k in ("get_available_rooms", "get_booked_rooms", "get_partial_available_rooms", "get_unavailable_rooms", "date_wise_breakdown")}  # fmt: skip
        hotel_text = str(params["id_hotel"])
        hotel_id = _int(hotel_text) or 0
        types = self._visible_room_types(hotel_id)
        wanted_type = _int(params.get("id_room_type")) if params.get("id_room_type") else None
        if wanted_type is not None:
            types = [t for t in types if t == wanted_type]
        rooms_wanted = max(1, len(occupancies))
        base = f"http://{req.host}"
        echo = {
            "id_hotel": hotel_text,
            "date_from": str(params["date_from"]),
            "date_to": str(params["date_to"]),
            "currency": "USD",
        }
        if not types:
            if as_json:
                return _Resp(200, _php_json({"hotel_ari": echo}), _CT_JSON)
            return _Resp(
                200, (_XML_HEAD + _ari_xml(echo, hotel_id, base) + _XML_TAIL).encode(), _CT_XML
            )
        if flags["date_wise_breakdown"]:
            nights = []
            day = d_from
            while day < d_to:
                nxt = day + timedelta(days=1)
                block = self._ari_block(hotel_id, types, day, nxt, flags, rooms_wanted, brief=True)
                nights.append(
                    {**echo, "date_from": day.isoformat(), "date_to": nxt.isoformat(), **block}
                )
                day = nxt
            if as_json:
                ordered = []
                for night in nights:
                    head = {
                        k: night[k]
                        for k in ("id_hotel", "date_from", "date_to", "currency", "total_rooms")
                    }
                    tail = {k: v for k, v in night.items() if k not in head and k != "room_types"}
                    ordered.append({**head, "room_types": night["room_types"], **tail})
                return _Resp(200, _php_json({"hotel_aris": ordered}), _CT_JSON)
            inner = "".join(_ari_xml(night, hotel_id, base) for night in nights)
            return _Resp(
                200,
                (_XML_HEAD + "<hotel_aris>\n" + inner + "</hotel_aris>\n" + _XML_TAIL).encode(),
                _CT_XML,
            )
        result = {
            **echo,
            **self._ari_block(hotel_id, types, d_from, d_to, flags, rooms_wanted, brief=False),
        }
        if as_json:
            return _Resp(200, _php_json({"hotel_ari": result}), _CT_JSON)
        return _Resp(
            200, (_XML_HEAD + _ari_xml(result, hotel_id, base) + _XML_TAIL).encode(), _CT_XML
        )

    def _ari_block(
        self,
        hotel_id: int,
        types: list[int],
        d_from: date,
        d_to: date,
        flags: Mapping[str, bool],
        rooms_wanted: int,
        *,
        brief: bool,
    ) -> dict[str, Any]:
        nights = (d_to - d_from).days
        totals = {"available": 0, "unavailable": 0, "partially_available": 0, "booked": 0}
        total_rooms = 0
        entries = []
        for rt in types:
            row = self._tables["room_types"][rt]
            info = self._room_type_info(rt) or {}
            buckets: dict[str, dict[str, Any]] = {
                "unavailable": {},
                "booked": {},
                "available": {},
                "partially_available": {},
            }
            for rid in self._rooms_of(rt):
                total_rooms += 1
                room = self._tables["hotel_rooms"][rid]
                if room.get("id_status") != "1":
                    buckets["unavailable"][str(rid)] = self._ari_room(room, rid, info, brief)
                    continue
                overlapping = [
                    ln for ln in sorted(self._lines.values(), key=lambda x: x.id)
                    if ln.id_room == rid and ln.active and ln.date_from < d_to and d_from < ln.date_to
                ]  # fmt: skip
                if overlapping:
                    if brief:
                        entry: dict[str, Any] = {"id_room": str(rid), "room_num": room["room_num"]}
                    else:
                        entry = {
                            "id_product": str(rt),
                            "id_room": str(rid),
                            "id_hotel": str(hotel_id),
                            "room_num": room["room_num"],
                            "detail": [
                                {
                                    "id_htl_booking": str(ln.id),
                                    "date_from": f"{ln.date_from} 00:00:00",
                                    "date_to": f"{ln.date_to} 00:00:00",
                                    "id_customer": str(ln.id_customer),
                                    "booking_type": "1",
                                    "booking_status": "1",
                                    "comment": "",
                                }
                                for ln in overlapping
                            ],
                        }
                    buckets["booked"][str(rid)] = entry
                else:
                    buckets["available"][str(rid)] = self._ari_room(room, rid, info, brief)
            for name, items in buckets.items():
                totals[name] += len(items)
            nightly = self._room_price(rt) + self._auto_services_per_night(rt)
            stay = nightly * nights
            stay_tax = self._tax(hotel_id, stay)
            rooms: dict[str, Any] = {}
            for name, flag in (("unavailable", "get_unavailable_rooms"), ("booked", "get_booked_rooms"), ("available", None), ("partially_available", "get_partial_available_rooms")):  # fmt: skip
                if flag is None or flags.get(flag):
                    rooms[name] = buckets[name] or []
            entries.append(
                {
                    "id_room_type": str(rt),
                    "base_price": _num(stay / nights),
                    "base_price_with_tax": _num((stay + stay_tax) / nights),
                    "total_price": _num(stay * rooms_wanted),
                    "total_price_with_tax": _num((stay + stay_tax) * rooms_wanted),
                    "name": row.get("name", ""),
                    "rooms": rooms,
                }
            )
        out: dict[str, Any] = {
            "total_rooms": total_rooms,
            "total_available_rooms": totals["available"],
        }
        for key, bucket, flag in (("total_unavailable_rooms", "unavailable", "get_unavailable_rooms"), ("total_partial_available_rooms", "partially_available", "get_partial_available_rooms"), ("total_booked_rooms", "booked", "get_booked_rooms")):  # fmt: skip
            if flags.get(flag):
                # Per-night counters are computed from the available count (NOTES.md: code bug).
                out[key] = totals["available"] if brief else totals[bucket]
        out["room_types"] = entries
        return out

    @staticmethod
    def _ari_room(
        room: Mapping[str, Any], rid: int, info: Mapping[str, Any], brief: bool
    ) -> dict[str, Any]:
        if brief:
            return {"id_room": str(rid), "room_num": room["room_num"]}
        return {
            "id_room": str(rid),
            "id_product": str(room["id_product"]),
            "id_hotel": str(room["id_hotel"]),
            "room_num": room["room_num"],
            "room_comment": room.get("comment", ""),
            "max_adult": str(info.get("max_adults", "")),
            "max_children": str(info.get("max_children", "")),
            "max_occupancy": str(info.get("max_guests", "")),
        }

    # ---- bookings -----------------------------------------------------------------------------

    def _bookings(self, req: _Req, ident: str | None, as_json: bool) -> _Resp:
        if req.method in ("GET", "HEAD"):
            schema = req.params.get("schema")
            if schema:
                number = _SCHEMAS.get(("bookings", schema, as_json))
                return (
                    self._static(number, req)
                    if number
                    else _not_emulated("GET schema", "bookings", as_json)
                )
            if ident is None:
                ids = [
                    o.id for o in sorted(self._orders.values(), key=lambda o: (o.id_customer, o.id))
                ]
                if as_json:
                    return _Resp(
                        200,
                        _php_json({"bookings": [{"id": i} for i in ids]}) if ids else b"[]",
                        _CT_JSON,
                    )
                base = f"http://{req.host}"
                items = "".join(
                    f'<booking xlink:href="{base}/api/bookings/{i}" id="{i}"/>\n' for i in ids
                )
                return _Resp(
                    200,
                    (_XML_HEAD + "<bookings>\n" + items + "</bookings>\n" + _XML_TAIL).encode(),
                    _CT_XML,
                )
            order = self._orders.get(_int(ident) or -1)
            if order is None:
                return _Resp(404)
            if self.stock_php_ini:
                return _errors(500, _NOTICES_GET, as_json)
            return self._booking_resp(order.id, as_json)
        if req.method == "DELETE":
            return _errors(
                405, [(101, "Method DELETE is not allowed for the resource bookings")], as_json
            )
        if req.method not in ("POST", "PUT"):
            return _errors(
                405,
                [(101, f"Method {req.method} is not allowed for the resource bookings")],
                as_json,
            )
        data, warnings = _parse_booking_body(req.body)
        raw = data.get("booking")
        booking: dict[str, Any] = raw if isinstance(raw, dict) else {}
        if req.method == "POST":
            return self._booking_create(req, booking, warnings, as_json)
        return self._booking_update(req, ident, booking, warnings, as_json)

    def _booking_doc(self, order_id: int) -> dict[str, Any]:
        o = self._orders[order_id]
        customer = self._tables["customers"].get(o.id_customer, {})
        excl, tax = self._totals(order_id)
        groups: dict[tuple[int, date, date], list[_Line]] = {}
        for ln in self._order_lines(order_id):
            groups.setdefault((ln.id_product, ln.date_from, ln.date_to), []).append(ln)
        room_types = []
        for (product, d_from, d_to), lines in groups.items():
            room_types.append(
                {
                    "id_room_type": product,
                    "checkin_date": f"{d_from} 00:00:00",
                    "checkout_date": f"{d_to} 00:00:00",
                    "total_tax": _num(sum((ln.tax for ln in lines), _ZERO)),
                    "number_of_rooms": len(lines),
                    "name": self._tables["room_types"].get(product, {}).get("name", ""),
                    "rooms": [
                        {
                            "id_room": ln.id_room,
                            "id_hotel_booking": ln.id,
                            "adults": ln.adults,
                            "child": ln.children,
                            "unit_price_without_tax": _num(ln.price_excl),
                            "total_tax": _num(ln.tax),
                        }
                        for ln in lines
                    ],
                }
            )
        return {
            "id": o.id,
            "id_property": o.id_hotel,
            "currency": "USD",
            "source": o.source,
            "booking_date": o.date_add,
            "id_language": 1,
            "associations": {
                "customer_detail": {
                    "id_customer": o.id_customer,
                    "firstname": customer.get("firstname", ""),
                    "lastname": customer.get("lastname", ""),
                    "email": customer.get("email", ""),
                    "phone": customer.get("phone", ""),
                },
                "price_details": {
                    "total_paid": _num(o.total_paid_real),
                    "total_price_without_tax": _num(excl),
                    "total_tax": _num(tax),
                },
                "cart_rules": [],
                "remarks": list(o.remarks),
                "room_types": room_types,
            },
        }

    def _booking_resp(self, order_id: int, as_json: bool, *, status: int = 200) -> _Resp:
        doc = self._booking_doc(order_id)
        if as_json:
            return _Resp(status, _php_json({"booking": doc}), _CT_JSON)
        body = _xml_compact("booking", doc).removesuffix("\n")
        return _Resp(status, (_XML_HEAD + body + _XML_TAIL).encode(), _CT_XML)

    def _validate_booking_head(self, booking: Mapping[str, Any]) -> str | None:
        currency = str(booking.get("currency") or "")
        if not any(
            str(c.get("iso_code", "")).upper() == currency.upper() and currency
            for c in self._tables["currencies"].values()
        ):
            return "Please provide valid currency."
        hotel_id = _int(booking.get("id_property"))
        if hotel_id is None or self._hotel(hotel_id) is None:
            return "Please provide a valid id_property."
        assoc = _associations(booking)
        detail = assoc.get("customer_detail")
        if not isinstance(detail, dict) or not all(
            detail.get(k) for k in ("firstname", "lastname", "email")
        ):
            return "Customer details not found."
        phone = detail.get("phone")
        if not phone or not _PS_PHONE.match(str(phone)):
            return "Please provide a valid phone number."
        payment = assoc.get("payment_detail")
        if (
            isinstance(payment, dict)
            and payment.get("payment_type") not in (None, "")
            and str(payment["payment_type"]).lower() not in _PAYMENT_TYPES
        ):
            return "Invalid payment type."
        return None

    def _parse_room_requests(
        self, booking: Mapping[str, Any]
    ) -> tuple[list[dict[str, Any]], str | None]:
        """Validated, merged room type entries: (room_type, from, to, count, rooms[])."""
        assoc = _associations(booking)
        raw = assoc.get("room_types")
        if isinstance(raw, dict):
            raw = [raw]
        if not isinstance(raw, list) or not raw:
            return [], "Invalid room type in the request"
        merged: dict[tuple[int, date, date], dict[str, Any]] = {}
        for entry in raw:
            if not isinstance(entry, dict):
                return [], "Invalid room type in the request"
            d_from = _ps_date(entry.get("checkin_date"))
            if d_from is None:
                return [], "Invalid check in date in the request"
            d_to = _ps_date(entry.get("checkout_date"))
            if d_to is None:
                return [], "Invalid check out date in the request"
            if d_to <= d_from:
                return [], "Invalid check in and check out dates in the request"
            rt = _int(entry.get("id_room_type"))
            if rt is None or rt not in self._tables["room_types"]:
                return [], "Invalid room type in the request"
            count = _int(entry.get("number_of_rooms")) or 0
            rooms = entry.get("rooms")
            if isinstance(rooms, dict):
                rooms = [rooms]
            if rooms is not None and (not isinstance(rooms, list) or len(rooms) != count):
                return [], "Room count does not matches with the number of rooms"
            if count < 1:
                return [], "Room count does not matches with the number of rooms"
            key = (rt, d_from, d_to)
            slot = merged.setdefault(
                key, {"room_type": rt, "from": d_from, "to": d_to, "count": 0, "rooms": []}
            )
            slot["count"] += count
            slot["rooms"] += [r if isinstance(r, dict) else {} for r in (rooms or [{}] * count)]
        return list(merged.values()), None

    def _allocate(self, hotel_id: int, entries: list[dict[str, Any]]) -> list[tuple[dict[str, Any], dict[str, Any], int]] | None:  # fmt: skip
        """(entry, room request, room id) for every wanted room, or None when not available."""
        taken: set[tuple[int, date, date]] = set()
        out = []
        for entry in entries:
            rt = entry["room_type"]
            if str(self._tables["room_types"][rt].get("id_hotel")) != str(hotel_id):
                return None
            for request in entry["rooms"]:
                wanted = _int(request.get("id_room"))
                candidates = [wanted] if wanted else self._rooms_of(rt)
                chosen = None
                for rid in candidates:
                    if (
                        rid not in self._tables["hotel_rooms"]
                        or _int(self._tables["hotel_rooms"][rid]["id_product"]) != rt
                    ):
                        continue
                    clash = any(
                        t[0] == rid and t[1] < entry["to"] and entry["from"] < t[2] for t in taken
                    )
                    if not clash and self._room_free(rid, entry["from"], entry["to"]):
                        chosen = rid
                        break
                if chosen is None:
                    return None
                taken.add((chosen, entry["from"], entry["to"]))
                out.append((entry, request, chosen))
        return out

    def _bookable(self, room_type: int, count: int) -> bool:
        """False when PrestaShop would build no package (fixture 082a)."""
        row = self._tables["room_types"][room_type]
        stock = self._tables["stock_availables"].get(room_type, {})
        enough = (_int(stock.get("quantity")) or 0) >= count or stock.get("out_of_stock") == "1"
        return str(row.get("is_virtual")) == "1" and enough

    def _make_lines(
        self,
        order: _Order,
        allocation: list[tuple[dict[str, Any], dict[str, Any], int]],
        stamp: str,
    ) -> None:
        details: dict[int, int] = {}
        for entry, request, rid in allocation:
            rt = entry["room_type"]
            info = self._room_type_info(rt) or {}
            nights = (entry["to"] - entry["from"]).days
            override = request.get("unit_price_without_tax")
            price = _dec(override) if override not in (None, "") else self._room_price(rt) * nights
            if request.get("total_tax") not in (None, ""):
                tax = _dec(request["total_tax"])
            elif str(request.get("id_tax_rules_group", "")) == "0":
                tax = _ZERO
            else:
                tax = self._tax(order.id_hotel, price)
            adults = _int(request.get("adult"))
            child = _int(request.get("child"))
            ages = request.get("child_ages")
            if isinstance(ages, dict):
                ages = list(ages.values())
            if rt not in details:
                details[rt] = self._take("order_detail")
            line = _Line(
                id=self._take("line"),
                id_order=order.id,
                id_cart=order.id_cart,
                id_order_detail=details[rt],
                id_product=rt,
                id_hotel=order.id_hotel,
                id_room=rid,
                id_customer=order.id_customer,
                date_from=entry["from"],
                date_to=entry["to"],
                adults=adults if adults is not None else (_int(info.get("adults")) or 0),
                children=child if child is not None else (_int(info.get("children")) or 0),
                child_ages=[a for a in (_int(x) for x in (ages or [])) if a is not None]
                if isinstance(ages, list)
                else [],
                price_excl=_money(price),
                tax=_money(tax),
                date_add=stamp,
                date_upd=stamp,
            )
            self._lines[line.id] = line
            self._cart_bookings.append(self._cart_booking_row(line))

    def _set_state(self, order: _Order, state: int, stamp: str) -> None:
        order.current_state = state
        order.date_upd = stamp
        self._histories.append(
            {
                "id": self._take("history"),
                "id_employee": "0",
                "id_order_state": str(state),
                "id_order": str(order.id),
                "date_add": stamp,
            }
        )
        if state in _LOGABLE_STATES and not order.invoice_number:
            order.invoice_number = self._take("invoice")
            order.invoice_date = stamp

    def _add_payment(self, order: _Order, amount: Decimal, stamp: str) -> None:
        order.total_paid_real += amount
        self._payments.append(
            {
                "id": self._take("payment"),
                "order_reference": order.reference,
                "id_currency": "1",
                "amount": f"{_money(amount):.2f}",
                "payment_method": "Order from API",
                "payment_type": str(order.payment_type),
                "conversion_rate": "1.000000",
                "transaction_id": "",
                "card_number": "",
                "card_brand": "",
                "card_expiration": "",
                "card_holder": "",
                "date_add": stamp,
            }
        )

    def _booking_create(self, req: _Req, booking: Mapping[str, Any], warnings: list[tuple[int, str]], as_json: bool) -> _Resp:  # fmt: skip
        def fail(message: str) -> _Resp:
            return _errors(400, [*warnings, (404, message)], as_json)

        if "id" in booking:
            return fail("id is forbidden when adding a new resource")
        error = self._validate_booking_head(booking)
        if error:
            return fail(error)
        entries, error = self._parse_room_requests(booking)
        if error:
            return fail(error)
        hotel_id = _int(booking.get("id_property")) or 0
        allocation = self._allocate(hotel_id, entries)
        if allocation is None:
            return fail("Requested room(s) not available.")
        assoc = _associations(booking)
        detail = assoc["customer_detail"]
        stamp = self._stamp()
        customer_id = self._customer_for(detail, stamp)
        cart = self._take("cart")
        if not all(self._bookable(e["room_type"], e["count"]) for e in entries):
            return _Resp(200, b"Invalid new order status", _CT_HTML)
        payment = _sub(assoc, "payment_detail")
        customer = self._tables["customers"][customer_id]
        order = _Order(
            id=self._take("order"),
            reference="".join(secrets.choice(string.ascii_uppercase) for _ in range(9)),
            id_customer=customer_id,
            id_cart=cart,
            id_hotel=hotel_id,
            id_address_tax=self._hotel_address.get(hotel_id, 0),
            source=str(booking.get("source") or req.host),
            date_add=str(booking.get("booking_date") or stamp),
            date_upd=stamp,
            current_state=1,
            payment=str(payment.get("payment_method") or "Order from API"),
            payment_type=_PAYMENT_TYPES.get(str(payment.get("payment_type", "")).lower(), 1),
            secure_key=str(customer.get("secure_key", "")),
        )
        remark = booking.get("remark")
        if remark:
            order.remarks.insert(0, str(remark))
        self._orders[order.id] = order
        self._make_lines(order, allocation, stamp)
        excl, tax = self._totals(order.id)
        total = excl + tax
        booking_status = _int(booking.get("booking_status")) or 1
        payment_status = _int(booking.get("payment_status")) or 3
        prices = _sub(assoc, "price_details")
        paid = (
            _dec(prices.get("total_paid")) if prices.get("total_paid") not in (None, "") else None
        )
        if paid is not None and paid > 0:
            self._set_state(order, 2 if paid >= total else 8, stamp)
            self._add_payment(order, paid, stamp)
        else:
            self._set_state(order, 1, stamp)
            if booking_status == 2 or payment_status == 1:
                self._add_payment(order, total, stamp)
                self._set_state(order, 2, stamp)
            elif payment_status == 2:
                self._set_state(order, 8, stamp)
        if booking_status == 3:
            self._cancel(order, stamp, _ORDER_STATE_CANCELLED)
        elif booking_status == 4:
            self._cancel(order, stamp, _ORDER_STATE_REFUNDED)
        if self.stock_php_ini:
            return _errors(500, _NOTICES_POST, as_json)
        return self._booking_resp(order.id, as_json)

    def _customer_for(self, detail: Mapping[str, Any], stamp: str) -> int:
        customers = self._tables["customers"]
        cid = _int(detail.get("id_customer"))
        if cid in customers:
            return int(cid)
        email = str(detail.get("email", "")).lower()
        for i, row in sorted(customers.items()):
            if str(row.get("email", "")).lower() == email:
                return i
        new_id = self._take("customer")
        who = {k: str(detail.get(k, "")) for k in ("firstname", "lastname", "email", "phone")}
        customers[new_id] = self._customer_row(new_id, who, stamp)
        return new_id

    def _cancel(self, order: _Order, stamp: str, state: int) -> None:
        for ln in self._order_lines(order.id):
            ln.is_refunded = True
            ln.is_cancelled = ln.is_cancelled or state == _ORDER_STATE_CANCELLED
            ln.date_upd = stamp
        if order.current_state != state:
            self._set_state(order, state, stamp)

    def _booking_update(self, req: _Req, ident: str | None, booking: Mapping[str, Any], warnings: list[tuple[int, str]], as_json: bool) -> _Resp:  # fmt: skip
        def fail(message: str) -> _Resp:
            return _errors(400, [*warnings, (404, message)], as_json)

        if booking.get("id") in (None, ""):
            return _errors(
                400, [*warnings, (90, "id is required when modifying a resource")], as_json
            )
        order = self._orders.get(_int(ident if ident is not None else booking.get("id")) or -1)
        if order is None:
            return fail("Booking not found.")
        error = self._validate_booking_head(booking)
        if error:
            return fail(error)
        detail = _associations(booking)["customer_detail"]
        email = str(detail.get("email", "")).lower()
        if not any(
            str(r.get("email", "")).lower() == email for r in self._tables["customers"].values()
        ):
            return fail("Customer not found.")
        entries, error = self._parse_room_requests(booking)
        if error:
            return fail(error)
        current: dict[tuple[int, date, date], list[_Line]] = {}
        for ln in self._order_lines(order.id):
            current.setdefault((ln.id_product, ln.date_from, ln.date_to), []).append(ln)
        additions: list[dict[str, Any]] = []
        removals: list[_Line] = []
        for entry in entries:
            key = (entry["room_type"], entry["from"], entry["to"])
            have = current.get(key, [])
            if len(have) < entry["count"]:
                extra = dict(
                    entry, rooms=entry["rooms"][len(have) :], count=entry["count"] - len(have)
                )
                additions.append(extra)
            elif len(have) > entry["count"]:
                removals += have[entry["count"] :]
        wanted = {(e["room_type"], e["from"], e["to"]) for e in entries}
        for key, lines in current.items():
            if key not in wanted:
                removals += lines
        allocation = self._allocate(order.id_hotel, additions)
        if allocation is None:
            return fail("Requested room(s) not available.")
        stamp = self._stamp()
        self._make_lines(
            order, allocation, stamp
        )  # new lines first: the old ones still count (083)
        for ln in removals:
            del self._lines[ln.id]
            self._cart_bookings = [c for c in self._cart_bookings if c["id"] != str(ln.id)]
        order.date_upd = stamp
        remark = booking.get("remark")
        if remark:
            order.remarks.insert(0, str(remark))
        booking_status = _int(booking.get("booking_status")) or 1
        payment_status = _int(booking.get("payment_status")) or 3
        if booking_status == 3:
            self._cancel(order, stamp, _ORDER_STATE_CANCELLED)
        elif booking_status == 4:
            self._cancel(order, stamp, _ORDER_STATE_REFUNDED)
        elif order.current_state in (_ORDER_STATE_CANCELLED, _ORDER_STATE_REFUNDED):
            self._set_state(
                order,
                2
                if booking_status == 2 or payment_status == 1
                else 8
                if payment_status == 2
                else 1,
                stamp,
            )
        elif booking_status == 2 and order.current_state != 2:
            self._set_state(order, 2, stamp)
        if self.stock_php_ini:
            return _errors(500, _NOTICES_GET, as_json)
        return self._booking_resp(order.id, as_json)


# --------------------------------------------------------------------------------------------
# Module-level helpers that need the pieces above
# --------------------------------------------------------------------------------------------


def _like(template: Any, value: Any) -> Any:
    """``value`` typed like the template value for the same field (PHP keeps ints as ints)."""
    if isinstance(template, bool) or template is None:
        return value if not isinstance(value, int) else str(value)
    if isinstance(template, int):
        return _int(value) if _int(value) is not None else value
    return str(value)


def _merge(names: Iterable[str], sent: Mapping[str, Any], template: Mapping[str, Any], template_sent: set[str], *, missing: Any = "") -> dict[str, Any]:  # fmt: skip
    """A row from sent values, falling back to a recorded template for fields it did not send."""
    row: dict[str, Any] = {}
    for name in names:
        if name in sent:
            row[name] = _like(template.get(name, ""), sent[name])
        elif name in template and name not in template_sent:
            row[name] = template[name]
        else:
            row[name] = missing
    return row


def _filter_match(value: Any, spec: str, *, dates: bool) -> bool:
    text = _text(value)
    if spec.startswith("[") and spec.endswith("]"):
        inner = spec[1:-1]
        if "," in inner and "|" not in inner:
            lo, hi = (p.strip() for p in inner.split(",", 1))
            if dates:
                lo = lo if len(lo) > 10 else lo + " 00:00:00"
                hi = hi if len(hi) > 10 else hi + " 00:00:00"
                return lo <= text <= hi
            a, b, v = _int(lo), _int(hi), _int(text)
            if a is not None and b is not None and v is not None:
                return a <= v <= b
            return lo <= text <= hi
        return text.casefold() in {o.strip().casefold() for o in inner.split("|")}
    if spec.startswith("%[") and spec.endswith("]%"):
        return spec[2:-2].casefold() in text.casefold()
    return text.casefold() == spec.casefold()


def _associations(booking: Mapping[str, Any]) -> dict[str, Any]:
    return _sub(booking, "associations")


def _sub(data: Mapping[str, Any], key: str) -> dict[str, Any]:
    value = data.get(key)
    return value if isinstance(value, dict) else {}


def _sort_key(value: Any) -> tuple[int, Any]:
    number = _int(value)
    return (0, number) if number is not None else (1, _text(value))


def _sort_by(field: str) -> Callable[[dict[str, Any]], tuple[int, Any]]:
    def key(row: dict[str, Any]) -> tuple[int, Any]:
        return _sort_key(row.get(field))

    return key


def _parse_booking_body(body: bytes) -> tuple[dict[str, Any], list[tuple[int, str]]]:
    """``json_decode`` first, then SimpleXML (fixture 124 shows the warnings on failure)."""
    text = body.decode("utf-8", "replace")
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    if isinstance(data, dict):
        return data, []
    try:
        root = ET.fromstring(text)  # noqa: S314 - local test server
    except ET.ParseError:
        warnings = [
            _php_warning(w, _BOOKINGS_PHP, 374)
            for w in _libxml_warnings(text, "simplexml_load_string")
        ]
        warnings.append(
            _php_warning(
                "array_merge(): Expected parameter 1 to be an array, bool given", _BOOKINGS_PHP, 408
            )
        )
        return {}, warnings
    converted = _xml_to_data(root)
    return (converted if isinstance(converted, dict) else {}), []


def _ari_xml(data: Mapping[str, Any], hotel_id: int, base: str) -> str:
    out = [
        "<hotel_ari>\n",
        f'<id_hotel xlink:href="{base}/api/hotels/{hotel_id}">{_cdata(str(data["id_hotel"]))}</id_hotel>\n',
    ]
    for key in ("date_from", "date_to", "currency", "total_rooms", "total_available_rooms", "total_unavailable_rooms", "total_partial_available_rooms", "total_booked_rooms"):  # fmt: skip
        if key in data:
            out.append(f"<{key}>{_cdata(_text(data[key]))}</{key}>\n")
    if "room_types" in data:
        out.append("<room_types>\n")
        for rt in data["room_types"]:
            rid = rt["id_room_type"]
            out.append(f'<room_type id="{rid}" xlink:href="{base}/api/room_types/{rid}">\n')
            out.append(
                f'<id_room_type xlink:href="{base}/api/room_types/{rid}">{_cdata(str(rid))}</id_room_type>\n'
            )
            for key in ("base_price", "base_price_with_tax", "total_price", "total_price_with_tax"):
                out.append(f"<{key}>{_cdata(_text(rt[key]))}</{key}>\n")
            out.append(
                f'<name><language id="1" xlink:href="{base}/api/languages/1">{_cdata(str(rt["name"]))}</language></name>\n'
            )
            out.append("<rooms>\n")
            for bucket, rooms in rt["rooms"].items():
                if not rooms:
                    out.append(f"<{bucket}>\n</{bucket}>\n")
                    continue
                out.append(f"<{bucket}>\n")
                for room_id, room in rooms.items():
                    out.append(
                        f'<room id="{room_id}">\n<id_room>{_cdata(str(room_id))}</id_room>\n'
                    )
                    out.append(
                        f"<room_number>{_cdata(str(room['room_num']))}</room_number>\n</room>\n"
                    )
                out.append(f"</{bucket}>\n")
            out.append("</rooms>\n</room_type>\n")
        out.append("</room_types>\n")
    out.append("</hotel_ari>\n")
    return "".join(out)
