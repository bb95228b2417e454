"""The latency distributions as a PNG (CDF per variant and concurrency); needs matplotlib,
from the `bench` extra: pip install -e '.[bench]'."""

from pathlib import Path
from typing import Any

from bench.report import LABELS


def write_plot(report: dict[str, Any], path: Path) -> Path | None:
    """The PNG's path, or None when matplotlib is not installed."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        from matplotlib.ticker import FuncFormatter
    except ImportError:
        return None
    phases = report["samples_ms"]
    fig, axes = plt.subplots(1, len(phases), figsize=(6 * len(phases), 4.5), squeeze=False)
    for ax, (key, by_variant) in zip(axes[0], phases.items(), strict=True):
        for variant, values in by_variant.items():
            if not values:
                continue
            xs = sorted(values)
            ys = [(i + 1) / len(xs) for i in range(len(xs))]
            ax.step(xs, ys, where="post", label=LABELS[variant])
        ax.set_title(f"critical-path latency, concurrency {key[1:]}")
        ax.set_xlabel("ms (start workflow -> result)")
        ax.set_ylabel("fraction of workflows")
        ax.set_xscale("log")
        plain = FuncFormatter(lambda value, _: f"{value:g}")
        ax.xaxis.set_major_formatter(plain)
        ax.xaxis.set_minor_formatter(plain)
        ax.tick_params(axis="x", which="minor", labelsize="x-small")
        ax.set_ylim(0, 1.02)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(loc="lower right", fontsize="small")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
