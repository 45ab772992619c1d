"""Indicator parameters, declared once.

Each family declares the settings its definitions depend on: name, default, unit,
allowed range, and a label and one-line meaning in English and Chinese. :func:`resolve` validates a user's mapping at the
boundary; the command line generates one option per declaration; reports receive the
resolved values, key their caches on them and print them in their methods section.

>>> p = resolve({"nearby_km": 5})
>>> p.nearby_km, p.omission_window_days
(5.0, 90)
>>> resolve({"nearby_km": -1})
Traceback (most recent call last):
...
evalkit.errors.ParameterError: nearby_km must be > 0 km, got -1
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from evalkit.data.schema import FORMS
from evalkit.errors import ParameterError


@dataclass(frozen=True)
class Parameter:
    """One declared setting of an indicator family.

    ``kind`` is ``float``, ``int``, ``"forms"`` (a set of assistance forms), ``"pair"``
    (two non-decreasing whole numbers) or ``"choice"`` (one of ``choices``, a mapping of
    each allowed word to its English and Chinese explanation). ``minimum`` is inclusive unless ``exclusive``.
    ``label_*``, ``unit_zh`` and ``meaning_zh`` are what a report's methods section prints.
    ``also`` names further families whose definitions read the same setting (one
    declaration, so the families cannot drift apart).
    """

    name: str
    family: str
    kind: Any
    default: Any
    unit: str
    meaning: str
    minimum: float | None = None
    exclusive: bool = False
    maximum: float | None = None  # exclusive
    label_en: str = ""
    label_zh: str = ""
    unit_zh: str = ""
    meaning_zh: str = ""
    also: tuple[str, ...] = ()
    choices: tuple[tuple[str, str, str], ...] = ()  # (word, English, Chinese) for kind "choice"

    def validate(self, value: Any) -> Any:
        """The value converted to the declared kind; :class:`ParameterError` if it is not allowed."""
        try:
            if self.kind == "choice":
                allowed = [c[0] for c in self.choices]
                word = str(value).strip()
                if word not in allowed:
                    raise ParameterError(f"{self.name} must be one of {', '.join(allowed)}, got {value!r}")
                return word
            if self.kind == "forms":
                items = value.split(",") if isinstance(value, str) else list(value)
                items = tuple(dict.fromkeys(str(v).strip() for v in items if str(v).strip()))
                unknown = [v for v in items if v not in FORMS]
                if unknown or not items:
                    raise ParameterError(f"{self.name} takes assistance forms among {', '.join(FORMS)}, "
                                         f"got {value!r}")
                return items
            if self.kind == "pair":
                items = value.split(",") if isinstance(value, str) else list(value)
                pair = tuple(_whole(v, self.name) for v in items)
                if len(pair) != 2 or pair[0] > pair[1] or pair[0] < 0:
                    raise ParameterError(f"{self.name} takes two whole numbers of {self.unit}, the first "
                                         f"not above the second (e.g. 3,7), got {value!r}")
                return pair
            converted = _whole(value, self.name) if self.kind is int else float(value)
        except ParameterError:
            raise
        except (TypeError, ValueError):
            raise ParameterError(f"{self.name} must be a number of {self.unit}, got {value!r}") from None
        if converted != converted or converted in (float("inf"), float("-inf")):
            raise ParameterError(f"{self.name} must be a finite number of {self.unit}, got {value!r}")
        if self.minimum is not None:
            below = converted <= self.minimum if self.exclusive else converted < self.minimum
            if below:
                op = ">" if self.exclusive else ">="
                raise ParameterError(f"{self.name} must be {op} {self.minimum:g} {self.unit}, got {value!r}")
        if self.maximum is not None and converted >= self.maximum:
            raise ParameterError(f"{self.name} must be < {self.maximum:g} {self.unit}, got {value!r}")
        return converted

    def describe(self) -> str:
        """The meaning, unit and default, as shown in ``--help``."""
        if self.kind == "choice":
            options = "; ".join(f"{word}: {en}" for word, en, _ in self.choices)
            return f"{self.meaning} ({options}) [default {self.default}]"
        default = ",".join(str(v) for v in self.default) if isinstance(self.default, tuple) else f"{self.default:g}"
        return f"{self.meaning} [{self.unit}; default {default}]"

    def label(self, lang: str) -> str:
        """A short name in ``lang`` (zh or en)."""
        return self.label_zh if lang == "zh" else self.label_en

    def unit_label(self, lang: str) -> str:
        return self.unit_zh if lang == "zh" else self.unit

    def explain(self, lang: str) -> str:
        """The one-line meaning in ``lang``."""
        return self.meaning_zh if lang == "zh" else self.meaning

    def format(self, value: Any, lang: str) -> str:
        """A validated value as a report prints it: ``5``, ``3, 7``, ``服务、实物``.

        >>> PARAMETERS["receipt_forms"].format(("service", "in_kind"), "zh")
        '服务、实物'
        """
        sep = "、" if lang == "zh" else ", "
        if self.kind == "choice":
            explained = {word: (en, zh) for word, en, zh in self.choices}[value]
            return f"{value}（{explained[1]}）" if lang == "zh" else f"{value} ({explained[0]})"
        if self.kind == "forms":
            return sep.join(FORMS[f][0] if lang == "zh" else f.replace("_", " ") for f in value)
        if self.kind == "pair":
            return sep.join(str(v) for v in value)
        return f"{value:g}"


def _whole(value: Any, name: str) -> int:
    number = float(value)
    if number != int(number):
        raise ParameterError(f"{name} must be a whole number, got {value!r}")
    return int(number)


PARAMETERS: dict[str, Parameter] = {p.name: p for p in (
    Parameter("receipt_forms", "access", "forms", ("service", "in_kind"), "assistance forms",
              "assistance forms that count as having received aid of a category: availability and coverage "
              "(access) and addressed or omitted needs (coordination); cash is not a service",
              label_en="Forms counted as receipt", label_zh="计为获得服务的救助形式", unit_zh="救助形式",
              meaning_zh="计为已获得某类救助的救助形式，可得率、覆盖率（可及性）与遗漏救助（衔接运行）共用（现金不计为服务）",
              also=("coordination",)),
    Parameter("nearby_km", "access", float, 3.0, "km",
              "great-circle distance within which a published service point counts as supply nearby",
              minimum=0, exclusive=True, label_en="Nearby distance", label_zh="就近服务距离", unit_zh="公里",
              meaning_zh="已公布的服务点在此球面距离以内计为附近有服务供给"),
    Parameter("catchment_km", "access", float, 10.0, "km",
              "floating catchment cutoff; the Gaussian decay has sigma half of it", minimum=0, exclusive=True,
              label_en="Catchment cutoff", label_zh="服务范围上限", unit_zh="公里",
              meaning_zh="两步移动搜寻法的服务范围上限；高斯距离衰减的标准差为其一半"),
    Parameter("omission_window_days", "coordination", int, 90, "days",
              "days after a need is identified within which aid of its category counts as addressing it",
              minimum=0, label_en="Omission window", label_zh="漏助判定时限", unit_zh="天",
              meaning_zh="需求识别后在此天数内获得同类救助即视为已回应需求，否则计为遗漏"),
    Parameter("follow_up_days", "coordination", int, 90, "days",
              "days a referral, a published need or an out-of-policy need is followed before its outcome "
              "(referred, accepted, closed, matched and handled) is judged; younger ones at the extraction date "
              "are censored; also the days within which an identified need must be met to count as fulfilled "
              "(outcomes)", minimum=0, label_en="Follow-up window", label_zh="跟踪判定期", unit_zh="天",
              also=("outcomes",),
              meaning_zh="转介、已发布需求或政策外需求自发起（发布、识别）起跟踪此天数后才判定其结果（是否转介、接收、办结、匹配处置）；"
                         "数据提取日仍未满此天数的计为删失;需求识别后在此天数内得到满足计为需求已满足(效果性)"),
    Parameter("push_days", "coordination", int, 3, "days",
              "days within which an identified need must be published to count as pushed on time", minimum=0,
              label_en="Push deadline", label_zh="信息推送时限", unit_zh="天",
              meaning_zh="需求识别后在此天数内公布即视为及时推送"),
    Parameter("warning_days", "coordination", "pair", (3, 7), "working days",
              "days left to the deadline at or below which an open case is in red, then yellow warning",
              label_en="Warning thresholds", label_zh="红、黄预警天数", unit_zh="工作日",
              meaning_zh="距办理期限剩余工作日不超过第一个值为红色预警，不超过第二个值为黄色预警"),
    Parameter("needy", "fairness", "choice", "status", "target population",
              "which households are the target (needy) population of the exclusion and inclusion errors",
              choices=(("status", "households whose assistance status is dibao, dibian, tekun or expenditure "
                                  "(not none)", "救助身份为低保、低边、特困或支出型困难(非无)的家庭"),
                       ("needs", "households with a need identified in the period", "本期有需求被识别的家庭"),
                       ("income", "households whose pre-transfer income per capita is below poverty_line",
                        "转移前人均收入低于 poverty_line 的家庭"),
                       ("poorest", "households in the poorest poorest_share of the persons of every household "
                                   "evaluated, by pre-transfer income per capita",
                        "按转移前人均收入排序,处于全部被评估人口最低 poorest_share 比例内的家庭")),
              label_en="Target population", label_zh="目标(应助)人群", unit_zh="目标人群",
              meaning_zh="排斥误差与纳入误差所用的目标(应助)家庭: 按救助身份、按本期识别的需求或按转移前人均收入低于贫困线"),
    Parameter("poverty_line", "fairness", float, 700.0, "yuan",
              "pre-transfer income per capita per month (the households table's income_pc) below which a household "
              "is needy when needy is income, and back in hardship when hardship is income", minimum=0, exclusive=True,
              label_en="Poverty line", label_zh="贫困线", unit_zh="元/人·月",
              meaning_zh="needy 为 income 时,转移前人均(月)收入低于此值的家庭为目标家庭;hardship 为 income 时,"
                         "低于此值计为返贫",
              also=("outcomes",)),
    Parameter("hardship", "outcomes", "choice", "assistance", "return rule",
              "what counts as a return to hardship (返贫) within 12 months of an exit from assistance",
              choices=(("assistance", "back in assistance (household_periods)", "重新纳入救助"),
                       ("income", "back in assistance, or pre-transfer income per capita below poverty_line",
                        "重新纳入救助,或转移前人均收入低于 poverty_line")),
              label_en="Return to hardship", label_zh="返贫判定", unit_zh="判定口径",
              meaning_zh="退出救助后12个月内何种情形计为返贫: 重新纳入救助,或(income)也包括人均收入低于贫困线"),
    Parameter("poorest_share", "fairness", float, 0.2, "share of persons",
              "share of the persons (household weight x size) with the lowest pre-transfer income per capita, "
              "among every household evaluated, whose households are needy when needy is poorest (one line for "
              "every region; a household at the cut is needy when the persons below it are under the share)",
              minimum=0, exclusive=True, maximum=1,
              label_en="Poorest share", label_zh="最低收入人口比例", unit_zh="人口比例",
              meaning_zh="needy 为 poorest 时,转移前人均收入最低、占全部被评估人口此比例的家庭为目标家庭(各地区同一条线)"),
)}


class Params(Mapping):
    """Validated values of every declared parameter (defaults filled in), read as attributes.

    >>> Params().push_days
    3
    """

    def __init__(self, values: Mapping[str, Any] | None = None):
        self._values = {name: p.default for name, p in PARAMETERS.items()}
        self._values.update(values or {})

    def __getattr__(self, name: str) -> Any:
        try:
            return self.__dict__["_values"][name]
        except KeyError:
            raise AttributeError(name) from None

    def __getitem__(self, name: str) -> Any:
        return self._values[name]

    def __iter__(self):
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        return f"Params({self._values!r})"

    def to_json(self) -> dict[str, Any]:
        """Plain JSON values (tuples as lists), for manifests and cache keys."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in self._values.items()}


def resolve(params: Mapping[str, Any] | None = None) -> Params:
    """Validate a mapping of parameter values; unknown names and bad values raise :class:`ParameterError`."""
    params = dict(params or {})
    unknown = sorted(set(params) - set(PARAMETERS))
    if unknown:
        raise ParameterError(f"unknown parameter(s) {', '.join(unknown)}; declared: {', '.join(PARAMETERS)}")
    return Params({name: PARAMETERS[name].validate(value) for name, value in params.items() if value is not None})


def for_family(family: str | None) -> list[Parameter]:
    """The parameters a family declares (every parameter when ``family`` is None)."""
    return [p for p in PARAMETERS.values() if family is None or p.family == family or family in p.also]
