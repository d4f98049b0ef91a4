"""The audit log in words: one French sentence per action, its subject linked, its data made readable.

A new action adds one line to SENTENCES, and one to DETAILS if its data needs more than `label : value`
pairs. Entries are never rewritten (the hash chain forbids it), so every shape they were ever
written in must still show: an unknown action, or data this module cannot read, shows by its code.
"""

import json
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from textwrap import shorten

import sqlalchemy as sa
from flask import current_app, url_for
from flask_babel import format_percent, gettext as _, lazy_gettext as _l
from markupsafe import Markup, escape
from sqlalchemy.orm import joinedload

from app.accounts.models import User
from app.committee.models import ClusterSuggestion, Issue
from app.admin.forms import SETTING_LABELS
from app.consultations.models import Consultation, PhaseKind
from app.core.audit import AuditEntry
from app.core.web import euros, paris_datetime
from app.extensions import db
from app.organizations.models import (DiagnosticRequest, DiagnosticStatus, Membership, MembershipRole, Organization,
                                      OrganizationKind)
from app.proposals.models import AnswerState, Comment, Proposal
from app.votes.models import Mandate

# %(actor)s: who acted; %(subject)s: what the entry is about, linked; %(user)s: the person in its data.
SENTENCES = {
    "consultation.create": _l("%(actor)s a créé %(subject)s"),
    "consultation.update": _l("%(actor)s a modifié %(subject)s"),
    "committee.add": _l("%(actor)s a nommé %(user)s au comité de %(subject)s"),
    "committee.remove": _l("%(actor)s a retiré %(user)s du comité de %(subject)s"),
    "organization.create": _l("%(actor)s a ajouté %(subject)s"),
    "membership.verify": _l("%(actor)s a accepté %(subject)s"),
    "membership.refuse": _l("%(actor)s a refusé %(subject)s"),
    "moderation.hide": _l("%(actor)s a masqué %(subject)s"),
    "moderation.restore": _l("%(actor)s a rétabli %(subject)s"),
    "moderation.block_user": _l("%(actor)s a suspendu %(subject)s"),
    "account.delete": _l("%(actor)s a supprimé %(subject)s"),
    "account.admin": _l("%(actor)s a changé le rôle d'administration de %(subject)s"),
    "account.proconnect_create": _l("%(actor)s a ouvert %(subject)s avec ProConnect"),
    "account.proconnect_link": _l("%(actor)s a relié %(subject)s à son identité ProConnect"),
    "notifications.preference": _l("%(actor)s a changé les courriels que reçoit %(subject)s"),
    "mandate.grant": _l("%(actor)s a confié %(subject)s"),
    "mandate.revoke": _l("%(actor)s a révoqué %(subject)s"),
    "support.cast_under_mandate": _l("%(actor)s a soutenu %(subject)s comme aidant"),
    "support.withdraw_under_mandate": _l("%(actor)s a retiré le soutien à %(subject)s comme aidant"),
    "issue.create": _l("%(actor)s a créé %(subject)s"),
    "issue.update": _l("%(actor)s a modifié %(subject)s"),
    "issue.move": _l("%(actor)s a déplacé %(subject)s dans l'ordre des grands enjeux"),
    "issue.delete": _l("%(actor)s a supprimé %(subject)s"),
    "issue.assign": _l("%(actor)s a rangé %(subject)s dans un grand enjeu"),
    "issue.remove": _l("%(actor)s a retiré %(subject)s de son grand enjeu"),
    "suggestion.request": _l("%(actor)s a demandé %(subject)s"),
    "suggestion.accept": _l("%(actor)s a accepté un groupe de %(subject)s, devenu un grand enjeu"),
    "link.confirm": _l("%(actor)s a confirmé qu'un service répond à %(subject)s"),
    "link.remove": _l("%(actor)s a retiré le lien entre un service et %(subject)s"),
    "evaluation.criteria": _l("%(actor)s a modifié les critères d'évaluation de %(subject)s"),
    "evaluation.score": _l("%(actor)s a noté %(subject)s"),
    "evaluation.conflict_declare": _l("%(actor)s a déclaré un conflit d'intérêts avec %(subject)s"),
    "evaluation.conflict_withdraw": _l("%(actor)s a retiré son conflit d'intérêts avec %(subject)s"),
    "evaluation.assign": _l("%(actor)s a attribué à %(user)s l'évaluation de %(subject)s"),
    "evaluation.unassign": _l("%(actor)s a retiré à %(user)s l'évaluation de %(subject)s"),
    "evaluation.note": _l("%(actor)s a écrit une note privée du comité sur %(subject)s"),
    "proposal.merge": _l("%(actor)s a fusionné des propositions en %(subject)s"),
    "proposal.unmerge": _l("%(actor)s a défait la fusion qui avait donné %(subject)s"),
    "decidim.import": _l("%(actor)s a importé des propositions Decidim dans %(subject)s"),
    "decision.decide": _l("%(actor)s a pris une décision sur %(subject)s"),
    "decision.answer": _l("%(actor)s a écrit la réponse du comité à %(subject)s"),
    "decision.template": _l("%(actor)s a modifié un modèle de réponse de %(subject)s"),
    "decision.apply_templates": _l("%(actor)s a appliqué les modèles de réponse à des propositions de %(subject)s"),
    "results.publish": _l("%(actor)s a publié les réponses du comité de %(subject)s"),
    "diagnostic.request": _l("%(actor)s a envoyé %(subject)s"),
    "diagnostic.status": _l("%(actor)s a traité %(subject)s"),
}
UNKNOWN_ACTION = _l("%(actor)s : %(action)s, %(subject)s")


@dataclass(frozen=True)
class SubjectKind:
    """How the log names a row of one table: a phrase around its name, which links to its page."""

    model: type
    phrase: str  # %(name)s: the row's name, linked; %(user)s: the person in the entry's data
    name: Callable[[object], str]
    url: Callable[[object], str] | None = None
    joined: tuple = ()  # relationships `name` reads, loaded with the rows


SUBJECTS = {
    "proposals": SubjectKind(Proposal, _l("la proposition « %(name)s »"), lambda proposal: proposal.title,
                             lambda proposal: url_for("proposals.detail", proposal_id=proposal.id)),
    "comments": SubjectKind(Comment, _l("un commentaire sur la proposition « %(name)s »"),
                            lambda comment: comment.proposal.title,
                            lambda comment: url_for("proposals.detail", proposal_id=comment.proposal_id,
                                                    _anchor=f"commentaire-{comment.id}"),
                            (Comment.proposal,)),
    "consultations": SubjectKind(Consultation, _l("la consultation « %(name)s »"),
                                 lambda consultation: consultation.title,
                                 lambda consultation: url_for("admin.edit_consultation",
                                                              consultation_id=consultation.id)),
    "organizations": SubjectKind(Organization, _l("l'organisation « %(name)s »"),
                                 lambda organization: organization.name,
                                 lambda organization: url_for("organizations.detail",
                                                              organization_id=organization.id)),
    "memberships": SubjectKind(Membership, _l("la demande d'adhésion de %(user)s à « %(name)s »"),
                               lambda membership: membership.organization.name,
                               lambda membership: url_for("organizations.detail",
                                                          organization_id=membership.organization_id),
                               (Membership.organization,)),
    "users": SubjectKind(User, _l("le compte de %(name)s"), lambda user: user.name),
    "mandates": SubjectKind(Mandate, _l("un mandat d'aidant à « %(name)s »"), lambda mandate: mandate.organization.name,
                            lambda mandate: url_for("organizations.detail", organization_id=mandate.organization_id),
                            (Mandate.organization,)),
    "diagnostic_requests": SubjectKind(DiagnosticRequest, _l("la demande de diagnostic sur mesure de « %(name)s »"),
                                       lambda diagnostic: diagnostic.organization.name,
                                       lambda diagnostic: url_for("admin.diagnostic_request",
                                                                  request_id=diagnostic.id),
                                       (DiagnosticRequest.organization,)),
    "issues": SubjectKind(Issue, _l("le grand enjeu « %(name)s »"), lambda issue: issue.title,
                          lambda issue: url_for("committee.issue", slug=issue.consultation.slug, issue_id=issue.id),
                          (Issue.consultation,)),
    "cluster_suggestions": SubjectKind(ClusterSuggestion, _l("la suggestion de grands enjeux de « %(name)s »"),
                                       lambda draft: draft.consultation.title,
                                       lambda draft: url_for("suggestions.show", slug=draft.consultation.slug),
                                       (ClusterSuggestion.consultation,)),
}


@dataclass(frozen=True)
class Line:
    """One entry as the log page shows it."""

    entry: AuditEntry
    sentence: Markup
    details: list[str]


def describe(entries: list[AuditEntry]) -> list[Line]:
    """The entries in words, their subjects and the people they name loaded once for all of them."""
    loaded = _load(entries)
    return [_describe(entry, loaded) for entry in entries]


def _references(entry: AuditEntry) -> list[tuple[str, int]]:
    """The rows an entry names: its subject, and the person its data names."""
    table, _separator, key = entry.subject.partition(":")
    references = [(table, int(key))] if key.isdigit() else []
    user_id = entry.data.get("user_id") if isinstance(entry.data, dict) else None
    if isinstance(user_id, int):
        references.append(("users", user_id))
    return references


def _load(entries: list[AuditEntry]) -> dict[tuple[str, int], object]:
    """One query per table named on the page, however many entries name it."""
    wanted = defaultdict(set)
    for entry in entries:
        for table, key in _references(entry):
            wanted[table].add(key)
    loaded = {}
    for table, keys in wanted.items():
        if kind := SUBJECTS.get(table):
            rows = db.session.scalars(sa.select(kind.model).where(kind.model.id.in_(keys))
                                      .options(*(joinedload(relation) for relation in kind.joined)))
            loaded.update({(table, row.id): row for row in rows})
    return loaded


def _describe(entry: AuditEntry, loaded: dict) -> Line:
    try:
        values = _values(entry, loaded)
        return Line(entry, _fill(SENTENCES.get(entry.action, UNKNOWN_ACTION), values),
                    DETAILS.get(entry.action, _raw_details)(entry.data) + _reason(entry.data))
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        # Data in a shape this module does not expect (written by an older version): shown as
        # recorded rather than a 500, and logged so that the module learns it.
        current_app.logger.warning("Audit entry %s not described: %r", entry.id, error)
        return Line(entry, _fill(UNKNOWN_ACTION, {"actor": _actor(entry), "action": entry.action,
                                                  "subject": entry.subject}),
                    [json.dumps(entry.data, ensure_ascii=False, default=str)])


def _values(entry: AuditEntry, loaded: dict) -> dict:
    values = {"actor": _actor(entry), "action": entry.action}
    if "user_id" in entry.data:
        user = loaded.get(("users", entry.data["user_id"]))
        values["user"] = user.name if user else _("compte n° %(id)s", id=entry.data["user_id"])
    values["subject"] = _subject(entry.subject, loaded, values)
    return values


def _actor(entry: AuditEntry) -> str:
    return entry.actor.name if entry.actor else _("La plateforme")


def _subject(subject: str, loaded: dict, values: dict) -> Markup | str:
    table, _separator, key = subject.partition(":")
    kind = SUBJECTS.get(table)
    if kind is None or not key.isdigit():
        return subject
    row = loaded.get((table, int(key)))
    if row is None:  # removed since
        name = _("n° %(id)s", id=key)
    elif kind.url is None:
        name = kind.name(row)
    else:
        name = Markup('<a href="{}">{}</a>').format(kind.url(row), kind.name(row))
    return _fill(kind.phrase, {**values, "name": name})


def _fill(template, values: dict) -> Markup:
    """The translated template with its values escaped, but not the links they may be."""
    return escape(str(template)) % values


def _pair(label, value) -> str:
    return _("%(label)s : %(value)s", label=label, value=value)


def _raw_details(data: dict) -> list[str]:
    return [_pair(key, value if isinstance(value, str) else json.dumps(value, ensure_ascii=False))
            for key, value in data.items() if key != "reason"]


def _reason(data: dict) -> list[str]:
    return [_pair(_("Motif"), data["reason"])] if data.get("reason") else []


def _consultation_details(data: dict) -> list[str]:
    settings = [_pair(SETTING_LABELS.get(name, name), _setting_value(name, value))
                for name, value in (data.get("settings") or {}).items()]
    return settings + [_phase_change(kind, change) for kind, change in (data.get("phases") or {}).items()]


def _setting_value(name: str, value) -> str:
    if isinstance(value, bool):
        return _("oui") if value else _("non")
    if name == "budget_envelope_cents":
        return euros(value)
    if name == "eligible_kinds":
        return ", ".join(OrganizationKind(kind).label for kind in value)
    return shorten(str(value), width=160, placeholder=" …")  # a description may run to pages


def _phase_change(kind: str, change: dict) -> str:
    (old_start, old_end), (start, end) = ([paris_datetime(datetime.fromisoformat(moment)) for moment in moments]
                                          for moments in (change["from"], change["to"]))
    text = _("%(phase)s : du %(old_start)s au %(old_end)s → du %(start)s au %(end)s", phase=PhaseKind(kind).label,
             old_start=old_start, old_end=old_end, start=start, end=end)
    return " ".join([text, _("(phase déjà commencée)")]) if change.get("had_started") else text


def _seat_details(data: dict) -> list[str]:
    chair = [_("Préside le comité")] if data.get("is_chair") else []
    return [_pair(_("Affiliation"), data["affiliation"]), *chair]


def _organization_details(data: dict) -> list[str]:
    siren = [_pair(_("SIREN"), data["siren"])] if data["siren"] else []  # none for an import's association
    return [_pair(_("Type"), OrganizationKind(data["kind"]).label), *siren]


def _import_details(data: dict) -> list[str]:
    return [_pair(_("Fichier"), data["file"]), _pair(_("Importées"), data["imported"]),
            _pair(_("Mises à jour"), data["updated"]), _pair(_("Ignorées"), data["skipped"])]


DELETION_CAUSES = {"request": _l("à la demande de la personne"),
                   "inactive": _l("compte inactif depuis la durée de conservation"),
                   "unconfirmed": _l("inscription jamais confirmée")}


def _deletion_details(data: dict) -> list[str]:
    return [_pair(_("Cause"), DELETION_CAUSES.get(data["cause"], data["cause"])),
            _pair(_("Soutiens retirés"), data["supports_withdrawn"]),
            _pair(_("Soutiens conservés dans le décompte"), data["supports_kept"])]


def _membership_details(data: dict) -> list[str]:
    return [_pair(_("Rôle"), MembershipRole(data["role"]).label)]


def _issue_details(data: dict) -> list[str]:
    """What an issue was given, or (a change) what it was before and after, or (a deletion) what it held."""
    labels = {"title": _("Titre"), "description": _("Description")}
    details = [_pair(labels[name], _change(value) if isinstance(value, list) else _short(value))
               for name, value in data.items() if name in labels and value]
    if "released" in data:
        details.append(_pair(_("Propositions laissées sans grand enjeu"), data["released"]))
    return details


def _change(values: list) -> str:
    old, new = (_short(value) or _("(vide)") for value in values)
    return _("« %(old)s » → « %(new)s »", old=old, new=new)


def _short(text: str) -> str:
    return shorten(text, width=160, placeholder=" …")  # a description may run to pages


def _assignment_details(data: dict) -> list[str]:
    previous = [_pair(_("Grand enjeu précédent"), data["previous_issue"])] if data.get("previous_issue") else []
    return [_pair(_("Grand enjeu"), data["issue"]), *previous]


def _link_details(data: dict) -> list[str]:
    """The service linked to the need (the entry's subject), and what became of a declared link."""
    details = [_pair(_("Service"), data["service"])]
    if data.get("kept_declared"):
        details.append(_("Le lien reste déclaré par l'organisation du service, sans confirmation du comité."))
    elif data.get("declared"):
        details.append(_("Lien déclaré par l'organisation du service."))
    return details


def _criteria_details(data: dict) -> list[str]:
    """The criteria and their weights before and after the change."""
    def listed(criteria: list) -> str:
        return ", ".join(_("%(name)s (poids %(weight)s)", name=criterion["name"], weight=criterion["weight"])
                         for criterion in criteria)
    return [_pair(_("Avant"), listed(data["before"])), _pair(_("Après"), listed(data["after"]))]


def _score_details(data: dict) -> list[str]:
    """Each criterion scored, or whose score was taken back."""
    return [_pair(name, _("note retirée") if value is None else f"{value} / 5")
            for name, value in data["values"].items()]


def _conflict_details(data: dict) -> list[str]:
    details = []
    if data.get("scores_removed"):
        details.append(_pair(_("Notes retirées"), data["scores_removed"]))
    if data.get("unassigned"):
        details.append(_("La proposition ne lui est plus attribuée."))
    if data.get("declared_reason"):
        details.append(_pair(_("Motif déclaré"), data["declared_reason"]))
    return details


def _answer_state(state: str) -> str:
    return AnswerState(state).label if state in AnswerState._value2member_map_ else state


def _decision_details(data: dict) -> list[str]:
    amount = data.get("granted_amount_cents")
    requested = data.get("requested_budget_cents")
    return [_pair(_("Décision"), _answer_state(data["state"])),
            *([_pair(_("Montant accordé"), euros(amount))] if amount else []),
            *([_pair(_("Budget demandé"), euros(requested))] if amount and requested else [])]


def _text_change_details(data: dict) -> list[str]:
    state = [_pair(_("Modèle"), _answer_state(data["state"]))] if "state" in data else []
    return [*state, _pair(_("Texte"), _change([data["before"], data.get("text", data.get("body", ""))]))]


def _publication_details(data: dict) -> list[str]:
    return [_pair(_("Réponses publiées"), data["answers"]), _pair(_("Lauréates"), data["laureates"]),
            _pair(_("Montant accordé"), euros(data["granted_cents"])),
            _pair(_("Empreinte SHA-256 de ce qui a été publié"), data["digest"])]


def _merge_details(data: dict) -> list[str]:
    """The merged proposal's title, its originals (restored, for an unmerge) and, for a merge, its carrier."""
    origins = ", ".join(_("« %(title)s » (n° %(id)s)", title=title, id=id_)
                        for id_, title in zip(data["origins"], data["origin_titles"]))
    carrier = [_pair(_("Organisation porteuse"), data["organization"])] if "organization" in data else []
    return [_pair(_("Titre"), data["title"]), _pair(_("Propositions d'origine"), origins), *carrier]


def _suggestion_request_details(data: dict) -> list[str]:
    clusters = data["clusters"] or _("le nombre que le calcul propose")
    replaced = [_("Remplace la suggestion précédente")] if data.get("replaced") else []
    return [_pair(_("Grands enjeux"), clusters), _pair(_("Seuil des doublons"), format_percent(data["threshold"])),
            *replaced]


def _suggestion_accept_details(data: dict) -> list[str]:
    left = ([_pair(_("Laissées dans leur grand enjeu"), data["left_in_their_issue"])]
            if data["left_in_their_issue"] else [])
    return [_pair(_("Groupe"), _("n° %(number)s « %(name)s »", number=data["cluster"], name=data["name"])),
            _pair(_("Propositions rangées"), data["proposals"]), *left,
            *([_("Propositions déjà rangées déplacées dans ce grand enjeu")] if data.get("moved") else [])]


def _diagnostic_status_details(data: dict) -> list[str]:
    """The status before and after (unchanged when only the note was), and the admins' note."""
    before, after = (DiagnosticStatus(data[key]).label if data[key] in DiagnosticStatus._value2member_map_
                     else data[key] for key in ("from", "to"))
    status = _pair(_("Statut"), after if before == after else f"{before} → {after}")
    return [status, *([_pair(_("Note"), _short(data["note"]))] if data.get("note") else [])]


def _mandate_details(data: dict) -> list[str]:
    """Both people of a mandate, for its grant, its revocation and every support cast under it."""
    period = ([_pair(_("Période"), _("du %(start)s au %(end)s",
                                     start=paris_datetime(datetime.fromisoformat(data["starts_at"])),
                                     end=paris_datetime(datetime.fromisoformat(data["ends_at"]))))]
              if "starts_at" in data else [])
    return [_pair(_("Organisation"), data["organization"]), _pair(_("Élu ou élue"), data["official"]),
            _pair(_("Aidant"), data["aidant"]), *period]


DETAILS = {
    "mandate.grant": _mandate_details,
    "mandate.revoke": _mandate_details,
    "support.cast_under_mandate": _mandate_details,
    "support.withdraw_under_mandate": _mandate_details,
    "account.delete": _deletion_details,
    "account.admin": lambda data: [_("Rôle donné") if data["admin"] else _("Rôle retiré")],
    "account.proconnect_create": lambda data: [],
    "account.proconnect_link": lambda data: [_pair(_("SIRET"), data["siret"])] if data.get("siret") else [],
    "consultation.create": _consultation_details,
    "consultation.update": _consultation_details,
    "committee.add": _seat_details,
    "committee.remove": lambda data: [],
    "organization.create": _organization_details,
    "decidim.import": _import_details,
    "membership.verify": _membership_details,
    "membership.refuse": _membership_details,
    "issue.create": _issue_details,
    "issue.update": _issue_details,
    "issue.move": lambda data: [_pair(_("Rang"), f"{data['from']} → {data['to']}")],
    "issue.delete": _issue_details,
    "issue.assign": _assignment_details,
    "issue.remove": _assignment_details,
    "suggestion.request": _suggestion_request_details,
    "suggestion.accept": _suggestion_accept_details,
    "proposal.merge": _merge_details,
    "proposal.unmerge": _merge_details,
    "evaluation.criteria": _criteria_details,
    "evaluation.score": _score_details,
    "evaluation.conflict_declare": _conflict_details,
    "evaluation.conflict_withdraw": _conflict_details,
    "evaluation.assign": lambda data: [],
    "evaluation.unassign": lambda data: [],
    # The note's text stays in the committee's space: the log says which note, not what it says.
    "evaluation.note": lambda data: [_("En réponse à une autre note")] if data.get("reply_to") else [],
    "link.confirm": _link_details,
    "link.remove": _link_details,
    "decision.decide": _decision_details,
    "decision.answer": _text_change_details,
    "decision.template": _text_change_details,
    "decision.apply_templates": lambda data: [_pair(_("Propositions"), len(data["proposals"])),
                                              _pair(_("États"), ", ".join(map(_answer_state, data["states"])))],
    "results.publish": _publication_details,
    "diagnostic.request": lambda data: [],
    "diagnostic.status": _diagnostic_status_details,
}
