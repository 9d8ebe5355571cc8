"""Plots and what they show, for the Dataset and Train tabs: no gradio here, so all of it is unit-tested directly.

- a dataset preview (``DatasetPreview.to_dict()``) -> the tables, chart frames and markdown the tab shows;
- a run's events (``events.jsonl``) -> loss and metric curves, progress, log lines and push statuses.

Upload storage lives in ``trainer_core.ui.uploads``.
"""

from __future__ import annotations

import html
import math
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from trainer_core.metrics import registry as metric_registry
from trainer_core.rundir import ACTIVE_STATES as ACTIVE_STATES  # the run states the page shows as going on

# Metrics worth a curve (declared once in metrics.registry); the rest of an eval event is bookkeeping.
SCORE_METRICS = metric_registry.SCORE_NAMES
# The final model's push sorts after every checkpoint's, whatever step it was made at (a retry has none).
FINAL_PUSH_KEY = 1 << 62
LOSS_SERIES = ("train", "eval")
STOPPING_QUEUED = "stopping-queued"  # shown state of a queued run whose stop was asked for


# ----------------------------------------------------------------------------------------- formatting


def format_duration(seconds: float | None) -> str:
    """A short human duration: '45 s', '3 min 05 s', '1 h 02 min'; '?' when unknown."""
    if seconds is None:
        return "?"
    try:
        seconds = float(seconds)
    except (TypeError, ValueError):
        return "?"
    if seconds != seconds or seconds < 0:  # NaN or negative
        return "?"
    total = round(seconds)
    if total < 60:
        return f"{total} s"
    minutes, secs = divmod(total, 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def _number(value: Any, digits: int = 4) -> str:
    if isinstance(value, float):
        if value != 0 and (abs(value) < 1e-3 or abs(value) >= 1e5):
            return f"{value:.2e}"
        return f"{value:.{digits}f}"
    return str(value)


# ------------------------------------------------------------------------------------- dataset preview


def has_lone_point(frame: pd.DataFrame, series: str, value: str) -> bool:
    """True when some series has a single step: a line chart draws nothing for it (gradio 6's line plot shows
    points only under the mouse; two values at one step, like the last eval and the final one, make a line of
    no length), so such a frame is drawn as points until every series spans two steps."""
    steps = frame.dropna(subset=[value]).groupby(series)["step"].nunique()
    return bool((steps == 1).any())


# An integer step axis needs at least this span: over a shorter one the chart puts ticks at half steps,
# which an integer format prints twice ("1 2 2 3 3").
MIN_STEP_SPAN = 10


def axis_limits(frame: pd.DataFrame, value: str, *, points: bool) -> dict[str, list[float]]:
    """``x_lim`` (and for points ``y_lim``) of a step chart: whole-step ticks on short runs, and for points a
    margin, since a point drawn on the plot's edge is cut in half.

    Always concrete values: an update that leaves a limit out keeps the one sent before, and the chart drops
    the rows outside it (a run's later points went missing that way)."""
    drawn = frame.dropna(subset=[value])
    if drawn.empty:
        return {}
    first, last = float(drawn["step"].min()), float(drawn["step"].max())
    low = max(0.0, first - 1) if points else first
    high = last + 1 if points else last
    limits = {"x_lim": [low, max(high, low + MIN_STEP_SPAN)]}
    if points:
        bottom, top = float(drawn[value].min()), float(drawn[value].max())
        margin = max((top - bottom) * 0.1, abs(top) * 0.05, 0.01)
        limits["y_lim"] = [bottom - margin, top + margin]
    return limits


# Vega's category colours, which the charts would pick themselves; fixed here so a legend outside the chart
# names the same colour as the line.
PALETTE = ("#4c78a8", "#f58518", "#e45756", "#72b7b2", "#54a24b", "#eeca3b", "#b279a2", "#ff9da6", "#9d755d")


# How the legend names each task kind's metrics (a run shows only its own kind's curves).
KIND_TITLES = {"single_label": "Classification", "multi_label": "Multi-label", "regression": "Regression"}


def metric_colors(task_type: str | None = None) -> dict[str, str]:
    """Each declared metric's curve colour, by the title the score frame names it with. Colours are counted
    within a task kind, since one run never mixes kinds: a kind's curves differ by the palette alone.
    ``task_type`` keeps that kind's metrics only."""
    kinds = [task_type] if task_type else list(metric_registry.BY_TASK)
    return {
        metric.title: PALETTE[i % len(PALETTE)]
        for kind in kinds
        for i, metric in enumerate(metric_registry.BY_TASK[kind])
    }


def metric_legend_html() -> str:
    """The metric chart's legend: a wrapping line per task kind, named, each metric in its curve colour."""
    return "".join(legend_html(metric_colors(kind), title=KIND_TITLES[kind]) for kind in metric_registry.BY_TASK)


def legend_html(colors: dict[str, str], *, title: str = "") -> str:
    """A chart legend as HTML, one entry per series: unlike the chart's own, it wraps onto more lines."""
    items = "".join(
        f'<span class="ts-legend-item"><i style="background:{html.escape(color)}"></i>{html.escape(name)}</span>'
        for name, color in colors.items()
    )
    heading = f'<span class="ts-legend-title">{html.escape(title)}:</span>' if title else ""
    return f'<div class="ts-legend">{heading}{items}</div>'


def _empty_frame(**dtypes: str) -> pd.DataFrame:
    """An empty frame whose columns keep their types, so a chart knows a category from a number."""
    return pd.DataFrame({name: pd.Series([], dtype=dtype) for name, dtype in dtypes.items()})


def rows_frame(preview: dict[str, Any]) -> pd.DataFrame:
    rows = preview.get("rows") or []
    if not rows:
        return pd.DataFrame({name: [] for name in preview.get("features") or {}})
    frame = pd.DataFrame(rows)
    return frame.map(lambda v: v if isinstance(v, (str, int, float, bool)) or v is None else str(v))


# gradio gives each column its share of the table's width, in pixels, and a cell's text wraps inside it. A
# share is at least what the column's longest word needs in the table of a phone (390 px wide), so no word
# is broken over two lines there, and more on wider screens.
PHONE_TABLE_PX = 324
CHAR_PX = 8.5  # the table's monospace font
CELL_EXTRA_PX = 36  # the cell's padding and the column menu beside a heading


def column_widths(frame: pd.DataFrame) -> list[str]:
    """Column widths in percent: each column's longest word (its heading's too) fits on a phone, and what is
    left goes by how long the values typically are.

    With wrapping on, the table otherwise gives a long text column the whole width and pushes short
    columns such as the label out of view.
    """
    if frame.empty or len(frame.columns) == 0:
        return []
    weights, floors = [], []
    for column in frame.columns:
        texts = [str(value) for value in frame[column].head(50)] + [str(column)]
        lengths = [len(text) for text in texts]
        weights.append(min(60, max(10, sorted(lengths)[len(lengths) // 2])))
        word = max((len(w) for text in texts for w in text.split()), default=1)
        # At most 40%: one very long word (a URL) must not take the table.
        floors.append(min(40.0, 100 * (word * CHAR_PX + CELL_EXTRA_PX) / PHONE_TABLE_PX))
    if sum(floors) > 100:  # more columns than a phone has room for: they share it by what they need
        floors = [100 * floor / sum(floors) for floor in floors]
    rest = 100 - sum(floors)
    return [f"{floor + rest * weight / sum(weights):.0f}%" for floor, weight in zip(floors, weights, strict=True)]


def label_frame(preview: dict[str, Any]) -> pd.DataFrame:
    """Rows per label (for multi-label: rows carrying each label); for a regression, rows per bin of the target."""
    counts = preview.get("label_counts") or {}
    stats = preview.get("target_stats") or {}
    if preview.get("task_type") == "regression" and stats.get("histogram"):
        edges = stats["bin_edges"]
        # Each bar named by where its range starts, to the digits the bins' width needs: whole ranges
        # ("0.31–0.5495") overlap under a narrow chart.
        width = (edges[-1] - edges[0]) / max(1, len(edges) - 1)
        digits = max(0, -math.floor(math.log10(width))) if width > 0 else 2
        counts = {f"{edges[i]:.{digits}f}": n for i, n in enumerate(stats["histogram"])}
    return pd.DataFrame(
        {
            "label": pd.Series([str(k) for k in counts], dtype="str"),
            "rows": pd.Series([int(v) for v in counts.values()], dtype="int64"),
        }
    )


def histogram_bins(preview: dict[str, Any]) -> list[str]:
    stats = preview.get("token_stats") or {}
    edges = stats.get("bin_edges") or []
    return [f"{edges[i]}–{edges[i + 1]}" for i in range(len(edges) - 1)]


def token_histogram_frame(preview: dict[str, Any]) -> pd.DataFrame:
    """One bar per length bin, coloured "truncated" when the bin reaches past max_length, else "fits"."""
    stats = preview.get("token_stats") or {}
    counts = stats.get("histogram") or []
    edges = stats.get("bin_edges") or []
    limit = stats.get("max_length")
    labels = histogram_bins(preview)
    if not counts or len(edges) != len(counts) + 1:
        return _empty_frame(tokens="str", rows="int64", fits="str")
    fits = ["truncated" if limit is not None and edges[i + 1] > limit else "fits" for i in range(len(counts))]
    return pd.DataFrame({"tokens": labels, "rows": [int(c) for c in counts], "fits": fits})


def truncation_caption(preview: dict[str, Any]) -> str:
    stats = preview.get("token_stats")
    if not stats:
        return "Choose a tokenizer to see token lengths."
    share = stats.get("truncated_share", 0.0)
    return (
        f"{share:.1%} of {stats.get('rows', 0)} texts are longer than max_length={stats.get('max_length')} "
        f"tokens and get truncated (mean {stats.get('mean')}, p95 {stats.get('p95')}, max {stats.get('max')})."
    )


def preview_summary(preview: dict[str, Any]) -> str:
    """Markdown: the dataset, its splits and row counts, the detected columns, label and length summary."""
    name = preview.get("dataset", "")
    config = preview.get("dataset_config")
    title = f"**{name}**" + (f" · config `{config}`" if config else "")
    splits = preview.get("splits") or {}
    split_text = ", ".join(
        f"`{split}` {count:,} rows" if isinstance(count, int) else f"`{split}`" for split, count in splits.items()
    )
    lines = [f"{title} — splits: {split_text}", f"Showing split `{preview.get('split')}`."]
    columns = preview.get("columns")
    if columns:
        parts = [f"text `{columns.get('text')}`"]
        if columns.get("text_pair"):
            parts.append(f"text pair `{columns['text_pair']}`")
        parts.append(f"label `{columns['label']}`" if columns.get("label") else "label: none found")
        lines.append("Detected columns: " + ", ".join(parts) + ".")
    features = preview.get("features") or {}
    if features:
        lines.append("Features: " + ", ".join(f"`{k}` ({v})" for k, v in features.items()) + ".")
    kind = preview.get("task_type") or "single_label"
    stats = preview.get("target_stats") or {}
    if kind == "regression":
        lines.append("Task kind: **regression**, a number per row.")
        if stats.get("count"):
            lines.append(
                f"Target `{(columns or {}).get('label')}`: {stats['count']:,} values, mean {stats['mean']:g} "
                f"(std {stats['std']:g}), from {stats['min']:g} to {stats['max']:g}, median {stats['median']:g}; "
                "the chart shows how many rows fall in each range (each bar named by where its range starts)."
            )
    elif kind == "multi_label":
        lines.append("Task kind: **multi-label**, any number of labels per row.")
        if stats.get("rows"):
            lines.append(
                f"Labels per row: {stats['mean_labels_per_row']:g} on average, at most {stats['max_labels_per_row']}; "
                f"{stats['rows_without_labels']:,} rows carry none. The chart counts the rows that carry each label."
            )
    if preview.get("label_names") and kind != "regression":
        lines.append(f"Labels: {', '.join(preview['label_names'])}.")
    if preview.get("token_stats"):
        lines.append(truncation_caption(preview))
    return "\n\n".join(lines)


def problems_markdown(preview: dict[str, Any], warnings: Iterable[str] = ()) -> str:
    items = [p.get("message", "") for p in preview.get("problems") or []] + list(warnings)
    if not items:
        return f"No problems found in the {preview.get('rows_scanned', 0):,} rows scanned."
    return "**Problems found**\n\n" + "\n".join(f"- {item}" for item in items)


def column_choices(preview: dict[str, Any]) -> list[str]:
    return list(preview.get("features") or {})


# ------------------------------------------------------------------------------------------ run events


def _clock(event: dict[str, Any]) -> str:
    when = event.get("time")
    return time.strftime("%H:%M:%S", time.localtime(when)) if isinstance(when, (int, float)) else "--:--:--"


def _readable_metrics(metrics: dict[str, Any]) -> str:
    """Scores by their display names, then the eval loss; run time and throughput figures are left out."""
    shown = [f"{metric_registry.title(k)} {_number(v)}" for k, v in metric_registry.scores(metrics).items()]
    if isinstance(metrics.get("loss"), (int, float)):
        shown.append(f"eval loss {_number(metrics['loss'])}")
    return ", ".join(shown)


def describe_event(event: dict[str, Any]) -> str | None:
    """One log line for an event; None for events too chatty for the log (progress)."""
    kind = event.get("type")
    if kind == "prepared":
        labels = ", ".join(str(v) for v in event.get("labels") or [])
        task = event.get("task_type") or "single_label"
        what = {"regression": f"target: {labels} (regression)", "multi_label": f"labels (multi-label): {labels}"}
        text = (
            f"data ready: {event.get('train_rows')} training rows, {event.get('eval_rows')} eval rows "
            f"({event.get('eval_source')}); {what.get(task, f'labels: {labels}')}"
        )
        for problem in event.get("problems") or []:
            text += f"\n  note: {problem.get('message')}"
    elif kind == "recipe":
        lines = [f"{c.get('option')} = {c.get('value')}: {c.get('reason')}" for c in event.get("choices") or []]
        lines += list(event.get("speed") or [])
        text = f"defaults chosen for {event.get('model')}:" + "".join(f"\n  {line}" for line in lines)
    elif kind == "search_trial":
        params = ", ".join(f"{k} {_number(v)}" for k, v in (event.get("params") or {}).items())
        text = f"search trial {event.get('trial')}: {params} -> {event.get('metric')} {_number(event.get('objective'))}"
    elif kind == "search_done":
        best = ", ".join(f"{k} {_number(v)}" for k, v in (event.get("best") or {}).items()) or "none"
        text = f"search done: {len(event.get('trials') or [])} trial(s), best {best}"
    elif kind == "train_begin":
        steps = event.get("total_steps")
        shown = f"{steps:,}" if isinstance(steps, int) else steps
        if event.get("max_steps"):
            passes = _number(event.get("epochs"), 2)
            text = (
                f"training: {shown} steps (max_steps, which overrides epochs: {passes} "
                f"pass{'' if passes == '1' else 'es'} over the training rows)"
            )
        else:
            text = f"training: {shown} steps, {_number(event.get('epochs'), 2)} epochs"
    elif kind == "log":
        text = f"step {event.get('step')}: loss {_number(event.get('loss'))}"
        if event.get("learning_rate") is not None:
            text += f", learning rate {_number(event.get('learning_rate'))}"
    elif kind == "eval":
        text = f"eval at step {event.get('step')}: " + (_readable_metrics(event.get("metrics") or {}) or "no metrics")
    elif kind == "checkpoint":
        text = f"checkpoint saved at step {event.get('step')} ({Path(str(event.get('path', ''))).name})"
    elif kind == "push":
        status = event.get("status")
        what = "final model" if event.get("final") else f"checkpoint of step {event.get('step')}"
        text = f"push of the {what}: {status}"
        if event.get("error") or event.get("message"):
            text += f" ({event.get('error') or event.get('message')})"
    elif kind == "stopping":
        text = f"stop requested: stopping after step {event.get('step')} and keeping a checkpoint"
    elif kind == "stopped":
        text = f"stopped: {event.get('reason', '')}".rstrip(": ")
    elif kind == "resume":
        text = f"resuming from {Path(str(event.get('checkpoint', ''))).name}"
    elif kind == "done":
        result = event.get("result") or {}
        shown = _readable_metrics(result.get("metrics") or {})
        verb = "stopped" if result.get("stopped") else "finished"
        text = f"{verb} at step {result.get('global_step')}" + (f": {shown}" if shown else "")
    elif kind == "error":
        text = f"error: {event.get('message')}"
    elif kind == "limit":
        text = f"limit: {event.get('message')}"
    else:
        return None
    return f"{_clock(event)}  {text}"


def public_event(event: dict[str, Any]) -> dict[str, Any]:
    """An event as the page and the API show it: server paths reduced to the checkpoint's name.

    (A dict with a "path" key would also be taken for a file by gradio_client.)
    """
    out = dict(event)
    if "path" in out:
        out["checkpoint"] = Path(str(out.pop("path"))).name
    if out.get("type") == "resume" and out.get("checkpoint"):
        out["checkpoint"] = Path(str(out["checkpoint"])).name
    if isinstance(out.get("result"), dict):
        result = dict(out["result"])
        result.pop("output_dir", None)
        if result.get("best_checkpoint"):
            result["best_checkpoint"] = Path(str(result["best_checkpoint"])).name
        out["result"] = result
    return out


@dataclass
class RunView:
    """Everything the Train tab shows about a run, folded from its events as they arrive."""

    loss: list[dict[str, Any]] = field(default_factory=list)
    scores: list[dict[str, Any]] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)
    pushes: dict[tuple[int, bool], dict[str, Any]] = field(default_factory=dict)
    progress: dict[str, Any] | None = None
    total_steps: int = 0
    result: dict[str, Any] | None = None
    error: str | None = None
    stop_requested: bool = False
    count: int = 0  # events folded so far: the `since` of the next poll

    def add(self, events: Iterable[dict[str, Any]]) -> None:
        for event in events:
            self.count += 1
            kind = event.get("type")
            if kind == "train_begin":
                self.total_steps = int(event.get("total_steps") or 0)
            elif kind == "progress":
                self.progress = event
                self.total_steps = int(event.get("total_steps") or self.total_steps)
            elif kind == "log" and isinstance(event.get("loss"), (int, float)):
                self.loss.append({"step": int(event.get("step", 0)), "loss": float(event["loss"]), "split": "train"})
            elif kind == "eval":
                metrics = event.get("metrics") or {}
                step = int(event.get("step", 0))
                if isinstance(metrics.get("loss"), (int, float)):
                    self.loss.append({"step": step, "loss": float(metrics["loss"]), "split": "eval"})
                for name in SCORE_METRICS:
                    if isinstance(metrics.get(name), (int, float)):
                        self.scores.append(
                            {"step": step, "value": float(metrics[name]), "metric": metric_registry.title(name)}
                        )
            elif kind == "push":
                # One line per save and one for the final model, whatever its step: a retry replaces its status.
                final = bool(event.get("final"))
                key = (FINAL_PUSH_KEY if final else int(event.get("step", 0)), final)
                self.pushes[key] = event
            elif kind == "stopping":
                self.stop_requested = True
            elif kind == "done":
                self.result = event.get("result") or {}
            elif kind == "error":
                self.error = str(event.get("message", ""))
            line = describe_event(event)
            if line is not None:
                self.lines.append(line)

    # -- what the tab shows
    def loss_frame(self) -> pd.DataFrame:
        """Train and eval loss; both series are always present (an empty one as a single blank row).

        The browser's chart fixes its colour domain from the first data it draws and later only swaps
        the data: a series that first appears later (eval loss) is never drawn until a reload.
        """
        if not self.loss:
            return _empty_frame(step="int64", loss="float64", split="str")
        rows = list(self.loss)
        first = min(row["step"] for row in rows)
        for split in LOSS_SERIES:
            if not any(row["split"] == split for row in rows):
                rows.append({"step": first, "loss": None, "split": split})
        frame = pd.DataFrame(rows)
        frame["loss"] = frame["loss"].astype("float64")
        return frame

    def score_frame(self) -> pd.DataFrame:
        if not self.scores:
            return _empty_frame(step="int64", value="float64", metric="str")
        return pd.DataFrame(self.scores)

    def log_text(self, last: int = 200) -> str:
        return "\n".join(self.lines[-last:])

    @property
    def step(self) -> int:
        if self.result and self.result.get("global_step") is not None:
            return int(self.result["global_step"])
        return int(self.progress.get("step", 0)) if self.progress else 0

    def progress_text(self, state: str, queue_position: int | None = None) -> str:
        if state == "queued":
            where = f"position {queue_position} in the queue" if queue_position else "in the queue"
            return f"Queued ({where}): it starts when the GPU is free."
        if state == STOPPING_QUEUED:
            return "Stop requested while queued: this run will not start and leaves the queue."
        step, total = self.step, self.total_steps
        steps = f"step {step} / {total}" if total else f"step {step}"
        if state in ("running", "stopping"):
            if self.progress is None:
                return "Preparing: loading the data and the model…"
            elapsed = format_duration(self.progress.get("elapsed_s"))
            left = format_duration(self.progress.get("remaining_s"))
            prefix = "Stopping after this step" if state == "stopping" or self.stop_requested else "Training"
            return f"{prefix}: {steps} · epoch {_number(self.progress.get('epoch', 0), 2)} · {elapsed} elapsed · about {left} left"
        if state == "finished":
            return f"Finished: {steps}."
        if state == "stopped":
            if self.progress is None and self.result is None:
                return "Stopped before it started."
            return f"Stopped at {steps}; the last checkpoint is kept."
        if state == "failed":
            return f"Failed: {self.error or 'see the log'}"
        if state == "interrupted":
            return f"Interrupted at {steps} (the app restarted while it ran)."
        return state.capitalize()

    def progress_fraction(self, state: str) -> float:
        if state == "finished":
            return 1.0
        if not self.total_steps:
            return 0.0
        return max(0.0, min(1.0, self.step / self.total_steps))

    def progress_html(self, state: str, queue_position: int | None = None) -> str:
        percent = round(self.progress_fraction(state) * 100)
        text = html.escape(self.progress_text(state, queue_position))
        return (
            f'<div class="ts-progress" data-state="{html.escape(state)}">'
            f'<progress value="{percent}" max="100" style="width:100%"></progress>'
            f"<div>{text}</div></div>"
        )

    def push_markdown(self) -> str:
        if not self.pushes:
            return ""
        lines = ["**Pushes to the Hub**"]
        for (step, final), event in sorted(self.pushes.items()):
            what = "final model" if final else f"checkpoint at step {step}"
            status = event.get("status")
            mark = {
                "done": "✅ done",
                "failed": "❌ failed",
                "started": "⏳ uploading",
                "queued": "⏳ waiting for the previous push",
                "pending": "⏸ not pushed yet",
            }.get(status, str(status))
            line = f"- {what}: {mark}"
            if event.get("error") or event.get("message"):
                line += f" — {event.get('error') or event.get('message')}"
            lines.append(line)
        if any(e.get("status") == "pending" for e in self.pushes.values()):
            lines.append("\nOnce signed in again, **Retry push** sends the kept model.")
        elif any(e.get("status") == "failed" for e in self.pushes.values()):
            lines.append("\nA failed push can be repeated with **Retry push** once the run has ended.")
        return "\n".join(lines)

    def result_markdown(self, state: str) -> str:
        if self.error and state in ("failed", "interrupted"):
            return f"**The run failed.** {self.error}"
        if not self.result:
            return ""
        metrics = self.result.get("metrics") or {}
        verb = "stopped early" if self.result.get("stopped") else "finished"
        lines = [f"**The run {verb}** after {self.result.get('global_step')} steps."]
        if metrics:
            lines.append("| metric | value |\n|---|---|")
            lines[-1] += "".join(f"\n| {metric_registry.title(k)} | {_number(v)} |" for k, v in metrics.items())
        retried = self.pushes.get((FINAL_PUSH_KEY, True)) or {}
        if not retried.get("retry"):
            retried = {}
        if self.result.get("pushed_repo") or retried.get("status") == "done":
            repo = self.result.get("pushed_repo") or retried.get("repo_id")
            lines.append(f"Pushed to [{repo}](https://huggingface.co/{repo}).")
        problems = self.result.get("push_errors") or []
        if problems and retried.get("status") != "done":
            lines.append("Push failed: " + "; ".join(problems))
        pending = self.result.get("push_pending") or {}
        if pending and retried.get("status") != "done":
            lines.append(f"Not pushed yet: {pending.get('message')}")
        return "\n\n".join(lines)


def runs_frame(runs: Iterable[Any]) -> pd.DataFrame:
    """A table of a visitor's runs (``RunInfo`` objects), newest first."""
    rows = []
    for info in runs:
        metrics = ", ".join(f"{k} {_number(v)}" for k, v in (info.metrics or {}).items() if k in SCORE_METRICS)
        rows.append(
            {
                "run": info.run_id,
                "state": info.state,
                "model": Path(info.model).name if info.model else "",
                "dataset": info.dataset,
                "steps": f"{info.step}/{info.total_steps}" if info.total_steps else str(info.step),
                "metrics": metrics,
                "started": time.strftime("%Y-%m-%d %H:%M", time.localtime(info.created)) if info.created else "",
            }
        )
    columns = ["run", "state", "model", "dataset", "steps", "metrics", "started"]
    return pd.DataFrame(rows, columns=columns)
