"""Importing a source system's contact file (CSV or Parquet, with a mapping): every row is loaded as
a standardised `SourceRecord` or quarantined with its line, field and reason, in one transaction.

The mapping (TOML) names the source and the file's columns for each contact field:

    source = "online_shop"          # required: the source system
    format = "csv"                  # csv | parquet; default from the file name
    delimiter = ","
    date_format = "%d/%m/%Y"        # how dates of birth are written; default ISO 8601 or YYYYMMDD
    phone_region = "US"             # the country of national phone numbers
    [columns]
    source_key = "ACCOUNT_ID"       # required: the record's own key in its source
    first_name = "FIRST"
    ...
"""

from __future__ import annotations

import csv
import hashlib
import tomllib
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from django.db import transaction

from clientele.config import settings
from clientele.identity import standardise
from clientele.identity.errors import BadContactFile
from clientele.identity.models import ContactImport, SourceRecord

FIELDS = ("source_key", "first_name", "last_name", "email", "phone", "birth_date", "address_line",
          "postal_code", "city", "country")
SETTINGS = {"source", "format", "delimiter", "date_format", "phone_region", "columns"}
#: A row needs one of these to be matched with anyone.
IDENTIFYING = ("last_name", "email", "phone")


@dataclass
class ContactImportResult:
    source: str
    file: str
    rows_read: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    created: int = 0
    updated: int = 0
    quarantine_file: str = ""
    reasons: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict:
        return dict(self.__dict__)


@dataclass(frozen=True)
class Mapping:
    source: str
    format: str
    delimiter: str
    date_formats: tuple[str, ...]
    phone_region: str
    columns: dict[str, str]


def read_mapping(path: Path | None, file: Path, source: str | None = None) -> Mapping:
    """The mapping file read and checked (unknown setting or field: BadContactFile naming it)."""
    spec: dict = {}
    if path is not None:
        try:
            spec = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
            raise BadContactFile(f"mapping {path}: cannot be read ({error})", field="mapping") from None
    unknown = set(spec) - SETTINGS
    if unknown:
        raise BadContactFile(f"mapping {path}: unknown setting {sorted(unknown)[0]!r}", field="mapping")
    columns = {name: name for name in FIELDS} | dict(spec.get("columns", {}))
    bad = set(columns) - set(FIELDS)
    if bad:
        raise BadContactFile(f"mapping {path}: unknown contact field {sorted(bad)[0]!r} "
                             f"(fields: {', '.join(FIELDS)})", field="mapping")
    source = source or spec.get("source")
    if not source:
        raise BadContactFile(f"{file.name}: name the source system (--source or 'source' in the mapping)",
                             field="source")
    fmt = spec.get("format") or ("parquet" if file.suffix.lower() == ".parquet" else "csv")
    if fmt not in ("csv", "parquet"):
        raise BadContactFile(f"mapping {path}: format {fmt!r} is neither csv nor parquet", field="mapping")
    date_format = spec.get("date_format")
    return Mapping(source=str(source), format=fmt, delimiter=spec.get("delimiter", ","),
                   date_formats=(date_format,) if date_format else standardise.DEFAULT_DATE_FORMATS,
                   phone_region=spec.get("phone_region", "US"), columns=columns)


def _rows(file: Path, mapping: Mapping):
    """(line, values by contact field or None, reason, raw) for every row of the file."""
    if mapping.format == "parquet":
        import pyarrow.parquet as pq

        try:
            table = pq.read_table(file)
        except Exception as error:  # noqa: BLE001 - pyarrow raises many kinds for an unreadable file
            raise BadContactFile(f"{file.name}: not a readable Parquet file ({error})") from None
        header = table.column_names
        _check_header(file, header, mapping)
        for number, row in enumerate(table.to_pylist(), start=1):
            raw = {key: (None if value is None else str(value)) for key, value in row.items()}
            yield number, _by_field(row, mapping), None, raw
        return
    try:
        handle = open(file, encoding="utf-8", errors="surrogateescape", newline="")
    except OSError as error:
        raise BadContactFile(f"{file.name}: cannot be read ({error.strerror})") from None
    with handle:
        reader = csv.reader(handle, delimiter=mapping.delimiter, strict=True)
        try:
            header = [name.strip() for name in next(reader)]
        except StopIteration:
            raise BadContactFile(f"{file.name}: empty file (no header)") from None
        except csv.Error as error:
            raise BadContactFile(f"{file.name}: not a CSV file ({error})") from None
        _check_header(file, header, mapping)
        while True:
            try:
                cells = next(reader)
            except StopIteration:
                return
            except csv.Error:
                yield reader.line_num, None, ("", "badly quoted value"), {"raw_line": ""}
                continue
            line = reader.line_num
            if not cells:
                continue
            raw = dict(zip(header, cells)) if len(cells) == len(header) else {"raw_line": mapping.delimiter.join(cells)}
            if any(_undecodable(cell) for cell in cells):
                raw = {key: value.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
                       for key, value in raw.items()}
                yield line, None, ("", "bad encoding (not UTF-8)"), raw
            elif len(cells) < len(header):
                yield line, None, (header[len(cells)], "missing column (fewer fields than the header)"), raw
            elif len(cells) > len(header):
                yield line, None, ("", "too many fields for the header"), raw
            else:
                yield line, _by_field(raw, mapping), None, raw


def _undecodable(text: str) -> bool:
    return any("\udc80" <= ch <= "\udcff" for ch in text)


def _check_header(file: Path, header: list[str], mapping: Mapping) -> None:
    explicit = {name: column for name, column in mapping.columns.items() if column != name or name == "source_key"}
    for name, column in explicit.items():
        if column not in header:
            raise BadContactFile(f"{file.name}: no column {column!r} (for {name}) in the header", field=name)


def _by_field(row: dict, mapping: Mapping) -> dict:
    return {name: row.get(column) for name, column in mapping.columns.items()}


def standardised(values: dict, mapping: Mapping) -> dict:
    """The row's contact fields standardised; Unusable(field, reason) on the first that fails."""
    out = {}
    steps = {
        "first_name": standardise.clean_name, "last_name": standardise.clean_name,
        "email": standardise.clean_email, "phone": lambda v: standardise.clean_phone(v, mapping.phone_region),
        "birth_date": lambda v: standardise.parse_birth_date(v, mapping.date_formats),
        "address_line": standardise.clean_text, "postal_code": standardise.clean_postal_code,
        "city": standardise.clean_name, "country": standardise.clean_country,
    }
    for name, step in steps.items():
        try:
            out[name] = step(values.get(name))
        except standardise.Unusable as error:
            raise FieldUnusable(name, str(error)) from None
    return out


class FieldUnusable(Exception):
    def __init__(self, field_name: str, reason: str):
        super().__init__(reason)
        self.field, self.reason = field_name, reason


def import_contacts(file: Path, mapping_file: Path | None = None, *, source: str | None = None,
                    actor: str = "command:identity import") -> ContactImportResult:
    """Load `file`'s contact records for one source: each row loaded (a new record, or an update of
    the record with the same source key) or quarantined with its reason. One transaction; the same
    file for the same source twice is refused (BadContactFile), nothing written."""
    file = Path(file)
    if not file.is_file():
        raise BadContactFile(f"{file}: no such file")
    mapping = read_mapping(mapping_file, file, source)
    content_hash = hashlib.sha256(file.read_bytes()).hexdigest()
    if ContactImport.objects.filter(source=mapping.source, content_hash=content_hash).exists():
        raise BadContactFile(f"{file.name}: this file was already imported for {mapping.source}")
    result = ContactImportResult(source=mapping.source, file=str(file))
    quarantined: list[dict] = []
    loaded: dict[str, tuple[int, dict, dict]] = {}
    for line, values, refusal, raw in _rows(file, mapping):
        result.rows_read += 1
        if refusal is None:
            refusal = _check(values, mapping, loaded, line)
        if refusal is not None:
            quarantined.append({"line": line, "field": refusal[0], "reason": refusal[1], **raw})
            result.reasons[refusal[1]] = result.reasons.get(refusal[1], 0) + 1
            continue
        key = standardise.clean_text(values["source_key"])
        loaded[key] = (line, standardised(values, mapping), raw)
    result.rows_loaded, result.rows_quarantined = len(loaded), len(quarantined)
    if result.rows_read != result.rows_loaded + result.rows_quarantined:  # pragma: no cover - a bug, never data
        raise BadContactFile(f"{file.name}: rows read and accounted for differ; nothing imported")
    now = datetime.now(timezone.utc)
    with transaction.atomic():
        log = ContactImport.objects.create(
            source=mapping.source, file_name=file.name, content_hash=content_hash, rows_read=result.rows_read,
            rows_loaded=result.rows_loaded, rows_quarantined=result.rows_quarantined, imported_by=actor,
            imported_at=now)
        if quarantined:
            result.quarantine_file = str(_write_quarantine(file, log.pk, quarantined))
            ContactImport.objects.filter(pk=log.pk).update(quarantine_file=result.quarantine_file)
        existing = {r.source_key: r for r in SourceRecord.objects.filter(source=mapping.source,
                                                                         source_key__in=list(loaded))}
        new, changed = [], []
        for key, (_, values, raw) in loaded.items():
            record = existing.get(key)
            if record is None:
                new.append(SourceRecord(source=mapping.source, source_key=key, contact_import=log, raw=raw, **values))
                continue
            for name, value in values.items():
                setattr(record, name, value)
            record.raw, record.contact_import = raw, log
            changed.append(record)
        SourceRecord.objects.bulk_create(new, batch_size=2_000)
        SourceRecord.objects.bulk_update(changed, [*standardise.COMPLETENESS_WEIGHTS, "country", "raw",
                                                   "contact_import"], batch_size=2_000)
        result.created, result.updated = len(new), len(changed)
    return result


def _check(values: dict, mapping: Mapping, loaded: dict, line: int) -> tuple[str, str] | None:
    key = standardise.clean_text(values.get("source_key"))
    if not key:
        return "source_key", "missing value"
    if len(key) > 100:
        return "source_key", "key longer than 100 characters"
    if key in loaded:
        return "source_key", f"duplicate key (same as line {loaded[key][0]})"
    try:
        clean = standardised(values, mapping)
    except FieldUnusable as unusable:
        return unusable.field, unusable.reason
    if not any(clean[name] for name in IDENTIFYING):
        return "", "nothing to match on (no last name, e-mail or phone)"
    for name, limit in (("first_name", 100), ("last_name", 100), ("address_line", 200), ("city", 100),
                        ("postal_code", 20)):
        if len(clean[name]) > limit:
            return name, f"longer than {limit} characters"
    return None


def _write_quarantine(file: Path, import_id: int, rows: list[dict]) -> Path:
    folder = settings().home / "quarantine"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{file.name}.contacts-{import_id}.quarantine.csv"
    names: list[str] = []
    for row in rows:
        names += [name for name in row if name not in names]
    with open(path, "w", encoding="utf-8", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=names, restval="")
        writer.writeheader()
        writer.writerows(rows)
    return path
