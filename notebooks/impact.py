# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# Impact of the linkage reform (衔接改革成效): counties adopt the reform in different
# quarters, so its effect on processing times is estimated by staggered
# difference-in-differences. Callaway & Sant'Anna (2021) with the group aggregation is the
# headline; Sun & Abraham (2021) is the regression-based check; the two-way fixed-effects
# regression is shown because it is what is usually run, and it is biased when effects
# grow with time since adoption (Goodman-Bacon 2021; de Chaisemartin & D'Haultfœuille
# 2020). 叶涛涛 (2022) reports processing falling from 9 to 2 working days after the joint
# centre in S county. A research notebook, not a report part: run it top to bottom.

# %% tags=["parameters"]
data_path = "data/demo"  # data package directory (`make demo` writes data/demo)
indicator = "coordination.processing_days"  # outcome indicator id
window_low = -4  # event-study window, periods before adoption
window_high = 4  # event-study window, periods after adoption
seed = 0  # seed of the wild bootstrap and the placebo draws
export_dir = ""  # a directory: the tables below are written there as CSV, Parquet, Excel and LaTeX; empty: no export

# %%
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd

import evalkit
from evalkit import impact

# a relative data_path is looked up from the working directory upwards (repository or notebooks/)
found = [d / data_path for d in (Path.cwd(), *Path.cwd().parents) if (d / data_path).exists()]
package = evalkit.load(found[0] if found else data_path)
results = evalkit.compute(package, indicators=[indicator])
panel = impact.panel_from_results(results, package.regions, indicator)
Y = ("value", "region", "period", "first_treated")
panel.pivot(index="region", columns="period", values="value").round(1).assign(
    reform=panel.groupby("region")["first_treated"].first())

# %% [markdown]
# Estimates side by side, with analytical and wild-bootstrap intervals. With this few
# counties (clusters) the bootstrap interval is the one to read.

# %%
rows = []
for method, control in (("callaway_santanna", "never_treated"), ("callaway_santanna", "not_yet_treated"),
                        ("sun_abraham", "never_treated"), ("twfe", "all")):
    for bootstrap in (None, "wild"):
        try:
            rows.append(impact.att(panel, *Y, method=method, control=control, bootstrap=bootstrap, seed=seed).to_frame())
        except evalkit.ParameterError as exc:
            print(f"{method} ({control}): {exc}")
estimates = pd.concat(rows, ignore_index=True)
estimates.round(3)

# %%
fig, ax = plt.subplots(figsize=(7, 3.5))
for method, shift, color in (("callaway_santanna", -0.1, "C0"), ("sun_abraham", 0.1, "C1")):
    es = impact.event_study(panel, *Y, method=method, window=(window_low, window_high))
    impact.plot_event_study(es.assign(event_time=es["event_time"] + shift), ax=ax, color=color)
    print(method, "pre-trend test:", {k: round(v, 3) for k, v in es.attrs["pretrend"].items()})
ax.legend()
ax.set_ylabel(indicator)
plt.show()

# %% [markdown]
# Why not two-way FE: a simulated panel of 40 units with an effect that grows with time
# since adoption (known truth), where static TWFE understates the effect and the
# heterogeneity-robust estimators recover it.

# %%
sim = impact.simulate_panel(n_units=40, n_periods=8, effect="growing", seed=seed)
S = ("y", "unit", "period", "first_treated")
truth = sim.attrs["truth"]
compare = pd.concat([impact.att(sim, *S, method=m, aggregation=a).to_frame()
                     for m, a in (("twfe", "group"), ("callaway_santanna", "group"), ("sun_abraham", "group"),
                                  ("callaway_santanna", "simple"), ("callaway_santanna", "dynamic"))],
                    ignore_index=True)
compare["truth"] = [truth["group"], truth["group"], truth["group"], truth["simple"], truth["dynamic"]]
compare = compare[["method", "aggregation", "estimate", "se", "ci_low", "ci_high", "truth", "n_clusters"]]
compare.round(3)

# %%
ax = impact.plot_event_study(impact.event_study(sim, *S, method="twfe", window=(-4, 4)), label="twfe", color="C2")
impact.plot_event_study(impact.event_study(sim, *S, window=(-4, 4)), ax=ax, label="callaway_santanna", color="C0")
ax.legend()
plt.show()

# %%
pl = impact.placebo(sim, *S, draws=200, seed=seed)
print(f"placebo: mean {pl['estimate'].mean():.3f}, sd {pl['estimate'].std():.3f}; "
      f"actual {pl.attrs['estimate']:.3f}, permutation p = {pl.attrs['p_value']:.3f}")

# %%
# The tables above as plain DataFrames; with export_dir set, written as CSV, Parquet, Excel and LaTeX.
from evalkit.report.notebook import export_tables

tables = {"panel": panel, "estimates": estimates, "simulated_check": compare}
if export_dir:
    export_tables(tables, export_dir)
