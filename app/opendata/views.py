"""The open-data page of a consultation: every published file with its size, date, licence and columns; each
file streamed on its own, and one zip holding them all. The files are the same for everyone (app/opendata/
exports.py decides what is published)."""

from collections.abc import Callable, Iterator

from flask import Blueprint, Response, abort, render_template, stream_with_context
from flask_babel import format_decimal, gettext as _, ngettext

from app.committee.views import consultation_by_slug
from app.consultations.models import Consultation
from app.extensions import db
from app.opendata import exports, sizes
from app.results.queries import tally_of
from app.votes.models import Tally
from app.votes.services import frozen_tally

bp = Blueprint("opendata", __name__)


def _consultation(slug: str) -> tuple[Consultation, Tally | None]:
    """The consultation and its tally's date and digest, the tally frozen by the first visit after the
    support window closed (as the tally and results pages do)."""
    consultation = consultation_by_slug(slug)
    tally = tally_of(consultation)
    if tally is None and frozen_tally(consultation) is not None:
        db.session.commit()
        tally = tally_of(consultation)
    return consultation, tally


@bp.get("/consultations/<slug>/donnees-ouvertes")
def index(slug: str):
    consultation, tally = _consultation(slug)
    counted = sizes.sizes(consultation)
    files = [(file, counted.get(file.name)) for file in exports.files(consultation)]
    published = [dataset for dataset in exports.DATASETS if dataset.is_published(consultation)]
    return render_template("opendata/index.html", consultation=consultation, tally=tally, files=files,
                           datasets=published, pending=[dataset for dataset in exports.DATASETS
                                                        if dataset not in published],
                           licence=exports.LICENCE, licence_url=exports.LICENCE_URL, tally_file=exports.TALLY_FILE)


@bp.app_template_filter("file_size")
def size_label(size: int) -> str:
    """A size as French readers write it: 820 octets, 12,4 ko, 3,1 Mo."""
    if size >= 2**20:
        return _("%(size)s Mo", size=format_decimal(round(size / 2**20, 1)))
    if size >= 2**10:
        return _("%(size)s ko", size=format_decimal(round(size / 2**10, 1)))
    return ngettext("%(num)d octet", "%(num)d octets", size)


def _attachment(consultation: Consultation, export: Callable[[Consultation], Iterator[bytes]], media_type: str,
                filename: str) -> Response:
    """`export(consultation)` streamed as a file to save. The view's session is closed when the view returns,
    before the body is read, which leaves `consultation` detached: the body loads it again in its own session."""
    consultation_id = consultation.id

    def body() -> Iterator[bytes]:
        yield from export(db.session.get(Consultation, consultation_id))
    return Response(stream_with_context(body()), content_type=media_type,
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


@bp.get("/consultations/<slug>/donnees-ouvertes/<filename>")
def download(slug: str, filename: str):
    consultation, _tally = _consultation(slug)
    file = exports.find(consultation, filename) or abort(404)
    return _attachment(consultation, lambda loaded: exports.content(loaded, file), exports.MEDIA_TYPES[file.format],
                       f"{file.dataset.name}-{consultation.slug}.{file.format}")


@bp.get("/consultations/<slug>/donnees-ouvertes.zip")
def archive(slug: str):
    consultation, _tally = _consultation(slug)
    return _attachment(consultation, exports.archive, "application/zip", f"donnees-ouvertes-{consultation.slug}.zip")
