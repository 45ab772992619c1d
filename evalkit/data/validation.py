"""Problems found in a data package, reported all at once.

A :class:`Problem` names the file, the column, the check, how many rows fail, what was
expected and the first example rows. Errors stop a load; warnings are shown and kept.
"""
from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field

from evalkit.errors import ValidationError  # noqa: F401  (re-exported)

MAX_EXAMPLES = 5
#: 15 to 18 digits (full-width too, the last may be X): never echoed in a message, whatever column it is in
IDENTITY_SHAPED = re.compile(r"(?<![0-9０-９])[0-9０-９]{14,17}[0-9０-９XxＸｘ](?![0-9０-９])")


@dataclass
class Problem:
    severity: str  # "error" | "warning"
    table: str
    file: str
    column: str
    check: str
    count: int
    expected: str
    examples: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        where = f"{self.file} · {self.column}" if self.column else self.file
        rows = f"{self.count} row{'s' if self.count != 1 else ''}: " if self.count else ""
        text = f"{self.severity.upper():7} {where} · {self.check}: {rows}{self.expected}"
        if self.examples:
            text += "\n          e.g. " + "; ".join(self.examples)
        return text


@dataclass
class ValidationReport:
    package: str
    problems: list[Problem] = field(default_factory=list)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "warning"]

    @property
    def ok(self) -> bool:
        return not self.errors

    def add(self, severity, table, file, column, check, count, expected, examples=()):
        shown = [IDENTITY_SHAPED.sub("[identity number hidden]", str(e)) for e in examples]
        self.problems.append(Problem(severity, table, file, column, check, int(count), expected, shown))

    def __str__(self) -> str:
        head = (
            f"{self.package}: {len(self.errors)} error(s), {len(self.warnings)} warning(s)"
            if self.problems
            else f"{self.package}: valid"
        )
        return "\n".join([head, *(str(p) for p in self.errors + self.warnings)])

    def to_json(self) -> str:
        return json.dumps([asdict(p) for p in self.problems], ensure_ascii=False, indent=2)


