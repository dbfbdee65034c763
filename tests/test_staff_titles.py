"""Meetings whose topic is still « Thème à venir » are told apart by their date on the
dashboard and in the figures (tables and charts)."""

from __future__ import annotations

import re

from irev.extensions import db
from irev.models import RegistrationState
from irev.services.programmes import TOPIC_TO_COME, staff_title
from tests.factories import paris


def _cycle(create_programme, create_meeting, create_registration):
    """Return a cycle with one announced topic and two « Thème à venir » meetings."""
    programme = create_programme()
    announced = create_meeting(
        programme=programme, title="Mixité sociale", starts_at=paris(2027, 3, 3, 17)
    )
    first = create_meeting(
        programme=programme,
        title=TOPIC_TO_COME,
        topic_announced=False,
        starts_at=paris(2027, 4, 1, 17),
    )
    second = create_meeting(
        programme=programme,
        title=TOPIC_TO_COME,
        topic_announced=False,
        starts_at=paris(2027, 9, 29, 17),
    )
    for meeting in (announced, first, second):
        create_registration(meeting=meeting, state=RegistrationState.SEATED)
    db.session.commit()
    return programme, announced, first, second


def test_the_label_adds_the_date_only_to_a_topic_to_come(
    app, create_programme, create_meeting, create_registration
):
    _, announced, first, second = _cycle(create_programme, create_meeting, create_registration)
    assert staff_title(announced) == "Mixité sociale"
    assert staff_title(first) == "Thème à venir – 1er avril 2027"
    assert staff_title(second) == "Thème à venir – 29 septembre 2027"


def test_the_dashboard_tells_topics_to_come_apart(
    staff_client, create_programme, create_meeting, create_registration
):
    _, announced, first, second = _cycle(create_programme, create_meeting, create_registration)
    html = staff_client.get("/admin/").get_data(as_text=True)
    link = re.compile(r'id="seance-(\d+)-lien"[^>]*>([^<]*)</a>')
    labels = dict(link.findall(html))
    assert labels[str(announced.id)] == "Mixité sociale"
    assert labels[str(first.id)] == "Thème à venir – 1er avril 2027"
    assert labels[str(second.id)] == "Thème à venir – 29 septembre 2027"
    # The counters' fragment (htmx refresh) says the same.
    fragment = staff_client.get(
        "/admin/", headers={"HX-Request": "true", "HX-Target": "compteurs"}
    ).get_data(as_text=True)
    assert "<html" not in fragment and "Thème à venir – 29 septembre 2027" in fragment


def test_the_figures_table_and_chart_tell_topics_to_come_apart(
    staff_client, create_programme, create_meeting, create_registration
):
    programme, _, first, _ = _cycle(create_programme, create_meeting, create_registration)
    html = staff_client.get(f"/admin/programmes/{programme.id}/chiffres").get_data(as_text=True)
    table = html[
        html.index('id="par-seance"') : html.index("</table>", html.index('id="par-seance"'))
    ]
    assert re.findall(r'<th scope="row">([^<]*)</th>', table) == [
        "Mixité sociale",
        "Thème à venir – 1er avril 2027",
        "Thème à venir – 29 septembre 2027",
    ]
    chart = html[html.index('id="graphe-seances-titre"') : html.index("</svg>")]
    bars = re.findall(r'text-anchor="end"[^>]*>([^<]*)</text>', chart)
    assert bars == [
        "Mixité sociale",
        "Thème à venir – 1er avril 2027",
        "Thème à venir – 29 septembre 2027",
    ]  # not cut: the date is what tells them apart
    assert "Thème à venir – 29 septembre 2027 : 1." in chart  # the chart's text alternative

    page = staff_client.get(f"/admin/seances/{first.id}/chiffres").get_data(as_text=True)
    assert "<h1>Chiffres de la séance « Thème à venir – 1er avril 2027 »</h1>" in page
