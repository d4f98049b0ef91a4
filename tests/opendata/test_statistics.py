"""The statistics of a consultation: each figure on a consultation built for it, only listed proposals, only the
supports the tally counts, nothing drawn from supports while counts are hidden, periods chosen by span."""

import json
from datetime import UTC, date, datetime, timedelta

import pytest
from flask_login import AnonymousUserMixin

from app.consultations.models import PhaseKind
from app.core import clock
from app.extensions import db
from app.opendata.statistics import Area, Period, ThemeCount, consultation_statistics, time_series
from app.votes.services import tally_rows
from tests.factories import (make_consultation, make_counted_support, make_member, make_organization, make_proposal,
                             make_support, seat)

VISITOR = AnonymousUserMixin()


def at(day: int, hour: int = 10, minute: int = 0) -> datetime:
    return datetime(2027, 1, day, hour, minute, tzinfo=UTC)


def counted(proposal, organization, moment: datetime):
    """A support that counts once its organization reached the minimum, cast at `moment`."""
    support = make_counted_support(proposal, organization)
    support.cast_at = moment
    db.session.commit()
    return support


class Built:
    """A consultation in selection: listed and unlisted proposals published on known days, supports counted
    and not counted, organizations of several kinds, départements and régions, some eligible."""

    def __init__(self, phase=PhaseKind.SELECTION, **settings):
        self.consultation = make_consultation(phase, minimum_votes_per_user=2, **settings)
        online, inclusion = self.consultation.themes
        self.murat = make_organization("Murat", departement_code="15")
        self.aurillac = make_organization("Aurillac", departement_code="15")
        self.ajaccio = make_organization("Ajaccio", departement_code="2A")
        self.pointe = make_organization("Pointe-à-Pitre", departement_code="971")
        self.epci = make_organization("Communauté de communes", kind="epci", departement_code=None)
        self.region = make_organization("Auvergne-Rhône-Alpes", kind="region", departement_code=None)
        self.region.region_code = "84"
        for organization in (self.murat, self.aurillac, self.ajaccio):  # eligible: an elected official each
            make_member(organization=organization, role="elected")
        make_member(organization=make_organization(), role="agent")  # no elected official
        make_member(organization=make_organization(is_verified=False), role="elected")
        make_member(organization=make_organization(kind="association", departement_code="15"), role="elected")

        listed = make_proposal  # published, neither hidden nor merged
        self.need = listed(self.consultation, self.murat, title="Besoin un", published_at=at(4), themes=[online])
        # 23:30 in UTC is past midnight in Paris: published on the 6th.
        self.late_need = listed(self.consultation, self.aurillac, published_at=at(5, 23, 30),
                                themes=[online, inclusion])
        self.service = listed(self.consultation, self.ajaccio, kind="service", published_at=at(6), themes=[inclusion])
        self.untagged = listed(self.consultation, self.murat, kind="service", published_at=at(8), themes=[])
        self.hidden = make_proposal(self.consultation, self.pointe, published_at=at(7), themes=[online],
                                    hidden_at=at(7, 12))
        make_proposal(self.consultation, self.pointe, kind="service", published_at=at(7), themes=[online],
                      merged_into_id=self.service.id)
        make_proposal(self.consultation, self.pointe, state="draft", themes=[online])
        make_proposal(self.consultation, self.pointe, state="withdrawn", published_at=at(3), themes=[online])

        # Counted (two supports at least): the EPCI, Aurillac, the région; even a support of the hidden proposal
        # is a line of the tally. Not counted: Ajaccio (one support), Pointe-à-Pitre (no quota taken).
        counted(self.need, self.epci, at(20))
        counted(self.service, self.epci, at(21, 9))
        counted(self.need, self.aurillac, at(21, 23, 30))  # the 22nd in Paris
        counted(self.hidden, self.aurillac, at(22))
        counted(self.need, self.region, at(22))
        counted(self.service, self.region, at(23))
        counted(self.need, self.ajaccio, at(23))
        make_support(self.service, self.pointe)
        db.session.commit()


@pytest.fixture
def built():
    return Built()


def test_contributions_are_the_listed_needs_and_services_by_their_paris_day(built):
    stats = consultation_statistics(built.consultation, VISITOR)
    assert (stats.needs, stats.services, stats.contributing_organizations) == (2, 2, 3)
    assert stats.contributions_over_time.unit == "day"
    assert stats.contributions_over_time.periods == [
        Period(date(2027, 1, 4), {"needs": 1, "services": 0}), Period(date(2027, 1, 5), {"needs": 0, "services": 0}),
        Period(date(2027, 1, 6), {"needs": 1, "services": 1}), Period(date(2027, 1, 7), {"needs": 0, "services": 0}),
        Period(date(2027, 1, 8), {"needs": 0, "services": 1})]


def test_needs_and_services_are_counted_per_theme_a_proposal_in_each_of_its_themes(built):
    online, inclusion = built.consultation.themes
    assert consultation_statistics(built.consultation, VISITOR).themes == [
        ThemeCount(online.id, "Démarches en ligne", 2, 0), ThemeCount(inclusion.id, "Inclusion numérique", 1, 1),
        ThemeCount(None, None, 0, 1)]


def test_supports_are_the_tallys_lines_by_the_paris_day_they_were_cast(built):
    participation = consultation_statistics(built.consultation, VISITOR).participation
    assert participation.supports == 6 == len(tally_rows(built.consultation))
    assert participation.supports_over_time.unit == "day"
    assert [(period.start.day, period.counts["supports"]) for period in participation.supports_over_time.periods] == [
        (20, 1), (21, 1), (22, 3), (23, 1)]  # Ajaccio's support on the 23rd does not count


def test_participants_are_the_organizations_whose_supports_count_by_kind_departement_and_region(built):
    participation = consultation_statistics(built.consultation, VISITOR).participation
    assert participation.organizations == 3
    assert participation.by_kind == {"commune": 1, "epci": 1, "region": 1}
    assert participation.by_departement == [Area("15", 1), Area(None, 2)]
    # Aurillac's région is its département's; the région's own code; the EPCI is placed nowhere.
    assert participation.by_region == [Area("84", 2), Area(None, 1)]


def test_the_participation_rate_is_out_of_the_organizations_that_may_support(built):
    participation = consultation_statistics(built.consultation, VISITOR).participation
    # Eligible: Murat, Aurillac and Ajaccio (an elected official each), and the EPCI and the région, which
    # supported; not the association (not an eligible kind), nor organizations without a verified elected official.
    assert (participation.organizations, participation.eligible_organizations, participation.rate) == (3, 5, 0.6)
    built.consultation.eligible_kinds = ["commune", "epci", "departement", "region", "association"]
    assert consultation_statistics(built.consultation, VISITOR).participation.eligible_organizations == 6


def test_an_organization_below_the_minimum_counts_once_it_reaches_it(built):
    counted(built.service, built.ajaccio, at(24))
    participation = consultation_statistics(built.consultation, VISITOR).participation
    assert (participation.supports, participation.organizations) == (8, 4)
    assert participation.by_departement == [Area("15", 1), Area("2A", 1), Area(None, 2)]


def test_while_counts_are_hidden_nothing_drawn_from_supports_is_given_but_to_the_committee():
    now = clock.now()
    built = Built(PhaseKind.SUPPORT, votes_hidden=True)
    stats = consultation_statistics(built.consultation, VISITOR, now)
    assert stats.counts_hidden and stats.participation is None
    assert stats.as_dict()["participation"] is None and stats.as_dict()["counts_hidden"] is True
    assert (stats.needs, stats.services) == (2, 2)  # contributions stay public
    member = seat(built.consultation).user
    assert consultation_statistics(built.consultation, member, now).participation.supports == 6
    after = built.consultation.phase(PhaseKind.SUPPORT).ends_at
    assert consultation_statistics(built.consultation, VISITOR, after).participation.supports == 6


def test_the_figures_are_json_ready_with_iso_dates(built):
    data = json.loads(json.dumps(consultation_statistics(built.consultation, VISITOR).as_dict()))
    assert data["contributions_over_time"]["periods"][0] == {"start": "2027-01-04",
                                                             "counts": {"needs": 1, "services": 0}}
    assert data["participation"]["by_region"] == [{"code": "84", "organizations": 2},
                                                  {"code": None, "organizations": 1}]
    assert data["participation"]["rate"] == 0.6 and data["themes"][2] == {
        "theme_id": None, "name": None, "needs": 0, "services": 1}


def test_an_empty_consultation_has_empty_figures():
    stats = consultation_statistics(make_consultation(PhaseKind.COLLECT), VISITOR)
    assert (stats.needs, stats.services, stats.contributions_over_time.periods) == (0, 0, [])
    assert (stats.participation.supports, stats.participation.rate) == (0, None)


@pytest.mark.parametrize(("days", "unit", "starts"), [
    (31, "day", None),
    (40, "week", [date(2026, 12, 28) + timedelta(weeks=week) for week in range(7)]),  # Mondays
    (300, "month", [date(2027, month, 1) for month in range(1, 11)])])
def test_periods_are_days_weeks_or_months_as_the_span_asks(days, unit, starts):
    first = at(1)
    series = time_series([(first, {"n": 2}), (first + timedelta(days=days), {"n": 1})], keys=("n",))
    assert series.unit == unit
    assert sum(period.counts["n"] for period in series.periods) == 3
    if starts:
        assert [period.start for period in series.periods] == starts
    else:
        assert len(series.periods) == 32


def test_a_listed_contribution_of_no_date_counts_in_the_totals_not_over_time(built):
    make_proposal(built.consultation, built.pointe, published_at=None)  # as some Decidim imports leave them
    stats = consultation_statistics(built.consultation, VISITOR)
    assert (stats.needs, stats.contributing_organizations) == (3, 4)
    assert sum(period.counts["needs"] for period in stats.contributions_over_time.periods) == 2
