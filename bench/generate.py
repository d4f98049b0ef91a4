"""Fill a PostgreSQL database with tier-M data: the real directory, one consultation, 15,000 proposals.

    createdb -h 127.0.0.1 -U postgres agora_bench
    DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/agora_bench \\
        .venv/bin/python bench/generate.py [--proposals 15000 --comments 50000 --supports 200000 --seed 1]

Migrates the database, imports the ~36,000 collectivities, creates the demo consultation (support
phase open), a few thousand users with verified memberships, then proposals whose French text
recombines the demo proposals (app/demo_proposals.json), their versions, themes, territories,
co-sponsors, need-service links, comments and supports (`--supports` rows in all, a long tail over the
published and withdrawn proposals, each cast as the rules allow: by a verified elected official of an
organization of an eligible kind, once per organization and proposal, never for its own or co-sponsored
ones, within the support window), with bulk inserts, then the quotas and support counts those rows make;
then queues the text vector of every proposal and runs the jobs as the worker does (`flask --app wsgi jobs
run`), which embeds each one and writes its nearest neighbours; prints the time of each step.
"""

import argparse
import itertools
import json
import os
import random
import re
import sys
import time
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # importing app needs config.py, which lives beside it

import numpy as np  # noqa: E402
import sqlalchemy as sa  # noqa: E402
from sqlalchemy import insert  # noqa: E402

DEMO_PROPOSALS = ROOT / "app" / "demo_proposals.json"
EMAIL_DOMAIN = "bench.agora.example.org"


@contextmanager
def step(name: str, timings: list):
    print(f"{name}…", end=" ", flush=True)
    start = time.perf_counter()
    yield
    seconds = time.perf_counter() - start
    timings.append((name, seconds))
    print(f"{seconds:.1f} s", flush=True)


def migrate() -> None:
    from alembic import command
    from alembic.config import Config

    config = Config(str(ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(ROOT / "migrations"))
    command.upgrade(config, "head")


# ---------------------------------------------------------------------------------------------
# Text: the demo proposals, cut into titles, paragraphs and sentences, put back together with
# variations so that every proposal differs while search words and themes stay meaningful.
# ---------------------------------------------------------------------------------------------

SYNONYMS = [
    ("habitants", "administrés"), ("agents", "personnels"), ("outil", "logiciel"), ("mairie", "hôtel de ville"),
    ("plateforme", "solution en ligne"), ("communes", "collectivités"), ("élus", "conseillers municipaux"),
    ("aujourd'hui", "à ce jour"), ("besoin", "nécessité"), ("mutualisé", "partagé"),
    ("tableur", "fichier Excel"), ("prestataire", "fournisseur"), ("gratuit", "sans coût"),
]

TITLE_SUFFIXES = [
    " dans une commune de moins de {small} habitants", " à l'échelle de l'intercommunalité",
    " pour les {n} communes du territoire", " : retour d'expérience de {place}", " ({place})",
    " en zone rurale", " dans les quartiers prioritaires", " pour les petites mairies",
    " avec les communes voisines", " sans recruter", " à moindre coût", " d'ici la prochaine rentrée",
    " : où en sont les autres collectivités ?", " — {place}", " pour nos {n} agents",
]
TITLE_PREFIXES = [
    "", "", "", "", "", "Besoin urgent : ", "{place} : ", "Mutualiser : ", "Petites communes : ",
    "Proposition : ", "Intercommunalité : ",
]
CONTEXT_SENTENCES = [
    "Notre collectivité, {place}, compte {population} habitants et {agents} agents.",
    "À {place}, la question se pose depuis {years} ans sans qu'une solution satisfaisante ait été trouvée.",
    "Le sujet a été abordé en conseil {council} à plusieurs reprises.",
    "Nous en avons parlé avec les communes voisines : toutes rencontrent la même difficulté.",
    "Le budget consacré au numérique représente moins de {percent} % de notre budget de fonctionnement.",
    "Un agent consacre environ {hours} heures par semaine à cette tâche.",
    "Les retours des habitants lors de la dernière réunion publique vont dans le même sens.",
    "Nous avons sollicité le centre de gestion, qui n'a pas d'offre adaptée à ce jour.",
    "La situation s'est aggravée depuis le départ en retraite de la personne qui connaissait le dossier.",
    "Nous sommes prêts à partager nos données et notre expérience avec d'autres collectivités.",
]
COUNCILS = ["municipal", "communautaire", "départemental", "régional"]


def _vary(text: str, rng: random.Random, rate: float = 0.3) -> str:
    for word, other in SYNONYMS:
        if word in text and rng.random() < rate:
            text = re.sub(rf"\b{re.escape(word)}\b", other, text, count=1)
    return text


def _fill(template: str, rng: random.Random, organization: dict) -> str:
    population = organization["population"] or rng.randint(200, 90_000)
    return template.format(
        place=organization["name"], small=rng.choice(["500", "1 000", "2 000", "3 500"]),
        n=rng.randint(5, 160), population=f"{population:,}".replace(",", " "),
        agents=rng.randint(2, 900), years=rng.randint(2, 12), council=rng.choice(COUNCILS),
        percent=rng.randint(1, 6), hours=rng.randint(2, 20))


def _paragraphs(body: str) -> list[str]:
    return [part for part in body.split("\n\n") if part.strip()]


class Writer:
    """Recombines the demo proposals into new ones of the same kind and theme."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        self.demo = json.loads(DEMO_PROPOSALS.read_text(encoding="utf-8"))
        self.by_kind = {kind: [p for p in self.demo if p["kind"] == kind] for kind in ("need", "service")}
        self.by_theme: dict[str, list[dict]] = {}
        for proposal in self.demo:
            for theme in proposal["themes"]:
                self.by_theme.setdefault(theme, []).append(proposal)

    def title(self, base: dict, organization: dict) -> str:
        rng = self.rng
        title = _vary(base["title"], rng, 0.4)
        if rng.random() < 0.15:  # two problems of the same theme, as people often write them
            other = rng.choice([p for p in self.by_theme[base["themes"][0]] if p["kind"] == base["kind"]])["title"]
            title = f"{title} et {other[0].lower()}{other[1:]}"
        prefix = _fill(rng.choice(TITLE_PREFIXES), rng, organization)
        suffix = _fill(rng.choice(TITLE_SUFFIXES), rng, organization) if rng.random() < 0.6 else ""
        title = f"{prefix}{title[0].lower() if prefix else title[0]}{title[1:]}{suffix}"
        return title if len(title) <= 150 else title[:147].rsplit(" ", 1)[0] + "…"

    def summary(self, base: dict, organization: dict) -> str:
        summary = _vary(base["summary"], self.rng)
        if self.rng.random() < 0.3:
            summary = f"{_fill(self.rng.choice(CONTEXT_SENTENCES), self.rng, organization)} {summary}"
        return summary if len(summary) <= 500 else summary[:497].rsplit(" ", 1)[0] + "…"

    def body(self, base: dict, organization: dict) -> str:
        rng = self.rng
        paragraphs = [_vary(part, rng) for part in _paragraphs(base["body"])]
        if len(paragraphs) > 3 and rng.random() < 0.3:
            del paragraphs[rng.randrange(1, len(paragraphs))]
        neighbours = self.by_theme[rng.choice(base["themes"])]
        for _ in range(rng.choice([0, 1, 1, 2])):  # borrow a paragraph from a proposal of the same theme
            other = _paragraphs(rng.choice(neighbours)["body"])
            paragraphs.insert(rng.randint(1, len(paragraphs)), _vary(rng.choice(other), rng))
        context = " ".join(_fill(sentence, rng, organization)
                           for sentence in rng.sample(CONTEXT_SENTENCES, rng.randint(1, 3)))
        paragraphs.insert(0 if rng.random() < 0.5 else len(paragraphs), context)
        return "\n\n".join(paragraphs)[:20_000]

    def need_fields(self, base: dict) -> dict:
        rng = self.rng
        donor = base if rng.random() < 0.7 else rng.choice(self.by_kind["need"])
        return {"problem": _vary(donor.get("problem") or base["summary"], rng),
                "affected": _vary(donor["affected"], rng) if donor.get("affected") else None,
                "workaround": _vary(donor["workaround"], rng) if donor.get("workaround") else None}

    def service_fields(self, base: dict, organization: dict) -> dict:
        rng = self.rng
        budget = base.get("requested_budget_euros")
        slug = re.sub(r"[^a-z0-9]+", "-", organization["search_name"]).strip("-")
        return {"maturity": base.get("maturity") or rng.choice(["idea", "prototype", "production"]),
                "licence": base.get("licence") or rng.choice(["AGPL-3.0", "EUPL-1.2", "MIT", None]),
                "repository_url": (f"https://forge.example.org/{slug}/{rng.choice(['app', 'service', 'outil'])}"
                                   if base.get("repository_url") or rng.random() < 0.3 else None),
                "carrier": base.get("carrier") or rng.choice(["public", "private", "association"]),
                "deployments": max(0, int((base.get("deployments") or 3) * rng.uniform(0.3, 2.5))),
                "requested_budget_cents": (int(budget * rng.uniform(0.4, 2.0)) // 1000 * 1000 * 100
                                           if budget else rng.randint(1, 60) * 5_000_00)}


COMMENT_OPENINGS = [
    "Même constat chez nous à {place}.", "Merci pour cette proposition très claire.",
    "Nous avons exactement le même problème.", "Bonne idée, mais attention au coût de maintenance.",
    "Nous soutenons cette démarche.", "Question pratique :", "Retour d'expérience de {place} :",
    "Intéressant.", "Je rejoins les remarques précédentes.", "Pour compléter :",
    "Nous avons testé une solution proche l'an dernier.", "D'accord sur le constat, moins sur la solution.",
]
COMMENT_MIDDLES = [
    "Notre secrétaire de mairie y passe plusieurs heures par semaine.",
    "Le prestataire nous a annoncé une hausse de tarif de {percent} % cette année.",
    "Il faudrait que l'outil fonctionne aussi sans connexion, notre couverture réseau est mauvaise.",
    "L'intercommunalité pourrait porter le projet pour toutes les communes membres.",
    "Avez-vous prévu une formation pour les agents ?",
    "Les données doivent rester hébergées en France.",
    "Le code source devrait être publié pour que d'autres collectivités puissent le réutiliser.",
    "Nous serions prêts à participer à une expérimentation.",
    "Le centre de gestion de notre département travaille sur un sujet voisin.",
    "Les habitants âgés n'utiliseront pas une application : il faut garder l'accueil en mairie.",
    "Combien de communes utilisent déjà ce service ?",
    "L'accessibilité (RGAA) doit être prise en compte dès le départ.",
    "La cantine et le périscolaire posent les mêmes questions chez nous.",
    "Nous avons {n} agents concernés.",
    "Une mutualisation à l'échelle du département réduirait beaucoup les coûts.",
    "Pensez aux communes de montagne où la neige coupe les routes plusieurs jours.",
]
COMMENT_CLOSINGS = [
    "", "", "", "Bon courage !", "Nous suivrons ce projet avec attention.", "Contactez-nous si besoin.",
    "À suivre.", "Merci d'avance pour vos réponses.",
]


def comment_text(rng: random.Random, organization: dict) -> str:
    parts = [rng.choice(COMMENT_OPENINGS), *rng.sample(COMMENT_MIDDLES, rng.randint(1, 3)),
             rng.choice(COMMENT_CLOSINGS)]
    return _fill(" ".join(part for part in parts if part), rng, organization)


FIRST_NAMES = ["Camille", "Léa", "Manon", "Chloé", "Emma", "Inès", "Sarah", "Julie", "Nathalie", "Isabelle",
               "Sophie", "Claire", "Anne", "Marie", "Hélène", "Nadia", "Fatima", "Lucas", "Hugo", "Thomas",
               "Nicolas", "Julien", "Pierre", "Jean", "Paul", "Karim", "Mehdi", "Antoine", "Olivier", "Éric",
               "François", "Philippe", "Laurent", "Sébastien", "Mathieu", "Yann", "Gaëlle", "Maëlle", "Loïc",
               "Christine"]
LAST_NAMES = ["Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand", "Leroy", "Moreau",
              "Simon", "Laurent", "Lefèbvre", "Michel", "Garcia", "David", "Bertrand", "Roux", "Vincent", "Fournier",
              "Morel", "Girard", "André", "Lefèvre", "Mercier", "Dupont", "Lambert", "Bonnet", "François",
              "Martinez", "Legrand", "Garnier", "Faure", "Rousseau", "Blanc", "Guérin", "Muller", "Henry",
              "Roussel", "Nicolas", "Perrin", "Morin", "Mathieu", "Clément", "Gauthier", "Dumont", "Lopez",
              "Fontaine", "Chevalier", "Robin", "Benali", "Cherif", "Le Gall", "Le Goff", "Kerjean"]


# ---------------------------------------------------------------------------------------------
# Steps
# ---------------------------------------------------------------------------------------------

def reset(db) -> None:
    """Empty every table but Alembic's, so that a second run starts from the same state."""
    tables = ", ".join(table.name for table in db.metadata.sorted_tables)
    db.session.execute(sa.text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    db.session.commit()


def participating_organizations(rng: random.Random, n_users: int) -> list[dict]:
    """Collectivities whose members take part: bigger ones more often, but many small communes too."""
    from app.extensions import db
    from app.organizations.models import Organization

    rows = [dict(row._mapping) for row in db.session.execute(sa.select(
        Organization.id, Organization.kind, Organization.name, Organization.search_name, Organization.population,
        Organization.departement_code).where(Organization.kind.in_(["commune", "epci", "departement", "region"])))]
    by_kind: dict[str, list[dict]] = {}
    for row in rows:
        by_kind.setdefault(row["kind"], []).append(row)
    wanted = {"commune": int(n_users * 0.45), "epci": min(len(by_kind["epci"]), int(n_users * 0.12)),
              "departement": min(len(by_kind["departement"]), 85), "region": min(len(by_kind["region"]), 14)}
    chosen = []
    for kind, count in wanted.items():
        candidates = by_kind[kind]
        weights = np.array([(row["population"] or 1_000) ** 0.5 for row in candidates], dtype=float)
        picked = np.random.default_rng(rng.randrange(2**32)).choice(
            len(candidates), size=count, replace=False, p=weights / weights.sum())
        chosen += [candidates[index] for index in picked]
    return chosen


def create_people(rng: random.Random, n_users: int, admin_id: int, now) -> tuple[list[dict], dict[int, list[int]]]:
    """Users, each a verified member (agent or elected) of one collectivity, a few of two."""
    from app.accounts.models import User
    from app.demo import _demo_password_hash
    from app.extensions import db
    from app.organizations.models import Membership

    organizations = participating_organizations(rng, n_users)
    password_hash = _demo_password_hash()  # one Argon2 hash for everyone: hashing is slow on purpose
    users = []
    for number in range(n_users):
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        created = now - timedelta(days=rng.uniform(30, 200))
        users.append({"email": f"membre{number:05d}@{EMAIL_DOMAIN}", "name": f"{first} {last}",
                      "password_hash": password_hash, "email_confirmed_at": created + timedelta(minutes=5),
                      "is_admin": False, "created_at": created})
    user_ids = list(db.session.scalars(insert(User).returning(User.id, sort_by_parameter_order=True), users))
    # Every chosen organization has at least one member; the others go to organizations at random.
    assignment = [organizations[index % len(organizations)] for index in range(n_users)]
    memberships, members = [], {}
    for user_id, user, organization in zip(user_ids, users, assignment):
        extra = [rng.choice(organizations)] if rng.random() < 0.05 else []
        for member_of in [organization, *extra]:
            if user_id in members.get(member_of["id"], []):
                continue
            members.setdefault(member_of["id"], []).append(user_id)
            memberships.append({"user_id": user_id, "organization_id": member_of["id"],
                                "role": rng.choice(["agent", "agent", "elected"]), "status": "verified",
                                "verified_by_id": admin_id, "verified_at": user["created_at"] + timedelta(days=1),
                                "created_at": user["created_at"]})
    db.session.execute(insert(Membership), memberships)
    return organizations, members


def long_tail(np_rng, total: int, size: int, sigma: float, caps=None) -> np.ndarray:
    """`total` spread over `size` items with a log-normal long tail: most get a few, some get many; none above
    its cap, if given (what a full item would take goes to the others, in proportion to their weights)."""
    weights = np_rng.lognormal(0.0, sigma, size)
    counts = np_rng.multinomial(total, weights / weights.sum())
    if caps is None:
        return counts
    assert total <= caps.sum()
    while (excess := np.maximum(counts - caps, 0)).any():
        counts -= excess
        open_weights = np.where(counts < caps, weights, 0.0)
        counts += np_rng.multinomial(int(excess.sum()), open_weights / open_weights.sum())
    return counts


def create_proposals(rng, writer, consultation, themes, organizations, members, n_proposals, now):
    from app.core.markdown import render_markdown
    from app.extensions import db
    from app.proposals.models import Proposal, ProposalTerritoryTag, ProposalVersion, proposal_themes
    from app.proposals.services import ProposalInput

    collect = consultation.phase("collect")
    support = consultation.phase("support")
    collect_seconds = (collect.ends_at - collect.starts_at).total_seconds()
    theme_ids = {theme.name: theme.id for theme in themes}
    kind_weight = {"commune": 1.0, "epci": 3.0, "departement": 8.0, "region": 10.0}
    authors = [org for org in organizations if org["id"] in members]
    cumulative = list(itertools.accumulate(kind_weight[org["kind"]] * (1 + len(members[org["id"]]))
                                           for org in authors))

    rows, extras = [], []
    for _ in range(n_proposals):
        organization = rng.choices(authors, cum_weights=cumulative)[0]
        author_id = rng.choice(members[organization["id"]])
        kind = "need" if rng.random() < 0.55 else "service"
        base = rng.choice(writer.by_kind[kind])
        state = rng.choices(["published", "draft", "withdrawn"], [90, 6, 4])[0]
        created = collect.starts_at + timedelta(seconds=rng.uniform(0, collect_seconds * 0.97))
        row = {"consultation_id": consultation.id, "kind": kind, "organization_id": organization["id"],
               "author_id": author_id, "title": writer.title(base, organization),
               "summary": writer.summary(base, organization), "body": writer.body(base, organization),
               "state": state, "created_at": created, "answer_state": "not_answered", "report_count": 0,
               "hidden_at": None, "published_at": None, "withdrawn_at": None, "withdrawal_reason": None,
               "support_count": 0, "comment_count": 0,
               **dict.fromkeys((*ProposalInput.NEED_FIELDS, *ProposalInput.SERVICE_FIELDS))}
        row.update(writer.need_fields(base) if kind == "need" else writer.service_fields(base, organization))
        row["body_html"] = render_markdown(row["body"])
        if state != "draft":
            row["published_at"] = min(created + timedelta(hours=rng.uniform(0.2, 72)), collect.ends_at)
        if state == "withdrawn":
            row["withdrawn_at"] = support.starts_at + timedelta(seconds=rng.uniform(0, (now - support.starts_at)
                                                                                   .total_seconds()))
            row["withdrawal_reason"] = rng.choice([
                "Doublon d'une proposition portée par notre intercommunalité, que nous coportons.",
                "Le besoin a été couvert par une solution proposée par le département.",
                "Erreur de dépôt : la proposition sera redéposée lors de la prochaine consultation."])
        if state == "published" and rng.random() < 0.004:  # hidden by moderation after reports
            row["hidden_at"] = row["published_at"] + timedelta(days=rng.uniform(1, 20))
            row["report_count"] = 3
        names = list(base["themes"])
        if rng.random() < 0.2:
            names.append(rng.choice(list(theme_ids)))
        tags = set(base["territory_tags"]) if rng.random() < 0.8 else set()
        if (organization["departement_code"] or "").startswith("97"):
            tags.add("outre_mer")
        if organization["kind"] == "commune" and (organization["population"] or 0) < 2_000 and rng.random() < 0.6:
            tags.add("rural")
        names, tags = sorted(set(names), key=list(theme_ids).index), sorted(tags)
        extras.append((names, tags, _versions(rng, row, names, tags)))  # sets row["updated_at"]
        rows.append(row)

    ids = list(db.session.scalars(insert(Proposal).returning(Proposal.id, sort_by_parameter_order=True), rows))
    theme_rows, tag_rows, versions = [], [], []
    for proposal_id, row, (names, tags, row_versions) in zip(ids, rows, extras):
        row["id"] = proposal_id
        theme_rows += [{"proposal_id": proposal_id, "theme_id": theme_ids[name]} for name in names]
        tag_rows += [{"proposal_id": proposal_id, "tag": tag} for tag in tags]
        versions += [{**version, "proposal_id": proposal_id} for version in row_versions]
    db.session.execute(insert(proposal_themes), theme_rows)
    if tag_rows:
        db.session.execute(insert(ProposalTerritoryTag), tag_rows)
    db.session.execute(insert(ProposalVersion), versions)
    return rows, len(theme_rows), len(tag_rows), len(versions)


CONTENT_FIELDS = ("kind", "title", "summary", "body", "problem", "affected", "workaround", "maturity", "licence",
                  "repository_url", "carrier", "deployments", "requested_budget_cents")


def _versions(rng: random.Random, row: dict, theme_names: list[str], tags: list[str]) -> list[dict]:
    """Version 1 at creation; a quarter of the proposals were edited once or twice before publication."""
    final = {name: row[name] for name in CONTENT_FIELDS} | {"themes": theme_names, "territory_tags": tags}
    count = rng.choices([1, 2, 3], [75, 18, 7])[0]
    snapshots = [final]
    for _ in range(count - 1):  # earlier drafts: shorter body, sometimes another title or summary
        earlier = dict(snapshots[0])
        paragraphs = _paragraphs(earlier["body"])
        if len(paragraphs) > 1:
            earlier["body"] = "\n\n".join(paragraphs[:-1])
        if rng.random() < 0.4:
            earlier["title"] = earlier["title"].split(" : ")[-1][:150]
        if rng.random() < 0.3:
            earlier["summary"] = earlier["summary"].split(". ")[0][:500]
        snapshots.insert(0, earlier)
    end = row["published_at"] or row["created_at"] + timedelta(days=rng.uniform(0, 5))
    moments = sorted(row["created_at"] + (end - row["created_at"]) * rng.random() for _ in range(count - 1))
    moments = [row["created_at"], *moments]
    versions, previous = [], None
    for number, (content, moment) in enumerate(zip(snapshots, moments), start=1):
        changed = [name for name in content if previous is None or previous.get(name) != content[name]]
        versions.append({"number": number, "author_id": row["author_id"],
                         "created_at": moment, "snapshot": content, "changed_fields": changed})
        previous = content
    row["updated_at"] = moments[-1]
    return versions


def create_cosponsors_and_links(rng, rows, organizations, members) -> tuple[int, int]:
    from app.extensions import db
    from app.proposals.models import NeedServiceLink, ProposalCosponsor

    member_orgs = [org for org in organizations if org["id"] in members]
    cosponsors = []
    for row in rows:
        if row["state"] == "draft" or rng.random() > 0.12:
            continue
        for org in {o["id"]: o for o in rng.sample(member_orgs, rng.randint(1, 4))}.values():
            if org["id"] != row["organization_id"]:
                cosponsors.append({"proposal_id": row["id"], "organization_id": org["id"],
                                   "added_by_id": rng.choice(members[org["id"]]),
                                   "created_at": row["published_at"] + timedelta(days=rng.uniform(0.5, 20))})
    db.session.execute(insert(ProposalCosponsor), cosponsors)
    published = [row for row in rows if row["state"] == "published"]
    needs = [row for row in published if row["kind"] == "need"]
    services = [row for row in published if row["kind"] == "service"]
    pairs = {(rng.choice(needs)["id"], rng.choice(services)["id"]) for _ in range(len(published) // 5)}
    by_id = {row["id"]: row for row in rows}
    links = [{"need_id": need, "service_id": service, "created_by_id": by_id[service]["author_id"],
              "confirmed_by_id": by_id[need]["author_id"] if rng.random() < 0.5 else None,
              "created_at": max(by_id[need]["published_at"], by_id[service]["published_at"]) + timedelta(days=1)}
             for need, service in pairs]
    db.session.execute(insert(NeedServiceLink), links)
    return len(cosponsors), len(links)


def create_comments(rng, rows, organizations, members, n_comments, now) -> tuple[int, int]:
    """Comments on published proposals, a quarter of them replies, a few hidden after reports."""
    from app.extensions import db
    from app.proposals.models import Comment, Proposal

    np_rng = np.random.default_rng(rng.randrange(2**32))
    organizations_by_id = {org["id"]: org for org in organizations}
    commenters = [(user_id, org_id) for org_id, user_ids in members.items() for user_id in user_ids]
    seen = [row for row in rows if row["state"] != "draft"]
    counts = long_tail(np_rng, n_comments, len(seen), 1.2)
    top_rows, reply_plans = [], []
    for row, count in zip(seen, counts):
        if not count:
            continue
        end = row["withdrawn_at"] or now
        span = (end - row["published_at"]).total_seconds()
        moments = sorted(row["published_at"] + timedelta(seconds=rng.uniform(60, span)) for _ in range(count))
        n_replies = min(int(np_rng.binomial(count, 0.25)), count - 1)
        reply_positions = set(rng.sample(range(1, count), n_replies)) if n_replies else set()
        first_top = len(top_rows)
        for position, moment in enumerate(moments):
            user_id, org_id = rng.choice(commenters)
            comment = {"proposal_id": row["id"], "author_id": user_id, "organization_id": org_id,
                       "body": comment_text(rng, organizations_by_id[org_id]), "created_at": moment,
                       "edited_at": moment + timedelta(minutes=rng.uniform(1, 60)) if rng.random() < 0.05 else None,
                       "report_count": 0, "hidden_at": None}
            if rng.random() < 0.005:
                comment["report_count"], comment["hidden_at"] = 3, moment + timedelta(hours=rng.uniform(1, 48))
            if position in reply_positions:
                # a reply answers one of the top-level comments written before it
                reply_plans.append((comment, rng.randrange(first_top, len(top_rows))))
            else:
                top_rows.append(comment)
    top_ids = list(db.session.scalars(insert(Comment).returning(Comment.id, sort_by_parameter_order=True),
                                      top_rows))
    for comment, parent_index in reply_plans:
        comment["parent_id"] = top_ids[parent_index]
    if reply_plans:
        db.session.execute(insert(Comment), [comment for comment, _parent in reply_plans])
    # comment_count counts what visitors see: the comments not hidden
    db.session.execute(sa.update(Proposal).values(comment_count=sa.select(sa.func.count(Comment.id)).where(
        Comment.proposal_id == Proposal.id, Comment.hidden_at.is_(None)).scalar_subquery()))
    return len(top_rows), len(reply_plans)


def create_supports(rng, rows, consultation, n_supports, now) -> dict:
    """`n_supports` supports on the proposals visitors have seen (published, some withdrawn since), as casting
    them would have left them: each by a verified elected official of a verified organization of an eligible
    kind, once per organization and proposal, never for its own or a co-sponsored proposal, at a moment of the
    support window before now (and before the proposal's withdrawal), with a unique receipt; the counts a long
    tail, none above the organizations able to support that proposal. Then the quotas (`used`: the rows of
    each organization) and every support_count (the supports of organizations that cast at least
    minimum_votes_per_user), recounted from the rows, the demo's among them. Returns figures to print."""
    from app.extensions import db
    from app.organizations.models import Membership, Organization
    from app.proposals.models import Proposal, ProposalCosponsor
    from app.votes.models import Support, SupportQuota
    from app.votes.services import RECEIPT_ALPHABET, RECEIPT_LENGTH

    elected: dict[int, list[int]] = {}
    for user_id, organization_id in db.session.execute(
            sa.select(Membership.user_id, Membership.organization_id).join(Organization)
            .where(Membership.status == "verified", Membership.role == "elected", Organization.is_verified,
                   Organization.kind.in_(consultation.eligible_kinds))
            .order_by(Membership.organization_id, Membership.user_id)):
        elected.setdefault(organization_id, []).append(user_id)
    supporters = sorted(elected)
    own: dict[int, set[int]] = {}
    for proposal_id, organization_id in db.session.execute(
            sa.select(ProposalCosponsor.proposal_id, ProposalCosponsor.organization_id)):
        own.setdefault(proposal_id, set()).add(organization_id)
    seen = [row for row in rows if row["state"] != "draft"]
    for row in seen:
        own.setdefault(row["id"], set()).add(row["organization_id"])
    caps = np.array([len(supporters) - len(own[row["id"]] & elected.keys()) for row in seen])
    if n_supports > caps.sum():
        sys.exit(f"--supports {n_supports} is too many: each of the {len(seen)} published or withdrawn proposals "
                 f"can be supported once by each of the {len(supporters)} organizations with a verified elected "
                 f"official (its own and co-sponsors excepted), {caps.sum()} supports at most. Lower --supports "
                 "or raise --users, then run again with --reset.")
    counts = long_tail(np.random.default_rng(rng.randrange(2**32)), n_supports, len(seen), 1.5, caps)

    window = consultation.phase("support")
    codes = set(db.session.scalars(sa.select(Support.receipt_code)))  # the demo's supports have theirs
    supports = []
    for row, count in zip(seen, counts):
        excluded = own[row["id"]]
        drawn = rng.sample(supporters, min(len(supporters), int(count) + len(excluded)))
        end = min(window.ends_at, now, row["withdrawn_at"] or now)
        span = (end - window.starts_at).total_seconds()
        for organization_id in [org for org in drawn if org not in excluded][:count]:
            code = "".join(rng.choices(RECEIPT_ALPHABET, k=RECEIPT_LENGTH))
            while code in codes:
                code = "".join(rng.choices(RECEIPT_ALPHABET, k=RECEIPT_LENGTH))
            codes.add(code)
            supports.append({"consultation_id": consultation.id, "proposal_id": row["id"],
                             "organization_id": organization_id, "cast_by_id": rng.choice(elected[organization_id]),
                             "cast_at": window.starts_at + timedelta(seconds=rng.uniform(0, span)),
                             "receipt_code": code})
    for start in range(0, len(supports), 20_000):
        db.session.execute(insert(Support), supports[start:start + 20_000])
    db.session.execute(sa.delete(SupportQuota).where(SupportQuota.consultation_id == consultation.id))
    db.session.execute(insert(SupportQuota).from_select(
        ["consultation_id", "organization_id", "used"],
        sa.select(Support.consultation_id, Support.organization_id, sa.func.count())
        .where(Support.consultation_id == consultation.id).group_by(Support.consultation_id, Support.organization_id)))
    counted = (sa.select(sa.func.count(Support.id)).select_from(Support)
               .join(SupportQuota, sa.and_(SupportQuota.consultation_id == Support.consultation_id,
                                           SupportQuota.organization_id == Support.organization_id))
               .where(Support.proposal_id == Proposal.id, SupportQuota.used >= consultation.minimum_votes_per_user))
    db.session.execute(sa.update(Proposal).where(Proposal.consultation_id == consultation.id)
                       .values(support_count=counted.scalar_subquery()))
    used = sorted(db.session.scalars(sa.select(SupportQuota.used).where(
        SupportQuota.consultation_id == consultation.id)))
    written = np.array([int(count) for count in counts])
    return {"rows": len(supports), "organizations": len(used), "able": len(supporters),
            "median": int(np.median(written)), "p90": int(np.percentile(written, 90)),
            "p99": int(np.percentile(written, 99)), "max": int(written.max()), "zero": int((written == 0).sum()),
            "at_cap": int((written == caps).sum()), "quota_median": used[len(used) // 2], "quota_max": used[-1],
            "under_minimum": sum(value < consultation.minimum_votes_per_user for value in used),
            "counted": db.session.scalar(sa.select(sa.func.sum(Proposal.support_count))
                                         .where(Proposal.consultation_id == consultation.id))}


def compute_vectors(proposal_ids: list[int]) -> None:
    """Queue each proposal's vector job, as an import does, and run the jobs as the worker does, in large
    batches: each batch renews the neighbour lists its proposals enter, nearly all of them at first."""
    from app.core import jobs
    from app.extensions import db
    from app.proposals.models import Proposal
    from app.proposals.vectors import queue_vectors

    queue_vectors(db.session.scalars(sa.select(Proposal).where(Proposal.id.in_(proposal_ids))).all())
    db.session.commit()
    done = jobs.run_pending(batch_size=5_000)
    failed = db.session.scalar(sa.select(sa.func.count(jobs.Job.id)).where(jobs.Job.done_at.is_(None)))
    print(f"  {done} jobs done, {failed} not done", end="; ", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--proposals", type=int, default=15_000)
    parser.add_argument("--comments", type=int, default=50_000)
    parser.add_argument("--supports", type=int, default=200_000, help="support rows in all (long tail)")
    parser.add_argument("--users", type=int, default=6_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--reset", action="store_true", help="empty every table first")
    args = parser.parse_args()
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgresql"):
        sys.exit("Set DATABASE_URL to a PostgreSQL database made for the benchmark, "
                 "e.g. postgresql+psycopg://postgres@127.0.0.1:5432/agora_bench")

    from app import create_app
    from app.consultations.models import PhaseKind
    from app.core import clock
    from app.demo import load_demo
    from app.extensions import db
    from app.organizations.directory import import_directory
    from app.proposals.models import Proposal

    rng = random.Random(args.seed)
    timings: list[tuple[str, float]] = []
    total_start = time.perf_counter()
    with step("migrate (alembic upgrade head)", timings):
        migrate()
    app = create_app()
    with app.app_context():
        if db.session.scalar(sa.select(sa.func.count(Proposal.id))):
            if not args.reset:
                sys.exit("The database already holds proposals: pass --reset to empty it first.")
            with step("reset (truncate every table)", timings):
                reset(db)
        now = clock.now()
        with step("directory import", timings):
            counts = import_directory()
            db.session.commit()
        print(f"  {counts['inserted']} organizations inserted, {counts['updated']} updated")
        with step("demo consultation (support phase)", timings):
            consultation = load_demo(PhaseKind.SUPPORT, now=now)
            # National scale: thousands of organizations casting some 60 supports each (200,000 in all), which
            # the demo's limit of 10 a organization would refuse. Unlimited, so that the quotas are consistent.
            consultation.vote_limit = 0
            db.session.commit()
        themes = list(consultation.themes)
        from app.accounts.models import User
        admin_id = db.session.scalar(sa.select(User.id).where(User.email == "admin@example.org"))
        with step(f"{args.users} users and their verified memberships", timings):
            organizations, members = create_people(rng, args.users, admin_id, now)
            db.session.commit()
        print(f"  {len(members)} organizations with members")
        writer = Writer(rng)
        with step(f"{args.proposals} proposals, themes, territories, versions", timings):
            rows, n_themes, n_tags, n_versions = create_proposals(
                rng, writer, consultation, themes, organizations, members, args.proposals, now)
            db.session.commit()
        states = {state: sum(row["state"] == state for row in rows) for state in ("published", "draft", "withdrawn")}
        print(f"  {states}, {sum(row['hidden_at'] is not None for row in rows)} hidden; {n_themes} theme rows, "
              f"{n_tags} territory tags, {n_versions} versions")
        with step("co-sponsors and need-service links", timings):
            n_cosponsors, n_links = create_cosponsors_and_links(rng, rows, organizations, members)
            db.session.commit()
        print(f"  {n_cosponsors} co-sponsors, {n_links} links")
        with step(f"{args.comments} comments and comment_count", timings):
            n_top, n_replies = create_comments(rng, rows, organizations, members, args.comments, now)
            db.session.commit()
        print(f"  {n_top} comments, {n_replies} replies")
        with step(f"{args.supports} supports, quotas and support_count", timings):
            figures = create_supports(rng, rows, consultation, args.supports, now)
            db.session.commit()
        print("  {rows} supports from {organizations} of the {able} organizations able to support (quotas: median "
              "{quota_median}, max {quota_max}, {under_minimum} under the minimum); per proposal: median {median}, "
              "p90 {p90}, p99 {p99}, max {max}, {zero} without any, {at_cap} supported by every organization able "
              "to; support_count total {counted} (with the demo's)".format(**figures))
        with step(f"{len(rows)} text vectors and nearest neighbours (the jobs worker)", timings):
            compute_vectors([row["id"] for row in rows])
        with step("vacuum analyze", timings):
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
                connection.exec_driver_sql("VACUUM ANALYZE")
        print(f"Consultation: /consultations/{consultation.slug}/propositions "
              f"(themes {', '.join(str(theme.id) for theme in themes)})")
    print(f"Total: {time.perf_counter() - total_start:.1f} s")


if __name__ == "__main__":
    main()
