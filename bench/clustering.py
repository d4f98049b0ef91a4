"""Measure the committee's assisted clustering: agreement with human categories, speed and memory.

    .venv/bin/python bench/clustering.py [--export PATH] [--splits N] [--seeds N] [--scale N ...]

Reads a real Decidim export (the csv module, `;`-separated), embeds its proposals, then groups the
proposals that have a category into as many clusters as there are categories and prints the adjusted
Rand index and normalized mutual information against the categories, for the engine
(app/committee/clustering.py), today's Ward on embeddings and a plain TF-IDF + k-means baseline: on
the whole file, on random halves of it (`--splits` pairs), and for the engine over `--seeds` draws.

`--scale N` times suggest() and suggested_k() on N synthetic proposals made from the real ones: each
takes a real vector with noise added (cosine 0.8 to its source, so two copies of one source score about
0.64, under the duplicate threshold, as distinct proposals on one theme do) and its source's words with
one in ten replaced by a made-up word drawn from a Zipf law (the vocabulary grows with N, as real text
does). Peak memory is the resident set's high-water mark during the call (reset before it), beside the
resident set before it.
"""

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # importing app needs config.py, which lives beside it

import numpy as np  # noqa: E402
from sklearn.cluster import AgglomerativeClustering, KMeans  # noqa: E402
from sklearn.feature_extraction.text import TfidfVectorizer  # noqa: E402
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score  # noqa: E402

from app.committee import clustering  # noqa: E402
from app.proposals import similarity  # noqa: E402
from bench.similarity import CATEGORY, DEFAULT_EXPORT, read_export  # noqa: E402


def memory_mb(field: str) -> float:
    """VmRSS (resident now) or VmHWM (its high-water mark) of this process, Linux."""
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith(f"{field}:")) / 1024


def measured(work):
    """work()'s result, wall seconds, resident MB before and peak MB during (the mark reset first)."""
    with open("/proc/self/clear_refs", "w") as clear:
        clear.write("5")  # resets VmHWM to the current resident set
    before = memory_mb("VmRSS")
    start = time.perf_counter()
    result = work()
    return result, time.perf_counter() - start, before, memory_mb("VmHWM")


def engine(vectors, texts, k):
    return clustering.suggest(vectors, texts, k).clusters


def ward_on_embeddings(vectors, texts, k):
    """The engine before this change: Ward's criterion on the sentence embeddings alone."""
    return AgglomerativeClustering(k, linkage="ward").fit_predict(vectors)


def tfidf_kmeans(vectors, texts, k):
    """The plain baseline: scikit-learn's TF-IDF (no stemming, no stop words) and k-means."""
    return KMeans(k, n_init=10, random_state=0).fit_predict(TfidfVectorizer(sublinear_tf=True).fit_transform(texts))


METHODS = {"engine (embeddings + TF-IDF, consensus)": engine, "Ward on embeddings (before)": ward_on_embeddings,
           "TF-IDF + k-means (baseline)": tfidf_kmeans}


def labels_of(found, n: int) -> np.ndarray:
    if not isinstance(found, list):  # a method that gives labels directly
        return found
    labels = np.zeros(n, dtype=int)
    for number, cluster in enumerate(found):
        labels[cluster.members] = number
    return labels


def agreement(method, vectors, texts, categories) -> tuple[float, float]:
    truth = np.unique(categories, return_inverse=True)[1]
    found = labels_of(method(vectors, texts, truth.max() + 1), len(texts))
    return adjusted_rand_score(truth, found), normalized_mutual_info_score(truth, found)


def quality(vectors, texts, categories, splits: int, seeds: int) -> None:
    print(f"\n{len(texts)} proposals with one of {len(set(categories))} categories, as many clusters:")
    print(f"{'method':42} {'whole file ARI':>14} {'NMI':>6} {'seconds':>8} {'halves ARI':>13} {'NMI':>6}")
    rng = np.random.default_rng(42)
    halves = [half for _ in range(splits) for half in np.array_split(rng.permutation(len(texts)), 2)]
    for name, method in METHODS.items():
        (ari, nmi), seconds, _, _ = measured(lambda method=method: agreement(method, vectors, texts, categories))
        by_half = np.array([agreement(method, vectors[half], [texts[i] for i in half],
                                      [categories[i] for i in half]) for half in map(np.sort, halves)]
                           or [(np.nan, np.nan)])
        print(f"{name:42} {ari:14.3f} {nmi:6.3f} {seconds:8.2f} "
              f"{by_half[:, 0].mean():7.3f}±{by_half[:, 0].std():.3f} {by_half[:, 1].mean():6.3f}")
    if seeds > 1:
        by_seed = []
        for seed in range(seeds):  # how much of the figure is the draw's: the engine's only chance
            clustering.SEED = seed
            by_seed.append(agreement(engine, vectors, texts, categories)[0])
        clustering.SEED = 0
        print(f"engine over seeds 0 to {seeds - 1}: ARI {' '.join(f'{ari:.3f}' for ari in by_seed)} "
              f"(mean {np.mean(by_seed):.3f})")


def made_up_word(rank: int) -> str:
    """Letters only (words with digits are not words to the engine): 0 -> "zqa", 27 -> "zqbb"."""
    letters = ""
    while True:
        rank, digit = divmod(rank, 26)
        letters += chr(ord("a") + digit)
        if not rank:
            return "zq" + letters


def synthetic(vectors, texts, n: int, seed: int = 0) -> tuple[np.ndarray, list[str]]:
    rng = np.random.default_rng(seed)
    sources = rng.integers(len(texts), size=n)
    noise = rng.normal(size=(n, vectors.shape[1])).astype(np.float32)
    noise *= 0.75 / np.linalg.norm(noise, axis=1, keepdims=True)  # cosine 1 / sqrt(1 + 0.75²) = 0.8
    jittered = vectors[sources] + noise
    made_up = {}
    rows = []
    for source in sources:
        words = texts[source].split()
        for position in np.flatnonzero(rng.random(len(words)) < 0.1):
            rank = int(rng.zipf(1.3))
            words[position] = made_up.setdefault(rank, made_up_word(rank))
        rows.append(" ".join(words))
    return jittered / np.linalg.norm(jittered, axis=1, keepdims=True), rows


def scale(vectors, texts, n: int, k: int) -> None:
    many_vectors, many_texts = synthetic(vectors, texts, n)
    suggestion, seconds, before, peak = measured(lambda: clustering.suggest(many_vectors, many_texts, k))
    sizes = sorted((len(cluster.members) for cluster in suggestion.clusters), reverse=True)
    print(f"{n:>6} proposals, suggest(k={k}): {seconds:6.1f} s, peak {peak:5.0f} MB (resident before "
          f"{before:.0f} MB); {len(suggestion.duplicates)} duplicate pairs; sizes {sizes[:5]}…")
    found, seconds, before, peak = measured(lambda: clustering.suggested_k(many_vectors, many_texts))
    print(f"{'':>6}            suggested_k(): {seconds:6.1f} s, peak {peak:5.0f} MB; k = {found.k}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--export", type=Path, default=DEFAULT_EXPORT)
    parser.add_argument("--splits", type=int, default=10, help="pairs of random halves")
    parser.add_argument("--seeds", type=int, default=1, help="seeds of the engine to compare on the whole file")
    parser.add_argument("--scale", type=int, nargs="*", default=[], help="numbers of synthetic proposals")
    parser.add_argument("--clusters", type=int, default=10, help="k for --scale")
    options = parser.parse_args()
    if not options.export.is_file():
        sys.exit(f"No Decidim export at {options.export}: nothing to measure.")
    rows = read_export(options.export)
    texts = [similarity.proposal_text(row["title"], None, row["body"]) for row in rows]
    vectors = similarity.embed(texts)
    print(f"{options.export.name}: {len(rows)} proposals; engine {similarity.ENGINE_VERSION}, "
          f"{clustering.RUNS} runs on {clustering.SAMPLE_SHARE:.0%} each")
    labelled = [i for i, row in enumerate(rows) if row[CATEGORY]]
    quality(vectors[labelled], [texts[i] for i in labelled], [rows[i][CATEGORY] for i in labelled],
            options.splits, options.seeds)
    found, seconds, _, _ = measured(lambda: clustering.suggested_k(vectors, texts))
    print(f"\nsuggested_k on all {len(rows)} proposals: {found.k} ({seconds:.1f} s); silhouette by k: "
          + ", ".join(f"{k}: {score:.3f}" for k, score in found.silhouette.items()))
    for n in options.scale:
        scale(vectors, texts, n, options.clusters)


if __name__ == "__main__":
    main()
