"""The data package contract: tables, canonical columns, types, Chinese aliases.

Everything that reads, validates or documents a data package reads these specs, so a
column is declared once: its canonical English name, its type, the Chinese headers
accepted for it, the values it may take and the table it refers to.
"""
from __future__ import annotations

from dataclasses import dataclass, field

#: Service types and aid categories share one vocabulary (canonical -> Chinese).
SERVICE_TYPES: dict[str, str] = {
    "basic_living": "基本生活",
    "medical": "医疗",
    "education": "教育",
    "housing": "住房",
    "employment": "就业",
    "care": "照料护理",
    "rehabilitation": "康复",
    "psychological": "心理慰藉",
    "legal_aid": "法律援助",
    "daily_life": "生活服务",
    "child_care": "儿童关爱",
    "emergency": "急难",
}

# Allowed values with the Chinese spellings users export from their systems.
_SERVICE_VALUES = {k: (v,) for k, v in SERVICE_TYPES.items()}
_SERVICE_VALUES["emergency"] = ("急难", "急难救助", "临时救助")
_SERVICE_VALUES["psychological"] = ("心理慰藉", "心理", "心理疏导")
_SERVICE_VALUES["care"] = ("照料护理", "照料", "护理")

SECTORS = {"government": ("政府", "政府救助"), "charity": ("慈善", "慈善帮扶", "社会力量")}
FORMS = {"cash": ("现金",), "in_kind": ("实物",), "service": ("服务",)}
HUKOU = {"local": ("本地", "本地户籍", "户籍"), "migrant": ("外地", "外来", "非本地", "流动")}
STATUS = {
    "dibao": ("低保",),
    "dibian": ("低边", "低保边缘"),
    "tekun": ("特困", "特困供养"),
    "expenditure": ("支出型", "支出型困难"),
    "none": ("无", "一般"),
}
NEED_CHANNELS = {
    "application": ("申请", "依申请"),
    "grid_worker": ("网格员",),
    "data_alert": ("数据预警", "预警"),
    "charity": ("慈善", "慈善组织"),
    "volunteer": ("志愿者",),
    "referral": ("转介",),
}
CASE_CHANNELS = {"online": ("线上", "网上"), "window": ("窗口",), "active": ("主动", "主动发现")}
POINT_LEVELS = {"county": ("县", "县级"), "town": ("镇", "乡镇", "街道"), "village": ("村", "村级", "社区")}
REFERRAL_STATUS = {
    "pending": ("待接收", "待处理"),
    "accepted": ("已接收", "接收"),
    "rejected": ("已拒绝", "拒绝"),
    "closed": ("已办结", "办结"),
}


#: How far after the extraction date a planned date (a deadline, the planned end of
#: assistance) may lie; event dates (applied, delivered, ...) may not lie after it at all.
PLANNED_HORIZON_YEARS = 5


@dataclass(frozen=True)
class Column:
    """One canonical column of a table.

    ``kind`` is one of string, int, float, date, bool, enum. ``values`` maps each
    allowed canonical value of an enum to the other spellings accepted on input.
    A date column is an event date (on or before the extraction date) unless
    ``planned`` (on or before :data:`PLANNED_HORIZON_YEARS` years after it).
    """

    name: str
    kind: str = "string"
    aliases: tuple[str, ...] = ()
    required: bool = False  # the column must be in the file
    nullable: bool = True
    values: dict[str, tuple[str, ...]] | None = None
    minimum: float | None = None
    maximum: float | None = None
    references: str | None = None  # "table.column"
    personal: bool = False  # never leaves the loader as is
    planned: bool = False  # a date that may lie up to PLANNED_HORIZON_YEARS after the extraction date
    all_or_none: bool = False  # blank in some rows but given in others is an error
    period: bool = False  # a period label of the package's frequency (2024, 2024Q1, 2024-01), normalised on load


@dataclass(frozen=True)
class Table:
    name: str
    key: str | None
    columns: tuple[Column, ...]
    required: bool = False
    date_order: tuple[tuple[str, str], ...] = ()  # (earlier, later) pairs
    description: str = ""
    aliases: tuple[str, ...] = field(default=())  # file-name stems accepted
    unique: tuple[str, ...] = ()  # columns unique together (default: the key alone)

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(f"{self.name} has no column {name!r}")

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]


def _id(name, aliases=(), references=None, required=True, nullable=False):
    return Column(name, "string", aliases, required, nullable, references=references)


_HH = ("户编号", "家庭编号", "户号")
_BOOL = "bool"

TABLES: dict[str, Table] = {
    t.name: t
    for t in [
        Table(
            "regions",
            key="region_id",
            required=True,
            aliases=("地区", "区划"),
            description="Administrative regions; households sit in the leaves.",
            columns=(
                _id("region_id", ("区划代码", "地区编号", "区域编号", "区县编号")),
                Column("name", "string", ("名称", "地区名称", "区划名称")),
                Column("parent_id", "string", ("上级区划代码", "上级编号", "上级地区"), references="regions.region_id"),
                Column("level", "string", ("层级", "级别")),
                Column("reform_period", "string", ("改革起始期", "联动改革起始期", "改革期")),
            ),
        ),
        Table(
            "households",
            key="household_id",
            required=True,
            aliases=("家庭", "户"),
            description="Households in difficulty (and comparison households).",
            columns=(
                _id("household_id", _HH),
                _id("region_id", ("区县", "区划代码", "地区编号"), references="regions.region_id"),
                Column("community_id", "string", ("社区", "社区编号", "村社区")),
                Column("urban", _BOOL, ("城镇", "是否城镇")),
                Column("hukou", "enum", ("户籍", "户籍类型"), values=HUKOU),
                Column("size", "int", ("家庭人口", "人口数", "家庭人数"), minimum=1),
                Column("head_age", "int", ("户主年龄",), minimum=0, maximum=120),
                Column("elderly", _BOOL, ("有老年人", "老年人")),
                Column("child", _BOOL, ("有儿童", "儿童")),
                Column("disabled", _BOOL, ("有残疾人", "残疾")),
                Column("chronic_ill", _BOOL, ("有慢性病患者", "慢性病")),
                Column("income_pc", "float", ("人均收入", "转移前人均月收入", "人均月收入"), minimum=0),
                Column("status", "enum", ("救助身份", "困难类型", "救助类型"), values=STATUS),
                Column("weight", "float", ("权重", "抽样权重"), minimum=0, all_or_none=True),
                Column("stratum", "string", ("分层", "层")),
                Column("psu", "string", ("初级抽样单位", "抽样单位")),
                Column("fpc", "float", ("总体初级单位数", "抽样比"), minimum=0),
                Column("lon", "float", ("经度",), minimum=-180, maximum=180),
                Column("lat", "float", ("纬度",), minimum=-90, maximum=90),
                Column("id_number", "string", ("身份证号", "身份证号码", "公民身份号码"), personal=True),
                Column("name", "string", ("姓名", "户主姓名"), personal=True),
            ),
        ),
        Table(
            "needs",
            key="need_id",
            aliases=("需求",),
            date_order=(("identified_on", "published_on"), ("published_on", "matched_on"), ("matched_on", "handled_on")),
            columns=(
                _id("need_id", ("需求编号",)),
                _id("household_id", _HH, references="households.household_id"),
                Column("service_type", "enum", ("服务类型", "需求类型"), True, False, values=_SERVICE_VALUES),
                Column("identified_on", "date", ("识别日期", "发现日期")),
                Column("channel", "enum", ("发现渠道", "渠道"), values=NEED_CHANNELS),
                Column("within_policy", _BOOL, ("政策内", "是否政策内")),
                Column("supply_nearby", _BOOL, ("附近有供给", "附近有服务", "居住地附近有服务")),
                Column("published_on", "date", ("发布日期",)),
                Column("matched_on", "date", ("匹配日期",)),
                Column("handled_on", "date", ("处置日期", "办结日期")),
            ),
        ),
        Table(
            "providers",
            key="provider_id",
            aliases=("帮扶主体", "主体"),
            columns=(
                _id("provider_id", ("主体编号", "机构编号")),
                Column("name", "string", ("名称", "机构名称")),
                Column("sector", "enum", ("性质", "部门类别", "所属"), True, False, values=SECTORS),
                Column("kind", "string", ("类型", "机构类型")),
            ),
        ),
        Table(
            "service_points",
            key="point_id",
            aliases=("服务站点", "站点"),
            columns=(
                _id("point_id", ("站点编号",)),
                Column("provider_id", "string", ("主体编号", "机构编号"), references="providers.provider_id"),
                Column("region_id", "string", ("区县", "区划代码"), references="regions.region_id"),
                Column("level", "enum", ("层级", "级别"), values=POINT_LEVELS),
                Column("service_types", "string", ("服务类型", "服务项目")),
                Column("capacity", "float", ("容量", "服务能力"), minimum=0),
                Column("lon", "float", ("经度",), minimum=-180, maximum=180),
                Column("lat", "float", ("纬度",), minimum=-90, maximum=90),
                Column("published", _BOOL, ("已发布", "是否发布")),
            ),
        ),
        Table(
            "assistance",
            key="record_id",
            aliases=("救助帮扶记录", "帮扶记录", "救助记录"),
            date_order=(("start_on", "end_on"),),
            columns=(
                _id("record_id", ("记录编号",)),
                _id("household_id", _HH, references="households.household_id"),
                Column("provider_id", "string", ("主体编号", "机构编号"), references="providers.provider_id"),
                Column("sector", "enum", ("性质", "部门类别", "所属"), values=SECTORS),
                Column("programme", "string", ("项目", "项目名称")),
                Column("category", "enum", ("帮扶类别", "救助类别", "类别"), True, False, values=_SERVICE_VALUES),
                Column("form", "enum", ("形式", "救助形式", "帮扶形式"), values=FORMS),
                Column("amount", "float", ("金额", "金额(元)"), minimum=0),
                Column("start_on", "date", ("开始日期", "起始日期")),
                Column("end_on", "date", ("结束日期", "终止日期"), planned=True),  # ongoing aid: its planned end
                Column("need_id", "string", ("需求编号",), references="needs.need_id"),
            ),
        ),
        Table(
            "referrals",
            key="referral_id",
            aliases=("转介",),
            date_order=(("created_on", "accepted_on"), ("accepted_on", "closed_on")),
            columns=(
                _id("referral_id", ("转介编号",)),
                _id("household_id", _HH, references="households.household_id"),
                Column("need_id", "string", ("需求编号",), references="needs.need_id"),
                Column("from_provider", "string", ("转出方", "转出主体"), references="providers.provider_id"),
                Column("to_provider", "string", ("转入方", "接收主体"), references="providers.provider_id"),
                Column("created_on", "date", ("转介日期", "发起日期")),
                Column("accepted_on", "date", ("接收日期",)),
                Column("closed_on", "date", ("办结日期",)),
                Column("status", "enum", ("状态",), values=REFERRAL_STATUS),
            ),
        ),
        Table(
            "cases",
            key="case_id",
            aliases=("案件", "申请"),
            date_order=(
                ("applied_on", "verified_on"),
                ("verified_on", "decided_on"),
                ("applied_on", "decided_on"),  # also when verification is missing
                ("decided_on", "delivered_on"),
            ),
            columns=(
                _id("case_id", ("案件编号", "申请编号")),
                _id("household_id", _HH, references="households.household_id"),
                Column("channel", "enum", ("申请渠道", "渠道"), values=CASE_CHANNELS),
                Column("applied_on", "date", ("申请日期",)),
                Column("verified_on", "date", ("核对日期", "核实日期")),
                Column("decided_on", "date", ("审批日期", "决定日期")),
                Column("delivered_on", "date", ("发放日期", "落实日期")),
                Column("deadline_on", "date", ("办理时限", "截止日期"), planned=True),
                Column("approved", _BOOL, ("是否批准", "批准")),
            ),
        ),
        Table(
            "feedback",
            key="feedback_id",
            aliases=("评价", "满意度"),
            columns=(
                _id("feedback_id", ("评价编号",)),
                _id("household_id", _HH, references="households.household_id"),
                Column("case_id", "string", ("案件编号", "申请编号"), references="cases.case_id"),
                Column("record_id", "string", ("记录编号",), references="assistance.record_id"),
                Column("score", "int", ("评分", "满意度评分"), minimum=1, maximum=5),
                Column("given_on", "date", ("评价日期",)),
            ),
        ),
        Table(
            "household_periods",
            key="household_id",
            unique=("household_id", "period"),
            aliases=("家庭期间", "家庭动态", "动态监测", "household_panel"),
            description="Optional panel for outcomes: one row per household and period with its assistance "
                        "status, pre-transfer income per capita (yuan/month) and whether it is in assistance; "
                        "exits, returns to hardship (返贫) and income change are read from it. The period is "
                        "a label of the package's frequency (2024, 2024Q1, 2024-01); the latest period "
                        "usually repeats the households table.",
            columns=(
                _id("household_id", _HH, references="households.household_id"),
                Column("period", "string", ("期间", "时期", "统计期", "所属期", "期别"), required=True,
                       nullable=False, period=True),
                Column("status", "enum", ("救助类别", "救助身份", "困难类型", "救助类型"), values=STATUS),
                Column("income_pc", "float", ("人均收入", "转移前人均月收入", "人均月收入"), minimum=0),
                Column("in_assistance", _BOOL, ("是否在保", "在保", "是否享受救助", "是否在册")),
            ),
        ),
        Table(
            "calendar",
            key="date",
            aliases=("工作日历", "日历", "节假日安排"),
            description="Optional working-day calendar: overrides chinese_calendar's statutory working days "
                        "day by day (local rules), and gives them for years it does not cover (list every day).",
            columns=(
                Column("date", "date", ("日期",), required=True, nullable=False),
                Column("working", _BOOL, ("工作日", "是否工作日", "上班"), required=True, nullable=False),
            ),
        ),
    ]
}

TRUE_SPELLINGS = ("1", "true", "t", "yes", "y", "是", "有", "对", "1.0")
FALSE_SPELLINGS = ("0", "false", "f", "no", "n", "否", "无", "没有", "0.0")


#: how a package's files are read, printed first by ``evalkit schema``
FILES = """## Files

One file per table in the package directory, named after the table (or listed in
`datapackage.json`'s `resources`: `{"name": "households", "path": "households.xlsx"}`).

- CSV: UTF-8 (with or without BOM) or GBK/GB18030, one encoding per file; a file mixing
  them is an error naming its first line that is not UTF-8.
- Parquet: typed columns are used as they are.
- Excel (.xlsx): the first sheet, or the one named by `"sheet"` on the resource
  (`{"name": "households", "path": "台账.xlsx", "sheet": "2024年"}`); a workbook of several
  sheets gets a warning naming the sheet read. Rows above the header holding one cell (a
  title) are skipped with a warning. Identity numbers must be stored as text: Excel keeps
  only 15 significant digits of a number, so an 18-digit number stored as a number is
  already destroyed and is an error (export the column as text, or as CSV)."""


def describe(tables: list[str] | None = None) -> str:
    """The tables (all, or those named) as Markdown: file names accepted, description, and
    per column its type, whether it is required, the Chinese headers accepted and the
    values allowed (``evalkit schema``); for all tables, first how files are read (:data:`FILES`)."""
    lines = [] if tables else [FILES, ""]
    for name in tables or list(TABLES):
        t = TABLES[name]
        status = "required" if t.required else "optional"
        lines += [f"## {t.name} ({status}; file {t.name} or {' / '.join(t.aliases)})", ""]
        if t.description:
            lines += [t.description, ""]
        unique = t.unique or ((t.key,) if t.key else ())
        if unique:
            lines += [f"Unique: {', '.join(unique)}.", ""]
        lines += ["| column | type | required | Chinese headers | values |", "|---|---|---|---|---|"]
        for c in t.columns:
            kind = "period label" if c.period else c.kind
            if c.references:
                kind += f" → {c.references}"
            if c.minimum is not None:
                kind += f", ≥ {c.minimum:g}"
            if c.maximum is not None:
                kind += f", ≤ {c.maximum:g}"
            values = "; ".join(f"{k} ({'/'.join(v)})" for k, v in c.values.items()) if c.values else ""
            if c.kind == "bool":
                values = "是/否, 1/0, true/false"
            required = "yes" if c.required and not c.nullable else "column" if c.required else ""
            lines.append(f"| {c.name} | {kind} | {required} | {'、'.join(c.aliases)} | {values} |")
        lines.append("")
    return "\n".join(lines)
