"""A deterministic generator of realistic, synthetic vCard 3.0 address books.

The cards look like what iPhones, Android phones and Google export (PRODID, N and FN, ``itemN.`` groups
with ``X-ABLabel``, typed numbers in every format people type, e-mail, address, organisation, birthday with
and without a year, notes, categories, UID and REV, and now and then a small photo), with 1-3 numbers per
card. Everything is made up from small name pools and a seeded random generator: the same seed gives the
same bytes, so runs are comparable.

Usage: ``python benchmarks/generate.py 100000 out.vcf [--seed 1]``
"""

from __future__ import annotations

import argparse
import base64
import random
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

GIVEN = (
    "Jürgen", "Anna", "Mehmet", "Zoë", "Łukasz", "María", "Sven", "Chloé", "Ömer", "Ingrid", "Fatma",
    "Jörg", "Renée", "Søren", "Ana", "Björn", "Elif", "Paweł", "Grete", "Noah", "Lea", "Emir", "Marta",
    "Hans-Peter", "Anke", "Selin", "Zofia", "Kai", "Maximilian", "Nuño",
)  # fmt: skip
FAMILY = (
    "Müller", "Schmidt", "Y\u0131lmaz", "Nowak", "García", "Weiß", "O'Brien", "Dupont", "Kowalski",
    "Åberg", "Schäfer", "Öztürk", "Meier-Lüdenscheidt", "Fischer", "Wójcik", "Núñez", "Becker",
    "Hoffmann", "Çelik", "Zimmermann", "Krüger", "Doğan", "Lange",
)  # fmt: skip
COMPANIES = (
    "Bäckerei Schmidt GmbH",
    "Autohaus Nord, Filiale Mitte",
    "Praxis Dr. Weiß",
    "Elektro Öztürk & Söhne",
    "Kanzlei Lange; Partner",
    "Café Zoë",
)
TITLES = ("Inhaberin", "Meister", "Sachbearbeiter", "Geschäftsführer", "Ärztin")
CITIES = (("Berlin", "10115"), ("München", "80331"), ("Köln", "50667"), ("Hamburg", "20095"))
STREETS = ("Hauptstraße", "Bahnhofstr.", "Am Mühlenbach", "Königsallee", "Lindenweg")
CATEGORIES = ("Kunden", "VIP", "bezahlt", "Zahlung offen", "Lieferanten", "Familie")
NOTES = (
    "Rückruf erbeten\\, nur vormittags",
    "Stammkunde seit 2019\\nbevorzugt WhatsApp",
    "Zahlung offen: Rechnung 2024-117",
    "Allergie: Nüsse\\; bitte beachten",
)
MOBILE_PREFIXES = (
    "151",
    "152",
    "157",
    "159",
    "160",
    "162",
    "170",
    "171",
    "172",
    "176",
    "177",
    "179",
)
LANDLINE_AREAS = ("30", "40", "89", "221", "69", "711", "211", "341")
SWITCHBOARDS = tuple(f"+49 30 {n:08d}" for n in range(20_000_000, 20_000_040))
APPLE_LABELS = ("_$!<Mobile>!$_", "_$!<Home>!$_", "_$!<Work>!$_", "WhatsApp", "Büro")
_PHOTO = base64.b64encode(bytes(range(256)) * 9).decode("ascii")  # ~3 KB, like a thumbnail


def _fold(line: str) -> Iterator[str]:
    """Fold at 75 octets without splitting a UTF-8 character, as RFC 6350 asks."""
    data = line.encode("utf-8")
    first = True
    while data:
        limit = 75 if first else 74
        cut = min(limit, len(data))
        while cut < len(data) and (data[cut] & 0xC0) == 0x80:
            cut -= 1
        chunk, data = data[:cut], data[cut:]
        yield ("" if first else " ") + chunk.decode("utf-8")
        first = False


def _number(rnd: random.Random) -> str:
    """A German (now and then Austrian or Swiss) number, typed the way people type numbers."""
    roll = rnd.random()
    if roll < 0.02:
        return f"0{rnd.randrange(10**5):05d}"  # a typo: too short to be valid
    if roll < 0.05:
        return rnd.choice(SWITCHBOARDS)  # shared company line: a duplicate across cards
    if roll < 0.10:
        return (
            f"+43 664 {rnd.randrange(10**7):07d}"
            if rnd.random() < 0.5
            else (f"+41 79 {rnd.randrange(10**7):07d}")
        )
    if roll < 0.70:
        prefix = rnd.choice(MOBILE_PREFIXES)
        # 015x numbers have eight digits after the prefix, 016x and 017x seven.
        rest = f"{rnd.randrange(10**8):08d}" if prefix.startswith("15") else f"{rnd.randrange(10**7):07d}"
        formats = (
            f"+49 {prefix} {rest}",
            f"0{prefix} {rest}",
            f"0{prefix}/{rest}",
            f"+49 (0) {prefix} {rest}",
            f"0049 {prefix} {rest}",
            f"+49{prefix}{rest}",
            f"0{prefix}-{rest[:3]} {rest[3:]}",
        )
        return rnd.choice(formats)
    area, local = rnd.choice(LANDLINE_AREAS), rnd.randrange(10**6, 10**7)
    return rnd.choice((f"0{area} {local}", f"0{area}/{local}", f"+49 {area} {local}", f"(0{area}) {local}"))


def card(rnd: random.Random, index: int) -> str:
    """One realistic vCard 3.0 card with CRLF line ends."""
    given, family = rnd.choice(GIVEN), rnd.choice(FAMILY)
    lines = ["BEGIN:VCARD", "VERSION:3.0", "PRODID:-//Apple Inc.//iPhone OS 17.4//EN"]
    lines.append(f"N:{family};{given};;;")
    fn = f"{family}\\, {given}" if rnd.random() < 0.2 else f"{given} {family}"
    lines.append(f"FN:{fn}")
    item = 0
    if rnd.random() < 0.4:
        lines.append(f"ORG:{rnd.choice(COMPANIES).replace(';', chr(92) + ';')};")
        if rnd.random() < 0.5:
            lines.append(f"TITLE:{rnd.choice(TITLES)}")
    for n in range(rnd.randint(1, 3)):
        number = _number(rnd)
        if rnd.random() < 0.25:
            item += 1
            lines.append(f"item{item}.TEL:{number}")
            lines.append(f"item{item}.X-ABLabel:{rnd.choice(APPLE_LABELS)}")
        else:
            kind = rnd.choice(("CELL", "HOME", "WORK", "CELL"))
            pref = ";type=pref" if n == 0 else ""
            lines.append(f"TEL;type={kind};type=VOICE{pref}:{number}")
    for _ in range(rnd.choice((0, 1, 1, 2))):
        domain = rnd.choice(("example.com", "example.org", "example.net"))
        local = given.lower().encode("ascii", "ignore").decode() or "kunde"
        lines.append(f"EMAIL;type=INTERNET;type=HOME:{local}.{index}@{domain}")
    if rnd.random() < 0.3:
        city, code = rnd.choice(CITIES)
        street = f"{rnd.choice(STREETS)} {rnd.randint(1, 120)}"
        item += 1
        lines.append(f"item{item}.ADR;type=HOME:;;{street};{city};;{code};Deutschland")
        lines.append(f"item{item}.X-ABADR:de")
    roll = rnd.random()
    if roll < 0.15:
        lines.append(
            f"BDAY;value=date:{rnd.randint(1940, 2008)}-{rnd.randint(1, 12):02d}-{rnd.randint(1, 28):02d}"
        )
    elif roll < 0.2:
        lines.append(f"BDAY;X-APPLE-OMIT-YEAR=1604:1604-{rnd.randint(1, 12):02d}-{rnd.randint(1, 28):02d}")
    elif roll < 0.25:
        lines.append(f"BDAY:--{rnd.randint(1, 12):02d}{rnd.randint(1, 28):02d}")
    if rnd.random() < 0.15:
        lines.append(f"NOTE:{rnd.choice(NOTES)}")
    if rnd.random() < 0.3:
        lines.append(f"CATEGORIES:{','.join(rnd.sample(CATEGORIES, rnd.randint(1, 2)))}")
    if rnd.random() < 0.05:
        lines.append(f"PHOTO;ENCODING=b;TYPE=JPEG:{_PHOTO}")
    lines.append(f"UID:{uuid.UUID(int=rnd.getrandbits(128), version=4)}")
    lines.append(f"REV:2024-{rnd.randint(1, 12):02d}-{rnd.randint(1, 28):02d}T10:00:00Z")
    lines.append("END:VCARD")
    return "".join(f"{folded}\r\n" for line in lines for folded in _fold(line))


def cards(count: int, seed: int = 1) -> Iterator[str]:
    """``count`` cards from ``seed``; the same arguments always give the same cards."""
    rnd = random.Random(seed)
    for index in range(count):
        yield card(rnd, index)


def write(path: Path, count: int, seed: int = 1) -> Path:
    """Write ``count`` cards to ``path`` (UTF-8, CRLF) and return the path."""
    with path.open("w", encoding="utf-8", newline="") as out:
        for text in cards(count, seed):
            out.write(text)
    return path


def main(argv: list[str] | None = None) -> int:
    """Command line: ``generate.py COUNT OUT.vcf [--seed N]``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("count", type=int)
    parser.add_argument("out", type=Path)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    write(args.out, args.count, args.seed)
    return 0


if __name__ == "__main__":
    sys.exit(main())
