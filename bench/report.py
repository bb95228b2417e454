"""The figures of one run: a JSON report (raw samples included) and the table printed from it."""

import json
from datetime import datetime
from pathlib import Path
from typing import Any

from bench.load import BARE, ORCHESTRATED, ORDER_ACTIVITIES, PODIUM
from bench.phases import Phase
from bench.sqlite_transactions import LONG_LIVED, PER_CALL, SqliteCost
from bench.stats import ratio, summarize
from bench.throughput import RAW, RUNTIME, Rates
from bench.tracing_cost import TracingCost
from workers.runtime.private_files import private_dir

LABELS = {
    PODIUM: "podium order (hybrid: saga + publish)",
    BARE: f"bare workflow, {ORDER_ACTIVITIES} no-op activities",
    ORCHESTRATED: "all-orchestrated (saga + 3 effects)",
}


def _ms(values: list[float]) -> list[float]:
    return [round(v * 1000, 3) for v in values]


def build_report(
    config: dict[str, Any],
    phases: list[Phase],
    lags: dict[int, list[float]],
    rates: Rates | None,
    tracing: TracingCost | None = None,
    sqlite: SqliteCost | None = None,
) -> dict[str, Any]:
    """Summaries in milliseconds and per second, ratios, and every raw sample."""
    latency: dict[str, Any] = {}
    ratios: dict[str, Any] = {}
    samples: dict[str, Any] = {}
    end_to_end: dict[str, Any] = {}
    for phase in phases:
        key = f"c{phase.concurrency}"
        s = {v: summarize(_ms(b.latencies), b.wall) for v, b in phase.blocks.items() if b.latencies}
        latency[key] = {v: x.as_dict() for v, x in s.items()}
        samples[key] = {v: _ms(b.latencies) for v, b in phase.blocks.items()}
        ratios[key] = {
            f"{a}/{b}": {
                "p50": ratio(s[a].p50, s[b].p50),
                "p99": ratio(s[a].p99, s[b].p99),
                "throughput": ratio(s[a].per_second, s[b].per_second),
            }
            for a, b in ((PODIUM, BARE), (ORCHESTRATED, PODIUM), (ORCHESTRATED, BARE))
            if a in s and b in s
        }
        if phase.podium_until_effects and ORCHESTRATED in s:
            hybrid = len(phase.blocks[PODIUM].latencies) / phase.podium_until_effects
            end_to_end[key] = {
                "hybrid_per_second": hybrid,
                "orchestrated_per_second": s[ORCHESTRATED].per_second,
                "orchestrated/hybrid": ratio(s[ORCHESTRATED].per_second, hybrid),
            }
    report: dict[str, Any] = {
        "config": config,
        "latency_ms": latency,
        "ratios": ratios,
        "end_to_end": end_to_end,
        "event_lag_ms": {
            f"c{c}": {k: x for k, x in summarize(_ms(v), 0).as_dict().items() if k != "per_second"}
            for c, v in lags.items()
            if v
        },
        "samples_ms": samples,
        "event_lag_samples_ms": {f"c{c}": _ms(v) for c, v in lags.items()},
    }
    if rates is not None:
        report["consumer_throughput"] = {
            "events": rates.events,
            "rounds": {
                k: [{"events": n, "per_second": round(rate, 1)} for n, rate in v]
                for k, v in rates.per_round.items()
            },
            "runtime_per_second": rates.mean(RUNTIME),
            "raw_per_second": rates.mean(RAW),
            "runtime/raw": ratio(rates.mean(RUNTIME), rates.mean(RAW)),
            "prefetch": rates.prefetch,
            "events_per_transaction": rates.events_per_transaction(),
        }
    if tracing is not None and tracing.off.latencies and tracing.on.latencies:
        off = summarize(_ms(tracing.off.latencies), tracing.off.wall)
        on = summarize(_ms(tracing.on.latencies), tracing.on.wall)
        report["tracing"] = {
            "concurrency": tracing.concurrency,
            "off": off.as_dict(),
            "on": on.as_dict(),
            "on/off_throughput": ratio(on.per_second, off.per_second),
            "on/off_p50": ratio(on.p50, off.p50),
            "samples_ms": {"off": _ms(tracing.off.latencies), "on": _ms(tracing.on.latencies)},
        }
    if sqlite is not None and all(sqlite.samples.values()):
        per_call, kept = (
            summarize(_ms(sqlite.samples[v]), sqlite.walls[v]) for v in (PER_CALL, LONG_LIVED)
        )
        report["sqlite_transaction"] = {
            "per_call_ms": per_call.as_dict(),
            "long_lived_ms": kept.as_dict(),
            "per_call/long_lived": ratio(per_call.mean, kept.mean),
            "per_call/long_lived_p50": ratio(per_call.p50, kept.p50),
            "samples_ms": {v: _ms(s) for v, s in sqlite.samples.items()},
        }
    return report


def format_table(report: dict[str, Any]) -> str:
    cfg = report["config"]
    lines = [
        f"podium bench  {cfg.get('started_at', '')}  ({cfg.get('cpus', '?')} CPUs, "
        f"Temporal {cfg.get('temporal', '?')}, worker + consumers in this process)",
        "",
        "critical path: start workflow -> result available (client side)",
        f"{'':<40}{'conc':>5}{'n':>6}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'wf/s':>8}",
    ]
    for key, by_variant in report["latency_ms"].items():
        for variant, s in by_variant.items():
            lines.append(
                f"{LABELS[variant]:<40}{key[1:]:>5}{s['count']:>6}{s['p50']:>9.1f}"
                f"{s['p95']:>9.1f}{s['p99']:>9.1f}{s['per_second']:>8.1f}"
            )
    lines += ["", f"{'ratios':<40}{'conc':>5}{'p50':>9}{'p99':>9}{'thru':>9}"]
    for key, by_pair in report["ratios"].items():
        for pair, r in by_pair.items():
            lines.append(
                f"{pair:<40}{key[1:]:>5}{r['p50']:>8.2f}x{r['p99']:>8.2f}x{r['throughput']:>8.2f}x"
            )
    for key, e in report["end_to_end"].items():
        lines += [
            "",
            f"orders/s until all 3 side effects are done, concurrency {key[1:]}:",
            f"  hybrid (consumers drain after the workflow)   {e['hybrid_per_second']:>8.1f}",
            f"  all-orchestrated (effects inside the workflow){e['orchestrated_per_second']:>8.1f}"
            f"   ({e['orchestrated/hybrid']:.2f}x)",
        ]
    if report["event_lag_ms"]:
        lines += [
            "",
            "event lag: occurred_at -> last of the 3 consumer effects (hybrid orders)",
            f"{'':<40}{'conc':>5}{'n':>6}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}",
        ]
        for key, s in report["event_lag_ms"].items():
            lines.append(
                f"{'publish -> consumers':<40}{key[1:]:>5}{s['count']:>6}{s['p50']:>9.1f}"
                f"{s['p95']:>9.1f}{s['p99']:>9.1f}"
            )
    ct = report.get("consumer_throughput")
    if ct:
        rounds = "; ".join(
            f"{k} " + ", ".join(f"{r['per_second']:.0f}" for r in v)
            for k, v in ct["rounds"].items()
        )
        lines += [
            "",
            f"consumer throughput, {ct['events']} pre-loaded events, prefetch "
            f"{ct.get('prefetch', cfg.get('prefetch', '?'))} for both, events/s (rounds: {rounds})",
            f"  {'loyalty on the podium runtime (batched store tx)':<51}"
            f"{ct['runtime_per_second']:>8.1f}",
            f"  {'  events per store transaction':<51}{ct.get('events_per_transaction', 0):>8.1f}",
            f"  {'raw aio-pika consume-and-ack':<51}{ct['raw_per_second']:>8.1f}",
            f"  {'ratio runtime / raw (goal >= 0.8x)':<51}{ct['runtime/raw']:>8.2f}x",
        ]
    tr = report.get("tracing")
    if tr:
        cost = (1 - tr["on/off_throughput"]) * 100
        lines += [
            "",
            f"cost of tracing, podium orders at concurrency {tr['concurrency']} "
            "(every span recorded and exported vs none)",
            f"{'':<40}{'n':>6}{'p50 ms':>9}{'p99 ms':>9}{'orders/s':>10}",
        ]
        for key, label in (("off", "tracing off (spans dropped)"), ("on", "tracing on")):
            x = tr[key]
            lines.append(
                f"  {label:<38}{x['count']:>6}{x['p50']:>9.1f}{x['p99']:>9.1f}"
                f"{x['per_second']:>10.2f}"
            )
        lines.append(
            f"  {'throughput on / off':<38}{tr['on/off_throughput']:>6.2f}x  ({cost:.1f}% cost)"
        )
    sq = report.get("sqlite_transaction")
    if sq:
        lines += [
            "",
            "services' SQLite transaction (apply once with its ledger, fsync per commit), "
            "one at a time",
            f"{'':<40}{'n':>6}{'mean ms':>9}{'p50 ms':>9}{'p99 ms':>9}",
        ]
        for key, label in (
            ("per_call_ms", "a connection per call"),
            ("long_lived_ms", "long-lived connections"),
        ):
            x = sq[key]
            lines.append(
                f"  {label:<38}{x['count']:>6}{x['mean']:>9.3f}{x['p50']:>9.3f}{x['p99']:>9.3f}"
            )
        lines.append(
            f"  {'per call / long-lived (mean, p50)':<38}{sq['per_call/long_lived']:>6.2f}x"
            f"{sq['per_call/long_lived_p50']:>8.2f}x"
        )
    return "\n".join(lines)


def write_report(report: dict[str, Any], folder: Path, stamp: datetime) -> Path:
    private_dir(folder)
    path = folder / f"report-{stamp.strftime('%Y%m%dT%H%M%S')}.json"
    path.write_text(json.dumps(report, indent=2, default=str))
    return path
