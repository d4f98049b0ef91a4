"""Text similarity, on short French proposals written for these tests in four clear topics.

The model is loaded once for the module; every ranking below fails if the vectors stop carrying
meaning (random vectors, a constant text, a broken normalisation).
"""

import numpy as np
import pytest

from app.proposals import similarity

# (topic, title, body): three proposals per topic, worded differently within a topic.
PROPOSALS = [
    ("cantine", "Inscription en ligne à la cantine scolaire",
     "Les familles remplissent encore un formulaire papier chaque trimestre pour inscrire leurs enfants "
     "au restaurant scolaire. Un portail en ligne permettrait d'inscrire les enfants, de signaler les "
     "absences et de payer les repas."),
    ("cantine", "Réduire le gaspillage alimentaire dans les cantines",
     "Dans nos écoles, près d'un tiers des repas servis à la cantine finit à la poubelle. Un outil de "
     "pesée des restes et de prévision des effectifs aiderait les cuisiniers à ajuster les quantités."),
    ("cantine", "Menus de la restauration scolaire accessibles aux parents",
     "Publier les menus de la cantine, les allergènes et la provenance des produits sur une page que "
     "les parents consultent depuis leur téléphone."),
    ("transport", "Transport à la demande pour les communes rurales",
     "Dans nos villages il n'y a plus de ligne de bus régulière. Les personnes âgées sans voiture ne "
     "peuvent aller ni au marché ni chez le médecin. Une navette réservable par téléphone ou en ligne "
     "répondrait à ce besoin."),
    ("transport", "Plateforme de réservation de minibus partagés",
     "Une application pour que les habitants réservent une place dans un minibus qui passe les prendre "
     "à domicile, avec un itinéraire calculé selon les demandes du jour."),
    ("transport", "Covoiturage solidaire vers la gare et l'hôpital",
     "Mettre en relation des conducteurs bénévoles et les habitants sans moyen de transport pour "
     "rejoindre la gare ou l'hôpital le plus proche."),
    ("cyber", "Sensibiliser les agents aux rançongiciels",
     "Notre mairie a été paralysée une semaine par un rançongiciel après l'ouverture d'une pièce jointe "
     "piégée. Il nous faut des formations courtes pour apprendre aux agents à reconnaître l'hameçonnage."),
    ("cyber", "Sauvegardes hors ligne des serveurs communaux",
     "Les petites communes n'ont pas de service informatique. Une sauvegarde chiffrée et mutualisée des "
     "données de la mairie, testée chaque mois, permettrait de redémarrer après une attaque."),
    ("cyber", "Audit de sécurité informatique pour les petites collectivités",
     "Un diagnostic gratuit des postes, du réseau et des mots de passe de la mairie, suivi d'un plan "
     "d'actions pour se protéger des cyberattaques."),
    ("etat-civil", "Demande d'acte de naissance en ligne",
     "Les usagers se déplacent encore au guichet pour obtenir une copie d'acte de naissance ou de "
     "mariage. Un formulaire en ligne relié au registre d'état civil permettrait de la recevoir par "
     "courrier ou de façon dématérialisée."),
    ("etat-civil", "Rendez-vous en ligne pour les cartes d'identité et passeports",
     "Un agenda en ligne pour réserver un créneau en mairie et déposer une demande de carte nationale "
     "d'identité ou de passeport, avec un rappel par SMS."),
    ("etat-civil", "Dématérialiser les déclarations de décès",
     "Permettre aux pompes funèbres et aux médecins de transmettre les déclarations de décès à "
     "l'officier d'état civil par voie électronique, sans déplacement."),
]
QUERIES = {
    "cantine": ("Réservation des repas de cantine",
                "Permettre aux parents de réserver ou d'annuler la veille les repas de leurs enfants à la "
                "cantine, depuis leur téléphone."),
    "transport": ("Navette à la demande pour les aînés",
                  "Un petit bus qui vient chercher les personnes âgées isolées chez elles sur simple appel "
                  "pour les conduire au bourg."),
    "cyber": ("Protéger la mairie contre les cyberattaques",
              "Un kit de sécurité informatique pour les secrétaires de mairie : antivirus, mises à jour "
              "automatiques et conduite à tenir en cas de piratage."),
    "etat-civil": ("Livret de famille et actes d'état civil en ligne",
                   "Demander une copie intégrale d'acte de mariage ou mettre à jour le livret de famille "
                   "sans venir à la mairie."),
}
UNRELATED = ("Fleurir les ronds-points de la commune",
             "Planter des vivaces et des arbustes peu gourmands en eau sur les ronds-points et aux "
             "entrées de ville.")


def text(title: str, body: str = "") -> str:
    return similarity.proposal_text(title, None, body)


def embed_one(title: str, body: str = "") -> np.ndarray:
    return similarity.embed([text(title, body)])[0]


def topics(results: list[tuple[int, float]]) -> list[str]:
    return [PROPOSALS[row][0] for row, _ in results]


@pytest.fixture(scope="module")
def vectors() -> np.ndarray:
    return similarity.embed([text(title, body) for _, title, body in PROPOSALS])


def test_embed_gives_one_unit_float32_vector_per_text_the_same_each_time(vectors):
    assert vectors.shape == (len(PROPOSALS), similarity.DIM) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-5)
    assert np.allclose(embed_one(*PROPOSALS[4][1:]), vectors[4], atol=1e-5)
    assert similarity.embed([]).shape == (0, similarity.DIM)


def test_a_new_text_on_booking_cantine_meals_finds_the_cantine_proposals_first(vectors):
    results = similarity.most_similar(embed_one(*QUERIES["cantine"]), vectors, k=3)
    assert topics(results) == ["cantine"] * 3
    assert [score for _, score in results] == sorted((score for _, score in results), reverse=True)


@pytest.mark.parametrize("topic", QUERIES)
def test_a_new_text_ranks_its_own_topic_above_the_others(vectors, topic):
    results = similarity.most_similar(embed_one(*QUERIES[topic]), vectors, k=len(PROPOSALS), min_score=-1)
    assert topics(results)[:2] == [topic, topic]
    same = np.mean([score for row, score in results if PROPOSALS[row][0] == topic])
    others = np.mean([score for row, score in results if PROPOSALS[row][0] != topic])
    assert same > others + 0.15


def test_a_title_alone_already_shows_a_proposal_of_its_topic(vectors):
    # What an author sees after typing only the title.
    results = similarity.most_similar(embed_one(QUERIES["cantine"][0]), vectors)
    assert results and set(topics(results)) == {"cantine"}


def test_an_unrelated_text_scores_lower_and_nothing_is_shown(vectors):
    unrelated = vectors @ embed_one(*UNRELATED)
    related = vectors @ embed_one(*QUERIES["cantine"])
    assert unrelated.max() < related.max() - 0.2
    assert similarity.most_similar(embed_one(*UNRELATED), vectors) == []


def test_vectors_round_trip_through_bytes(vectors):
    blob = similarity.to_bytes(vectors[7])
    assert isinstance(blob, bytes) and len(blob) == similarity.DIM * 4
    restored = similarity.from_bytes(blob)
    assert restored.dtype == np.float32 and np.array_equal(restored, vectors[7])
    stored = np.stack([similarity.from_bytes(similarity.to_bytes(vector)) for vector in vectors])
    query = embed_one(*QUERIES["cyber"])
    assert similarity.most_similar(query, stored) == similarity.most_similar(query, vectors)


def test_nearest_gives_each_row_its_closest_other_rows_by_blocks(vectors):
    rows = list(range(len(vectors)))
    one_by_one = [[(other, score) for other, score in similarity.most_similar(vectors[row], vectors, k=4)
                   if other != row][:3] for row in rows]
    found = similarity.nearest(vectors, rows, 3, block=5)
    assert [[other for other, _ in neighbours] for neighbours in found] == [
        [other for other, _ in neighbours] for neighbours in one_by_one]
    assert np.allclose([score for neighbours in found for _, score in neighbours],
                       [score for neighbours in one_by_one for _, score in neighbours], atol=1e-5)
    assert similarity.nearest(vectors, [0], 3, min_score=1.0) == [[]]  # nothing but itself scores 1


def test_reaching_names_the_rows_whose_floor_one_of_the_given_rows_reaches(vectors):
    floors = np.full(len(vectors), 0.5, dtype=np.float32)
    expected = (vectors @ vectors[[0, 7]].T >= 0.5).any(axis=1)
    assert np.array_equal(similarity.reaching(vectors, floors, [0, 7], block=1), expected)
    assert expected[0] and expected[7] and not expected.all()


def test_key_term_words_leave_out_stop_words_and_stems_merge_plural_and_feminine():
    assert similarity.words("L'inscription des enfants à la cantine, en 2025") == ["inscription", "enfants", "cantine"]
    assert similarity.stem("cantines") == similarity.stem("cantine")
    assert similarity.stem("journaux") == similarity.stem("journal")
    assert similarity.stem("communales") == similarity.stem("communal")


def test_proposal_text_is_title_summary_and_body_as_plain_text():
    body = ("## Contexte\n\n- **Repas** [bio](https://exemple.fr/bio)\n> Cité par les parents\n\n"
            "`Portail` &amp; suite : https://exemple.fr/x\n")
    assert similarity.proposal_text("Cantine", "Résumé court.", body) == (
        "Cantine\nRésumé court.\nContexte Repas bio Cité par les parents Portail & suite :")
    assert similarity.proposal_text("Cantine", None, "") == "Cantine"
