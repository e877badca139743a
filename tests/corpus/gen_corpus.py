#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Labelled corpus for Rempart's detectors.

Writes DIR/doc_NNNN.txt (French clinician prompts) and DIR/doc_NNNN.json (the same kind of prompt
wrapped in a genAI chat request, JSON-escaped: accents become \\u00e9, NBSP \\u00a0, newlines \\n)
and, one document in eight, a patient record as a business application uploads it (JSON with
lower-case field names, ids, timestamps and order numbers around each identifier);
and DIR/labels.jsonl: one {"file", "detector", "offset", "length"} per planted identifier, with
byte offsets in the file. Documents also carry look-alikes that must not be reported: NIRs with a
wrong key, SIREN/SIRET numbers, phone numbers, order numbers, dates, amounts, and the hard ones:
numbers that pass a checksum by construction but stand where no keyword says what they are
(a file number that is Luhn-valid like a FINESS), identifiers one digit off (IBAN, card, DEA).
Positives include the awkward forms clinicians' text has: a keyword a few sentences before the
value, a NIR glued to the next word after a lost line break, a tab or a colon before it.

Deterministic: the same seed gives the same bytes. Standard library only.
"""
import argparse
import json
import os
import random

NBSP = "\u00a0"
NNBSP = "\u202f"


def luhn_check_digit(body):
    total = 0
    for i, ch in enumerate(reversed(body)):
        d = int(ch)
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return str((10 - total % 10) % 10)


def luhn_number(rng, prefix, length):
    body = prefix + "".join(rng.choice("0123456789") for _ in range(length - len(prefix) - 1))
    return body + luhn_check_digit(body)


def nir_parts(rng, corsica=False):
    sex = rng.choice("12")
    year = "%02d" % rng.randrange(0, 100)
    month = "%02d" % rng.randrange(1, 13)
    if corsica:
        dept = rng.choice(["2A", "2B"])
    else:
        dept = "%02d" % rng.choice([d for d in range(1, 96) if d != 20])
    commune = "%03d" % rng.randrange(1, 990)
    order = "%03d" % rng.randrange(1, 1000)
    body = sex + year + month + dept + commune + order
    num = int(body.replace("2A", "19").replace("2B", "18"))
    key = 97 - num % 97
    return [sex, year, month, dept, commune, order, "%02d" % key]


def fmt_groups(rng, groups, json_doc):
    seps = ["", " ", " ", ".", "-", NBSP, NNBSP]
    sep = rng.choice(seps)
    return sep.join(groups)


def make_nir(rng, json_doc, wrong_key=False):
    parts = nir_parts(rng, corsica=rng.random() < 0.1)
    if wrong_key:
        k = int(parts[6])  # 1..97: any other value in 1..97 is wrong
        parts[6] = "%02d" % ((k - 1 + rng.randrange(1, 97)) % 97 + 1)
    return fmt_groups(rng, parts, json_doc)


def mod97_iban(country, bban):
    s = bban + country + "00"
    num = "".join(str(int(c, 36)) for c in s)
    check = 98 - int(num) % 97
    return "%s%02d%s" % (country, check, bban)


IBAN_LAYOUT = {"FR": ("n5n5c11n2"), "DE": "n18", "BE": "n12", "ES": "n20", "IT": "a1n10c12", "GB": "a4n14",
               "NL": "a4n10"}


def make_iban(rng):
    country = rng.choice(list(IBAN_LAYOUT))
    layout = IBAN_LAYOUT[country]
    bban = ""
    i = 0
    while i < len(layout):
        kind = layout[i]
        j = i + 1
        while j < len(layout) and layout[j].isdigit():
            j += 1
        n = int(layout[i + 1:j])
        alphabet = {"n": "0123456789", "a": "ABCDEFGHIJKLMNOPQRSTUVWXYZ",
                    "c": "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"}[kind]
        bban += "".join(rng.choice(alphabet) for _ in range(n))
        i = j
    iban = mod97_iban(country, bban)
    if rng.random() < 0.6:
        return " ".join(iban[k:k + 4] for k in range(0, len(iban), 4))
    return iban


def make_card(rng):
    kind = rng.choice(["visa", "mc", "amex", "visa"])
    if kind == "visa":
        num = luhn_number(rng, "4", 16)
    elif kind == "mc":
        num = luhn_number(rng, str(rng.randrange(51, 56)), 16)
    else:
        num = luhn_number(rng, rng.choice(["34", "37"]), 15)
    if rng.random() < 0.7:
        if len(num) == 15:
            return "%s %s %s" % (num[:4], num[4:10], num[10:])
        return " ".join(num[k:k + 4] for k in range(0, 16, 4))
    return num


def make_npi(rng):
    body = rng.choice("12") + "".join(rng.choice("0123456789") for _ in range(8))
    return body + luhn_check_digit("80840" + body)


def make_dea(rng):
    first = rng.choice("ABFGMPR")
    second = rng.choice("ABCDEFGHJKLMNPRSTWXYZ")
    d = [rng.randrange(10) for _ in range(6)]
    check = (d[0] + d[2] + d[4] + 2 * (d[1] + d[3] + d[5])) % 10
    return first + second + "".join(map(str, d)) + str(check)


def make_ssn(rng):
    while True:
        area = rng.randrange(1, 900)
        if area != 666:
            break
    return "%03d-%02d-%04d" % (area, rng.randrange(1, 100), rng.randrange(1, 10000))


def make_siren(rng):
    return luhn_number(rng, str(rng.randrange(1, 10)), 9)


def make_siret(rng):
    siren = make_siren(rng)
    return luhn_number(rng, siren, 14)


NAMES = ["Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand", "Leroy", "Moreau",
         "Simon", "Laurent", "Lefèvre", "Michel", "Garcia", "Roux", "Fournier", "Girard", "Lambert", "Bonnet"]
FIRST = ["Marie", "Jean", "Françoise", "Élodie", "Noël", "Hélène", "Loïc", "Chloé", "Jérôme", "Anaïs"]
REASONS = ["une décompensation cardiaque", "une pneumopathie", "une fracture du col du fémur",
           "un AVC ischémique", "une insuffisance rénale aiguë", "un diabète déséquilibré",
           "une chirurgie programmée", "un bilan d'anémie"]
FILLER = [
    "Peux-tu rédiger un courrier de sortie clair et synthétique ?",
    "Merci de reformuler en langage simple pour la famille.",
    "Le patient rentre à domicile avec un suivi par son médecin.",
    "Résume les antécédents et le traitement de sortie.",
    "Vérifie l'orthographe et garde un ton professionnel.",
    "Rendez-vous de contrôle dans trois semaines avec bilan biologique.",
    "Il faudra prévoir une kinésithérapie à domicile.",
    "La tension est stable, pas de fièvre depuis 48 heures.",
]

# (detector, context sentence template with {v}); the label covers {v} only
POSITIVE = {
    "fr_nir": ["Son numéro de sécurité sociale est {v}.", "NIR : {v}", "Patient {name}, n° sécu {v}, né en {year}.",
               "INS-NIR {v} (matricule INS)", "{v} est le NIR du patient.", "NIR\t{v}",
               "Assuré : {name}\nN° SS : {v}POSTE 2231", "Voici son numéro de sécurité sociale, à recopier sur "
               "le bon de transport et sur la demande d'entente préalable : {v}"],
    "iban": ["Remboursement par virement sur l'IBAN {v} svp.", "IBAN du patient : {v}",
             "Coordonnées bancaires {v} pour la mutuelle."],
    "credit_card": ["Il a payé le dépassement avec la carte {v}.", "Carte bancaire n° {v} (exp 12/27)",
                    "card number {v}"],
    "fr_rpps": ["Médecin prescripteur : Dr {name}, RPPS {v}.", "n° RPPS du praticien : {v}"],
    "fr_finess": ["Établissement FINESS {v}, service de cardiologie.", "FINESS juridique : {v}",
                  "Le numéro FINESS de l'établissement d'origine, à indiquer sur le bulletin de situation, est {v}."],
    "us_npi": ["Referring provider NPI {v}.", "NPI: {v}"],
    "us_dea": ["Prescriber DEA number {v}.", "DEA {v}"],
    "us_ssn": ["Patient SSN {v} on the claim.", "SSN: {v}"],
}
MAKERS = {
    "fr_nir": lambda rng, j: make_nir(rng, j),
    "iban": lambda rng, j: make_iban(rng),
    "credit_card": lambda rng, j: make_card(rng),
    "fr_rpps": lambda rng, j: luhn_number(rng, "10", 11),
    "fr_finess": lambda rng, j: luhn_number(rng, str(rng.randrange(1, 10)), 9),
    "us_npi": lambda rng, j: make_npi(rng),
    "us_dea": lambda rng, j: make_dea(rng),
    "us_ssn": lambda rng, j: make_ssn(rng),
}


def one_digit_off(rng, value):
    """The same identifier with one digit changed: its checksum fails."""
    pos = [i for i, ch in enumerate(value) if ch.isdigit()]
    i = rng.choice(pos[1:])
    return value[:i] + str((int(value[i]) + rng.randrange(1, 10)) % 10) + value[i + 1:]


def hard_lookalike(rng, json_doc):
    """Numbers that pass a checksum, where nothing says they are health identifiers, and
    identifiers whose checksum fails."""
    kind = rng.randrange(8)
    if kind == 0:
        return "Numéro de dossier %s, à rappeler dans la réponse." % luhn_number(rng, str(rng.randrange(1, 10)), 9)
    if kind == 1:
        return "Référence du lot %s (traçabilité pharmacie)." % luhn_number(rng, "10", 11)
    if kind == 2:
        return "Ticket d'incident %s ouvert auprès du support." % make_npi(rng)
    if kind == 3:
        iban = make_iban(rng).replace(" ", "")
        bad = one_digit_off(rng, iban[4:])
        return "Ancien IBAN (erroné) : %s%s." % (iban[:4], bad)
    if kind == 4:
        return "Carte refusée : %s." % one_digit_off(rng, luhn_number(rng, "4", 16))
    if kind == 5:
        dea = make_dea(rng)
        while True:
            # the DEA check digit misses some changes (+5 on a doubled digit): keep a failing one
            digits = one_digit_off(rng, dea[2:])
            d = [int(ch) for ch in digits]
            if (d[0] + d[2] + d[4] + 2 * (d[1] + d[3] + d[5])) % 10 != d[6]:
                break
        return "DEA number %s%s (typo)." % (dea[:2], digits)
    if kind == 6:
        return "SSN %03d-%02d-%04d (invalid area)." % (rng.choice([0, 666, 900 + rng.randrange(100)]),
                                                      rng.randrange(1, 100), rng.randrange(1, 10000))
    return "Le code d'accès au portail est %s." % luhn_number(rng, str(rng.randrange(1, 10)), 12)


def lookalike(rng, json_doc):
    if rng.random() < 0.5:
        return hard_lookalike(rng, json_doc)
    kind = rng.randrange(8)
    if kind == 0:
        return "Attention, l'ancien numéro %s était erroné." % make_nir(rng, json_doc, wrong_key=True)
    if kind == 1:
        s = make_siret(rng)
        return "SIRET de la clinique : %s %s %s %s." % (s[:3], s[3:6], s[6:9], s[9:])
    if kind == 2:
        s = make_siren(rng)
        return "SIREN %s %s %s (société de transport)." % (s[:3], s[3:6], s[6:])
    if kind == 3:
        d = "0" + rng.choice("1234567") + "".join(rng.choice("0123456789") for _ in range(8))
        if rng.random() < 0.5:
            return "Joindre la fille au %s." % " ".join(d[k:k + 2] for k in range(0, 10, 2))
        return "Tél. +33 %s %s" % (d[1], " ".join(d[k:k + 2] for k in range(2, 10, 2)))
    if kind == 4:
        n = "".join(rng.choice("0123456789") for _ in range(rng.choice([8, 10, 12, 16])))
        return "Commande n° %s expédiée, suivi colis en cours." % n
    if kind == 5:
        return "Rendez-vous le %02d/%02d/20%02d à 14h." % (rng.randrange(1, 29), rng.randrange(1, 13), rng.randrange(24, 27))
    if kind == 6:
        return "Montant facturé : %d %03d,%02d EUR." % (rng.randrange(1, 999), rng.randrange(0, 1000), rng.randrange(100))
    return "Version du logiciel 4.%d.%d, build %d." % (rng.randrange(10), rng.randrange(100), rng.randrange(10**6, 10**7))


def build_doc(rng, json_doc):
    """List of (text, detector or None) pieces."""
    pieces = []
    pieces.append(("Bonjour,\n", None))
    pieces.append(("%s %s, %d ans, hospitalisé(e) pour %s.\n" % (
        rng.choice(FIRST), rng.choice(NAMES), rng.randrange(18, 99), rng.choice(REASONS)), None))
    for _ in range(rng.randrange(1, 4)):
        det = rng.choice(list(POSITIVE))
        tpl = rng.choice(POSITIVE[det])
        value = MAKERS[det](rng, json_doc)
        before, after = tpl.split("{v}")
        fill = {"name": rng.choice(NAMES), "year": str(rng.randrange(1930, 2005))}
        pieces.append((before.format(**fill), None))
        pieces.append((value, det))
        pieces.append((after.format(**fill) + "\n", None))
        # filler keeps unrelated identifiers apart (context window is 300 bytes)
        pieces.append((" ".join(rng.choice(FILLER) for _ in range(rng.randrange(4, 8))) + "\n", None))
    for _ in range(rng.randrange(1, 4)):
        pieces.append((lookalike(rng, json_doc) + "\n", None))
        pieces.append((" ".join(rng.choice(FILLER) for _ in range(rng.randrange(4, 8))) + "\n", None))
    pieces.append(("Merci !", None))
    return pieces


# A patient record as a business application uploads it: lower-case JSON field names, ids,
# timestamps, user agents and order numbers around each identifier.
RECORD_FIELD = {"fr_nir": "nir", "fr_rpps": "rpps", "us_npi": "npi", "iban": "iban", "fr_finess": "finess",
                "us_ssn": "ssn"}


def uuid(rng):
    h = "%032x" % rng.getrandbits(128)
    return "%s-%s-4%s-a%s-%s" % (h[:8], h[8:12], h[13:16], h[17:20], h[20:])


def iso_time(rng):
    return "2026-%02d-%02dT%02d:%02d:%02d.%03dZ" % (rng.randrange(1, 13), rng.randrange(1, 29), rng.randrange(1, 22),
                                                   rng.randrange(60), rng.randrange(60), rng.randrange(1000))


def build_record(rng):
    """List of (text, detector or None) pieces: a JSON array of records. The birth date is stored
    as a date-time at midnight (labelled: its date part), the record's own times are not."""
    pieces = [('{"records":[', None)]
    for k in range(rng.randrange(1, 4)):
        det = rng.choice(list(RECORD_FIELD))
        value = MAKERS[det](rng, True) if det != "fr_nir" else "".join(nir_parts(rng))
        birth = "%d-%02d-%02d" % (rng.randrange(1930, 2020), rng.randrange(1, 13), rng.randrange(1, 29))
        pieces.append(('%s{"id":"%s","createdAt":"%s","updatedBy":"%s","patient":{"nom":"%s","prenom":"%s",'
                       '"dateNaissance":"' % (
                           "," if k else "", uuid(rng), iso_time(rng), uuid(rng), json.dumps(rng.choice(NAMES))[1:-1],
                           json.dumps(rng.choice(FIRST))[1:-1]), None))
        pieces.append((birth, "date_of_birth"))
        pieces.append(('T00:00:00"},"%s":"' % RECORD_FIELD[det], None))
        pieces.append((value, det))
        pieces.append(('","orderId":"%08d","ts":%d,"items":%d,"ua":"Mozilla/5.0 (X11; Linux x86_64; rv:128.0) '
                       'Gecko/20100101 Firefox/128.0"}' % (
                           rng.randrange(10**8), 1790000000000 + rng.randrange(10**10), rng.randrange(1, 40)), None))
    pieces.append(("]}\n", None))
    return pieces


def encode(pieces, json_doc):
    out = b""
    labels = []
    if json_doc:
        out += b'{"model":"gpt-4o","messages":[{"role":"system","content":"Tu es un assistant m\\u00e9dical."},' \
               b'{"role":"user","content":"'
    for text, det in pieces:
        data = json.dumps(text, ensure_ascii=True)[1:-1].encode() if json_doc else text.encode()
        if det:
            labels.append((det, len(out), len(data)))
        out += data
    if json_doc:
        out += b'"}],"stream":true}'
    return out, labels


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("outdir")
    ap.add_argument("--docs", type=int, default=600)
    ap.add_argument("--seed", type=int, default=20260101)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    os.makedirs(args.outdir, exist_ok=True)
    with open(os.path.join(args.outdir, "labels.jsonl"), "w") as lf:
        for i in range(args.docs):
            json_doc = i % 2 == 1
            name = os.path.join(args.outdir, "doc_%04d.%s" % (i, "json" if json_doc else "txt"))
            if i % 8 == 7:
                data, labels = encode(build_record(rng), False)
            else:
                data, labels = encode(build_doc(rng, json_doc), json_doc)
            with open(name, "wb") as f:
                f.write(data)
            for det, off, length in labels:
                lf.write(json.dumps({"file": name, "detector": det, "offset": off, "length": length}) + "\n")


if __name__ == "__main__":
    main()
