"""Hand-written French and English news passages, as Chunks and Hits, for the answer-stage tests.

The same passages calibrate the offline answerer's relevance floor: ``RELEVANT`` pairs a
paraphrased question with the sentence that answers it, ``UNRELATED`` asks what no passage says.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from pipeline.models import Chunk, Hit

DOC_PORT_EN = "a1" * 32
DOC_PORT_FR = "b2" * 32
DOC_LYON = "c3" * 32
DOC_BANK = "d4" * 32
DOC_HEAT = "e5" * 32
DOC_MATCH = "f6" * 32

# (doc_id, ordinal, title, source, page_start, page_end, language, text)
_PASSAGES: list[tuple[str, int, str, str, int, int, str, str]] = [
    (
        DOC_PORT_EN,
        0,
        "Dockers walk out in Marseille",
        "The Coastal Herald",
        3,
        3,
        "en",
        "## Port\n\nDockers at the port of Marseille-Fos walked out on Tuesday to protest against "
        "the planned automation of the container terminal. Union leader Mr. Paul Girard said the "
        "robots would cost 600 jobs. The port authority declined to comment.",
    ),
    (
        DOC_PORT_EN,
        1,
        "Dockers walk out in Marseille",
        "The Coastal Herald",
        3,
        4,
        "en",
        "The walkout lasted four days and left 35 ships waiting at anchor off the coast. "
        "<!-- page 4 --> Exporters of wine and olive oil said they lost about 12 million euros. "
        "Work resumed on Saturday after the company agreed to postpone the project until 2026.",
    ),
    (
        DOC_PORT_FR,
        0,
        "Grève au port du Havre",
        "Le Courrier normand",
        7,
        7,
        "fr",
        "Les dockers du Havre ont cessé le travail lundi pour réclamer une revalorisation de leurs "
        "salaires. Selon M. Lefèvre, secrétaire du syndicat, la direction refuse toute hausse "
        "depuis 2021. Une quarantaine de porte-conteneurs sont restés à quai pendant trois jours.",
    ),
    (
        DOC_LYON,
        0,
        "Municipales : Lyon bascule",
        "Le Progrès du Rhône",
        2,
        2,
        "fr",
        "# Élections municipales\n\nAu second tour, la candidate écologiste Claire Moreau l'a "
        "emporté avec 52,3 % des voix face au maire sortant. La participation a atteint 46 %, en "
        "hausse de six points. Mme Moreau a promis de piétonniser la presqu'île dès 2025.",
    ),
    (
        DOC_BANK,
        0,
        "Central bank tightens again",
        "Financial Daily",
        1,
        1,
        "en",
        "The central bank raised its main interest rate by a quarter point to 4.25% on Thursday, "
        "the fifth increase this year. Governor Anna Lind said inflation, at 6.1% in May, remained "
        "far above the 2% target. Mortgage lenders are expected to pass the rise on to borrowers.",
    ),
    (
        DOC_HEAT,
        0,
        "Canicule dans le Sud-Est",
        "La Dépêche du Midi",
        5,
        5,
        "fr",
        "La vague de chaleur a battu des records dans le Vaucluse. Le thermomètre a atteint "
        "41,2 °C à Carpentras mercredi après-midi, selon Météo-France. Les préfets ont interdit "
        "l'accès aux massifs forestiers en raison du risque d'incendie.",
    ),
    (
        DOC_MATCH,
        0,
        "Late winner for City",
        "Sports Weekly",
        12,
        12,
        "en",
        "City beat United 2-1 at a packed stadium on Sunday. Striker Tom Ellis headed in the "
        "winner in the 89th minute after a corner from Diaz. The result lifts City to third "
        "place in the table.",
    ),
]


def corpus_chunks() -> list[Chunk]:
    """Every passage as a Chunk, with deterministic ids and page numbers."""
    return [
        Chunk(
            chunk_id=Chunk.make_id(doc, ordinal),
            doc_id=doc,
            ordinal=ordinal,
            text=text,
            page_start=p0,
            page_end=p1,
            title=title,
            source=source,
            date=dt.date(2024, 3, 12),
            language=lang,
        )
        for doc, ordinal, title, source, p0, p1, lang, text in _PASSAGES
    ]


def chunk_of(doc_id: str, ordinal: int = 0) -> Chunk:
    """The fixture chunk of ``doc_id`` at ``ordinal``."""
    return next(c for c in corpus_chunks() if c.doc_id == doc_id and c.ordinal == ordinal)


def hits_for(chunks: Sequence[Chunk]) -> list[Hit]:
    """Hits in the given order, with RRF-like decreasing scores and ranks."""
    return [
        Hit(chunk=c, score=1.0 / (60 + i), fts_rank=i, vector_rank=i)
        for i, c in enumerate(chunks, start=1)
    ]


# (question, substring of the sentence that answers it). Paraphrased: few shared words.
RELEVANT: list[tuple[str, str]] = [
    ("Why did the harbour workers in Marseille stop working?", "planned automation"),
    ("How long did the stoppage at the port last?", "lasted four days"),
    ("How much money did exporters lose?", "12 million euros"),
    ("When did activity at the terminal start again?", "Work resumed on Saturday"),
    ("Combien de navires ont été immobilisés au Havre ?", "quarantaine de porte-conteneurs"),
    ("Que demandaient les dockers havrais ?", "revalorisation de leurs salaires"),
    ("Qui a gagné la mairie de Lyon ?", "Claire Moreau l'a emporté"),
    ("Quel a été le taux de participation à Lyon ?", "participation a atteint"),
    ("What did the central bank decide about borrowing costs?", "quarter point"),
    ("How high was inflation in May?", "6.1% in May"),
    ("Quelle chaleur a-t-on mesurée à Carpentras ?", "41,2 °C"),
    ("Who scored the decisive goal for City?", "Tom Ellis headed"),
    # across languages: the USE embedder aligns French and English
    ("Pourquoi les dockers de Marseille ont-ils fait grève ?", "planned automation"),
    ("What were the Le Havre dockers asking for?", "revalorisation de leurs salaires"),
    # written after the floor was first set, to check it
    ("What did the union leader say about job losses?", "600 jobs"),
    ("How many vessels were left waiting off Marseille?", "35 ships"),
    ("Until when was the automation project delayed?", "until 2026"),
    (
        "Depuis quand la direction du port du Havre refuse-t-elle d'augmenter les salaires ?",
        "depuis 2021",
    ),
    ("Qu'a promis la nouvelle maire de Lyon ?", "piétonniser"),
    ("What is the inflation target of the central bank?", "2% target"),
    ("Who is the governor of the central bank?", "Anna Lind"),
    ("Pourquoi l'accès aux forêts a-t-il été interdit ?", "risque d'incendie"),
    ("What was the final score between City and United?", "City beat United"),
    ("Where does City stand in the league now?", "third place"),
    ("Quel taux directeur la banque centrale a-t-elle fixé ?", "4.25%"),
    ("How hot did it get in Carpentras?", "41,2 °C"),
]

# A paraphrase the offline answerer misses: the answer ("Work resumed on Saturday") shares no word
# with the question and USE scores it below the passage's other sentences.
KNOWN_MISS = "When did activity at the terminal start again?"

UNRELATED: list[str] = [
    "What is the boiling point of mercury?",
    "Quel est le point d'ébullition du mercure ?",
    "Who painted the Mona Lisa?",
    "Quelle est la capitale de l'Australie ?",
    "How many moons does Jupiter have?",
    "Comment fonctionne la photosynthèse ?",
    "When was the printing press invented?",
    "Quel était le prix du pain en 1923 ?",
    "Which composer wrote the Four Seasons?",
    "Combien de joueurs compte une équipe de rugby ?",
    "What causes the northern lights?",
    "Qui a écrit Les Misérables ?",
    # written after the floor was first set, to check it
    "Who won the Tour de France in 1998?",
    "Quelle est la hauteur de la tour Eiffel ?",
    "How do vaccines train the immune system?",
    "Quel est le plus long fleuve d'Afrique ?",
    "What language is spoken in Brazil?",
    "Qui a découvert la pénicilline ?",
    "How many bones are in the human body?",
    "Quelle est la recette de la ratatouille ?",
    "What year did the Berlin Wall fall?",
    "Comment dit-on bonjour en japonais ?",
]
