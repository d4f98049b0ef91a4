"""The committee's commands: the major issues and likely duplicates the engine proposes, written out
for a person or as JSON; nothing is recorded."""

import json

import click
import sqlalchemy as sa
from flask.cli import AppGroup
from flask_babel import format_decimal, gettext as _, ngettext

from app.committee import suggestions
from app.consultations.models import Consultation
from app.extensions import db
from app.proposals import similarity

committee_cli = AppGroup("committee", help="Comité de pilotage : grands enjeux et doublons proposés.")


@committee_cli.command("suggest")
@click.option("--consultation", "slug", required=True, help="Identifiant d'adresse de la consultation.")
@click.option("--clusters", type=click.IntRange(min=1), default=None,
              help="Nombre de grands enjeux à former ; par défaut, celui que le calcul propose.")
@click.option("--threshold", type=click.FloatRange(0, 1), default=similarity.DUPLICATE_THRESHOLD, show_default=True,
              help="Similarité à partir de laquelle deux propositions sont des doublons probables.")
@click.option("--json", "as_json", is_flag=True, help="Écrire le résultat en JSON.")
def suggest_command(slug: str, clusters: int | None, threshold: float, as_json: bool) -> None:
    """Propose des grands enjeux (propositions publiées proches par le sens et les mots) et des doublons
    probables, à partir des vecteurs enregistrés. Le même contenu donne toujours le même résultat (celui que
    le comité obtient dans son espace avec le même nombre et le même seuil)."""
    consultation = db.session.scalar(sa.select(Consultation).where(Consultation.slug == slug))
    if consultation is None:
        raise click.ClickException(_("Aucune consultation n'a l'identifiant « %(slug)s ».", slug=slug))
    stored = suggestions.stored_vectors(consultation)
    if stored.missing:  # their job has not run yet: said on stderr, so that the JSON stays whole
        click.echo(ngettext("%(num)d proposition publiée sans vecteur à jour est laissée de côté.",
                            "%(num)d propositions publiées sans vecteur à jour sont laissées de côté.",
                            stored.missing), err=True)
    suggestion, reason = suggestions.compute(stored, clusters, threshold)
    if as_json:
        click.echo(json.dumps(suggestions.summary(suggestion, stored.ids), ensure_ascii=False))
    else:
        _print(suggestion, stored.ids, stored.titles, reason)


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
        for row, score in cluster.central[:suggestions.CENTRAL]:
            click.echo(_("  n° %(id)d (proche du centre à %(score)s) %(title)s", id=ids[row],
                         score=format_decimal(score, "0.00"), title=titles[row]))
    click.echo(ngettext("%(num)d doublon probable", "%(num)d doublons probables", len(suggestion.duplicates)))
    for i, j, score in suggestion.duplicates:
        click.echo(_("  n° %(first)d et n° %(second)d (similarité %(score)s)", first=ids[i], second=ids[j],
                     score=format_decimal(score, "0.00")))
