"""Assisted clustering: the major issues and likely duplicates the app proposes to the committee.

Pure functions of the stored vectors (app.proposals.similarity) and the proposals' texts, independent
of the database; nothing here is applied without a human action. Same input, same output: every draw
comes from a fixed seed and every ranking breaks ties by row.

How proposals are grouped (bench/clustering.py measures it against the human categories of a real
Decidim export; bench/README.md has the methods tried and their figures):
- the similarity of two proposals mixes two cosines: of their sentence embeddings (meaning, 70 %) and
  of their TF-IDF vectors over French stems (the words they share, 30 %);
- k-means is run many times, each time on 80 % of the proposals drawn at random, and two proposals are
  grouped by the share of runs that put them together (consensus clustering: Monti et al. 2003, Fred
  and Jain 2005); the consensus is cut into k groups by average linkage. A single clustering of a few
  hundred texts depends on a seed or on a few borderline proposals; the consensus does much less.
"""

import warnings
from collections import Counter
from dataclasses import dataclass

import numpy as np
from scipy import sparse
from sklearn.cluster import AgglomerativeClustering, KMeans
from sklearn.decomposition import TruncatedSVD
from sklearn.exceptions import ConvergenceWarning
from sklearn.feature_extraction.text import CountVectorizer, TfidfTransformer
from sklearn.metrics import silhouette_score
from sklearn.preprocessing import normalize
from threadpoolctl import threadpool_limits

from app.proposals import similarity

# Kept in similarity (no scikit-learn there), where the committee's list of proposals reads it too.
DUPLICATE_THRESHOLD = similarity.DUPLICATE_THRESHOLD
# Meaning first, words as a complement: a weight of 0.3 to 0.7 for the TF-IDF cosine gives the same
# agreement with the Decidim export's categories within the noise of the measure (0.3 the best on its
# random halves), and a heavier one groups texts by the everyday words they share ("en ligne",
# "réserver") rather than by their subject.
WORD_WEIGHT = 0.3
# Consensus: 300 runs of k-means, each fitted on 80 % of the proposals drawn at random (Monti et al.);
# more runs only lessen the part of chance (on the Decidim export, adjusted Rand index from 0.27 to 0.33
# from one seed to another, 0.30 on average). Fewer for each k that suggested_k() tries.
RUNS = 300
RUNS_PER_K = 20
SAMPLE_SHARE = 0.8
# The consensus compares every pair of proposals: beyond this many, it is built on a sample drawn once
# (1 MB of pairs) and each other proposal joins the group whose centre it is closest to.
MAX_CONSENSUS_ROWS = 500
WORD_DIMENSIONS = 256
K_BOUNDS = (2, 15)  # a committee names a few major issues, not dozens
SEED = 0


@dataclass(frozen=True)
class Cluster:
    members: list[int]  # rows of the input, ascending
    key_terms: list[str]  # the words that set the cluster apart from the other proposals, most telling first
    central: list[tuple[int, float]]  # (row, similarity to the cluster's centre), the most central first


@dataclass(frozen=True)
class Suggestion:
    clusters: list[Cluster]  # largest first
    duplicates: list[tuple[int, int, float]]  # (row, row, score), row < row, best first


@dataclass(frozen=True)
class SuggestedK:
    k: int
    # The reason: for each k tried, the mean silhouette of its grouping (how much closer a proposal is to
    # the others of its group than to those of the nearest other group, from -1 to 1); k has the highest.
    silhouette: dict[int, float]


def suggest(vectors: np.ndarray, texts: list[str], n_clusters: int,
            duplicate_threshold: float = DUPLICATE_THRESHOLD, n_terms: int = 5, n_central: int = 3) -> Suggestion:
    """Group the proposals (rows of `vectors`, unit-length, with their `texts`) into n_clusters, each
    with its key terms and most central members, and list the pairs that look like duplicates."""
    if not len(vectors):
        return Suggestion([], [])
    counts, terms = _term_counts(texts)
    sample = _consensus_sample(len(vectors))
    features = _features(vectors, counts, sample)
    labels = _consensus(features, sample, min(max(n_clusters, 1), len(vectors)), RUNS)
    groups = sorted((np.flatnonzero(labels == label) for label in np.unique(labels)),
                    key=lambda members: (-len(members), members[0]))
    key_terms = _key_terms(counts, terms, groups, n_terms)
    clusters = [Cluster(members.tolist(), words, _central(features, members, n_central))
                for members, words in zip(groups, key_terms)]
    return Suggestion(clusters, likely_duplicates(vectors, duplicate_threshold))


def suggested_k(vectors: np.ndarray, texts: list[str], k_min: int = K_BOUNDS[0],
                k_max: int = K_BOUNDS[1]) -> SuggestedK:
    """The number of major issues to propose, from k_min to k_max and at most one per two proposals: the
    k whose consensus grouping has the highest mean silhouette (Rousseeuw 1987), the smaller on a tie.

    Silhouette rather than the steadiness of the consensus (PAC, Senbabaoglu et al. 2014): on real
    proposals the share of ambiguous pairs only falls as k grows, so it always chose the largest k.
    """
    upper = min(k_max, len(vectors) // 2)
    if upper < k_min:
        return SuggestedK(min(len(vectors), 1), {})
    sample = _consensus_sample(len(vectors))
    features = _features(vectors, _term_counts(texts)[0], sample)
    silhouette = {k: float(silhouette_score(features[sample], _consensus(features, sample, k, RUNS_PER_K)[sample],
                                            metric="cosine"))
                  for k in range(k_min, upper + 1)}
    return SuggestedK(max(silhouette, key=lambda k: (silhouette[k], -k)), silhouette)


def likely_duplicates(vectors: np.ndarray, threshold: float = DUPLICATE_THRESHOLD,
                      block: int = 1024) -> list[tuple[int, int, float]]:
    """Pairs (i, j, score) with i < j whose embeddings score at least threshold, best first, for a human
    to check. By blocks of rows: all the scores at once would take 900 MB at 15,000 proposals."""
    pairs = []
    for start in range(0, len(vectors), block):
        scores = vectors[start:start + block] @ vectors[start:].T  # each block against itself and what follows
        rows, cols = np.nonzero(np.triu(scores >= threshold, k=1))
        pairs += [(start + int(i), start + int(j), float(scores[i, j])) for i, j in zip(rows, cols)]
    return sorted(pairs, key=lambda pair: (-pair[2], pair[0], pair[1]))


def _term_counts(texts: list[str]) -> tuple[sparse.csr_matrix, list[str]]:
    """Counts of French stems per text (one column per stem, in alphabetical order of the stems), and
    each stem shown in its commonest form in these texts."""
    stems, forms, documents = {}, Counter(), []
    for text in texts:
        found = similarity.words(text)
        forms.update(found)
        # Stemming is the slow part and texts repeat their words: once per distinct word.
        documents.append([stems[word] if word in stems else stems.setdefault(word, similarity.stem(word))
                          for word in found])
    if not any(documents):  # no word of three letters anywhere: nothing for CountVectorizer to learn
        return sparse.csr_matrix((len(texts), 0)), []
    vectorizer = CountVectorizer(analyzer=lambda document: document)
    counts = vectorizer.fit_transform(documents)
    shown = {}
    for word in sorted(forms, key=lambda word: (-forms[word], word)):
        shown.setdefault(stems[word], word)
    return counts.tocsr(), [shown[stem] for stem in vectorizer.get_feature_names_out()]


def _features(vectors: np.ndarray, counts: sparse.csr_matrix, sample: np.ndarray) -> np.ndarray:
    """Unit rows whose dot product mixes the embeddings' cosine and the TF-IDF vectors' cosine (WORD_WEIGHT).

    TF-IDF over the stems found in two texts or more (a stem of one text links it to nothing), with
    sublinear term frequency so that a word repeated ten times does not outweigh the others. Beyond
    WORD_DIMENSIONS stems, the TF-IDF vectors are projected on their main WORD_DIMENSIONS directions in
    the sample (latent semantic analysis): k-means on dense rows of a few hundred numbers is ten times
    faster than on thousands of sparse ones. Up to WORD_DIMENSIONS texts, the projection is on all the
    directions their vectors span, which keeps every cosine."""
    shared = np.flatnonzero(np.asarray((counts > 0).sum(axis=0)).ravel() >= 2)
    parts = [np.sqrt(1 - WORD_WEIGHT) * np.asarray(vectors, dtype=np.float32)]
    if len(shared):
        words = TfidfTransformer(sublinear_tf=True).fit_transform(counts[:, shared])
        if words.shape[1] <= WORD_DIMENSIONS:
            words = words.toarray()
        elif len(vectors) <= WORD_DIMENSIONS:  # the same cosines in as many numbers as there are texts
            left, singular, _ = np.linalg.svd(words.toarray(), full_matrices=False)
            words = left * singular
        else:
            with threadpool_limits(1):  # small products: BLAS threads cost more than they save, worse on a busy machine
                words = normalize(TruncatedSVD(WORD_DIMENSIONS, random_state=SEED).fit(words[sample]).transform(words))
        parts.append(np.sqrt(WORD_WEIGHT) * words.astype(np.float32))
    # A text with no shared word keeps its meaning alone, at full length.
    return normalize(np.hstack(parts))


def _consensus_sample(n: int) -> np.ndarray:
    """The rows the consensus compares pairwise: all of them, or a sample drawn once beyond MAX_CONSENSUS_ROWS."""
    if n <= MAX_CONSENSUS_ROWS:
        return np.arange(n)
    return np.sort(np.random.default_rng(SEED).choice(n, MAX_CONSENSUS_ROWS, replace=False))


def _consensus(features: np.ndarray, sample: np.ndarray, k: int, runs: int) -> np.ndarray:
    """A group number for each row: the sampled rows cut into k groups by average linkage on the share of
    runs that put each pair together; every other row joins the group whose centre it is closest to."""
    n = features.shape[0]
    if k in (1, n):
        return np.zeros(n, dtype=int) if k == 1 else np.arange(n)
    votes = _votes(features[sample], k, runs)
    together = (votes @ votes.T).toarray() / runs
    core = AgglomerativeClustering(k, metric="precomputed", linkage="average").fit_predict(1 - together)
    if len(sample) == n:
        return core
    centres = normalize(np.stack([features[sample[core == group]].mean(axis=0) for group in range(k)]))
    labels = (features @ centres.T).argmax(axis=1)
    labels[sample] = core
    return labels


def _votes(rows: np.ndarray, k: int, runs: int) -> sparse.csr_matrix:
    """One column per cluster of each k-means run (fitted on SAMPLE_SHARE of the rows, then every row
    assigned to its nearest centre): a row's 1s say which cluster each run put it in."""
    rng = np.random.default_rng(SEED)
    size = max(k, round(SAMPLE_SHARE * len(rows)))
    labels = []
    # Each fit is small: on one thread, OpenMP's start-up per iteration no longer costs more than the work.
    with threadpool_limits(1), warnings.catch_warnings():
        # Copies of one proposal are legitimate input: k-means then finds fewer distinct points than k and
        # says so; the consensus still cuts k groups.
        warnings.simplefilter("ignore", ConvergenceWarning)
        for _ in range(runs):
            fitted = np.sort(rng.choice(len(rows), size, replace=False))
            model = KMeans(k, n_init=1, random_state=int(rng.integers(2**31))).fit(rows[fitted])
            labels.append(model.predict(rows))
    n = len(rows)
    columns = (np.stack(labels) + k * np.arange(runs)[:, None]).T.ravel()
    return sparse.csr_matrix((np.ones(n * runs, dtype=np.float32), columns, np.arange(0, n * runs + 1, runs)),
                             shape=(n, k * runs))


def _key_terms(counts: sparse.csr_matrix, terms: list[str], groups: list[np.ndarray], n_terms: int) -> list[list[str]]:
    """For each group, the stems found in a larger share of its texts than of the others' texts (in two
    of its texts at least, if it has two), largest difference first."""
    present = (counts > 0).astype(np.float32).tocsr()
    everywhere = np.asarray(present.sum(axis=0)).ravel()
    n = counts.shape[0]
    found = []
    for members in groups:
        inside = np.asarray(present[members].sum(axis=0)).ravel()
        score = inside / len(members) - (everywhere - inside) / max(n - len(members), 1)
        score[inside < min(2, len(members))] = -np.inf
        best = np.lexsort((np.arange(len(score)), -score))[:n_terms]  # ties: alphabetical order of stems
        found.append([terms[column] for column in best if score[column] > 0])
    return found


def _central(features: np.ndarray, members: np.ndarray, n_central: int) -> list[tuple[int, float]]:
    """The members closest to the group's centre (the normalized mean of its rows), with their cosine."""
    rows = features[members]
    centre = normalize(rows.mean(axis=0, keepdims=True))[0]
    scores = rows @ centre
    best = np.lexsort((members, -scores))[:n_central]
    return [(int(members[i]), float(scores[i])) for i in best]
