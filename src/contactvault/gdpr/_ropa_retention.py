"""The time limits for erasure (Art. 30(1)(f)) as the vault's stored retention schedule states them.

When the vault holds a retention schedule (``Vault.retention_schedule``), the record of processing lists
it, rule by rule (which contacts, the condition, the period, the action) and purpose by purpose (what a
still needed purpose keeps, for how long), instead of the config's free-text period.
"""

from __future__ import annotations

from contactvault.gdpr._ropa_parts import Statement
from contactvault.retention import PurposeNeeds, Rule, Schedule

__all__ = ["schedule_statements"]


def _fields(names: tuple[str, ...]) -> str:
    return ", ".join(names)


def _contacts(rule: Rule) -> tuple[str, str]:
    """Which contacts the rule selects, in English and German."""
    selector = rule.contacts
    en: list[str] = []
    de: list[str] = []
    if selector.no_basis is True:
        en.append("without a legal basis for any purpose")
        de.append("ohne Rechtsgrundlage für irgendeinen Zweck")
    elif selector.no_basis is False:
        en.append("with a legal basis for some purpose")
        de.append("mit einer Rechtsgrundlage für einen Zweck")
    if selector.no_basis_for is not None:
        en.append(f"without a legal basis for the purpose {selector.no_basis_for}")
        de.append(f"ohne Rechtsgrundlage für den Zweck {selector.no_basis_for}")
    if selector.label is not None:
        en.append(f"labelled {selector.label!r}")
        de.append(f"mit dem Label {selector.label!r}")
    if selector.restricted:
        en.append("whose processing is restricted (Art. 18)")
        de.append("deren Verarbeitung eingeschränkt ist (Art. 18)")
    if not selector.restricted:
        en.append("except those whose processing is restricted")
        de.append("außer solchen, deren Verarbeitung eingeschränkt ist")
    return "Contacts " + ", ".join(en), "Kontakte " + ", ".join(de)


def _rule(rule: Rule) -> Statement:
    who_en, who_de = _contacts(rule)
    months = rule.inactive_months
    if rule.action == "erase":
        what_en, what_de = "are erased (crypto-shredded)", "werden gelöscht (Krypto-Löschung)"
    else:
        kept = _fields(("name", *rule.keep))
        what_en = f"are reduced to their {kept}; every other field is erased (crypto-shredded)"
        what_de = f"werden auf {kept} reduziert; alle anderen Felder werden gelöscht (Krypto-Löschung)"
    return Statement(
        "retention_rule",
        f"Rule {rule.name}: {who_en} {what_en} after {months} months without activity.",
        f"Regel {rule.name}: {who_de} {what_de} nach {months} Monaten ohne Aktivität.",
        {
            "rule": rule.name,
            "action": rule.action,
            "inactive_months": months,
            "no_basis": rule.contacts.no_basis,
            "no_basis_for": rule.contacts.no_basis_for,
            "label": rule.contacts.label,
            "restricted": rule.contacts.restricted,
            "keep": tuple(rule.keep),
        },
    )


def _purpose(purpose: str, needs: PurposeNeeds) -> Statement:
    en = f"While a legal basis for {purpose} holds, its contacts are not erased and keep: name"
    de = (
        f"Solange eine Rechtsgrundlage für {purpose} besteht, werden ihre Kontakte nicht gelöscht und "
        "behalten: Name"
    )
    if needs.needs:
        en += ", " + _fields(needs.needs)
        de += ", " + _fields(needs.needs)
    if needs.needed_months is not None:
        en += f"; for at most {needs.needed_months} months after the last activity"
        de += f"; höchstens {needs.needed_months} Monate nach der letzten Aktivität"
    if needs.consent_refresh_months is not None:
        en += f"; a consent counts {needs.consent_refresh_months} months"
        de += f"; eine Einwilligung gilt {needs.consent_refresh_months} Monate"
    return Statement(
        "retention_purpose",
        en + ".",
        de + ".",
        {
            "purpose": purpose,
            "needs": tuple(needs.needs),
            "needed_months": needs.needed_months,
            "consent_refresh_months": needs.consent_refresh_months,
        },
    )


def schedule_statements(schedule: Schedule) -> tuple[Statement, ...]:
    """The schedule as statements of Art. 30(1)(f): an introduction, each needed purpose, each rule."""
    intro = Statement(
        "retention_schedule",
        "Personal data are erased by the retention schedule stored in the vault (applied with "
        "`contactvault retention apply`, each step logged and receipted). Activity is the latest of the "
        "contact's creation, any change of its record, a consent given or withdrawn, a legal basis, an "
        "objection or a restriction recorded.",
        "Personenbezogene Daten werden nach dem im Tresor gespeicherten Aufbewahrungsplan gelöscht "
        "(ausgeführt mit `contactvault retention apply`, jeder Schritt protokolliert und quittiert). "
        "Aktivität ist das Späteste von: Anlage des Kontakts, jede Änderung seines Datensatzes, eine "
        "erteilte oder widerrufene Einwilligung, eine erfasste Rechtsgrundlage, ein Widerspruch oder eine "
        "Einschränkung.",
        {"schedule_digest": schedule.digest(), "rules": len(schedule.rules)},
    )
    purposes = tuple(_purpose(p, n) for p, n in schedule.purposes.items())
    return (intro, *purposes, *(_rule(rule) for rule in schedule.rules))
