"""The committee's commands: the major issues and likely duplicates the engine proposes, written out
for a person or as JSON; nothing is recorded."""

import json

import click
import numpy as np
import sqlalchemy as sa
from flask.cli import AppGroup
from flask_babel import format_decimal, gettext as _, ngettext

from app.committee.queries import listed
from app.consultations.models import Consultation
from app.extensions import db
from app.proposals import similarity
from app.proposals.models import Proposal, ProposalVector

committee_cli = AppGroup("committee", help="Comité de pilotage : grands enjeux et doublons proposés.")


@committee_cli.command("suggest")
@click.option("--consultation", "slug", required=True, help="Identifiant d'adresse de la consultation.")
@click.option("--clusters", type=click.IntRange(min=1), default=None,
              help="Nombre de grands enjeux à former ; par défaut, celui que le calcul propose.")
@click.option("--json", "as_json", is_flag=True, help="Écrire le résultat en JSON.")
def suggest_command(slug: str, clusters: int | None, as_json: bool) -> None:
    """Propose des grands enjeux (propositions publiées proches par le sens et les mots) et des doublons
    probables, à partir des vecteurs enregistrés. Le même contenu donne toujours le même résultat."""
    # scikit-learn (about a second and 60 MB to import) for this command only, not in every web process.
    from app.committee import clustering

    consultation = db.session.scalar(sa.select(Consultation).where(Consultation.slug == slug))
    if consultation is None:
        raise click.ClickException(_("Aucune consultation n'a l'identifiant « %(slug)s ».", slug=slug))
    ids, titles, texts, vectors = _with_vectors(consultation)
    missing = _published_count(consultation) - len(ids)
    if missing:  # their job has not run yet: said on stderr, so that the JSON stays whole
        click.echo(ngettext("%(num)d proposition publiée sans vecteur à jour est laissée de côté.",
                            "%(num)d propositions publiées sans vecteur à jour sont laissées de côté.", missing),
                   err=True)
    reason = None
    if clusters is None:
        reason = clustering.suggested_k(vectors, texts)
        clusters = reason.k
    suggestion = clustering.suggest(vectors, texts, clusters)
    if as_json:
        click.echo(json.dumps(_as_json(suggestion, ids), ensure_ascii=False))
    else:
        _print(suggestion, ids, titles, reason)


def _with_vectors(consultation: Consultation) -> tuple[list[int], list[str], list[str], np.ndarray]:
    """The listed proposals whose vector the current engine computed, by id, in one query."""
    rows = db.session.execute(listed(
        sa.select(Proposal.id, Proposal.title, Proposal.summary, Proposal.body, ProposalVector.vector)
        .join(ProposalVector, ProposalVector.proposal_id == Proposal.id)
        .where(Proposal.consultation_id == consultation.id, ProposalVector.engine == similarity.ENGINE_VERSION))
        .order_by(Proposal.id)).all()
    vectors = np.stack([similarity.from_bytes(row.vector) for row in rows]) if rows else np.empty((0, similarity.DIM))
    texts = [similarity.proposal_text(row.title, row.summary, row.body) for row in rows]
    return [row.id for row in rows], [row.title for row in rows], texts, vectors


def _published_count(consultation: Consultation) -> int:
    return db.session.scalar(listed(sa.select(sa.func.count()).select_from(Proposal)
                                    .where(Proposal.consultation_id == consultation.id)))


def _as_json(suggestion, ids: list[int]) -> dict:
    return {
        "clusters": [{"proposal_ids": [ids[row] for row in cluster.members], "key_terms": cluster.key_terms}
                     for cluster in suggestion.clusters],
        # Rounded: the last digits of a dot product may differ from one machine to another.
        "duplicates": [{"proposal_ids": [ids[i], ids[j]], "score": round(score, 4)}
                       for i, j, score in suggestion.duplicates],
    }


def _print(suggestion, ids: list[int], titles: list[str], reason) -> None:
    if reason is not None and reason.silhouette:
        click.echo(_("%(k)d grands enjeux : le nombre, de %(lowest)d à %(highest)d, dont les propositions sont les "
                     "plus proches de leur enjeu comparé au plus proche des autres (silhouette moyenne %(score)s).",
                     k=reason.k, lowest=min(reason.silhouette), highest=max(reason.silhouette),
                     score=format_decimal(reason.silhouette[reason.k], "0.000")))
    for number, cluster in enumerate(suggestion.clusters, start=1):
        click.echo(ngettext("Enjeu %(number)d, %(num)d proposition : %(terms)s",
                            "Enjeu %(number)d, %(num)d propositions : %(terms)s", len(cluster.members),
                            number=number, terms=", ".join(cluster.key_terms) or "—"))
        for row, score in cluster.central:
            click.echo(_("  n° %(id)d (proche du centre à %(score)s) %(title)s", id=ids[row],
                         score=format_decimal(score, "0.00"), title=titles[row]))
    click.echo(ngettext("%(num)d doublon probable", "%(num)d doublons probables", len(suggestion.duplicates)))
    for i, j, score in suggestion.duplicates:
        click.echo(_("  n° %(first)d et n° %(second)d (similarité %(score)s)", first=ids[i], second=ids[j],
                     score=format_decimal(score, "0.00")))
