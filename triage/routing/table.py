"""The routing table an admin edits: labels → lead and assisting departments, keyword rules,
deadlines per request type, calendars, and district (属地管理) offices.

The file is checked as a whole before it is used, and every problem names the line to fix: a
table that routes to a department nobody defined, or loops a department's forwarding back onto
itself, would otherwise only fail on the one petition that happens to reach it, at 2 a.m.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from triage.routing.urgent import UrgentCategory, UrgentRules, compile_pattern
from triage.routing.yamlnodes import Located, YamlError, load_located
from triage.workdays import WorkCalendar

DEFAULT_DEADLINES = {"咨询": 3, "求助": 5, "投诉": 13, "建议": 13}
DEFAULT_CALENDAR = "default"
DEFAULT_URGENT_HOURS = 2


class RoutingTableError(ValueError):
    """A table that cannot be used, with the line (and file) to fix."""

    def __init__(self, message: str, line: int | None = None, source: str | None = None) -> None:
        self.line, self.source, self.problem = line, source, message
        where = [w for w in (source, f"line {line}" if line else None) if w]
        super().__init__(f"{', '.join(where)}: {message}" if where else message)


@dataclass(frozen=True)
class Department:
    name: str
    full_name: str | None = None
    contact: str | None = None
    calendar: str = DEFAULT_CALENDAR
    deadlines: Mapping[str, int] = field(default_factory=dict)
    parent: str | None = None
    district: str | None = None
    forward_to: str | None = None
    # Other names the department goes by in exports (承办单位 such as 顺义区分中心): imported
    # history under an alias is stored under this department (see `department_named`).
    aliases: tuple[str, ...] = ()
    # What the department is responsible for (三定 / 权责清单): its own words for its matters.
    # Training turns them into features for this deployment (training/deployment_keywords.py).
    keywords: tuple[str, ...] = ()
    responsibilities: str | None = None


@dataclass(frozen=True)
class LabelRoute:
    label: str
    lead: str
    assist: tuple[str, ...] = ()
    by_district: Mapping[str, str] = field(default_factory=dict)
    label_set: str = ""
    line: int | None = None
    # Terms of the label itself (a category that is not a department), used like a department's
    keywords: tuple[str, ...] = ()


@dataclass(frozen=True)
class KeywordRule:
    """Moves a petition to a more specific lead when its words say so (first matching rule wins)."""

    name: str
    lead: str
    assist: tuple[str, ...] = ()
    labels: frozenset[str] = frozenset()
    all_of: tuple[str, ...] = ()
    any_of: tuple[str, ...] = ()
    none_of: tuple[str, ...] = ()
    line: int | None = None

    def matches(self, label: str, text: str) -> bool:
        if self.labels and label not in self.labels:
            return False
        if any(term not in text for term in self.all_of):
            return False
        if self.any_of and not any(term in text for term in self.any_of):
            return False
        return not any(term in text for term in self.none_of)


@dataclass(frozen=True)
class CoHandlingConfig:
    min_probability: float = 0.25
    max_assist: int = 2


@dataclass(frozen=True)
class RoutingTable:
    departments: Mapping[str, Department]
    labels: Mapping[str, LabelRoute]
    label_sets: Mapping[str, frozenset[str]]
    rules: tuple[KeywordRule, ...]
    deadlines: Mapping[str, int]
    request_type_aliases: Mapping[str, str]
    urgent_days: int
    urgent_keywords: tuple[str, ...]
    calendars: Mapping[str, WorkCalendar]
    cohandling: CoHandlingConfig
    timezone: ZoneInfo
    source: str = "<text>"
    set_lines: Mapping[str, int] = field(default_factory=dict)
    urgent_rules: UrgentRules = field(default_factory=UrgentRules)

    # -- lookups ------------------------------------------------------------------------------

    def resolve(self, department: str) -> str:
        """Follow `forward_to` (a renamed or merged department) to the one that handles it now."""
        seen = set()
        while self.departments[department].forward_to:
            seen.add(department)
            department = self.departments[department].forward_to  # type: ignore[assignment]
            if department in seen:  # impossible after validation; a guard, not a feature
                break
        return department

    def routable(self) -> list[str]:
        """The departments a case can be sent to, sorted (renamed or merged ones excluded)."""
        return sorted(name for name, d in self.departments.items() if not d.forward_to)

    def department_named(self, name: str) -> str | None:
        """The department that handles what `name` names now: a department (its `forward_to`
        followed) or one of a department's `aliases`; None for a name the table does not know."""
        name = name.strip()
        if name not in self.departments:
            name = next((d.name for d in self.departments.values() if name in d.aliases), "")
        return self.resolve(name) if name else None

    def request_type(self, value: str) -> str:
        """The canonical request type of `value` (aliases such as 建言 → 建议), or ValueError."""
        value = value.strip()
        value = self.request_type_aliases.get(value, value)
        if value not in self.deadlines:
            known = ", ".join([*self.deadlines, *self.request_type_aliases])
            raise ValueError(f"unknown request_type {value!r}; known: {known}")
        return value

    def deadline_days(self, request_type: str, department: str | None) -> int:
        dept = self.departments.get(department) if department else None
        if dept is not None and request_type in dept.deadlines:
            return dept.deadlines[request_type]
        return self.deadlines[request_type]

    def calendar_of(self, department: str | None) -> WorkCalendar:
        dept = self.departments.get(department) if department else None
        return self.calendars[dept.calendar if dept else DEFAULT_CALENDAR]

    def known_districts(self) -> frozenset[str]:
        names = {d.district for d in self.departments.values() if d.district}
        for route in self.labels.values():
            names.update(route.by_district)
        return frozenset(names)

    def check_labels(self, model_labels: Iterable[str]) -> str:
        """Raise unless one label set routes exactly the model's labels; returns that set's name.

        Several sets may live in one file (the bundled sample's departments, the public data's
        categories); the one that overlaps the model most must cover every model label and hold
        no label the model does not know.
        """
        wanted = {str(label) for label in model_labels}
        if not self.label_sets:
            raise RoutingTableError("no label_sets: nothing routes any label", source=self.source)
        name, labels = max(self.label_sets.items(), key=lambda item: len(item[1] & wanted))
        missing = sorted(wanted - labels)
        extra = sorted(labels - wanted)
        if missing:
            raise RoutingTableError(
                f"label set {name!r} has no route for the live model's label(s) {', '.join(missing)}"
                + (f"; it routes {', '.join(extra)}, which the model does not know" if extra else ""),
                line=self.labels[extra[0]].line if extra else self.set_lines.get(name),
                source=self.source,
            )
        if extra:
            raise RoutingTableError(
                f"label {extra[0]!r} in label set {name!r} is not a label of the live model "
                f"(its labels: {', '.join(sorted(wanted))})",
                line=self.labels[extra[0]].line,
                source=self.source,
            )
        return name


# -- loading ----------------------------------------------------------------------------------


def load_table(path: str | Path) -> RoutingTable:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise RoutingTableError("routing table file not found", source=str(path)) from None
    except UnicodeDecodeError:
        raise RoutingTableError("not UTF-8 text", source=str(path)) from None
    return parse_table(text, source=str(path))


def parse_table(text: str, source: str = "<text>") -> RoutingTable:
    try:
        data, located = load_located(text)
    except YamlError as exc:
        raise RoutingTableError(str(exc).split(": ", 1)[-1], exc.line, source) from None
    return _Builder(data, located, source).build()


class _Builder:
    """Turns the parsed YAML into a `RoutingTable`, failing on the first problem with its line."""

    TOP_LEVEL = frozenset(
        {
            "timezone",
            "request_types",
            "request_type_aliases",
            "urgent",
            "calendars",
            "departments",
            "label_sets",
            "rules",
            "cohandling",
        }
    )

    def __init__(self, data: Any, located: Located, source: str) -> None:
        self.data, self.located, self.source = data, located, source

    def fail(self, message: str, *path: Any) -> RoutingTableError:
        return RoutingTableError(message, self.located.line(*path), self.source)

    def mapping(self, value: Any, *path: Any) -> dict[Any, Any]:
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise self.fail(f"{'.'.join(map(str, path)) or 'the file'} must be a mapping", *path)
        return value

    def strings(self, value: Any, *path: Any) -> tuple[str, ...]:
        if value is None:
            return ()
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str | int) for v in value):
            raise self.fail(f"{'.'.join(map(str, path))} must be a list of words", *path)
        return tuple(str(v).strip() for v in value if str(v).strip())

    def text(self, value: Any, *path: Any) -> str | None:
        if value is None:
            return None
        if not isinstance(value, str):
            raise self.fail(f"{'.'.join(map(str, path))} must be text", *path)
        return value.strip() or None

    def days(self, value: Any, *path: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 60:
            raise self.fail(
                f"{'.'.join(map(str, path))} must be a whole number of working days (0-60), not {value!r}",
                *path,
            )
        return value

    def build(self) -> RoutingTable:
        root = self.mapping(self.data)
        for key in root:
            if key not in self.TOP_LEVEL:
                raise self.fail(
                    f"unknown section {key!r}; expected one of {', '.join(sorted(self.TOP_LEVEL))}", key
                )
        timezone = self.timezone(root.get("timezone", "Asia/Shanghai"))
        deadlines = self.deadlines(root.get("request_types"))
        aliases = self.aliases(root.get("request_type_aliases"), deadlines)
        urgent_days, urgent_rules = self.urgent(root.get("urgent"))
        calendars = self.calendars(root.get("calendars"))
        departments = self.departments(root.get("departments"), deadlines, calendars)
        labels, label_sets, set_lines = self.label_sets(root.get("label_sets"), departments)
        rules = self.rules(root.get("rules"), departments, labels)
        cohandling = self.cohandling(root.get("cohandling"))
        return RoutingTable(
            departments=departments,
            labels=labels,
            label_sets=label_sets,
            rules=rules,
            deadlines=deadlines,
            request_type_aliases=aliases,
            urgent_days=urgent_days,
            urgent_keywords=urgent_rules.keywords,
            calendars=calendars,
            cohandling=cohandling,
            timezone=timezone,
            source=self.source,
            set_lines=set_lines,
            urgent_rules=urgent_rules,
        )

    def timezone(self, value: Any) -> ZoneInfo:
        try:
            return ZoneInfo(str(value))
        except (ZoneInfoNotFoundError, ValueError):
            raise self.fail(f"unknown timezone {value!r}", "timezone") from None

    def deadlines(self, value: Any) -> dict[str, int]:
        given = self.mapping(value, "request_types")
        out = dict(DEFAULT_DEADLINES)
        for name, days in given.items():
            out[str(name)] = self.days(days, "request_types", name)
        return out

    def aliases(self, value: Any, deadlines: Mapping[str, int]) -> dict[str, str]:
        out = {}
        for alias, target in self.mapping(value, "request_type_aliases").items():
            if str(target) not in deadlines:
                raise self.fail(
                    f"alias {alias!r} points to unknown request type {target!r}; known: {', '.join(deadlines)}",
                    "request_type_aliases",
                    alias,
                )
            out[str(alias)] = str(target)
        return out

    URGENT_FIELDS = frozenset({"days", "keywords", "hours", "negations", "not_urgent", "categories"})
    CATEGORY_FIELDS = frozenset({"reason", "patterns", "except", "except_anywhere", "transfer", "hours"})

    def urgent(self, value: Any) -> tuple[int, UrgentRules]:
        """`days` + `keywords` (the same working day, as before) and `categories` with hours."""
        urgent = self.mapping(value, "urgent")
        for key in urgent:
            if key not in self.URGENT_FIELDS:
                raise self.fail(
                    f"unknown urgent field {key!r}; expected one of {', '.join(sorted(self.URGENT_FIELDS))}",
                    "urgent",
                    key,
                )
        days = self.days(urgent.get("days", 0), "urgent", "days")
        hours = self.hours(urgent.get("hours", DEFAULT_URGENT_HOURS), "urgent", "hours")
        categories = urgent.get("categories")
        if categories is not None and not isinstance(categories, list):
            raise self.fail("urgent.categories must be a list", "urgent", "categories")
        return days, UrgentRules(
            categories=tuple(self.urgent_category(spec, i, hours) for i, spec in enumerate(categories or [])),
            keywords=self.strings(urgent.get("keywords"), "urgent", "keywords"),
            not_urgent=self.patterns(urgent.get("not_urgent"), "urgent", "not_urgent"),
            negations=self.strings(urgent.get("negations"), "urgent", "negations"),
        )

    def urgent_category(self, spec: Any, index: int, default_hours: float) -> UrgentCategory:
        path = ("urgent", "categories", index)
        spec = self.mapping(spec, *path)
        for key in spec:
            if key not in self.CATEGORY_FIELDS:
                raise self.fail(f"unknown urgent category field {key!r}", *path, key)
        reason = _opt(spec.get("reason"))
        if reason is None:
            raise self.fail("an urgent category needs a reason", *path)
        patterns = self.patterns(spec.get("patterns"), *path, "patterns")
        if not patterns:
            raise self.fail(f"urgent category {reason!r} has no patterns", *path)
        return UrgentCategory(
            reason=reason,
            patterns=patterns,
            exclude=self.patterns(spec.get("except"), *path, "except"),
            exclude_anywhere=self.patterns(spec.get("except_anywhere"), *path, "except_anywhere"),
            transfer=_opt(spec.get("transfer")),
            hours=self.hours(spec.get("hours", default_hours), *path, "hours"),
        )

    def patterns(self, value: Any, *path: Any) -> tuple[re.Pattern[str], ...]:
        out = []
        for i, text in enumerate(self.strings(value, *path)):
            try:
                out.append(compile_pattern(text))
            except re.error as exc:
                raise self.fail(f"bad pattern {text!r}: {exc}", *path, i) from None
        return tuple(out)

    def hours(self, value: Any, *path: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= 72:
            raise self.fail(
                f"{'.'.join(map(str, path))} must be a number of hours (over 0, at most 72), not {value!r}",
                *path,
            )
        return float(value)

    def calendars(self, value: Any) -> dict[str, WorkCalendar]:
        given = self.mapping(value, "calendars")
        out = {DEFAULT_CALENDAR: WorkCalendar()}
        for name, spec in given.items():
            spec = self.mapping(spec, "calendars", name)
            for key in spec:
                if key not in ("extra_holidays", "extra_workdays"):
                    raise self.fail(f"unknown calendar field {key!r}", "calendars", name, key)
            out[str(name)] = WorkCalendar(
                extra_holidays=self.dates(spec.get("extra_holidays"), "calendars", name, "extra_holidays"),
                extra_workdays=self.dates(spec.get("extra_workdays"), "calendars", name, "extra_workdays"),
            )
        return out

    def dates(self, value: Any, *path: Any) -> list[date]:
        if value is None:
            return []
        if not isinstance(value, list):
            raise self.fail(f"{'.'.join(map(str, path))} must be a list of dates (YYYY-MM-DD)", *path)
        out = []
        for i, item in enumerate(value):
            if isinstance(item, date):
                out.append(item)
                continue
            try:
                out.append(date.fromisoformat(str(item)))
            except ValueError:
                raise self.fail(f"{item!r} is not a date (YYYY-MM-DD)", *path, i) from None
        return out

    DEPARTMENT_FIELDS = frozenset(
        {
            "full_name",
            "contact",
            "calendar",
            "deadlines",
            "parent",
            "district",
            "forward_to",
            "aliases",
            "keywords",
            "responsibilities",
        }
    )

    def departments(
        self, value: Any, deadlines: Mapping[str, int], calendars: Mapping[str, WorkCalendar]
    ) -> dict[str, Department]:
        given = self.mapping(value, "departments")
        if not given:
            raise self.fail("no departments defined", "departments")
        out: dict[str, Department] = {}
        for name, spec in given.items():
            spec = self.mapping(spec, "departments", name)
            path = ("departments", name)
            for key in spec:
                if key not in self.DEPARTMENT_FIELDS:
                    raise self.fail(f"unknown department field {key!r} in {name!r}", *path, key)
            calendar = str(spec.get("calendar", DEFAULT_CALENDAR))
            if calendar not in calendars:
                raise self.fail(f"department {name!r} uses unknown calendar {calendar!r}", *path, "calendar")
            overrides = {}
            for rtype, days in self.mapping(spec.get("deadlines"), *path, "deadlines").items():
                if str(rtype) not in deadlines:
                    raise self.fail(
                        f"department {name!r} sets a deadline for unknown request type {rtype!r}",
                        *path,
                        "deadlines",
                        rtype,
                    )
                overrides[str(rtype)] = self.days(days, *path, "deadlines", rtype)
            out[str(name)] = Department(
                name=str(name),
                full_name=_opt(spec.get("full_name")),
                contact=_opt(spec.get("contact")),
                calendar=calendar,
                deadlines=overrides,
                parent=_opt(spec.get("parent")),
                district=_opt(spec.get("district")),
                forward_to=_opt(spec.get("forward_to")),
                aliases=self.strings(spec.get("aliases"), *path, "aliases"),
                keywords=self.strings(spec.get("keywords"), *path, "keywords"),
                responsibilities=self.text(spec.get("responsibilities"), *path, "responsibilities"),
            )
        owner: dict[str, str] = {}
        for name, dept in out.items():
            for alias in dept.aliases:
                if alias in out or alias in owner:
                    other = "a department" if alias in out else f"an alias of {owner[alias]!r}"
                    raise self.fail(
                        f"alias {alias!r} of {name!r} is already {other}", "departments", name, "aliases"
                    )
                owner[alias] = name
        for name, dept in out.items():
            for link in ("parent", "forward_to"):
                target = getattr(dept, link)
                if target is not None and target not in out:
                    raise self.fail(
                        f"unknown department {target!r} ({link} of {name!r})", "departments", name, link
                    )
        for link in ("parent", "forward_to"):
            self.no_cycles(out, link)
        return out

    def no_cycles(self, departments: Mapping[str, Department], link: str) -> None:
        for start in departments:
            chain, node = [start], getattr(departments[start], link)
            while node is not None:
                if node in chain:
                    loop = " → ".join([*chain[chain.index(node) :], node])
                    raise self.fail(f"cycle in {link}: {loop}", "departments", start, link)
                chain.append(node)
                node = getattr(departments[node], link)

    def known(self, name: Any, departments: Mapping[str, Department], *path: Any) -> str:
        name = str(name).strip() if name is not None else ""
        if not name:
            raise self.fail(f"{'.'.join(map(str, path))} names no department", *path)
        if name not in departments:
            raise self.fail(f"unknown department {name!r} (define it under departments:)", *path)
        return name

    def label_sets(
        self, value: Any, departments: Mapping[str, Department]
    ) -> tuple[dict[str, LabelRoute], dict[str, frozenset[str]], dict[str, int]]:
        given = self.mapping(value, "label_sets")
        labels: dict[str, LabelRoute] = {}
        sets: dict[str, frozenset[str]] = {}
        set_lines: dict[str, int] = {}
        for set_name, entries in given.items():
            entries = self.mapping(entries, "label_sets", set_name)
            set_lines[str(set_name)] = self.located.line("label_sets", set_name) or 0
            for label, spec in entries.items():
                path = ("label_sets", set_name, label)
                if isinstance(spec, str):
                    spec = {"lead": spec}
                spec = self.mapping(spec, *path)
                for key in spec:
                    if key not in ("lead", "assist", "by_district", "keywords"):
                        raise self.fail(f"unknown field {key!r} for label {label!r}", *path, key)
                if str(label) in labels:
                    raise self.fail(
                        f"label {label!r} is already routed in label set {labels[str(label)].label_set!r}",
                        *path,
                    )
                lead = self.known(spec.get("lead"), departments, *path, "lead")
                assist = tuple(
                    self.known(a, departments, *path, "assist", i)
                    for i, a in enumerate(self.strings(spec.get("assist"), *path, "assist"))
                )
                by_district = {
                    str(d): self.known(dept, departments, *path, "by_district", d)
                    for d, dept in self.mapping(spec.get("by_district"), *path, "by_district").items()
                }
                labels[str(label)] = LabelRoute(
                    label=str(label),
                    lead=lead,
                    assist=assist,
                    by_district=by_district,
                    label_set=str(set_name),
                    line=self.located.line(*path),
                    keywords=self.strings(spec.get("keywords"), *path, "keywords"),
                )
            sets[str(set_name)] = frozenset(str(label) for label in entries)
        if not labels:
            raise self.fail("no label_sets: nothing routes any label", "label_sets")
        return labels, sets, set_lines

    def rules(
        self, value: Any, departments: Mapping[str, Department], labels: Mapping[str, LabelRoute]
    ) -> tuple[KeywordRule, ...]:
        if value is None:
            return ()
        if not isinstance(value, list):
            raise self.fail("rules must be a list", "rules")
        out = []
        for i, spec in enumerate(value):
            path = ("rules", i)
            spec = self.mapping(spec, *path)
            for key in spec:
                if key not in ("name", "labels", "all", "any", "none", "lead", "assist"):
                    raise self.fail(f"unknown rule field {key!r}", *path, key)
            rule_labels = self.strings(spec.get("labels"), *path, "labels")
            for j, label in enumerate(rule_labels):
                if label not in labels:
                    raise self.fail(
                        f"rule names label {label!r}, which no label set routes", *path, "labels", j
                    )
            all_of = self.strings(spec.get("all"), *path, "all")
            any_of = self.strings(spec.get("any"), *path, "any")
            if not all_of and not any_of:
                raise self.fail("a rule needs words under all: or any:", *path)
            out.append(
                KeywordRule(
                    name=str(spec.get("name") or f"rule {i + 1}"),
                    lead=self.known(spec.get("lead"), departments, *path, "lead"),
                    assist=tuple(
                        self.known(a, departments, *path, "assist", k)
                        for k, a in enumerate(self.strings(spec.get("assist"), *path, "assist"))
                    ),
                    labels=frozenset(rule_labels),
                    all_of=all_of,
                    any_of=any_of,
                    none_of=self.strings(spec.get("none"), *path, "none"),
                    line=self.located.line(*path),
                )
            )
        return tuple(out)

    def cohandling(self, value: Any) -> CoHandlingConfig:
        spec = self.mapping(value, "cohandling")
        min_p = spec.get("min_probability", CoHandlingConfig.min_probability)
        if isinstance(min_p, bool) or not isinstance(min_p, int | float) or not 0 < min_p <= 1:
            raise self.fail(f"cohandling.min_probability must be in (0, 1], not {min_p!r}", "cohandling")
        max_assist = spec.get("max_assist", CoHandlingConfig.max_assist)
        if isinstance(max_assist, bool) or not isinstance(max_assist, int) or not 0 <= max_assist <= 5:
            raise self.fail(f"cohandling.max_assist must be 0-5, not {max_assist!r}", "cohandling")
        return CoHandlingConfig(min_probability=float(min_p), max_assist=max_assist)


def _opt(value: Any) -> str | None:
    return None if value is None or str(value).strip() == "" else str(value).strip()
