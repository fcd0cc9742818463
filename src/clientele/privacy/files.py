"""The files Clientele writes that hold members' personal data: registered when written, so that
an erasure removes the member from each (decision 0066)."""

from __future__ import annotations

from pathlib import Path

from clientele.privacy.models import PersonalDataFile


def register_export(path: Path) -> None:
    """Note that the system wrote `path`, a CSV or Parquet file with a customer_id column holding
    members' personal data (a segment export, a campaign's mailing file)."""
    PersonalDataFile.objects.update_or_create(path=str(Path(path).resolve()),
                                              defaults={"kind": PersonalDataFile.Kind.CSV, "customer_id": None})


def erase_from_files(customer_id: int) -> dict[str, int]:
    """Remove the member from every registered file: their access archives are deleted, their rows
    are dropped from each export (rewritten in place, same format). A file gone from disk is
    forgotten. Returns how many archives were deleted and exports rewritten."""
    import pyarrow.compute as pc

    deleted = rewritten = 0
    for record in PersonalDataFile.objects.filter(kind=PersonalDataFile.Kind.ACCESS_ARCHIVE, customer_id=customer_id):
        Path(record.path).unlink(missing_ok=True)
        record.delete()
        deleted += 1
    for record in PersonalDataFile.objects.filter(kind=PersonalDataFile.Kind.CSV):
        path = Path(record.path)
        if not path.exists():
            record.delete()
            continue
        table, write = _read(path)
        if "customer_id" not in table.column_names:
            continue
        mask = pc.equal(table["customer_id"], customer_id)
        if pc.any(mask).as_py():
            write(table.filter(pc.invert(pc.fill_null(mask, False))), path)
            rewritten += 1
    return {"access archives deleted": deleted, "exports rewritten": rewritten}


def _read(path: Path):
    import pyarrow.csv as pa_csv
    import pyarrow.parquet as pq

    with path.open("rb") as handle:
        parquet = handle.read(4) == b"PAR1"
    if parquet:
        return pq.read_table(path), lambda table, out: pq.write_table(table, out)
    # every column as text (a phone number keeps its leading zero), customer_id as a number
    options = pa_csv.ConvertOptions(strings_can_be_null=False)
    table = pa_csv.read_csv(path, convert_options=options)
    names = [n for n in table.column_names if n != "customer_id"]
    options = pa_csv.ConvertOptions(column_types={n: "string" for n in names})
    return pa_csv.read_csv(path, convert_options=options), lambda table, out: pa_csv.write_csv(table, out)
