"""Suggested major issues ("Proposer des enjeux"): a member asks, a job computes a draft from the stored
vectors, members rework the draft and accept its clusters, one by one or several at once.

The draft (ClusterSuggestion.content) is the committee's working document: renaming a cluster, moving or
dropping proposals and merging clusters change the draft alone. Only accepting a cluster creates an issue
and fills it, through the issues' own services (which log each assignment), plus one "suggestion.accept"
entry. Every change is made under a lock on the draft's row and against the version the member saw: a
colleague's change made meanwhile is refused with a message, never overwritten.

scikit-learn (a second and 60 MB to import) comes with app.committee.clustering, which only the job and the
command import: web requests read the stored draft.
"""

import copy
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError

from app.accounts.models import User
from app.committee.models import ClusterSuggestion, Issue
from app.committee.permissions import why_not_cluster, why_not_organize_issues
from app.committee.queries import listed
from app.committee.services import TITLE_LENGTH, assign_proposals, create_issue
from app.consultations.models import Consultation
from app.core import audit, clock, jobs
from app.core.errors import RuleViolation, refuse_if
from app.extensions import db
from app.proposals import similarity
from app.proposals.models import Proposal, ProposalVector

KIND = "committee.suggestion"
CLUSTERS = (2, 50)  # what a committee may ask for; the suggested number stays within clustering.K_BOUNDS
THRESHOLD_PERCENT = (50, 99)
DEFAULT_THRESHOLD_PERCENT = round(similarity.DUPLICATE_THRESHOLD * 100)
CENTRAL = 3  # the most central proposals a cluster shows
NAME_TERMS = 3  # key terms a cluster's prefilled name is made of
# Pairs kept in a draft, best first: a low threshold on a large consultation finds tens of thousands, more
# than a committee reads; the draft says how many there were.
MAX_DUPLICATES = 2000


@dataclass(frozen=True)
class StoredVectors:
    """The listed proposals of a consultation that have a vector of the current engine, by id."""

    ids: list[int]
    titles: list[str]
    texts: list[str]
    vectors: np.ndarray
    missing: int  # listed proposals left aside: their vector is not computed yet (or by an older engine)


def stored_vectors(consultation: Consultation) -> StoredVectors:
    """What the engine works on, read in one query (and one count), for the job and the command alike."""
    rows = db.session.execute(listed(
        sa.select(Proposal.id, Proposal.title, Proposal.summary, Proposal.body, ProposalVector.vector)
        .join(ProposalVector, ProposalVector.proposal_id == Proposal.id)
        .where(Proposal.consultation_id == consultation.id, ProposalVector.engine == similarity.ENGINE_VERSION))
        .order_by(Proposal.id)).all()
    vectors = np.stack([similarity.from_bytes(row.vector) for row in rows]) if rows else np.empty((0, similarity.DIM))
    published = db.session.scalar(listed(sa.select(sa.func.count()).select_from(Proposal)
                                         .where(Proposal.consultation_id == consultation.id)))
    return StoredVectors([row.id for row in rows], [row.title for row in rows],
                         [similarity.proposal_text(row.title, row.summary, row.body) for row in rows], vectors,
                         published - len(rows))


def compute(stored: StoredVectors, n_clusters: int | None, threshold: float):
    """The engine's suggestion for these vectors (every member's similarity to its centre, most central
    first, in `central`) and, when n_clusters is None, the reason for the number it chose (else None)."""
    from app.committee import clustering  # scikit-learn: in the job and the command only

    reason = None
    if n_clusters is None:
        reason = clustering.suggested_k(stored.vectors, stored.texts)
        n_clusters = reason.k
    suggestion = clustering.suggest(stored.vectors, stored.texts, n_clusters, threshold,
                                    n_central=len(stored.ids))
    return suggestion, reason


def summary(suggestion, ids: list[int]) -> dict:
    """The suggestion by proposal id, as the command prints it in JSON and as a draft starts."""
    return {
        "clusters": [{"proposal_ids": [ids[row] for row in cluster.members], "key_terms": cluster.key_terms}
                     for cluster in suggestion.clusters],
        # Rounded: the last digits of a dot product may differ from one machine to another.
        "duplicates": [{"proposal_ids": [ids[i], ids[j]], "score": round(score, 4)}
                       for i, j, score in suggestion.duplicates],
    }


def current_draft(consultation: Consultation) -> ClusterSuggestion | None:
    return db.session.scalar(sa.select(ClusterSuggestion).where(ClusterSuggestion.consultation_id == consultation.id))


def request_suggestion(consultation: Consultation, *, n_clusters: int | None, threshold: float, by: User,
                       version: int | None = None, now: datetime | None = None) -> ClusterSuggestion:
    """Ask for a new draft: k clusters (None: the number the engine suggests) and the pairs of proposals
    scoring at least `threshold`. It replaces the current draft (what was accepted from it stays) and is
    computed by the job; `version`, when given, is the draft's as the member saw it."""
    refuse_if(why_not_cluster(by, consultation, now))
    if n_clusters is not None and not CLUSTERS[0] <= n_clusters <= CLUSTERS[1]:
        raise RuleViolation(_("Le nombre de grands enjeux va de %(min)d à %(max)d ; laissez vide pour celui que "
                              "le calcul propose.", min=CLUSTERS[0], max=CLUSTERS[1]), field="clusters")
    if not THRESHOLD_PERCENT[0] / 100 <= threshold <= THRESHOLD_PERCENT[1] / 100:
        raise RuleViolation(_("Le seuil des doublons va de %(min)d à %(max)d %%.", min=THRESHOLD_PERCENT[0],
                              max=THRESHOLD_PERCENT[1]), field="threshold")
    draft = _locked(consultation)
    if draft is None:
        try:
            with db.session.begin_nested():
                draft = ClusterSuggestion(consultation=consultation, requested_by=by, duplicate_threshold=threshold)
                db.session.add(draft)
        except IntegrityError:  # a colleague asked for the first draft at the same moment
            draft = _locked(consultation)
        else:
            version = None
    if version is not None:
        _check_version(draft, version)
    replaced = draft.computed_at is not None
    draft.requested_by, draft.requested_at = by, now or clock.now()
    draft.n_clusters, draft.duplicate_threshold = n_clusters, threshold
    draft.content, draft.computed_at = None, None
    draft.version = (draft.version or 0) + 1
    db.session.flush()
    jobs.queue_jobs(KIND, [job_payload(draft)])
    audit.record("suggestion.request", actor=by, subject=draft,
                 data={"clusters": n_clusters, "threshold": threshold, "replaced": replaced})
    return draft


def job_payload(draft: ClusterSuggestion) -> dict:
    """What the job is given for the draft as requested (the demo computes one at once with it)."""
    return {"suggestion_id": draft.id, "version": draft.version}


def computation_failed(draft: ClusterSuggestion) -> bool:
    """The draft's job failed every attempt: asking again is the way on."""
    return draft.content is None and jobs.given_up(KIND, job_payload(draft))


def compute_suggestions(payloads: list[dict]) -> None:
    """The job: compute each requested draft from the stored vectors, unless it was asked again meanwhile
    (the later request's job computes that one)."""
    for payload in payloads:
        draft = db.session.get(ClusterSuggestion, payload["suggestion_id"])
        if draft is None or draft.version != payload["version"] or draft.content is not None:
            continue
        content = _computed(draft)
        # The computation takes seconds: the row is locked only to write, and only if nobody asked again.
        if _locked(draft.consultation).version == payload["version"]:
            draft.content, draft.computed_at, draft.version = content, clock.now(), draft.version + 1
            db.session.flush()


def _computed(draft: ClusterSuggestion) -> dict:
    stored = stored_vectors(draft.consultation)
    suggestion, reason = compute(stored, draft.n_clusters, draft.duplicate_threshold)
    start = summary(suggestion, stored.ids)
    clusters = []
    for number, (cluster, shown) in enumerate(zip(suggestion.clusters, start["clusters"]), start=1):
        scores = [[stored.ids[row], round(score, 4)] for row, score in cluster.central]
        clusters.append({"number": number, "name": _prefilled_name(cluster.key_terms, number),
                         "proposal_ids": shown["proposal_ids"], "key_terms": shown["key_terms"],
                         "central": scores[:CENTRAL], "scores": {str(id_): score for id_, score in scores},
                         "merged": [], "issue_id": None})
    return {"inputs": {"clusters": draft.n_clusters, "k": len(suggestion.clusters),
                       "threshold": draft.duplicate_threshold,
                       "silhouette": {str(k): round(score, 4) for k, score in reason.silhouette.items()} if reason
                       else None,
                       "proposals": len(stored.ids), "missing": stored.missing},
            "clusters": clusters, "dropped": [],
            "duplicates": start["duplicates"][:MAX_DUPLICATES], "duplicates_total": len(start["duplicates"])}


def _prefilled_name(key_terms: list[str], number: int) -> str:
    if not key_terms:
        return _("Groupe %(number)d", number=number)
    name = ", ".join(key_terms[:NAME_TERMS])
    return (name[0].upper() + name[1:])[:TITLE_LENGTH[1]]


# Working on the draft: nothing but the draft changes.

def rename_cluster(draft: ClusterSuggestion, number: int, name: str, *, version: int, by: User,
                   now: datetime | None = None) -> None:
    content = _editable(draft, version, by, now)
    name = " ".join(name.split())
    if not TITLE_LENGTH[0] <= len(name) <= TITLE_LENGTH[1]:
        raise RuleViolation(_("Le nom compte entre %(min)d et %(max)d caractères.", min=TITLE_LENGTH[0],
                              max=TITLE_LENGTH[1]), field="name")
    _open_cluster(content, number)["name"] = name
    _save(draft, content)


def move_proposals(draft: ClusterSuggestion, number: int, proposal_ids: list[int], target: int, *, version: int,
                   by: User, now: datetime | None = None) -> None:
    """Move ticked proposals of cluster `number` into cluster `target`."""
    content = _editable(draft, version, by, now)
    source, destination = _open_cluster(content, number), _open_cluster(content, target)
    if source is destination:
        raise RuleViolation(_("Choisissez un autre groupe que celui où sont déjà les propositions."), field="target")
    moved = _take(source, proposal_ids)
    destination["proposal_ids"] = sorted(destination["proposal_ids"] + moved)
    _save(draft, content)


def drop_proposals(draft: ClusterSuggestion, number: int, proposal_ids: list[int], *, version: int, by: User,
                   now: datetime | None = None) -> None:
    """Leave ticked proposals of cluster `number` out of the suggestion (they stay as they are)."""
    content = _editable(draft, version, by, now)
    content["dropped"] = sorted(content["dropped"] + _take(_open_cluster(content, number), proposal_ids))
    _save(draft, content)


def merge_clusters(draft: ClusterSuggestion, number: int, other: int, *, version: int, by: User,
                   now: datetime | None = None) -> None:
    """Merge cluster `other` into cluster `number`, which keeps its name; their key terms add up."""
    content = _editable(draft, version, by, now)
    kept, absorbed = _open_cluster(content, number), _open_cluster(content, other)
    if kept is absorbed:
        raise RuleViolation(_("Choisissez un autre groupe à fusionner avec celui-ci."), field="other")
    kept["proposal_ids"] = sorted(kept["proposal_ids"] + absorbed["proposal_ids"])
    kept["key_terms"] += [term for term in absorbed["key_terms"] if term not in kept["key_terms"]]
    kept["central"] = sorted(kept["central"] + absorbed["central"], key=lambda pair: (-pair[1], pair[0]))[:CENTRAL]
    kept["scores"].update(absorbed["scores"])
    kept["merged"] += [absorbed["number"], *absorbed["merged"]]
    content["clusters"].remove(absorbed)
    _save(draft, content)


# Accepting: the only step that changes issues and proposals.

def accept_clusters(draft: ClusterSuggestion, numbers: list[int], *, move_assigned: bool = False, version: int,
                    by: User, now: datetime | None = None) -> list[Issue]:
    """Make an issue of each cluster `numbers` names, with the cluster's name, holding its proposals that are
    still listed. A proposal already in an issue stays there unless `move_assigned`. All or nothing."""
    consultation = draft.consultation
    content = _editable(draft, version, by, now)
    refuse_if(why_not_organize_issues(by, consultation, now))
    if not numbers:
        raise RuleViolation(_("Cochez au moins un groupe à accepter."), field="numbers")
    in_issue = dict(db.session.execute(listed(sa.select(Proposal.id, Proposal.issue_id)
                                              .where(Proposal.consultation_id == consultation.id))).all())
    clusters = [_open_cluster(content, number) for number in sorted(set(numbers))]
    issues = []
    for cluster in sorted(clusters, key=content["clusters"].index):  # in the draft's order
        number = cluster["number"]
        still = [id_ for id_ in cluster["proposal_ids"] if id_ in in_issue]
        taken = [id_ for id_ in still if move_assigned or in_issue[id_] is None]
        if not taken:
            raise RuleViolation(_("Le groupe « %(name)s » n'a aucune proposition à ranger : elles sont déjà dans un "
                                  "grand enjeu ou ne sont plus publiées.", name=cluster["name"]))
        try:
            issue = create_issue(consultation, title=cluster["name"], by=by, now=now)
        except RuleViolation as refusal:  # its title, say which cluster
            raise RuleViolation(_("Groupe « %(name)s » : %(reason)s Renommez le groupe.", name=cluster["name"],
                                  reason=refusal)) from None
        assign_proposals(issue, taken, by=by, now=now)
        cluster["issue_id"] = issue.id
        audit.record("suggestion.accept", actor=by, subject=draft,
                     data={"cluster": number, "name": cluster["name"], "issue_id": issue.id, "proposals": len(taken),
                           "left_in_their_issue": len(still) - len(taken), "moved": move_assigned})
        issues.append(issue)
    _save(draft, content)
    return issues


def _locked(consultation: Consultation) -> ClusterSuggestion | None:
    """The consultation's draft, locked until commit (PostgreSQL; SQLite runs one writer at a time) and
    read afresh: what a colleague committed meanwhile is what the change applies to."""
    return db.session.scalar(sa.select(ClusterSuggestion).where(ClusterSuggestion.consultation_id == consultation.id)
                             .with_for_update().execution_options(populate_existing=True))


def _check_version(draft: ClusterSuggestion, version: int) -> None:
    if draft.version != version:
        raise RuleViolation(_("Un autre membre du comité a modifié la suggestion pendant que vous la lisiez : "
                              "rien n'a été changé. Voici la suggestion à jour ; refaites votre choix si besoin."))


def _editable(draft: ClusterSuggestion, version: int, by: User, now: datetime | None) -> dict:
    """A copy of the draft's content to change, once the rules and the version are checked."""
    refuse_if(why_not_cluster(by, draft.consultation, now))
    locked = _locked(draft.consultation)
    if locked is None or locked.id != draft.id:
        raise RuleViolation(_("Cette suggestion a été remplacée par une nouvelle demande."))
    _check_version(locked, version)
    if locked.content is None:
        raise RuleViolation(_("La suggestion est en cours de calcul : actualisez la page dans quelques instants."))
    return copy.deepcopy(locked.content)


def _save(draft: ClusterSuggestion, content: dict) -> None:
    draft.content = content  # a new object: SQLAlchemy sees the change of a JSON column by its identity
    draft.version += 1
    db.session.flush()


def _find(content: dict, number: int) -> dict | None:
    return next((cluster for cluster in content["clusters"] if cluster["number"] == number), None)


def _open_cluster(content: dict, number: int) -> dict:
    """Cluster `number` of the draft, still to be accepted."""
    cluster = _find(content, number)
    if cluster is None:
        raise RuleViolation(_("Ce groupe n'existe plus dans la suggestion : il a été fusionné avec un autre."))
    if cluster["issue_id"] is not None:
        raise RuleViolation(_("Le groupe « %(name)s » est déjà accepté : c'est désormais son grand enjeu qui se "
                              "modifie.", name=cluster["name"]))
    return cluster


def _take(cluster: dict, proposal_ids: list[int]) -> list[int]:
    """Take the ticked proposals out of `cluster`; all of them must be in it."""
    wanted = set(proposal_ids)
    if not wanted:
        raise RuleViolation(_("Cochez au moins une proposition."), field="proposal_ids")
    if not wanted <= set(cluster["proposal_ids"]):
        raise RuleViolation(_("Ces propositions ne sont plus dans ce groupe : rechargez la page."),
                            field="proposal_ids")
    cluster["proposal_ids"] = [id_ for id_ in cluster["proposal_ids"] if id_ not in wanted]
    return sorted(wanted)
