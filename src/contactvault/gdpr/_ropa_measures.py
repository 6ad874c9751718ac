"""What the vault and the sync policy say for the record of processing: measures (g) and erasure (f).

Each technical measure is **derived from the vault's real settings** (`VaultSettings`, read from the
header and the open SQLite connection) or from the policy's rules, and names where it was read from; a
policy the record cannot describe, or one that checks no legal basis, is said to be so. The time limits
for erasure take the vault's stored retention schedule (:mod:`._ropa_retention`) or, without one, the
config's period; and the policy's consent refresh.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Final

from contactvault.crypto import KdfParams
from contactvault.gdpr._ropa_config import RopaConfig
from contactvault.gdpr._ropa_parts import Fact, Measure, Statement
from contactvault.gdpr._ropa_retention import schedule_statements
from contactvault.models import MessengerEntry
from contactvault.retention import Schedule
from contactvault.sync.policy import AllOf, AnyOf, MessengerPolicy, Policy, UnsafeAllowAllValidNumbers
from contactvault.vault import VaultSettings

__all__ = ["FROM_SETTINGS", "erasure_periods", "messenger_policies", "minimal_book", "policy_measures"]

# --- technical measures from the vault's settings -------------------------------------------------------

_SYNCHRONOUS: Final = {0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA"}


def _memory(kib: int) -> str:
    return f"{kib // 1024} MiB" if kib % 1024 == 0 else f"{kib} KiB"


def _plural(count: int, en: tuple[str, str], de: tuple[str, str]) -> tuple[str, str]:
    one = count == 1
    return f"{count} {en[0] if one else en[1]}", f"{count} {de[0] if one else de[1]}"


def _switch(s: VaultSettings, name: str, *, on: tuple[str, str], off: tuple[str, str]) -> Measure:
    """The measure named after a yes-or-no setting: its text (English, German) for on or off, its value."""
    value: bool = getattr(s, name)
    en, de = on if value else off
    return Measure(name, en, de, {name: value}, sources=(name,))


def _encryption(s: VaultSettings) -> Measure:
    return Measure(
        "encryption_at_rest",
        f"Encryption at rest: every contact record and every disclosure-log record is sealed with {s.cipher} "
        f"(authenticated encryption); the vault file (format version {s.format_version}) holds ciphertext "
        "and opaque ids only.",
        f"Verschlüsselung der gespeicherten Daten: Jeder Kontaktdatensatz und jeder Eintrag des "
        f"Offenlegungsprotokolls ist mit {s.cipher} versiegelt (authentifizierte Verschlüsselung); die "
        f"Tresordatei (Formatversion {s.format_version}) enthält nur Geheimtext und nicht sprechende IDs.",
        {"cipher": s.cipher, "format_version": s.format_version},
        sources=("cipher", "format_version"),
    )


def _kdf(s: VaultSettings) -> Measure:
    p = s.kdf_params
    default = KdfParams.default()
    weak = p.memory_kib < default.memory_kib or p.iterations < default.iterations
    iterations = _plural(p.iterations, ("iteration", "iterations"), ("Iteration", "Iterationen"))
    lanes = _plural(p.lanes, ("lane", "lanes"), ("Lane", "Lanes"))
    en = (
        f"Passphrase: the key that unlocks the vault is derived from the passphrase with {s.kdf} "
        f"({_memory(p.memory_kib)} of memory, {iterations[0]}, {lanes[0]}), as stored in this vault's "
        "header."
    )
    de = (
        f"Passphrase: Der Schlüssel, der den Tresor öffnet, wird mit {s.kdf} aus der Passphrase abgeleitet "
        f"({_memory(p.memory_kib)} Speicher, {iterations[1]}, {lanes[1]}), wie im Kopf dieses Tresors "
        "gespeichert."
    )
    if weak:
        en += (
            f" These parameters are weaker than the default ({_memory(default.memory_kib)}, "
            f"{default.iterations} iterations): change the passphrase with stronger ones."
        )
        de += (
            f" Diese Parameter sind schwächer als die Voreinstellung ({_memory(default.memory_kib)}, "
            f"{default.iterations} Iterationen): Passphrase mit stärkeren Parametern neu setzen."
        )
    facts: dict[str, Fact] = {
        "kdf": s.kdf,
        "memory_kib": p.memory_kib,
        "memory_mib": p.memory_kib / 1024,
        "iterations": p.iterations,
        "lanes": p.lanes,
        "weaker_than_default": weak,
    }
    return Measure("kdf", en, de, facts, sources=("kdf", "kdf_params"))


def _key_hierarchy(s: VaultSettings) -> Measure:
    return Measure(
        "key_hierarchy",
        f"Key hierarchy: {s.key_hierarchy}. Changing the passphrase re-wraps the master key only.",
        f"Schlüsselhierarchie: {s.key_hierarchy}. Eine neue Passphrase verpackt nur den Hauptschlüssel neu.",
        {"key_hierarchy": s.key_hierarchy},
        sources=("key_hierarchy",),
    )


def _per_contact_keys(s: VaultSettings) -> Measure:
    return _switch(
        s,
        "per_contact_keys",
        on=(
            "Per-contact keys: every contact is sealed under its own random data key; erasing a contact "
            "deletes that key (crypto-shredding), so no remaining copy of its records can be read again.",
            "Schlüssel je Kontakt: Jeder Kontakt ist mit einem eigenen zufälligen Datenschlüssel versiegelt; "
            "beim Löschen wird dieser Schlüssel vernichtet (Crypto-Shredding), sodass keine verbliebene "
            "Kopie seiner Datensätze mehr lesbar ist.",
        ),
        off=(
            "No per-contact keys: contacts share their keys, so erasure cannot crypto-shred; erased records "
            "are only deleted.",
            "Keine Schlüssel je Kontakt: Kontakte teilen ihre Schlüssel, daher ist kein Crypto-Shredding "
            "möglich; gelöschte Datensätze werden nur entfernt.",
        ),
    )


def _padding(s: VaultSettings) -> Measure:
    if s.padding.strip() and s.padding.strip().lower() != "none":
        en = (
            f"Length hiding: plaintexts are padded before sealing ({s.padding}), so the size of a record "
            "does not give away the length of its fields."
        )
        de = (
            f"Verschleierung der Länge: Klartexte werden vor dem Versiegeln aufgefüllt ({s.padding}), damit "
            "die Größe eines Datensatzes die Länge seiner Felder nicht verrät."
        )
    else:
        en = "No padding: the size of a sealed record follows the length of its fields."
        de = "Kein Auffüllen: Die Größe eines versiegelten Datensatzes folgt der Länge seiner Felder."
    return Measure("padding", en, de, {"padding": s.padding}, sources=("padding",))


def _secure_delete(s: VaultSettings) -> Measure:
    return _switch(
        s,
        "secure_delete",
        on=(
            "Secure delete is ON (as read from the open SQLite connection): SQLite overwrites deleted "
            "content, so erased records do not linger in free pages of the file.",
            "Sicheres Löschen ist EIN (aus der geöffneten SQLite-Verbindung gelesen): SQLite überschreibt "
            "gelöschte Inhalte, sodass gelöschte Datensätze nicht in freien Seiten der Datei verbleiben.",
        ),
        off=(
            "Secure delete is OFF (as read from the open SQLite connection): deleted content may remain in "
            "free pages of the file until they are reused.",
            "Sicheres Löschen ist AUS (aus der geöffneten SQLite-Verbindung gelesen): Gelöschte Inhalte "
            "können in freien Seiten der Datei verbleiben, bis diese wiederverwendet werden.",
        ),
    )


def _durability(s: VaultSettings) -> Measure:
    level = _SYNCHRONOUS.get(s.synchronous, str(s.synchronous))
    mode = s.journal_mode.upper()
    en = f"Crash safety: SQLite journal mode {mode}, synchronous {level} ({s.synchronous})"
    de = f"Absturzsicherheit: SQLite-Journalmodus {mode}, synchronous {level} ({s.synchronous})"
    if s.journal_mode == "wal" and s.synchronous >= 2:
        en += "; every commit is flushed to disk, so a crash leaves either the old or the new state."
        de += (
            "; jeder Commit wird auf die Platte geschrieben, ein Absturz hinterlässt den alten oder den "
            "neuen Stand."
        )
    else:
        en += "; a crash or power loss may lose the last changes."
        de += "; ein Absturz oder Stromausfall kann die letzten Änderungen verlieren."
    facts: dict[str, Fact] = {"journal_mode": s.journal_mode, "synchronous": s.synchronous}
    return Measure("durability", en, de, facts, sources=("journal_mode", "synchronous"))


def _serialised_writes(s: VaultSettings) -> Measure:
    where = "PostgreSQL" if s.backend == "postgresql" else "SQLite"
    if s.serialised_writes:
        en = (
            f"Concurrent use ({where}): several processes may use the vault at once; writes are "
            "serialised on its authenticated state, an update from a stale read is refused, and every "
            "export or sync is recorded in one hash chain."
        )
        de = (
            f"Gleichzeitige Nutzung ({where}): Mehrere Prozesse können den Tresor zugleich nutzen; "
            "Schreibvorgänge werden an seinem authentifizierten Zustand nacheinander ausgeführt, eine "
            "Änderung auf veraltetem Stand wird abgewiesen, und jede Ausgabe und Synchronisierung steht in "
            "einer Hash-Kette."
        )
    else:
        en = "Writes are not serialised: two writers at once could lose an update."
        de = (
            "Schreibvorgänge werden nicht nacheinander ausgeführt: Zwei Schreiber zugleich könnten eine "
            "Änderung verlieren."
        )
    facts: dict[str, Fact] = {"serialised_writes": s.serialised_writes, "backend": s.backend}
    return Measure("serialised_writes", en, de, facts, sources=("serialised_writes", "backend"))


def _integrity(s: VaultSettings) -> Measure:
    return Measure(
        "integrity",
        f"Integrity: in vault format version {s.format_version} a MAC covers the header (format version and "
        "KDF parameters) and an authenticated digest covers the set of rows, so tampering and deleted or "
        "rolled-back rows are detected; Vault.verify() checks every record.",
        f"Integrität: Im Tresorformat Version {s.format_version} sichert ein MAC den Kopf "
        "(Formatversion und KDF-Parameter) und eine authentifizierte Prüfsumme die Menge der Zeilen, sodass "
        "Manipulationen sowie gelöschte oder zurückgesetzte Zeilen erkannt werden; Vault.verify() prüft "
        "jeden Datensatz.",
        {"format_version": s.format_version},
        sources=("format_version",),
    )


def _disclosure_log(s: VaultSettings) -> Measure:
    records_en, records_de = _plural(s.disclosure_records, ("record", "records"), ("Eintrag", "Einträge"))
    if s.disclosure_log:
        en = (
            "Accountability (Art. 5(2)): every export and sync of the messenger book is recorded in an "
            "authenticated, hash-chained disclosure log inside the vault (keyed hashes, no names or "
            f"numbers); it holds {records_en}."
        )
        de = (
            "Rechenschaftspflicht (Art. 5 Abs. 2): Jeder Export und jede Synchronisierung des "
            "Messenger-Adressbuchs wird in einem authentifizierten, hashverketteten Offenlegungsprotokoll im "
            f"Tresor festgehalten (verschlüsselte Hashes, keine Namen oder Nummern); es enthält {records_de}."
        )
    else:
        en = f"No disclosure log: exports and syncs are not recorded ({records_en} held)."
        de = (
            "Kein Offenlegungsprotokoll: Exporte und Synchronisierungen werden nicht festgehalten "
            f"({records_de})."
        )
    facts: dict[str, Fact] = {"disclosure_log": s.disclosure_log, "disclosure_records": s.disclosure_records}
    return Measure("disclosure_log", en, de, facts, sources=("disclosure_log", "disclosure_records"))


def _recovery_key(s: VaultSettings) -> Measure:
    return _switch(
        s,
        "recovery_key",
        on=(
            "Recovery key: a second wrap of the master key lets a recovery key open the vault, so a lost "
            "passphrase does not mean lost data (availability, Art. 32(1)(c)); there is no other way in.",
            "Wiederherstellungsschlüssel: Eine zweite Verpackung des Hauptschlüssels erlaubt das Öffnen mit "
            "einem Wiederherstellungsschlüssel, sodass eine vergessene Passphrase nicht zum Datenverlust "
            "führt (Verfügbarkeit, Art. 32 Abs. 1 lit. c); einen anderen Zugang gibt es nicht.",
        ),
        off=(
            "No recovery key: only the passphrase opens the vault; if it is lost, the data is lost "
            "(keep backups of the vault file and of the passphrase in a safe place).",
            "Kein Wiederherstellungsschlüssel: Nur die Passphrase öffnet den Tresor; geht sie verloren, sind "
            "die Daten verloren (Sicherungen der Tresordatei und der Passphrase sicher aufbewahren).",
        ),
    )


def minimal_book() -> Measure:
    fields = tuple(MessengerEntry.model_fields)
    listed = ", ".join(fields)
    return Measure(
        "minimal_book",
        "Data minimisation (Art. 5(1)(c)): the messenger's address book is built from the directory "
        f"compartment only, and each of its entries holds exactly these fields: {listed}. No CRM value "
        "(e-mail, address, note, label, ...) can reach it.",
        "Datenminimierung (Art. 5 Abs. 1 lit. c): Das Adressbuch für den Messenger wird nur aus dem "
        f"Verzeichnisteil gebildet, und jeder Eintrag enthält genau diese Felder: {listed}. Kein CRM-Wert "
        "(E-Mail, Anschrift, Notiz, Label, ...) kann es erreichen.",
        {"entry_fields": fields},
        sources=("MessengerEntry",),
    )


FROM_SETTINGS: Final[tuple[Callable[[VaultSettings], Measure], ...]] = (
    _encryption,
    _kdf,
    _key_hierarchy,
    _per_contact_keys,
    _padding,
    _integrity,
    _secure_delete,
    _durability,
    _serialised_writes,
    _disclosure_log,
    _recovery_key,
)


# --- the policy ---------------------------------------------------------------------------------------


def messenger_policies(policy: Policy) -> Iterator[MessengerPolicy]:
    """Every `MessengerPolicy` in ``policy``, in order: itself, or the members of a combinator."""
    if isinstance(policy, MessengerPolicy):
        yield policy
    elif isinstance(policy, AllOf | AnyOf):
        for member in policy.policies:
            yield from messenger_policies(member)


def _days(span: timedelta | None) -> int | float | None:
    if span is None:
        return None
    days = span / timedelta(days=1)
    return int(days) if days.is_integer() else round(days, 3)


def _policy_rules(policy: MessengerPolicy) -> Measure:
    refresh = _days(policy.consent_refresh)
    max_age = _days(policy.messenger_max_age)
    labels = len(policy.excluded_labels)
    lines_en = "mobile numbers or landlines" if policy.admit_fixed_line else "mobile numbers"
    lines_de = "Mobil- oder Festnetznummern" if policy.admit_fixed_line else "Mobilnummern"
    checked_en = "" if max_age is None else f", checked within the last {max_age} days"
    checked_de = "" if max_age is None else f", geprüft in den letzten {max_age} Tagen"
    consent_en = (
        "A consent counts until it is withdrawn."
        if refresh is None
        else f"A consent counts for {refresh} days after it was given; then it must be renewed."
    )
    consent_de = (
        "Eine Einwilligung gilt bis zu ihrem Widerruf."
        if refresh is None
        else f"Eine Einwilligung gilt {refresh} Tage ab Erteilung; danach muss sie erneuert werden."
    )
    en = (
        f"Sync policy for purpose {policy.purpose!r}: a number reaches the messenger only with a consent for "
        "this purpose (or a contract or documented legitimate interest), while processing is not "
        "restricted and the contact has not objected, if the contact is not known to be younger than "
        f"{policy.minimum_age} years and carries no excluded label ({labels} set), and only for "
        f"{lines_en} known to use the messenger{checked_en}. {consent_en}"
    )
    de = (
        f"Synchronisierungsrichtlinie für den Zweck {policy.purpose!r}: Eine Nummer erreicht den Messenger "
        "nur mit einer Einwilligung für diesen Zweck (oder einem Vertrag oder dokumentierten berechtigten "
        "Interesse), solange die Verarbeitung nicht eingeschränkt ist und kein Widerspruch vorliegt, wenn "
        f"der Kontakt nicht bekanntermaßen jünger als {policy.minimum_age} Jahre ist und kein "
        f"ausgeschlossenes Label trägt ({labels} festgelegt), und nur für {lines_de}, die den Messenger "
        f"nutzen{checked_de}. "
        f"{consent_de}"
    )
    facts: dict[str, Fact] = {
        "purpose": policy.purpose,
        "minimum_age": policy.minimum_age,
        "excluded_labels": labels,
        "consent_refresh_days": refresh,
        "messenger_max_age_days": max_age,
        "admit_fixed_line": policy.admit_fixed_line,
        "digest": policy.digest(),
    }
    sources = tuple(
        f"policy.{name}"
        for name in (
            "purpose",
            "minimum_age",
            "excluded_labels",
            "consent_refresh",
            "messenger_max_age",
            "admit_fixed_line",
        )
    )
    return Measure("policy_rules", en, de, facts, sources=sources)


def policy_measures(policy: Policy | None) -> tuple[Measure, ...]:
    if policy is None:
        return ()
    kind = type(policy).__name__
    rules = tuple(_policy_rules(member) for member in messenger_policies(policy))
    if isinstance(policy, UnsafeAllowAllValidNumbers):
        warning = Measure(
            "policy_unsafe",
            "Warning: the sync policy UnsafeAllowAllValidNumbers checks no legal basis, consent, "
            "restriction, objection or age; every valid number reaches the messenger.",
            "Warnung: Die Synchronisierungsrichtlinie UnsafeAllowAllValidNumbers prüft weder Rechtsgrundlage "
            "noch Einwilligung, Einschränkung, Widerspruch oder Alter; jede gültige Nummer erreicht den "
            "Messenger.",
            {"policy": kind, "digest": policy.digest()},
            sources=("policy",),
        )
        return (warning,)
    if not rules:
        unknown = Measure(
            "policy_other",
            f"Sync policy {kind}: its rules are not described here; see its documentation.",
            f"Synchronisierungsrichtlinie {kind}: Ihre Regeln sind hier nicht beschrieben; siehe ihre "
            "Dokumentation.",
            {"policy": kind, "digest": policy.digest()},
            sources=("policy",),
        )
        return (unknown,)
    return rules


# --- (f) erasure -------------------------------------------------------------------------------------


def erasure_periods(
    config: RopaConfig,
    settings: VaultSettings,
    policy: Policy | None,
    schedule: Schedule | None = None,
) -> tuple[Statement, ...]:
    """The time limits for erasure: the stored retention ``schedule`` if there is one, else the config's."""
    days = config.erasure.days_after_relationship
    members = messenger_policies(policy) if policy is not None else iter(())
    refresh = [r for p in members if (r := _days(p.consent_refresh)) is not None]
    out = (
        list(schedule_statements(schedule))
        if schedule is not None
        else [
            Statement(
                "relationship_end",
                f"A contact is erased from the vault at most {days} days after the end of the customer "
                "relationship, or earlier on request (Art. 17).",
                f"Ein Kontakt wird spätestens {days} Tage nach Ende der Kundenbeziehung aus dem Tresor "
                "gelöscht, auf Verlangen früher (Art. 17).",
                {"days_after_relationship": days},
            )
        ]
    )
    expiry_en = "" if not refresh else f", a consent older than {min(refresh)} days"
    expiry_de = "" if not refresh else f", eine Einwilligung älter als {min(refresh)} Tage"
    out.append(
        Statement(
            "messenger_removal",
            f"When the legal basis ends (a consent withdrawn{expiry_en}, a restriction or an objection), the "
            "contact is left out of the next messenger book, and the next sync removes the number from the "
            "company phone; the copy the messenger provider holds is deleted by deleting the chat and the "
            "contact in the messenger app.",
            f"Endet die Rechtsgrundlage (Widerruf einer Einwilligung{expiry_de}, Einschränkung oder "
            "Widerspruch), fehlt der Kontakt im nächsten Messenger-Adressbuch, und die nächste "
            "Synchronisierung entfernt die Nummer vom Firmentelefon; die Kopie beim Messenger-Anbieter wird "
            "durch Löschen des Chats und des Kontakts in der Messenger-App gelöscht.",
            {"consent_refresh_days": min(refresh) if refresh else None},
        )
    )
    retention = config.erasure.statutory_retention
    if retention is not None and schedule is None:
        out.append(Statement("statutory_retention", retention, retention, {}))
    out.append(
        Statement(
            "tombstone",
            "An erased contact leaves only a sealed tombstone (its random id, the time of erasure and a "
            "version number), no personal data.",
            "Ein gelöschter Kontakt hinterlässt nur einen versiegelten Löschvermerk (seine zufällige ID, den "
            "Löschzeitpunkt und eine Versionsnummer), keine personenbezogenen Daten.",
        )
    )
    if settings.disclosure_log:
        out.append(
            Statement(
                "disclosure_log",
                "The disclosure log is kept as long as the vault, as proof of what was disclosed "
                "(Art. 5(2)); it holds keyed hashes only, which cannot be linked to an erased contact.",
                "Das Offenlegungsprotokoll wird so lange wie der Tresor aufbewahrt, als Nachweis der "
                "Offenlegungen (Art. 5 Abs. 2); es enthält nur verschlüsselte Hashes, die sich keinem "
                "gelöschten Kontakt zuordnen lassen.",
            )
        )
    return tuple(out)
