"""Importing a POS transaction log: every row loaded or quarantined with its line, field and reason."""

from __future__ import annotations

import csv
from datetime import datetime
from pathlib import Path

import duckdb
import pytest

from clientele.lake.mapping import Mapping, MappingError
from clientele.lake.store import Lake
from clientele.lake.transactions import ImportFailed, import_file

HEADER = "basket_id,store_id,transaction_ts,product_id,quantity,sales_value,household_id\n"
NOW = datetime(2018, 1, 15, 12, 0)


def write(path: Path, text: str | bytes) -> Path:
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return path


def quarantined(result) -> list[dict]:
    with open(result.record.quarantine_file, newline="", encoding="utf-8") as stream:
        return list(csv.DictReader(stream))


def lake_count(lake: Lake) -> int:
    if not lake.has_table("basket_lines"):
        return 0
    return duckdb.sql(f"SELECT count(*) FROM read_parquet('{lake.parquet_glob('basket_lines')}')").fetchall()[0][0]


@pytest.mark.parametrize(
    ("row", "field", "reason"),
    [
        ("B1,1,2017-03-01 10:00:00,100,x,1.00,7", "quantity", "non-numeric quantity"),
        ("B1,1,2017-03-01 10:00:00,100,1,1.0O,7", "sales_value", "non-numeric amount"),
        ("B1,1,01/03/2017 10h,100,1,1.00,7", "transaction_ts", "unparseable date"),
        ("B1,1,2018-03-01 10:00:00,100,1,1.00,7", "transaction_ts", "timestamp in the future"),
        ("B1,1,2017-03-01 10:00:00,100,-2,3.00,7", "quantity", "negative quantity that is not a return (sales value is positive)"),
        ("B1,1,2017-03-01 10:00:00,100,2,-3.00,7", "sales_value", "negative sales value on a sale (quantity is positive)"),
        (",1,2017-03-01 10:00:00,100,1,1.00,7", "basket_id", "missing value"),
        ("B1,1,2017-03-01 10:00:00,,1,1.00,7", "product_id", "missing value"),
        ("B1,S1,2017-03-01 10:00:00,100,1,1.00,7", "store_id", "not a whole number"),
        ("B1,1,2017-03-01 10:00:00,100,1", "sales_value", "missing column (fewer fields than the header)"),
        ("B1,1,2017-03-01 10:00:00,100,1,1.00,7,extra", "", "too many fields for the header"),
    ],
)
def test_each_bad_row_is_quarantined_with_its_line_field_and_reason(home, tmp_path, row, field, reason):
    good = "B0,1,2017-03-01 09:00:00,100,1,1.00,7"
    file = write(tmp_path / "pos.csv", HEADER + good + "\n" + row + "\n" + good.replace("B0", "B9") + "\n")
    result = import_file(file, now=NOW)
    assert (result.record.rows_read, result.record.rows_loaded, result.record.rows_quarantined) == (3, 2, 1)
    [bad] = quarantined(result)
    assert (bad["line"], bad["field"], bad["reason"]) == ("3", field, reason)


@pytest.mark.parametrize(
    ("line", "field", "reason"),
    [
        (b"B\xff\xfe1,1,2017-03-01 10:00:00,100,1,1.00,7\n", "basket_id", "bad encoding (not UTF-8)"),
        # bytes that are not UTF-8 where a number is expected: the number is what is wrong
        (b"B1,1,2017-03-01 10:00:00,100,1,\xff\xfe,7\n", "sales_value", "non-numeric amount"),
    ],
)
def test_bad_encoding_is_quarantined_and_the_rest_loaded(home, tmp_path, line, field, reason):
    file = write(tmp_path / "pos.csv", HEADER.encode() + line + b"B2,1,2017-03-01 10:00:00,100,1,1.00,7\n")
    result = import_file(file, now=NOW)
    [bad] = quarantined(result)
    assert (bad["line"], bad["field"], bad["reason"]) == ("2", field, reason)
    assert result.record.rows_loaded == 1


def test_a_return_is_loaded_with_its_negative_quantity_and_value(home, tmp_path):
    file = write(tmp_path / "pos.csv", HEADER + "R1,1,2017-03-02 10:00:00,100,-1,-2.50,7\n")
    result = import_file(file, now=NOW)
    assert result.record.rows_loaded == 1
    lake = Lake()
    assert duckdb.sql(f"SELECT quantity, sales_value FROM read_parquet('{lake.parquet_glob('basket_lines')}')").fetchall() == [
        (pytest.approx(-1), pytest.approx(-2.5))
    ]


def test_a_duplicate_line_in_the_file_names_the_line_it_repeats(home, tmp_path):
    line = "B1,1,2017-03-01 10:00:00,100,1,1.00,7\n"
    result = import_file(write(tmp_path / "pos.csv", HEADER + line + line), now=NOW)
    [bad] = quarantined(result)
    assert bad["line"] == "3"
    assert bad["reason"] == "duplicate line (same basket, product and line number as line 2)"


def test_importing_the_same_file_twice_adds_nothing_the_second_time(home, tmp_path):
    file = write(tmp_path / "pos.csv", HEADER + "B1,1,2017-03-01 10:00:00,100,1,1.00,7\nB2,1,2017-03-01 11:00:00,101,2,3.00,8\n")
    first = import_file(file, now=NOW)
    second = import_file(file, now=NOW)
    assert first.record.rows_loaded == 2
    assert second.record.rows_loaded == 0 and second.record.already_imported_as == first.record.import_id
    assert lake_count(Lake()) == 2


def test_lines_already_in_the_lake_from_another_file_are_not_loaded_again(home, tmp_path):
    import_file(write(tmp_path / "monday.csv", HEADER + "B1,1,2017-03-01 10:00:00,100,1,1.00,7\n"), now=NOW)
    again = import_file(write(tmp_path / "resent.csv", HEADER + "B1,1,2017-03-01 10:00:00,100,1,1.00,7\n"
                              + "B2,1,2017-03-01 10:00:00,100,1,1.00,7\n"), now=NOW)
    assert again.record.rows_loaded == 1
    assert again.record.reasons == {"already in the lake": 1}
    assert lake_count(Lake()) == 2


def test_counts_reconcile_on_a_mixed_file_and_the_import_is_logged(home, tmp_path):
    rows = [f"B{i},1,2017-03-01 10:00:00,{100 + i % 3},1,1.00,7" for i in range(200)]
    rows[10] = "B10,1,bad,100,1,1.00,7"
    rows[50] = "B50,1,2017-03-01 10:00:00,100,1"
    rows[120] = rows[119]
    result = import_file(write(tmp_path / "pos.csv", HEADER + "\n".join(rows) + "\n"), now=NOW)
    r = result.record
    assert (r.rows_read, r.rows_loaded, r.rows_quarantined) == (200, 197, 3)
    assert r.reconciles
    assert [q["line"] for q in quarantined(result)] == ["12", "52", "122"]
    assert Lake().imports()[-1]["rows_loaded"] == 197
    assert lake_count(Lake()) == 197


def test_a_file_missing_a_required_column_fails_whole_and_writes_nothing(home, tmp_path):
    file = write(tmp_path / "pos.csv", "basket_id,store_id,transaction_ts,product_id,quantity\nB1,1,2017-03-01,100,1\n")
    with pytest.raises(MappingError, match=r"pos.csv: column 'sales_value' \(lake field sales_value\) is not in the file's header"):
        import_file(file, now=NOW)
    assert lake_count(Lake()) == 0 and Lake().imports() == []


def test_a_file_that_is_not_csv_fails_with_one_clear_message(home, tmp_path):
    file = write(tmp_path / "pos.parquet", b"this is not parquet at all")
    with pytest.raises(ImportFailed, match="pos.parquet: cannot be read as PARQUET"):
        import_file(file, now=NOW)
    assert not (Lake().root / "_staging").exists() or not any((Lake().root / "_staging").iterdir())


def test_a_missing_file_is_named_in_the_error(home, tmp_path):
    with pytest.raises(ImportFailed, match="nowhere.csv: no such file"):
        import_file(tmp_path / "nowhere.csv")


def test_a_mapping_file_maps_a_foreign_pos_export(home, tmp_path):
    mapping = write(tmp_path / "till.toml", """
delimiter = ";"
decimal_comma = true
timestamp_format = "%d/%m/%Y %H:%M"
[columns]
basket_id = "TICKET"
store_id = "SHOP"
transaction_ts = "WHEN"
product_id = "EAN"
quantity = "QTY"
sales_value = "AMOUNT"
customer_id = "CARDHOLDER"
""")
    file = write(tmp_path / "export.csv", "TICKET;SHOP;WHEN;EAN;QTY;AMOUNT;CARDHOLDER\nT-1;12;01/03/2017 10:30;4006381333931;1,5;1.234,50;77\n")
    result = import_file(file, mapping=mapping, now=NOW)
    assert result.record.rows_loaded == 1
    row = duckdb.sql(f"SELECT basket_id, store_id, transaction_ts, product_id, quantity, sales_value, customer_id "
                     f"FROM read_parquet('{Lake().parquet_glob('basket_lines')}')").fetchall()[0]
    assert row[:4] == ("T-1", 12, datetime(2017, 3, 1, 10, 30), 4006381333931)
    assert (float(row[4]), float(row[5]), row[6]) == (1.5, 1234.5, 77)


def test_a_folder_is_refused_as_a_folder_not_as_a_missing_file(home, tmp_path):
    with pytest.raises(ImportFailed, match="is a folder; import its files one at a time"):
        import_file(tmp_path)


def test_a_wrong_mapping_on_a_file_already_imported_names_the_mapping_error(home, tmp_path):
    file = write(tmp_path / "export.csv", "TICKET;SHOP;WHEN;EAN;QTY;AMOUNT\nT-1;12;2017-03-01 10:30;4006381333931;1;2.50\n")
    good = write(tmp_path / "till.toml", 'delimiter = ";"\n[columns]\nbasket_id = "TICKET"\nstore_id = "SHOP"\n'
                 'transaction_ts = "WHEN"\nproduct_id = "EAN"\nquantity = "QTY"\nsales_value = "AMOUNT"\n')
    assert import_file(file, mapping=good, now=NOW).record.rows_loaded == 1
    wrong = write(tmp_path / "wrong.toml", good.read_text().replace('"SHOP"', '"STORE"'))
    with pytest.raises(MappingError, match="column 'STORE' .lake field store_id. is not in the file's header"):
        import_file(file, mapping=wrong, now=NOW)
    assert import_file(file, mapping=good, now=NOW).record.already_imported_as


def test_the_import_table_shows_the_quarantine_path_whole(home, tmp_path):
    from rich.console import Console

    file = write(tmp_path / ("a-long-folder-name-of-the-point-of-sale-exports-" * 3 + ".csv"),
                 "basket_id,store_id,transaction_ts,product_id,quantity,sales_value\nB1,1,2017-03-01 10:00:00,100,x,1.00\n")
    result = import_file(file, now=NOW)
    console = Console(width=80, record=True)
    console.print(result.as_text())
    shown = "".join(line.strip(" │") for line in console.export_text().splitlines())
    assert "…" not in console.export_text()
    assert result.record.quarantine_file.replace(" ", "") in shown.replace(" ", "")


def test_a_mapping_naming_an_unknown_lake_column_is_refused(tmp_path):
    mapping = write(tmp_path / "bad.toml", '[columns]\nbasket = "TICKET"\n')
    with pytest.raises(MappingError, match="unknown lake column"):
        Mapping.load(mapping)


def test_parquet_files_are_imported_with_row_numbers_as_lines(home, tmp_path):
    file = tmp_path / "pos.parquet"
    duckdb.sql("""COPY (SELECT * FROM (VALUES ('B1', 1, TIMESTAMP '2017-03-01 10:00', 100, 1, 1.0, 7),
                                              ('B2', 1, TIMESTAMP '2017-03-01 10:00', 100, -1, 1.0, 7))
                  AS t(basket_id, store_id, transaction_ts, product_id, quantity, sales_value, customer_id))
                  TO '""" + str(file) + "' (FORMAT parquet)")
    result = import_file(file, now=NOW)
    assert result.record.rows_loaded == 1
    assert [(q["line"], q["field"]) for q in quarantined(result)] == [("2", "quantity")]


def test_strict_import_quarantines_unknown_stores_and_products(home, tmp_path):
    from clientele.lake.completejourney import import_to_lake

    import_to_lake(customers=[1])
    rows = ("S1,999999,2017-03-01 10:00:00,1004906,1,1.00,7\n"
            "S2,364,2017-03-01 10:00:00,42,1,1.00,7\n"
            "S3,364,2017-03-01 10:00:00,1004906,1,1.00,7\n")
    result = import_file(write(tmp_path / "pos.csv", HEADER + rows), strict=True, now=NOW)
    assert [(q["field"], q["reason"]) for q in quarantined(result)] == [
        ("store_id", "unknown store"), ("product_id", "unknown product")]
    assert result.record.rows_loaded == 1


def test_the_first_of_repeated_lines_is_loaded_and_the_later_ones_quarantined(home, tmp_path):
    rows = ("B1,1,2017-03-01 10:00:00,100,1,1.00,7\n"   # line 2: kept
            "B2,1,2017-04-01 10:00:00,100,1,1.00,7\n"
            "B1,1,2017-03-01 10:00:00,100,3,9.00,7\n"   # line 4: same key, other values
            "B3,1,2017-03-02 10:00:00,100,1,2.00,7\n"
            "B1,1,2017-03-01 10:00:00,100,5,5.00,7\n")  # line 6
    result = import_file(write(tmp_path / "pos.csv", HEADER + rows), now=NOW)
    assert [(q["line"], q["reason"], q["quantity"]) for q in quarantined(result)] == [
        ("4", "duplicate line (same basket, product and line number as line 2)", "3.000"),
        ("6", "duplicate line (same basket, product and line number as line 2)", "5.000"),
    ]
    lines = duckdb.sql(f"SELECT basket_id, quantity FROM read_parquet('{Lake().parquet_glob('basket_lines')}') "
                       "ORDER BY basket_id").fetchall()
    assert [(basket, float(quantity)) for basket, quantity in lines] == [("B1", 1.0), ("B2", 1.0), ("B3", 1.0)]
    assert (result.record.rows_read, result.record.rows_loaded, result.record.rows_quarantined) == (5, 3, 2)
    import pyarrow.parquet as pq

    from clientele.lake.schema import BASKET_LINE_SCHEMA

    for part in Lake().table_dir("basket_lines").rglob("*.parquet"):  # the rewritten month like the others
        assert pq.read_schema(part).names == BASKET_LINE_SCHEMA.names


def test_lines_are_counted_past_rows_the_reader_rejected(home, tmp_path):
    rows = ("B1,1,2017-03-01 10:00:00,100,1,1.00,7\n"    # line 2
            "B2,S1,2017-03-01 10:00:00,100,1,1.00,7\n"   # line 3: rejected by the reader (cast)
            "B3,1,2017-03-01 10:00:00,100\n"             # line 4: rejected by the reader (short)
            "B4,1,2017-03-01 10:00:00,100,-1,1.00,7\n"   # line 5: fails a check on the typed row
            "B5,1,2017-03-01 10:00:00,100,1,1.00,7\n"    # line 6
            "B1,1,2017-03-01 10:00:00,100,1,1.00,7\n")   # line 7: repeats line 2
    result = import_file(write(tmp_path / "pos.csv", HEADER + rows), now=NOW)
    assert [(q["line"], q["field"]) for q in quarantined(result)] == [
        ("3", "store_id"), ("4", "quantity"), ("5", "quantity"), ("7", "basket_id")]
    assert [q["reason"] for q in quarantined(result)][-1] == "duplicate line (same basket, product and line number as line 2)"
    assert (result.record.rows_read, result.record.rows_loaded, result.record.rows_quarantined) == (6, 2, 4)


def test_a_value_the_mapping_cannot_convert_is_quarantined_as_it_was_written(home, tmp_path):
    mapping = Mapping(delimiter=";", decimal_comma=True)
    file = write(tmp_path / "pos.csv", HEADER.replace(",", ";") + "B1;1;2017-03-01 10:00:00;100;1;1,50;7\n"
                 + "B2;1;2017-03-01 10:00:00;100;1;un euro;7\n")
    result = import_file(file, mapping=mapping, now=NOW)
    [bad] = quarantined(result)
    assert (bad["line"], bad["field"], bad["reason"], bad["sales_value"]) == ("3", "sales_value", "non-numeric amount", "un euro")
    assert result.record.rows_loaded == 1


def test_a_column_the_mapping_does_not_use_never_quarantines_a_row(home, tmp_path):
    rows = "".join(f"B{i},1,2017-03-01 10:00:00,100,1,1.00,7,{i}\n" for i in range(3000)) + "B9999,1,2017-03-01 10:00:00,100,1,1.00,7,n/a\n"
    result = import_file(write(tmp_path / "pos.csv", HEADER.strip() + ",till_note\n" + rows), now=NOW)
    assert result.record.rows_loaded == 3001 and result.record.rows_quarantined == 0


def test_every_loaded_line_names_its_file_import_and_channel_as_text(home, tmp_path):
    import pyarrow.parquet as pq

    file = write(tmp_path / "pos.csv", HEADER + "B1,1,2017-03-01 10:00:00,100,1,1.00,7\nB2,1,2017-04-01 10:00:00,100,1,1.00,7\n")
    result = import_file(file, mapping=Mapping(channel="online"), now=NOW)
    lake = Lake()
    for part in sorted(lake.table_dir("basket_lines").rglob("*.parquet")):
        schema = pq.read_schema(part)
        assert all(schema.field(name).type == "string" for name in ("source_file", "import_id", "channel", "card_barcode"))
    assert duckdb.sql(f"SELECT DISTINCT source_file, import_id, channel, card_barcode "
                      f"FROM read_parquet('{lake.parquet_glob('basket_lines')}')").fetchall() == [
        (str(file.resolve()), result.record.import_id, "online", None)]


def test_spaces_around_a_text_are_dropped_and_a_blank_basket_is_a_missing_value(home, tmp_path):
    rows = ("  B1 ,1,2017-03-01 10:00:00,100,1,1.00,7\n"
            "B2,1,2017-03-01 10:00:00,100,1,1.00,7\n"
            "   ,1,2017-03-01 10:00:00,100,1,1.00,7\n")
    result = import_file(write(tmp_path / "pos.csv", HEADER + rows), now=NOW)
    assert [(q["line"], q["field"], q["reason"]) for q in quarantined(result)] == [("4", "basket_id", "missing value")]
    assert duckdb.sql(f"SELECT basket_id FROM read_parquet('{Lake().parquet_glob('basket_lines')}') "
                      "ORDER BY 1").fetchall() == [("B1",), ("B2",)]
