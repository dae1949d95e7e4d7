"""The tables bench/accuracy.py prints, as pure functions of its per-(task, method) rows.

A row has dataset, series, origin, windows ("christmas+easter" or "none"), method, family (castflow or peer),
status (ok or failed), error, mase (None when the task's MASE scale is 0), smape, cov80, cov95 and cpu_s.
"""

from __future__ import annotations

import pandas as pd

TASK = ["dataset", "series", "origin"]
"""The columns that name a task."""

BASELINE_PEERS = ("sf_SeasonalNaive",)
"""Peers that are benchmarks to beat, not candidates for 'best peer'."""

WINDOWS = ("christmas", "easter", "thanksgiving", "none")
"""Holiday windows, in the order the window table lists them."""


def _ok(rows: pd.DataFrame) -> pd.DataFrame:
    return rows[rows["status"] == "ok"]


def main_table(rows: pd.DataFrame) -> pd.DataFrame:
    """Per method: family, tasks scored and failed, MASE mean/median, sMAPE, 80%/95% coverage, CPU; by mean MASE."""
    ok = _ok(rows).astype({c: "float64" for c in ("mase", "smape", "cov80", "cov95", "cpu_s")})
    grouped = ok.groupby("method")
    table = pd.DataFrame({
        "family": rows.groupby("method")["family"].first(),
        "tasks": grouped.size(),
        "failed": rows[rows["status"] != "ok"].groupby("method").size(),
        "mase_n": grouped["mase"].count(),
        "mase_mean": grouped["mase"].mean(),
        "mase_median": grouped["mase"].median(),
        "smape": grouped["smape"].mean(),
        "cov80": grouped["cov80"].mean(),
        "cov95": grouped["cov95"].mean(),
        "cpu_s": grouped["cpu_s"].mean(),
    })
    table[["tasks", "failed", "mase_n"]] = table[["tasks", "failed", "mase_n"]].fillna(0).astype(int)
    return table.sort_values(["mase_mean", "smape"], na_position="last")


def paired_ratio(rows: pd.DataFrame, method: str, other: str) -> tuple[float | None, int]:
    """Mean MASE of `method` over that of `other`, on the tasks where both have a MASE; and how many tasks."""
    scored = _ok(rows).dropna(subset=["mase"])
    pair = scored[scored["method"].isin([method, other])].pivot_table(
        index=TASK, columns="method", values="mase", aggfunc="first")
    if method not in pair or other not in pair:
        return None, 0
    both = pair[[method, other]].dropna().astype("float64")
    if both.empty or both[other].mean() == 0:
        return None, len(both)
    return float(both[method].mean() / both[other].mean()), len(both)


def best_peer(table: pd.DataFrame) -> str | None:
    """The statsforecast peer (not a baseline) with the lowest mean MASE."""
    peers = table[(table["family"] == "peer") & ~table.index.isin(BASELINE_PEERS)].dropna(subset=["mase_mean"])
    return None if peers.empty else str(peers["mase_mean"].idxmin())


def _ratio_line(rows: pd.DataFrame, method: str, other: str | None, label: str) -> str:
    ratio, n = paired_ratio(rows, method, other) if other else (None, 0)
    shown = "n/a" if ratio is None else f"{ratio:.3f}"
    return f"{method} / {label} mean MASE = {shown} ({n} tasks where both were scored)"


def ratio_lines(rows: pd.DataFrame, table: pd.DataFrame) -> list[str]:
    """The recommended (else ensemble) and the marked-best forecasts against the best peer and the ensemble."""
    scored = set(table.index[table["mase_n"] > 0])
    lines, subjects = [], ["recommended"]
    if "recommended" not in scored:
        lines.append("recommended: absent from this engine's results; ensemble stands in for it")
        subjects = ["ensemble"]
    peer = best_peer(table)
    for subject in [*subjects, "marked_best"]:
        lines.append(_ratio_line(rows, subject, peer, f"best peer ({peer or 'none'})"))
        if subject != "ensemble":
            lines.append(_ratio_line(rows, subject, "ensemble", "castflow ensemble"))
    return lines


def mase_pivot(rows: pd.DataFrame, by: str, methods: list[str]) -> pd.DataFrame:
    """Mean MASE per `by` value (rows) and method (columns, in `methods` order), with each row's task count."""
    scored = _ok(rows).astype({"mase": "float64"})
    pivot = scored.pivot_table(index=by, columns="method", values="mase", aggfunc="mean")
    pivot = pivot.reindex(columns=[m for m in methods if m in pivot.columns])
    pivot.insert(0, "tasks", rows.drop_duplicates(TASK).groupby(by).size())
    return pivot


def window_pivot(rows: pd.DataFrame, methods: list[str]) -> pd.DataFrame:
    """Mean MASE per holiday window (a task in two windows counts in both)."""
    exploded = rows.assign(window=rows["windows"].str.split("+")).explode("window")
    return mase_pivot(exploded, "window", methods).reindex([w for w in WINDOWS if w in set(exploded["window"])])


def failure_lines(rows: pd.DataFrame) -> list[str]:
    """Failures per method with the most common reason."""
    failed = rows[rows["status"] != "ok"]
    return [f"{method}: {len(group)} failed, e.g. {group['error'].mode().iloc[0]}"
            for method, group in failed.groupby("method")]


def timing_lines(rows: pd.DataFrame, wall_s: float) -> list[str]:
    """Wall time, castflow's CPU per series (one forecast_category call) and the peers' per task."""
    lines = [f"wall time: {wall_s:.0f} s ({wall_s / 60:.1f} min) for {len(rows.drop_duplicates(TASK))} tasks"]
    castflow = rows[rows["family"] == "castflow"].drop_duplicates(TASK).astype({"cpu_s": "float64"})
    if not castflow.empty:
        per = castflow.groupby("dataset")["cpu_s"].median().round(1).to_dict()
        lines.append(f"castflow CPU s per series (forecast_category call): median {castflow['cpu_s'].median():.1f}, "
                     f"max {castflow['cpu_s'].max():.1f}; median by dataset {per}")
        lines.append("castflow CPU s per series by history length: " + ", ".join(
            f"{label} median {group['cpu_s'].median():.2f} ({len(group)} tasks)"
            for label, group in castflow.groupby(history_years(castflow["train_days"]), observed=True)))
    peers = rows[rows["family"] == "peer"].astype({"cpu_s": "float64"})
    if not peers.empty:
        lines.append(f"peers CPU s per task (all peers): median {peers.groupby(TASK)['cpu_s'].sum().median():.1f}")
    return lines


def history_years(train_days: pd.Series) -> pd.Series:
    """Each task's history length as a band of years (the speed target is for two years of days)."""
    return pd.cut(train_days, [0, 365, 730, 1095, float("inf")], labels=["<=1y", "1-2y", "2-3y", ">3y"])


def _fmt(table: pd.DataFrame, digits: int = 3) -> str:
    return table.to_string(float_format=lambda v: f"{v:.{digits}f}", na_rep="n/a")


def report(rows: pd.DataFrame, wall_s: float) -> str:
    """The whole printed report."""
    table = main_table(rows)
    methods = list(table.index)
    sections = [
        "== Per method (sorted by mean MASE; family: castflow or statsforecast peer) ==", _fmt(table),
        "", "== Ratios ==", *ratio_lines(rows, table),
        "", "== Mean MASE per dataset ==", _fmt(mase_pivot(rows, "dataset", methods), 2),
        "", "== Mean MASE per holiday window in the horizon ==", _fmt(window_pivot(rows, methods), 2),
        "", "== Failures ==", *(failure_lines(rows) or ["none"]),
        "", "== Time ==", *timing_lines(rows, wall_s),
    ]
    return "\n".join(sections)
