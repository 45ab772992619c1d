"""Synthetic data packages with planted truth.

:func:`generate` writes a complete, valid package and ``truth.json``: every parameter
drawn for the package and the expected value of each indicator it plants, so indicators
can be checked against the value they should recover. Calibrated to published figures: low
service accessibility and availability (祝建华、项丽亚 2021); migrants less often aided than locals
(广州公益慈善蓝皮书 2024); after the linkage reform, verification 15 -> 1 and processing 9 -> 2 working
days in S county (叶涛涛 2022); reform adoption staggered across counties. Government aid is
pro-poor (cash minimum-living payments fall with income) while charity aid follows needs drawn
without regard to income, so the charity concentration index is near 0 and above the
government's: truth.json holds both indices of the households' expected aid, and the
availability rates of locals and migrants. The household panel (``household_periods``)
plants exits from assistance (raised by the reform), returns to hardship within 12 months
and income change, its latest period equal to the households table. Process times are
planted in statutory working days (:mod:`evalkit.data.workdays`: holidays off, adjusted
weekend days worked), so every date, deadlines included, lies in the years chinese_calendar
covers (2004-2026 in version 1.11).

Households are generated county by county in chunks and written as they come, so memory
stays bounded; the same arguments give the same bytes.

>>> truth = generate("/tmp/pkg", households=2000, regions=4, periods=4, seed=1)  # doctest: +SKIP
"""
from __future__ import annotations

import datetime as dt
import json
import math
import os
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from evalkit.data import periods as periods_mod
from evalkit.data import workdays
from evalkit.data.privacy import check_digit
from evalkit.data.schema import SERVICE_TYPES, TABLES
from evalkit.errors import EvalkitError, ParameterError

TYPES = list(SERVICE_TYPES)
S = len(TYPES)

# Probability that a household needs a service type in a period (before county variation).
BASE_NEED = np.array([0.25, 0.20, 0.08, 0.05, 0.08, 0.12, 0.06, 0.05, 0.02, 0.10, 0.04, 0.03])
# Form in which a service type is delivered when it is received.
RECEIPT_FORM = np.array(["in_kind", "service", "in_kind", "in_kind", "service", "service",
                         "service", "service", "service", "service", "service", "in_kind"])

FAR_FACTOR = 0.25  # receipt probability without supply nearby, relative to with it
MIGRANT_FACTOR = 0.6  # migrants' receipt probability relative to locals' (广州公益慈善蓝皮书 2024)
REFORM_AVAILABILITY_EFFECT = 0.15  # added to the receipt probability after the reform
VERIFICATION_DAYS = {"before": 15, "after": 1}  # working days, applied -> verified (叶涛涛 2022)
PROCESSING_DAYS = {"before": 9, "after": 2}  # working days, verified -> decided (叶涛涛 2022)
DEADLINE_DAYS = 30  # calendar days from application to a case's deadline
DUPLICATE_PROBABILITY = {"before": 0.10, "after": 0.03}
REFERRAL_PROBABILITY = {"before": 0.25, "after": 0.70}  # out-of-policy needs referred to charity
REFERRAL_ACCEPT_PROBABILITY = 0.8
REFERRAL_ACCEPT_DAYS = {"before": 6.0, "after": 2.0}  # mean calendar days, exponential
APPLICATION_SHARE = {"before": 0.75, "after": 0.45}  # needs found by application, not actively
SATISFIED_PROBABILITY = {"before": 0.80, "after": 0.90}
WITHIN_POLICY = 0.7  # needs within government policy; sector: government if within, flipped with probability 0.1
SECTOR_FLIP = 0.1
MEAN_AMOUNT = {"service": 350.0, "other": 850.0}  # yuan per record: uniform(100, 600) and uniform(200, 1500)
TRUTH_HOUSEHOLDS = 1_000_000  # above this, concentration truths (one row per household) are not computed
# Household panel (household_periods): per-period dynamics of assistance and income.
EXIT_PROBABILITY = {"before": 0.08, "after": 0.12}  # in assistance in t-1, out in t; the reform raises it
RETURN_PROBABILITY = 0.25  # back in assistance within 12 months of an exit (返贫)
# change of pre-transfer income per capita in a period as a share of the period's income:
# (income_t - income_{t-1}) / income_t, drawn per household and period
INCOME_GROWTH = {"mean": 0.015, "sd": 0.05}
PERIODS_PER_YEAR = {"year": 1, "quarter": 4, "month": 12}

GOVERNMENT = [("民政局", "department"), ("医疗保障局", "department"), ("教育局", "department"),
              ("人力资源和社会保障局", "department"), ("住房和城乡建设局", "department"), ("残疾人联合会", "department")]
CHARITY = [("慈善总会", "foundation"), ("公益基金会", "foundation"), ("社会工作服务中心", "social_organisation"),
           ("社区慈善基金", "community_fund"), ("志愿服务队", "volunteer_team")]
SURNAMES = list("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗")
GIVEN = list("伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华")
OTHER_CHANNELS = np.array(["grid_worker", "data_alert", "charity", "volunteer", "referral"])


class OutputExistsError(EvalkitError, FileExistsError):
    """The output directory exists and is not empty (pass ``overwrite=True``)."""


@dataclass(frozen=True)
class Settings:
    households: int
    regions: int
    periods: int
    seed: int
    frequency: str = "quarter"
    start: str = "2023-01-01"
    weighted: bool = False
    format: str = "parquet"


def generate(out, households: int, regions: int, periods: int, seed: int, frequency: str = "quarter",
             start: str = "2023-01-01", weighted: bool = False, format: str = "parquet",
             overwrite: bool = False, chunk_size: int = 100_000) -> dict:
    """Write a synthetic package to ``out`` and return its truth (also in ``out/truth.json``)."""
    settings = Settings(households, regions, periods, seed, frequency, start, weighted, format)
    _check(settings)
    out = Path(out)
    if out.exists() and any(out.iterdir()):
        if not overwrite:
            raise OutputExistsError(f"{out} exists and is not empty; pass overwrite=True (--overwrite) to replace it")
    tmp = out.with_name(f".{out.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        truth = _Generator(settings, tmp, chunk_size).run()
        if out.exists():
            shutil.rmtree(out)
        os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return truth


def _check(s: Settings) -> None:
    periods_mod.check_frequency(s.frequency)
    if s.households < 1 or s.regions < 1 or s.periods < 1:
        raise ParameterError("households, regions and periods must each be at least 1")
    if s.households < s.regions:
        raise ParameterError(f"need at least one household per region ({s.households} < {s.regions})")
    if s.format not in ("parquet", "csv"):
        raise ParameterError(f"format must be parquet or csv, got {s.format!r}")
    try:
        first = dt.date.fromisoformat(s.start)
    except ValueError:
        raise ParameterError(f"start must be a date such as 2023-01-01, got {s.start!r}") from None
    label = periods_mod.label(first, s.frequency)
    begin = periods_mod.bounds(label, s.frequency)[0]
    for _ in range(s.periods - 1):
        label = periods_mod.label(periods_mod.bounds(label, s.frequency)[1] + dt.timedelta(days=1), s.frequency)
    last = periods_mod.bounds(label, s.frequency)[1] + dt.timedelta(days=DEADLINE_DAYS)
    covered = workdays.COVERED_YEARS
    if begin.year not in covered or last.year not in covered:
        raise ParameterError(
            f"synthetic dates run from {begin} to {last} (the last period plus {DEADLINE_DAYS} days to deadlines), "
            f"but process times are planted in statutory working days, which {workdays.SOURCE} knows for "
            f"{covered[0]}-{covered[-1]} only; choose a start and a number of periods within those years")


class _Generator:
    def __init__(self, settings: Settings, out: Path, chunk_size: int):
        self.s, self.out, self.chunk_size = settings, out, chunk_size
        rng = np.random.default_rng([settings.seed, 0])
        first = dt.date.fromisoformat(settings.start)
        labels = [periods_mod.label(first, settings.frequency)]
        while len(labels) < settings.periods:
            labels.append(periods_mod.label(periods_mod.bounds(labels[-1], settings.frequency)[1] + dt.timedelta(days=1), settings.frequency))
        self.labels = labels
        bounds = [periods_mod.bounds(p, settings.frequency) for p in labels]
        self.p_start = np.array([b[0] for b in bounds], dtype="datetime64[D]")
        self.p_end = np.array([b[1] for b in bounds], dtype="datetime64[D]")
        self.data_end = self.p_end[-1]

        r, n = settings.regions, settings.households
        self.n_cities = max(1, math.ceil(r / 4))
        self.counties = [f"R{1 + k % self.n_cities:02d}{k // self.n_cities + 1:02d}" for k in range(r)]
        shares = rng.dirichlet(np.full(r, 5.0))
        counts = np.floor(shares * n).astype(int)
        counts[np.argsort(-(shares * n - counts))[: n - counts.sum()]] += 1
        self.counts = counts
        # Staggered adoption: about 70% of counties adopt in a period after the first.
        adopt = rng.random(r) < 0.7
        self.reform_index = np.where(adopt & (settings.periods > 1), rng.integers(1, max(2, settings.periods), r), 10**6)
        self.migrant_share = rng.uniform(0.10, 0.40, r)
        self.p_need = np.clip(BASE_NEED[None, :] * rng.uniform(0.7, 1.3, (r, S)), 0, 1)
        self.p_near = rng.uniform(0.25, 0.60, (r, S))
        self.p_receive = rng.uniform(0.35, 0.60, (r, S))
        self.center = np.column_stack([119.0 + rng.uniform(0, 3, r), 28.0 + rng.uniform(0, 3, r)])
        self.counter = {"household": 0, "need": 0, "record": 0, "referral": 0, "case": 0, "feedback": 0}
        self.writers: dict[str, object] = {}
        self.schemas: dict[str, pa.Schema] = {}
        self.latest_event: dt.date | None = None  # the extraction date the package declares
        self.expected_aid: list[dict] = []  # per chunk: expected yuan per household and period, by sector
        self.panel_counts: dict[int, np.ndarray] = {}  # households in assistance per county and period

    # -- the run ---------------------------------------------------------------------
    def run(self) -> dict:
        self._write_regions()
        self._write_providers_and_points()
        for k in range(self.s.regions):
            n_k = int(self.counts[k])
            for c, lo in enumerate(range(0, n_k, self.chunk_size)):
                rng = np.random.default_rng([self.s.seed, 1, k, c])
                self._chunk(rng, k, min(self.chunk_size, n_k - lo), n_k)
        for w in self.writers.values():
            w.close()
        truth = self._truth()
        (self.out / "truth.json").write_text(json.dumps(truth, ensure_ascii=False, indent=1), encoding="utf-8")
        descriptor = {
            "name": f"synthetic-{self.s.seed}",
            "frequency": self.s.frequency,
            "resources": [{"name": t, "path": f"{t}.{self.s.format}"} for t in self.writers],
            # extracted the day the last event was recorded: windows running past it are censored
            "extracted_on": self.latest_event.isoformat() if self.latest_event else None,
            "synthetic": asdict(self.s),
        }
        (self.out / "datapackage.json").write_text(json.dumps(descriptor, ensure_ascii=False, indent=1), encoding="utf-8")
        return truth

    def _write(self, table: str, columns: dict) -> None:
        data = pa.table(columns)
        for col in TABLES[table].columns:
            if col.kind == "date" and not col.planned and col.name in data.column_names and len(data):
                last = pc.max(data[col.name].cast(pa.date32())).as_py()
                if last is not None and (self.latest_event is None or last > self.latest_event):
                    self.latest_event = last
        if table not in self.writers:
            # A column that is all-missing in the first chunk is text, not Arrow's null type.
            schema = pa.schema([f.with_type(pa.string()) if pa.types.is_null(f.type) else f for f in data.schema])
            path = self.out / f"{table}.{self.s.format}"
            if self.s.format == "parquet":
                self.writers[table] = pq.ParquetWriter(path, schema, compression="zstd")
            else:
                self.writers[table] = pacsv.CSVWriter(path, schema)
            self.schemas[table] = schema
        self.writers[table].write_table(data.cast(self.schemas[table]))

    def _write_regions(self) -> None:
        ids, names, parents, levels, reform = ["R00"], ["示范省"], [None], ["province"], [None]
        for c in range(self.n_cities):
            ids.append(f"R{c + 1:02d}")
            names.append(f"示范市{c + 1}")
            parents.append("R00")
            levels.append("city")
            reform.append(None)
        for k, county in enumerate(self.counties):
            ids.append(county)
            names.append(f"{names[int(county[1:3])]}第{int(county[3:])}县")
            parents.append(county[:3])
            levels.append("county")
            reform.append(self.labels[self.reform_index[k]] if self.reform_index[k] < len(self.labels) else None)
        self._write("regions", {"region_id": ids, "name": names, "parent_id": pa.array(parents, pa.string()),
                                "level": levels, "reform_period": pa.array(reform, pa.string())})

    def _write_providers_and_points(self) -> None:
        rng = np.random.default_rng([self.s.seed, 2])
        rows = {"provider_id": [], "name": [], "sector": [], "kind": []}
        for county in self.counties:
            for sector, members, tag in (("government", GOVERNMENT, "G"), ("charity", CHARITY, "C")):
                for j, (name, kind) in enumerate(members):
                    rows["provider_id"].append(f"{county}-{tag}{j + 1}")
                    rows["name"].append(f"{county}{name}")
                    rows["sector"].append(sector)
                    rows["kind"].append(kind)
        self._write("providers", rows)
        points = {k: [] for k in ("point_id", "provider_id", "region_id", "level", "service_types",
                                  "capacity", "lon", "lat", "published")}
        for k, county in enumerate(self.counties):
            for j, level in enumerate(["county"] + ["town"] * 3 + ["village"] * 6):
                offered = [t for t, keep in zip(TYPES, rng.random(S) < 0.4) if keep] or [TYPES[j % S]]
                sector = "G" if rng.random() < 0.5 else "C"
                count = len(GOVERNMENT) if sector == "G" else len(CHARITY)
                points["point_id"].append(f"{county}-P{j + 1:02d}")
                points["provider_id"].append(f"{county}-{sector}{rng.integers(1, count + 1)}")
                points["region_id"].append(county)
                points["level"].append(level)
                points["service_types"].append(";".join(offered))
                points["capacity"].append(round(float({"county": 200, "town": 60, "village": 20}[level] * rng.uniform(0.5, 1.5)), 1))
                points["lon"].append(round(float(self.center[k, 0] + rng.normal(0, 0.05)), 6))
                points["lat"].append(round(float(self.center[k, 1] + rng.normal(0, 0.05)), 6))
                points["published"].append(bool(rng.random() < 0.8))
        self._write("service_points", points)

    # -- one chunk of households in county k --------------------------------------------
    def _chunk(self, rng, k: int, n: int, n_county: int) -> None:
        county = self.counties[k]
        first = self.counter["household"]
        self.counter["household"] += n
        hh_ids = _ids("H", first, n, 8)
        migrant = rng.random(n) < self.migrant_share[k]
        urban = rng.random(n) < 0.6
        size = 1 + rng.poisson(1.6, n)
        elderly, child = rng.random(n) < 0.35, rng.random(n) < 0.30
        disabled, chronic = rng.random(n) < 0.15, rng.random(n) < 0.30
        income = np.round(rng.lognormal(np.log(1000), 0.6, n))
        covered = rng.random(n) < np.where(migrant, 0.6, 1.0)
        u = rng.random(n)
        status = np.full(n, "none", dtype=object)
        status[(income < 1500) & chronic & (u < 0.2) & covered] = "expenditure"
        status[(income >= 700) & (income < 1000) & (u < 0.5) & covered] = "dibian"
        status[(income < 700) & (u < 0.8) & covered] = "dibao"
        status[(income < 700) & elderly & disabled & (u < 0.4) & covered] = "tekun"
        n_comm = max(2, n_county // 150)
        community = rng.integers(1, n_comm + 1, n)
        community_ids = np.char.add(f"{county}-S", np.char.zfill(community.astype(str), 3))
        stratum = np.char.add(f"{county}-", np.where(urban, "U", "R"))
        weight = np.where(urban, 50.0, 20.0) if self.s.weighted else np.ones(n)
        # the head's age (60+ when the household has an elderly member) from a stream of its
        # own, so every other column keeps the values it had before head_age existed
        age_rng = np.random.default_rng([self.s.seed, 3, k, first])
        head_age = np.where(elderly, age_rng.integers(60, 96, n), age_rng.integers(20, 75, n))
        self._write("households", {
            "household_id": hh_ids, "region_id": np.full(n, county), "community_id": community_ids,
            "urban": urban, "hukou": np.where(migrant, "migrant", "local"), "size": size, "head_age": head_age,
            "elderly": elderly, "child": child, "disabled": disabled, "chronic_ill": chronic,
            "income_pc": income, "status": status.astype(str), "weight": weight,
            "stratum": stratum, "psu": community_ids,
            "lon": np.round(self.center[k, 0] + rng.normal(0, 0.05, n), 6),
            "lat": np.round(self.center[k, 1] + rng.normal(0, 0.05, n), 6),
            "id_number": _identity_numbers(rng, k, n), "name": _names(rng, n),
        })

        self._panel(k, first, hh_ids, status.astype(str), income)

        # Needs: independent draws per household, period and service type.
        P = len(self.labels)
        drawn = rng.random((n, P, S), dtype=np.float32) < self.p_need[k][None, None, :].astype(np.float32)
        hi, pi, si = np.nonzero(drawn)
        m = len(hi)
        post = pi >= self.reform_index[k]
        span = (self.p_end[pi] - self.p_start[pi]).astype(int)
        identified = self.p_start[pi] + (rng.random(m) * (span - 10).clip(1)).astype(int)
        application = rng.random(m) < np.where(post, APPLICATION_SHARE["after"], APPLICATION_SHARE["before"])
        channel = np.where(application, "application", OTHER_CHANNELS[rng.integers(0, len(OTHER_CHANNELS), m)])
        within = rng.random(m) < WITHIN_POLICY
        near = rng.random(m) < self.p_near[k, si]
        published = self._later(identified, rng.geometric(np.where(post, 1 / 1.5, 1 / 5), m), rng.random(m) < 0.9)
        matched = self._later(published, rng.geometric(1 / 3, m), rng.random(m) < 0.8)
        handled = self._later(matched, rng.geometric(1 / 5, m), rng.random(m) < 0.85)
        need_ids = self._next_ids("need", "N", m)
        self._write("needs", {
            "need_id": need_ids, "household_id": hh_ids[hi], "service_type": np.array(TYPES)[si],
            "identified_on": identified, "channel": channel, "within_policy": within, "supply_nearby": near,
            "published_on": published, "matched_on": matched, "handled_on": handled,
        })

        # Receipt: probability by nearness, hukou and reform (广州公益慈善蓝皮书 2024; 祝建华、项丽亚 2021).
        p_recv = (self.p_receive[k, si] + post * REFORM_AVAILABILITY_EFFECT) * np.where(near, 1.0, FAR_FACTOR)
        p_recv = p_recv * np.where(migrant[hi], MIGRANT_FACTOR, 1.0)
        got = rng.random(m) < p_recv
        sector = np.where(within ^ (rng.random(m) < SECTOR_FLIP), "government", "charity")
        start = np.minimum(identified + rng.integers(0, 16, m), self.p_end[pi])
        end = np.minimum(start + rng.integers(15, 91, m), self.p_end[pi])
        duplicate = got & (rng.random(m) < np.where(post, DUPLICATE_PROBABILITY["after"], DUPLICATE_PROBABILITY["before"]))
        other = np.where(sector == "government", "charity", "government")
        dup_start = np.minimum(start + rng.integers(0, 11, m), end)
        records = {
            "household_id": np.concatenate([hh_ids[hi][got], hh_ids[hi][duplicate]]),
            "sector": np.concatenate([sector[got], other[duplicate]]),
            "category": np.concatenate([np.array(TYPES)[si][got], np.array(TYPES)[si][duplicate]]),
            "form": np.concatenate([RECEIPT_FORM[si][got], RECEIPT_FORM[si][duplicate]]),
            "start_on": np.concatenate([start[got], dup_start[duplicate]]),
            "end_on": np.concatenate([end[got], np.minimum(dup_start + 30, end)[duplicate]]),
            "need_id": np.concatenate([need_ids[got], need_ids[duplicate]]),
        }
        r = len(records["household_id"])
        records["provider_id"] = self._providers(rng, county, records["sector"])
        records["programme"] = np.char.add(records["category"].astype(str), np.where(records["sector"] == "government", "-gov", "-charity"))
        records["amount"] = np.round(np.where(records["form"] == "service", rng.uniform(100, 600, r), rng.uniform(200, 1500, r)))
        # Cash minimum-living payments each period; cash does not count as receiving a service.
        cash_hh = np.nonzero(np.isin(status, ["dibao", "tekun"]))[0]
        cash_p = np.repeat(np.arange(P), len(cash_hh))
        cash_hh = np.tile(cash_hh, P)
        c = len(cash_hh)
        cash = {
            "household_id": hh_ids[cash_hh], "sector": np.full(c, "government"), "category": np.full(c, "basic_living"),
            "form": np.full(c, "cash"), "start_on": self.p_start[cash_p], "end_on": self.p_end[cash_p],
            "need_id": np.full(c, None, dtype=object), "provider_id": np.full(c, f"{county}-G1"),
            "programme": np.full(c, "dibao"),
            "amount": np.round(np.maximum(100.0, 900.0 - income[cash_hh]) * size[cash_hh] * 3),
        }
        record_ids = self._next_ids("record", "A", r + c)
        order = ["household_id", "provider_id", "sector", "programme", "category", "form", "amount", "start_on", "end_on", "need_id"]
        self._write("assistance", {"record_id": record_ids,
                                   **{col: np.concatenate([records[col], cash[col]]) for col in order}})

        if self.s.households <= TRUTH_HOUSEHOLDS:
            self._expected_aid(k, migrant, status, income, size, weight)

        self._referrals(rng, county, hh_ids[hi], need_ids, identified, within, channel, post)
        self._cases(rng, hh_ids[hi], identified, within, si, channel, post)
        asked = rng.random(r) < 0.3
        reform_start = self.p_start[self.reform_index[k]] if self.reform_index[k] < P else np.datetime64("9999-12-31")
        self._feedback(rng, records["household_id"][asked], record_ids[:r][asked], records["end_on"][asked],
                       records["start_on"][asked] >= reform_start)

    def _panel(self, k: int, first: int, hh_ids, status, income) -> None:
        """``household_periods``: every household in every period, the latest period equal to
        the households table (status, income_pc; in assistance when the status is not none).

        Assistance follows a Markov chain over states in assistance (0), j periods since an
        exit (1..L, L periods in 12 months) and out for longer (L + 1): an exit with
        probability ``EXIT_PROBABILITY`` per period (higher from the county's reform period),
        a return with a constant hazard such that ``RETURN_PROBABILITY`` of exits are back
        within L periods, and entry from long out chosen per period so that the share in
        assistance stays at the latest period's. The chain is sampled backward from the
        latest period through its time reversal (the marginals are known), so the forward
        exit and return probabilities are exactly the planted ones. Income runs back from
        the latest period by per-period changes drawn around ``INCOME_GROWTH``. Drawn from a stream of its own,
        so every other table keeps its bytes.
        """
        rng = np.random.default_rng([self.s.seed, 4, k, first])
        n, P = len(hh_ids), len(self.labels)
        L = PERIODS_PER_YEAR[self.s.frequency]
        K = L + 2
        final_in = status != "none"
        share = float(final_in.mean())
        h = 1 - (1 - RETURN_PROBABILITY) ** (1 / L)
        exits = np.where(np.arange(P) >= self.reform_index[k], EXIT_PROBABILITY["after"], EXIT_PROBABILITY["before"])
        state = np.where(final_in, 0, K - 1)
        paths = np.empty((P, n), dtype=np.int64)
        if 0 < share < 1 and P > 1:
            e0 = EXIT_PROBABILITY["before"]
            recent = e0 * (1 - h) ** np.arange(L)  # share of E_1..E_L per unit in assistance (stationary)
            entry = share * e0 * (1 - h) ** L / (1 - share - share * recent.sum())
            mu = [np.concatenate([[share], share * recent, [1 - share - share * recent.sum()]])]
            moves = [None]
            for t in range(1, P):
                m = mu[-1]
                a = float(np.clip((share * exits[t] - h * m[1:K - 1].sum()) / m[K - 1], 0, 1)) if m[K - 1] > 0 else entry
                T = np.zeros((K, K))
                T[0, 0], T[0, 1] = 1 - exits[t], exits[t]
                for j in range(1, L + 1):
                    T[j, 0] = h
                    T[j, min(j + 1, K - 1)] = 1 - h
                T[K - 1, 0], T[K - 1, K - 1] = a, 1 - a
                mu.append(m @ T)
                moves.append(T)
            # the latest period: out of assistance households spread over the states out, by their marginal
            out = mu[-1][1:] / mu[-1][1:].sum()
            drawn = 1 + np.minimum((rng.random(n)[:, None] >= np.cumsum(out)[None, :]).sum(1), K - 2)
            state = np.where(final_in, 0, drawn)
            paths[P - 1] = state
            for t in range(P - 1, 0, -1):
                # time reversal: P(x_{t-1} = y | x_t = x) = mu_{t-1}(y) T_t(y, x) / mu_t(x)
                back = (mu[t - 1][:, None] * moves[t]).T / np.where(mu[t] > 0, mu[t], 1)[:, None]
                cum = np.cumsum(back[paths[t]], axis=1)
                paths[t - 1] = np.minimum((rng.random(n)[:, None] >= cum).sum(1), K - 1)
        else:
            paths[:] = state
        in_assistance = paths == 0  # (P, n)
        # change in period t as a share of income in t, d_t: income_{t-1} = income_t (1 - d_t); d_t
        # is independent of income_t, so sum(change) / sum(income_t) estimates its mean
        growth = rng.normal(INCOME_GROWTH["mean"], INCOME_GROWTH["sd"], (P, n)).clip(-0.5, 0.5)
        factor = np.concatenate([np.cumprod(1 - growth[:0:-1], axis=0)[::-1], np.ones((1, n))])
        incomes = np.round(income[None, :] * factor, 1)
        incomes[P - 1] = income
        labels = np.repeat(np.array(self.labels), n)
        own = np.tile(status, P).reshape(P, n)
        fallback = np.where(incomes < 700, "dibao", "dibian")
        period_status = np.where(in_assistance, np.where(own != "none", own, fallback), "none")
        self._write("household_periods", {
            "household_id": np.tile(hh_ids, P), "period": labels, "status": period_status.ravel().astype(str),
            "income_pc": incomes.ravel(), "in_assistance": in_assistance.ravel(),
        })
        counts = self.panel_counts.setdefault(k, np.zeros(P))
        counts += in_assistance.sum(1)

    def _referrals(self, rng, county, hh, need_ids, identified, within, channel, post):
        to_charity = ~within & (rng.random(len(hh)) < np.where(post, REFERRAL_PROBABILITY["after"], REFERRAL_PROBABILITY["before"]))
        to_government = within & np.isin(channel, ["charity", "volunteer"]) & (rng.random(len(hh)) < 0.5)
        pick = to_charity | to_government
        m = int(pick.sum())
        gov = self._providers(rng, county, np.full(m, "government"))
        cha = self._providers(rng, county, np.full(m, "charity"))
        forward = to_charity[pick]
        created = self._later(identified[pick], rng.geometric(1 / 3, m), np.ones(m, bool))
        mean_days = np.where(post[pick], REFERRAL_ACCEPT_DAYS["after"], REFERRAL_ACCEPT_DAYS["before"])
        accept = rng.random(m) < REFERRAL_ACCEPT_PROBABILITY
        accepted = self._later(created, np.ceil(rng.exponential(mean_days)).astype(int), accept & ~_isnat(created))
        closed = self._later(accepted, 1 + rng.poisson(10, m), rng.random(m) < 0.75)
        status = np.where(~accept & ~_isnat(created), "rejected",
                          np.where(~_isnat(closed), "closed", np.where(~_isnat(accepted), "accepted", "pending")))
        self._write("referrals", {
            "referral_id": self._next_ids("referral", "F", m), "household_id": hh[pick], "need_id": need_ids[pick],
            "from_provider": np.where(forward, gov, cha), "to_provider": np.where(forward, cha, gov),
            "created_on": created, "accepted_on": accepted, "closed_on": closed, "status": status,
        })

    def _cases(self, rng, hh, identified, within, si, channel, post):
        pick = within & np.isin(si, [TYPES.index(t) for t in ("basic_living", "medical", "education", "housing", "emergency")])
        m = int(pick.sum())
        post = post[pick]
        u = rng.random(m)
        case_channel = np.where(channel[pick] != "application", "active",
                                np.where(u < np.where(post, 0.6, 0.25), "online", "window"))
        applied = identified[pick]
        ver_days = 1 + rng.poisson(np.where(post, VERIFICATION_DAYS["after"], VERIFICATION_DAYS["before"]) - 1)
        proc_days = 1 + rng.poisson(np.where(post, PROCESSING_DAYS["after"], PROCESSING_DAYS["before"]) - 1)
        verified = self._working_days_after(applied, ver_days)
        decided = self._working_days_after(verified, proc_days)
        approved = rng.random(m) < 0.85
        delivered = self._working_days_after(np.where(approved, decided, np.datetime64("NaT")), 1 + rng.poisson(2, m))
        self._write("cases", {
            "case_id": self._next_ids("case", "K", m), "household_id": hh[pick], "channel": case_channel,
            "applied_on": applied, "verified_on": verified, "decided_on": decided, "delivered_on": delivered,
            "deadline_on": applied + DEADLINE_DAYS, "approved": pa.array(np.where(_isnat(decided), None, approved).tolist(), pa.bool_()),
        })

    def _feedback(self, rng, hh, record_ids, given, post):
        m = len(hh)
        satisfied = rng.random(m) < np.where(post, SATISFIED_PROBABILITY["after"], SATISFIED_PROBABILITY["before"])
        score = np.where(satisfied, rng.integers(4, 6, m), rng.integers(1, 4, m))
        self._write("feedback", {
            "feedback_id": self._next_ids("feedback", "E", m), "household_id": hh,
            "case_id": pa.nulls(m, pa.string()), "record_id": record_ids, "score": score, "given_on": given,
        })

    # -- helpers -------------------------------------------------------------------------
    def _later(self, base, days, keep):
        """``base + days`` where ``keep`` and within the data, else missing."""
        out = (base + days).astype("datetime64[D]")
        out[~keep | _isnat(base)] = np.datetime64("NaT")
        return self._cap(out)

    def _working_days_after(self, start, days):
        """The ``days``-th statutory working day after ``start`` (so that the working days in
        (start, result] are ``days``), missing when ``start`` is or the result is past the data."""
        return self._cap(workdays.add(start, days, last=self.data_end))

    def _cap(self, dates):
        dates = dates.astype("datetime64[D]")
        dates[dates > self.data_end] = np.datetime64("NaT")
        return dates

    def _next_ids(self, kind, prefix, m):
        first = self.counter[kind]
        self.counter[kind] += m
        return _ids(prefix, first, m, 9)

    def _providers(self, rng, county, sector):
        m = len(sector)
        gov = rng.integers(1, len(GOVERNMENT) + 1, m)
        cha = rng.integers(1, len(CHARITY) + 1, m)
        return np.where(sector == "government", np.char.add(f"{county}-G", gov.astype(str)),
                        np.char.add(f"{county}-C", cha.astype(str)))

    def _expected_aid(self, k: int, migrant, status, income, size, weight) -> None:
        """Each household's expected yuan per period by sector, as the chunk's draws make it:
        need records (need x receipt x sector x mean amount, duplicates in the other sector)
        plus the cash payments of dibao and tekun households. Kept for the concentration truths."""
        P = len(self.labels)
        post = np.arange(P) >= self.reform_index[k]  # (P,)
        near_mix = self.p_near[k] + (1 - self.p_near[k]) * FAR_FACTOR  # (S,)
        receive = (self.p_receive[k][None, :] + post[:, None] * REFORM_AVAILABILITY_EFFECT) * near_mix  # (P, S)
        amount = np.where(RECEIPT_FORM == "service", MEAN_AMOUNT["service"], MEAN_AMOUNT["other"])
        base = (self.p_need[k][None, :] * receive * amount).sum(axis=1)  # (P,) yuan for a local household
        p_gov = WITHIN_POLICY * (1 - SECTOR_FLIP) + (1 - WITHIN_POLICY) * SECTOR_FLIP
        dup = np.where(post, DUPLICATE_PROBABILITY["after"], DUPLICATE_PROBABILITY["before"])
        factor = np.where(migrant, MIGRANT_FACTOR, 1.0)[:, None]
        cash = np.where(np.isin(status, ["dibao", "tekun"]), np.maximum(100.0, 900.0 - income) * size * 3, 0.0)
        self.expected_aid.append({
            "county": np.full(len(income), k), "income": income, "persons": weight * size, "size": size,
            "government": factor * base * (p_gov + (1 - p_gov) * dup) + cash[:, None],
            "charity": factor * base * ((1 - p_gov) + p_gov * dup)})

    def _concentration_truth(self, groups: dict) -> dict:
        """Concentration indices of the expected per-capita aid against income rank, per region and period."""
        from evalkit.methods.inequality import _concentration

        parts = {key: np.concatenate([c[key] for c in self.expected_aid]) for key in self.expected_aid[0]}
        index = {c: k for k, c in enumerate(self.counties)}
        out = {f"fairness.concentration_{s}": [] for s in ("government", "charity", "gap")}
        for region, members in groups.items():
            inside = np.isin(parts["county"], [index[m] for m in members])
            w, r = parts["persons"][inside], parts["income"][inside]
            for p, label in enumerate(self.labels):
                gov, cha = (_concentration(parts[s][inside, p] / parts["size"][inside], r, w)[0]
                            for s in ("government", "charity"))
                for name, value in (("government", gov), ("charity", cha), ("gap", cha - gov)):
                    out[f"fairness.concentration_{name}"].append(
                        {"region": region, "period": label, "service_type": "", "value": round(float(value), 10)})
        return out

    # -- truth -----------------------------------------------------------------------------
    def _truth(self) -> dict:
        P, R = len(self.labels), self.s.regions
        L = PERIODS_PER_YEAR[self.s.frequency]
        post = np.arange(P)[None, :] >= self.reform_index[:, None]  # (R, P)
        near_mix = (self.p_near + (1 - self.p_near) * FAR_FACTOR)[:, None, :]
        avail_local = (self.p_receive[:, None, :] + post[:, :, None] * REFORM_AVAILABILITY_EFFECT) * near_mix  # (R,P,S)
        ms = self.migrant_share[:, None, None]
        avail = avail_local * (1 - ms + ms * MIGRANT_FACTOR)
        need = np.broadcast_to(self.p_need[:, None, :], (R, P, S))
        access = np.broadcast_to(self.p_near[:, None, :], (R, P, S))
        # Needs and receipts are independent across service types given hukou.
        no_need = np.prod(1 - need, axis=2)  # (R, P)
        unserved_and_none = {
            h: np.prod(1 - need * avail_local * f, axis=2) for h, f in (("local", 1.0), ("migrant", MIGRANT_FACTOR))
        }
        ms2 = self.migrant_share[:, None]
        never_served = (1 - ms2) * unserved_and_none["local"] + ms2 * unserved_and_none["migrant"]
        needy = 1 - no_need
        unserved = (never_served - no_need) / needy
        groups = {c: [c] for c in self.counties}
        for c in range(self.n_cities):
            groups[f"R{c + 1:02d}"] = [x for x in self.counties if x[:3] == f"R{c + 1:02d}"]
        groups["R00"] = list(self.counties)
        expected = {k: [] for k in ("access.need_rate", "access.accessibility_rate", "access.availability_rate",
                                    "access.unmet_need_rate", "access.coverage_rate", "access.unserved_rate")}
        index = {c: k for k, c in enumerate(self.counties)}
        by_group = []
        for region, members in groups.items():
            ks = [index[m] for m in members]
            w = self.counts[ks].astype(float)[:, None, None]
            needers = w * need[ks]
            for hukou, share, factor in (("local", 1 - ms[ks], 1.0), ("migrant", ms[ks], MIGRANT_FACTOR)):
                rate = (needers * share * avail_local[ks] * factor).sum(0) / (needers * share).sum(0)  # (P, S)
                by_group.extend({"region": region, "period": self.labels[p], "service_type": TYPES[s],
                                 "group_by": "hukou", "group": hukou, "value": round(float(rate[p, s]), 10)}
                                for p in range(P) for s in range(S))
            per_type = {
                "access.need_rate": needers.sum(0) / w.sum(0),
                "access.accessibility_rate": (needers * access[ks]).sum(0) / needers.sum(0),
                "access.availability_rate": (needers * avail[ks]).sum(0) / needers.sum(0),
                "access.unmet_need_rate": (needers * (1 - avail[ks])).sum(0) / w.sum(0),
            }
            needy_w = w[:, :, 0] * needy[ks]
            overall = {
                "access.unserved_rate": (needy_w * unserved[ks]).sum(0) / needy_w.sum(0),
                "access.coverage_rate": (needy_w * (1 - unserved[ks])).sum(0) / needy_w.sum(0),
            }
            for ind, arr in per_type.items():
                for p in range(P):
                    for s in range(S):
                        expected[ind].append({"region": region, "period": self.labels[p], "service_type": TYPES[s],
                                              "value": round(float(arr[p, s]), 10)})
            for ind, arr in overall.items():
                for p in range(P):
                    expected[ind].append({"region": region, "period": self.labels[p], "service_type": "",
                                          "value": round(float(arr[p]), 10)})
        if self.expected_aid:
            expected.update(self._concentration_truth(groups))
        # outcomes from the panel: the exit probability of the period, averaged over counties by
        # their households in assistance the period before; returns within 12 months everywhere alike
        exit_p = np.where(post, EXIT_PROBABILITY["after"], EXIT_PROBABILITY["before"])  # (R, P)
        in_before = np.array([self.panel_counts.get(k, np.zeros(P)) for k in range(R)])
        expected["outcomes.exit_rate"] = []
        expected["outcomes.return_to_hardship_rate"] = []
        for region, members in groups.items():
            ks = [index[m] for m in members]
            for p in range(1, P):
                w = in_before[ks, p - 1]
                if w.sum() > 0:
                    expected["outcomes.exit_rate"].append(
                        {"region": region, "period": self.labels[p], "service_type": "",
                         "value": round(float((w * exit_p[ks, p]).sum() / w.sum()), 10)})
                expected["outcomes.return_to_hardship_rate"].append(
                    {"region": region, "period": self.labels[p], "service_type": "", "value": RETURN_PROBABILITY})
        per_county = lambda arr: {c: {t: round(float(v), 6) for t, v in zip(TYPES, row)} for c, row in zip(self.counties, arr)}
        return {
            "generator": asdict(self.s),
            "periods": self.labels,
            "households_per_region": {c: int(n) for c, n in zip(self.counties, self.counts)},
            "parameters": {
                "need_probability": per_county(self.p_need),
                "supply_nearby_probability": per_county(self.p_near),
                "receipt_probability_nearby_local_before_reform": per_county(self.p_receive),
                "receipt_factor_far": FAR_FACTOR,
                "receipt_factor_migrant": MIGRANT_FACTOR,
                "migrant_share": {c: round(float(v), 6) for c, v in zip(self.counties, self.migrant_share)},
                "receipt_forms": {t: f for t, f in zip(TYPES, RECEIPT_FORM)},
                "duplicate_probability": DUPLICATE_PROBABILITY,
                "omission_probability": "1 - availability rate (a need not received in its period is omitted)",
                "referral_probability_out_of_policy": REFERRAL_PROBABILITY,
                "referral_accept_probability": REFERRAL_ACCEPT_PROBABILITY,
                "referral_accept_days_mean": REFERRAL_ACCEPT_DAYS,
                "application_share_of_needs": APPLICATION_SHARE,
                "satisfied_probability": SATISFIED_PROBABILITY,
                "household_panel": {
                    "exit_probability_per_period": EXIT_PROBABILITY,
                    "return_probability_within_12_months": RETURN_PROBABILITY,
                    "return_hazard_per_period": round(1 - (1 - RETURN_PROBABILITY) ** (1 / L), 10),
                    "periods_in_12_months": L,
                    "income_change_share_per_period": INCOME_GROWTH,
                    "in_assistance": "status other than none in the latest period (as the households table)",
                    "entry": "from out of assistance for longer than 12 months, chosen per county and period so that "
                             "the share in assistance stays at the latest period's",
                    "note": "the panel is a process of its own: the cash basic-living records of the assistance "
                            "table follow the latest status in every period, not the panel",
                },
                "reform": {
                    "period": {c: (self.labels[i] if i < P else None) for c, i in zip(self.counties, self.reform_index)},
                    "availability_effect": REFORM_AVAILABILITY_EFFECT,
                    "exit_probability_effect": round(EXIT_PROBABILITY["after"] - EXIT_PROBABILITY["before"], 10),
                    "verification_working_days_mean": VERIFICATION_DAYS,
                    "processing_working_days_mean": PROCESSING_DAYS,
                },
            },
            "expected": expected,
            # availability by hukou: migrants receive MIGRANT_FACTOR times the locals' probability
            "expected_by_group": {"access.availability_rate": by_group},
        }


def _ids(prefix: str, first: int, n: int, width: int) -> np.ndarray:
    return np.char.add(prefix, np.char.zfill(np.arange(first + 1, first + n + 1).astype(str), width))


def _isnat(a) -> np.ndarray:
    return np.isnat(np.asarray(a, dtype="datetime64[D]"))


def _identity_numbers(rng, k: int, n: int) -> np.ndarray:
    """Fictitious but well-formed 18-digit numbers, so pseudonymisation is exercised."""
    area = 990000 + k % 10000
    birth = np.datetime64("1940-01-01") + rng.integers(0, 365 * 65, n)
    ymd = np.char.replace(birth.astype(str), "-", "")
    seq = np.char.zfill(rng.integers(0, 1000, n).astype(str), 3)
    first17 = np.char.add(np.char.add(str(area), ymd), seq)
    return np.array([f + check_digit(f) for f in first17.tolist()])


def _names(rng, n: int) -> np.ndarray:
    surname = np.array(SURNAMES)[rng.integers(0, len(SURNAMES), n)]
    given = np.char.add(np.array(GIVEN)[rng.integers(0, len(GIVEN), n)],
                        np.where(rng.random(n) < 0.6, np.array(GIVEN)[rng.integers(0, len(GIVEN), n)], ""))
    return np.char.add(surname, given)
