"""The table `podium bench` prints, from the JSON report (bench/report.py)."""

from typing import Any

from bench.report import LABELS

_COLS = f"{'conc':>5}{'n':>6}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}"


def _row(label: str, conc: str, s: dict[str, Any]) -> str:
    return f"{label:<40}{conc:>5}{s['count']:>6}{s['p50']:>9.1f}{s['p95']:>9.1f}{s['p99']:>9.1f}"


def _header(report: dict[str, Any]) -> list[str]:
    cfg = report["config"]
    lines = [
        f"podium bench  {cfg.get('started_at', '')}  ({cfg.get('cpus', '?')} CPUs, "
        f"Temporal {cfg.get('temporal', '?')}, workers + consumers in this process, "
        "but the CPU phase's worker)",
    ]
    if "shape" in cfg:
        lines.append(
            f"order shape, read from a real order's history: {cfg['shape']['describe']} "
            f"activities ({' '.join(cfg['shape']['steps'])}), "
            f"{cfg['shape']['workflow_tasks']} workflow tasks"
        )
    if "gap_ms" in cfg:
        lines.append(
            f"concurrency 1: {cfg['gap_ms']:.0f} ms rest before each workflow (--gap-ms; "
            "back-to-back starts were reported slower on the dev server)"
        )
    return lines


def _critical_path(report: dict[str, Any]) -> list[str]:
    lines = [
        "",
        "critical path: start workflow -> result available (client side)",
        f"{'':<40}{_COLS}{'wf/s':>8}",
    ]
    for key, by_variant in report["latency_ms"].items():
        for variant, s in by_variant.items():
            lines.append(_row(LABELS[variant], key[1:], s) + f"{s['per_second']:>8.1f}")
    for key, s in report.get("confirmation_ms", {}).items():
        lines.append(_row("podium order: time to confirmation", key[1:], s))
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
    return lines


def _open_loop(report: dict[str, Any]) -> list[str]:
    run = report.get("open_loop")
    if not run:
        return []
    lines = [
        "",
        f"open loop: an order every {1000 / run['rate']:.0f} ms ({run['rate']:.1f}/s, "
        f"{run['source']}); started {run['arrivals_per_second']:.1f}/s, at most "
        f"{run['latest_start_behind_schedule_ms']:.0f} ms behind schedule",
        f"{'':<40}{_COLS}",
        _row("time to confirmation", "open", run["confirmation_ms"]),
        _row("time to full result", "open", run["result_ms"]),
    ]
    lag = report["event_lag_ms"].get("open")
    if lag:
        lines.append(_row("event lag (occurred_at -> last effect)", "open", lag))
    return lines


def _event_lag(report: dict[str, Any]) -> list[str]:
    closed = {k: s for k, s in report["event_lag_ms"].items() if k != "open"}
    if not closed:
        return []
    lines = [
        "",
        "event lag: occurred_at -> last of the 3 consumer effects (hybrid orders)",
        f"{'':<40}{_COLS}",
    ]
    for key, s in closed.items():
        lines.append(_row("publish -> consumers", key[1:], s))
    return lines


def _cpu(report: dict[str, Any]) -> list[str]:
    cpu = report.get("cpu_per_order")
    if not cpu or not cpu["workers"]:
        return []
    lines = [
        "",
        f"CPU per order (ms, from /proc), a saturated block on a worker process of its own; "
        f"ceiling = {cpu['cpus']} cores / (worker + server)",
        f"{'':<30}{'n':>6}{'wf/s':>9}{'worker':>9}{'server':>9}{'bench':>9}{'ceiling/s':>11}",
    ]
    for label, x in cpu["workers"].items():
        server = f"{x['server_ms']:>9.1f}" if x["server_ms"] is not None else f"{'n/a':>9}"
        ceiling = x["ceiling_per_second"]
        lines.append(
            f"  {label + ' worker':<28}{x['orders']:>6}{x['orders_per_second']:>9.1f}"
            f"{x['worker_ms']:>9.1f}{server}{x['bench_process_ms']:>9.1f}"
            f"{(f'{ceiling:.1f}' if ceiling else 'n/a'):>11}"
        )
    lines.append("  (bench = this process: the client and the consumers, not in the ceiling)")
    return lines


def _consumers(report: dict[str, Any]) -> list[str]:
    ct = report.get("consumer_throughput")
    if not ct:
        return []
    rounds = "; ".join(
        f"{k} " + ", ".join(f"{r['per_second']:.0f}" for r in v) for k, v in ct["rounds"].items()
    )
    return [
        "",
        f"consumer throughput, {ct['events']} pre-loaded events, prefetch "
        f"{ct.get('prefetch', report['config'].get('prefetch', '?'))} for both, events/s "
        f"(rounds: {rounds})",
        f"  {'loyalty on the podium runtime (batched store tx)':<51}"
        f"{ct['runtime_per_second']:>8.1f}",
        f"  {'  events per store transaction':<51}{ct.get('events_per_transaction', 0):>8.1f}",
        f"  {'raw aio-pika consume-and-ack':<51}{ct['raw_per_second']:>8.1f}",
        f"  {'ratio runtime / raw':<51}{ct['runtime/raw']:>8.2f}x",
    ]


def _tracing(report: dict[str, Any]) -> list[str]:
    tr = report.get("tracing")
    if not tr:
        return []
    cost = (1 - tr["on/off_throughput"]) * 100
    lines = [
        "",
        f"cost of tracing, podium orders at concurrency {tr['concurrency']} "
        "(every span recorded and exported vs none)",
        f"{'':<40}{'n':>6}{'p50 ms':>9}{'p99 ms':>9}{'orders/s':>10}",
    ]
    for key, label in (("off", "tracing off (spans dropped)"), ("on", "tracing on")):
        x = tr[key]
        lines.append(
            f"  {label:<38}{x['count']:>6}{x['p50']:>9.1f}{x['p99']:>9.1f}{x['per_second']:>10.2f}"
        )
    lines.append(
        f"  {'throughput on / off':<38}{tr['on/off_throughput']:>6.2f}x  ({cost:.1f}% cost)"
    )
    return lines


def _sqlite(report: dict[str, Any]) -> list[str]:
    sq = report.get("sqlite_transaction")
    if not sq:
        return []
    lines = [
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
    return lines


def _goals(report: dict[str, Any]) -> list[str]:
    goals = report.get("goals")
    if not goals:
        return []
    lines = [
        "",
        "goals (issue 10)",
        f"{'':<52}{'measured':>10}{'goal':>11}{'ratio':>8}",
    ]
    for g in goals:
        ms = g["unit"] == "ms"
        unit = " ms" if ms else "x"
        goal = f"{'<=' if g['at_most'] else '>='} {g['target']:g}{unit}"
        measured = f"{g['measured']:.1f}" if ms else f"{g['measured']:.2f}"
        lines.append(
            f"  {g['name']:<50}{measured:>8}{unit:<3}{goal:>10}{g['ratio']:>7.2f}x"
            f"  {'met' if g['met'] else 'NOT met'}{'  ' + g['note'] if g['note'] else ''}"
        )
    return lines


def format_table(report: dict[str, Any]) -> str:
    sections = (
        _header,
        _critical_path,
        _open_loop,
        _event_lag,
        _cpu,
        _consumers,
        _tracing,
        _sqlite,
        _goals,
    )
    return "\n".join(line for section in sections for line in section(report))
