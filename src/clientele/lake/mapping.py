"""How a POS export's columns map to the lake's basket lines (a small TOML file per export format).

    # mapping.toml
    format = "csv"                      # csv | parquet (default: from the file's extension)
    delimiter = ";"                     # csv only; default ","
    decimal_comma = true                # amounts written 1,99; default false
    timestamp_format = "%d/%m/%Y %H:%M" # strptime format; default ISO 8601
    channel = "store"                   # for files with no channel column

    [columns]                           # lake column = column in the file
    basket_id = "RECEIPT_NO"
    store_id = "SHOP"
    ...

Without a mapping, a column named like the lake column (or like the Complete Journey's:
household_id, transaction_timestamp) is taken as it is.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from clientele.errors import ClienteleError

REQUIRED = ("basket_id", "store_id", "transaction_ts", "product_id", "quantity", "sales_value")
OPTIONAL = ("line_no", "customer_id", "card_barcode", "retail_disc", "coupon_disc", "coupon_match_disc", "channel")
ALIASES = {"customer_id": ("household_id", "member_id"), "transaction_ts": ("transaction_timestamp", "timestamp")}


class MappingError(ClienteleError):
    code = "bad_mapping"


@dataclass
class Mapping:
    """A validated column mapping: lake column -> source column."""

    columns: dict[str, str] = field(default_factory=dict)
    format: str | None = None
    delimiter: str = ","
    decimal_comma: bool = False
    timestamp_format: str | None = None
    channel: str = "store"

    @classmethod
    def load(cls, path: Path) -> Mapping:
        """Read a mapping file; an unknown key or lake column is an error naming it."""
        try:
            raw = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise MappingError(f"{path}: mapping file not found") from None
        except tomllib.TOMLDecodeError as error:
            raise MappingError(f"{path}: not valid TOML ({error})") from None
        allowed = {"columns", "format", "delimiter", "decimal_comma", "timestamp_format", "channel"}
        unknown = set(raw) - allowed
        if unknown:
            raise MappingError(f"{path}: unknown setting(s) {', '.join(sorted(unknown))}; allowed: {', '.join(sorted(allowed))}")
        columns = raw.get("columns", {})
        bad = set(columns) - set(REQUIRED) - set(OPTIONAL)
        if bad:
            raise MappingError(f"{path}: [columns] names unknown lake column(s) {', '.join(sorted(bad))}")
        if raw.get("format") not in (None, "csv", "parquet"):
            raise MappingError(f"{path}: format must be csv or parquet, not {raw['format']!r}")
        return cls(
            columns=dict(columns),
            format=raw.get("format"),
            delimiter=raw.get("delimiter", ","),
            decimal_comma=bool(raw.get("decimal_comma", False)),
            timestamp_format=raw.get("timestamp_format"),
            channel=raw.get("channel", "store"),
        )

    def resolve(self, header: list[str], file: Path) -> dict[str, str]:
        """Lake column -> source column for this file's header; a missing required column is an error."""
        present = set(header)
        resolved: dict[str, str] = {}
        for lake_column in (*REQUIRED, *OPTIONAL):
            candidates = [self.columns[lake_column]] if lake_column in self.columns else [lake_column, *ALIASES.get(lake_column, ())]
            found = next((c for c in candidates if c in present), None)
            if found is not None:
                resolved[lake_column] = found
            elif lake_column in REQUIRED or lake_column in self.columns:
                wanted = candidates[0]
                raise MappingError(
                    f"{file}: column {wanted!r} (lake field {lake_column}) is not in the file's header; "
                    f"the header has: {', '.join(header)}"
                )
        return resolved
