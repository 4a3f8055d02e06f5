"""Registry files: the legal entities, divisions, employees and persons the service works with.

eHealth keeps these in its own registers; this service loads a copy from a YAML or JSON file. A
file is checked whole before anything is written, and loaded in the caller's transaction, so a
bad file never leaves the database half-updated.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError
from pydantic_core import PydanticCustomError
from sqlalchemy import insert, update
from sqlmodel import Session, SQLModel, col, delete, select

from declaration_otp.phone import PHONE_PATTERN
from declaration_otp.tables import AuthenticationMethod, Division, Employee, LegalEntity, Person

# A bad file can have thousands of problems; the first screenful is enough to start fixing it.
MAX_REPORTED_PROBLEMS = 20
# Rows written per statement (and per progress report) when loading.
CHUNK_SIZE = 500

# `progress(kind, done, total)`: called after each chunk of a kind is written.
Progress = Callable[[str, int, int], None]

_EDRPOU = re.compile(r"^[0-9]{8,10}$")
_ISO_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
_OLDEST_BIRTH_DATE = date(1900, 1, 1)


class RegistryError(Exception):
    """A registry file that cannot be loaded, with every problem found in it."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        super().__init__(f"registry rejected: {len(self.problems)} problem(s)")

    def report(self, limit: int = MAX_REPORTED_PROBLEMS) -> list[str]:
        """The problems to show a person: at most `limit` lines plus how many were left out."""
        lines = self.problems[:limit]
        if len(self.problems) > limit:
            lines.append(f"... and {len(self.problems) - limit} more problem(s)")
        return lines


# --- field types ---------------------------------------------------------------------------


def _quoted_string(value: object) -> object:
    # YAML reads unquoted digits as numbers: `+380501234567` loses its plus, `01234567` is octal.
    if isinstance(value, int | float) and not isinstance(value, bool):
        raise PydanticCustomError(
            "quoted_string", "must be a quoted string (unquoted digits are read as a number)"
        )
    return value


def _edrpou(value: object) -> object:
    value = _quoted_string(value)
    if isinstance(value, str) and not _EDRPOU.match(value):
        raise PydanticCustomError("edrpou", "must be 8 to 10 digits")
    return value


def _phone(value: object) -> object:
    value = _quoted_string(value)
    if isinstance(value, str) and not PHONE_PATTERN.match(value):
        raise PydanticCustomError("phone", "must look like +380501234567 (+ and 9-16 digits)")
    return value


def _iso_date(value: object) -> object:
    # Lax pydantic would also take timestamps and datetimes; a birth date is a plain calendar day.
    if isinstance(value, datetime) or not isinstance(value, date | str):
        raise PydanticCustomError("iso_date", "must be a date YYYY-MM-DD")
    if isinstance(value, str) and not _ISO_DATE.match(value):
        raise PydanticCustomError("iso_date", "must be a date YYYY-MM-DD")
    return value


Text = Annotated[str, Field(min_length=1, max_length=255)]
Code = Annotated[str, Field(min_length=1, max_length=40, pattern=r"^[A-Z0-9][A-Z0-9_]*$")]
Edrpou = Annotated[str, BeforeValidator(_edrpou)]
Phone = Annotated[str, BeforeValidator(_phone)]
IsoDate = Annotated[date, BeforeValidator(_iso_date)]


class _Entry(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=True)

    id: uuid.UUID


class LegalEntityEntry(_Entry):
    name: Text
    short_name: Text
    edrpou: Edrpou
    status: Literal["ACTIVE", "SUSPENDED", "CLOSED"] = "ACTIVE"


class DivisionEntry(_Entry):
    legal_entity_id: uuid.UUID
    name: Text
    type: Code = "CLINIC"
    status: Literal["ACTIVE", "INACTIVE"] = "ACTIVE"


class EmployeeEntry(_Entry):
    legal_entity_id: uuid.UUID
    employee_type: Code
    position: Code
    status: Literal["APPROVED", "NEW", "DISMISSED"] = "APPROVED"
    first_name: Text
    last_name: Text
    second_name: Text | None = None


class AuthenticationMethodEntry(_Entry):
    type: Literal["OTP", "OFFLINE", "NA"]
    phone_number: Phone | None = None


class PersonEntry(_Entry):
    first_name: Text
    last_name: Text
    second_name: Text | None = None
    birth_date: IsoDate
    authentication_methods: list[AuthenticationMethodEntry]


class Registry(BaseModel):
    """A checked registry file. Build it with `parse_registry`, which checks across entries too."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    legal_entities: list[LegalEntityEntry] = Field(default_factory=list)
    divisions: list[DivisionEntry] = Field(default_factory=list)
    employees: list[EmployeeEntry] = Field(default_factory=list)
    persons: list[PersonEntry] = Field(default_factory=list)


_KINDS = ("legal_entities", "divisions", "employees", "persons")


# --- parsing and checking ------------------------------------------------------------------


def _label(kind: str, index: int, raw_id: object) -> str:
    shown = f" (id {raw_id})" if isinstance(raw_id, str | uuid.UUID) else ""
    return f"{kind}[{index}]{shown}"


def _location(loc: Iterable[int | str]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _error_message(error: Mapping[str, Any]) -> str:
    if error["type"] == "extra_forbidden":
        return "unknown field"
    if error["type"] == "missing":
        return "required"
    return str(error["msg"])


Entry = TypeVar("Entry", bound=_Entry)


def _validate_entries(
    kind: str, model: type[Entry], data: Mapping[str, object], problems: list[str]
) -> list[Entry]:
    raw_entries = data.get(kind)
    if raw_entries is None:
        return []
    if not isinstance(raw_entries, list):
        problems.append(f"{kind}: must be a list")
        return []
    entries: list[Entry] = []
    for index, raw in enumerate(raw_entries):
        raw_id = raw.get("id") if isinstance(raw, dict) else None
        try:
            entries.append(model.model_validate(raw))
        except ValidationError as error:
            label = _label(kind, index, raw_id)
            for item in error.errors():
                where = _location(item["loc"])
                prefix = f"{label}: {where}: " if where else f"{label}: "
                problems.append(prefix + _error_message(item))
    return entries


def _method_problems(person: PersonEntry) -> Iterator[str]:
    if not person.authentication_methods:
        yield "authentication_methods: at least one method is required"
    for index, method in enumerate(person.authentication_methods):
        where = f"authentication_methods[{index}].phone_number"
        if method.type == "OTP" and method.phone_number is None:
            yield f"{where}: required for OTP"
        if method.type != "OTP" and method.phone_number is not None:
            yield f"{where}: only allowed for OTP (this method is {method.type})"


def _duplicate_problems(kind: str, entries: Sequence[_Entry]) -> Iterator[str]:
    first_seen: dict[uuid.UUID, int] = {}
    for index, entry in enumerate(entries):
        if entry.id in first_seen:
            yield f"{_label(kind, index, entry.id)}: id: same as {kind}[{first_seen[entry.id]}]"
        else:
            first_seen[entry.id] = index


def _duplicate_method_problems(persons: Sequence[PersonEntry]) -> Iterator[str]:
    # Method ids are primary keys of one table: unique across all persons, not only within one.
    first_seen: dict[uuid.UUID, str] = {}
    for p_index, person in enumerate(persons):
        for m_index, method in enumerate(person.authentication_methods):
            where = f"persons[{p_index}].authentication_methods[{m_index}]"
            if method.id in first_seen:
                yield (
                    f"{_label('persons', p_index, person.id)}: authentication_methods[{m_index}]"
                    f".id: same as {first_seen[method.id]}"
                )
            else:
                first_seen[method.id] = where


def _cross_entry_problems(registry: Registry) -> Iterator[str]:
    for kind in _KINDS:
        yield from _duplicate_problems(kind, getattr(registry, kind))
    yield from _duplicate_method_problems(registry.persons)
    for index, person in enumerate(registry.persons):
        label = _label("persons", index, person.id)
        for problem in _method_problems(person):
            yield f"{label}: {problem}"
        if not _OLDEST_BIRTH_DATE <= person.birth_date <= date.today():
            yield f"{label}: birth_date: must be between {_OLDEST_BIRTH_DATE} and today"


def parse_registry(data: object) -> Registry:
    """Check parsed file content whole; raise `RegistryError` listing every problem found."""
    if not isinstance(data, dict):
        raise RegistryError([f"the file must contain a mapping with the lists {', '.join(_KINDS)}"])
    problems = [f"{key}: unknown section" for key in data if key not in _KINDS]
    registry = Registry.model_construct(
        legal_entities=_validate_entries("legal_entities", LegalEntityEntry, data, problems),
        divisions=_validate_entries("divisions", DivisionEntry, data, problems),
        employees=_validate_entries("employees", EmployeeEntry, data, problems),
        persons=_validate_entries("persons", PersonEntry, data, problems),
    )
    problems.extend(_cross_entry_problems(registry))
    if problems:
        raise RegistryError(problems)
    return registry


# libyaml's parser when PyYAML was built with it: several times faster on large files.
_SafeLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _UniqueKeyLoader(_SafeLoader):  # type: ignore[valid-type,misc]
    """SafeLoader that refuses repeated keys, which PyYAML would silently let the last one win."""


def _construct_unique_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _value_node in node.value:
        key = loader.construct_object(key_node)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"repeated key {key!r}", key_node.start_mark
            )
        seen.add(key)
    return loader.construct_mapping(node)


_UniqueKeyLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_unique_mapping
)


def _parse_text(path: Path, text: str) -> object:
    if path.suffix.lower() == ".json":
        try:
            return json.loads(text)
        except json.JSONDecodeError as error:
            raise RegistryError([f"{path}: not valid JSON: {error}"]) from error
    try:
        return yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as error:
        raise RegistryError([f"{path}: not valid YAML: {error}"]) from error


def read_registry_file(path: Path) -> Registry:
    """Read a `.json` (JSON) or any other (YAML) registry file and check it whole."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as error:
        raise RegistryError([f"{path}: no such file"]) from error
    except (OSError, UnicodeDecodeError) as error:
        raise RegistryError([f"{path}: cannot read: {error}"]) from error
    return parse_registry(_parse_text(path, text))


# --- loading -------------------------------------------------------------------------------


@dataclass(slots=True)
class KindCount:
    created: int = 0
    updated: int = 0

    @property
    def total(self) -> int:
        return self.created + self.updated


@dataclass(slots=True)
class LoadSummary:
    legal_entities: KindCount = field(default_factory=KindCount)
    divisions: KindCount = field(default_factory=KindCount)
    employees: KindCount = field(default_factory=KindCount)
    persons: KindCount = field(default_factory=KindCount)
    # Methods are replaced, not merged: a count of the rows now in place.
    authentication_methods: int = 0

    def lines(self) -> list[str]:
        lines = [
            f"{kind}: {count.total} ({count.created} new, {count.updated} updated)"
            for kind, count in (
                ("legal_entities", self.legal_entities),
                ("divisions", self.divisions),
                ("employees", self.employees),
                ("persons", self.persons),
            )
        ]
        lines.append(f"authentication_methods: {self.authentication_methods}")
        return lines


Row = TypeVar("Row", bound=SQLModel)


def _unknown_legal_entity_problems(session: Session, registry: Registry) -> list[str]:
    in_file = {entry.id for entry in registry.legal_entities}
    referrers: list[tuple[str, Sequence[DivisionEntry | EmployeeEntry]]] = [
        ("divisions", registry.divisions),
        ("employees", registry.employees),
    ]
    referenced = {
        entry.legal_entity_id
        for _kind, entries in referrers
        for entry in entries
        if entry.legal_entity_id not in in_file
    }
    if not referenced:
        return []
    in_database = set(
        session.exec(select(LegalEntity.id).where(col(LegalEntity.id).in_(referenced))).all()
    )
    known = in_file | in_database
    problems = []
    for kind, entries in referrers:
        for index, entry in enumerate(entries):
            if entry.legal_entity_id not in known:
                problems.append(
                    f"{_label(kind, index, entry.id)}: legal_entity_id: {entry.legal_entity_id} "
                    "is neither in the file nor in the database"
                )
    return problems


def _foreign_method_problems(session: Session, registry: Registry) -> list[str]:
    # Replacing a person's methods must not silently take a method away from someone else.
    owner_in_file = {
        method.id: person.id
        for person in registry.persons
        for method in person.authentication_methods
    }
    if not owner_in_file:
        return []
    # Columns, not entities: loaded rows would linger in the session and clash with the new ones.
    rows = session.exec(
        select(AuthenticationMethod.id, AuthenticationMethod.person_id).where(
            col(AuthenticationMethod.id).in_(owner_in_file)
        )
    ).all()
    persons_in_file = {person.id for person in registry.persons}
    return [
        f"authentication method {method_id}: already belongs to person {owner_id}, "
        "who is not in this file"
        for method_id, owner_id in rows
        if owner_id != owner_in_file[method_id] and owner_id not in persons_in_file
    ]


def _chunks(items: Sequence[Any]) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), CHUNK_SIZE):
        yield items[start : start + CHUNK_SIZE]


def _load_kind(
    session: Session,
    kind: str,
    entries: Sequence[_Entry],
    table: type[Row],
    count: KindCount,
    progress: Progress | None,
    values: Callable[[Any], dict[str, Any]] = lambda entry: entry.model_dump(),
) -> None:
    """Insert or update by id, a chunk per statement; kinds are loaded in foreign-key order."""
    id_column = table.__table__.c.id  # type: ignore[attr-defined]
    done = 0
    for chunk in _chunks(entries):
        rows = [values(entry) for entry in chunk]
        existing = set(
            session.execute(
                select(id_column).where(id_column.in_([row["id"] for row in rows]))
            ).scalars()
        )
        new = [row for row in rows if row["id"] not in existing]
        old = [row for row in rows if row["id"] in existing]
        if new:
            session.execute(insert(table), new)
        if old:
            # ORM bulk UPDATE by primary key: one executemany for the chunk.
            session.execute(update(table), old)
        count.created += len(new)
        count.updated += len(old)
        done += len(rows)
        if progress is not None:
            progress(kind, done, len(entries))


def _replace_methods(
    session: Session, persons: Sequence[PersonEntry], progress: Progress | None
) -> int:
    # Delete every listed person's methods first: a method may move to another person of the
    # file, and (person_id, position) is unique, so replacing chunk by chunk could collide.
    for chunk in _chunks(persons):
        person_ids = [person.id for person in chunk]
        session.exec(
            delete(AuthenticationMethod).where(col(AuthenticationMethod.person_id).in_(person_ids))
        )
    rows = [
        {
            "id": method.id,
            "person_id": person.id,
            "position": position,
            "type": method.type,
            "phone_number": method.phone_number,
        }
        for person in persons
        for position, method in enumerate(person.authentication_methods)
    ]
    done = 0
    for chunk in _chunks(rows):
        session.execute(insert(AuthenticationMethod), list(chunk))
        done += len(chunk)
        if progress is not None:
            progress("authentication_methods", done, len(rows))
    return len(rows)


def _person_values(entry: PersonEntry) -> dict[str, Any]:
    return entry.model_dump(exclude={"authentication_methods"})


def load_registry(
    session: Session, registry: Registry, *, progress: Progress | None = None
) -> LoadSummary:
    """Insert or update every entry by id in the caller's transaction; methods are replaced.

    Written in chunks of `CHUNK_SIZE` rows, reported to `progress` after each. Checks against
    the database come first, so a `RegistryError` leaves the session untouched; the caller's one
    transaction keeps a large load all-or-nothing.
    """
    problems = _unknown_legal_entity_problems(session, registry)
    problems += _foreign_method_problems(session, registry)
    if problems:
        raise RegistryError(problems)
    summary = LoadSummary()
    kinds: list[tuple[str, Sequence[_Entry], type[SQLModel], KindCount]] = [
        ("legal_entities", registry.legal_entities, LegalEntity, summary.legal_entities),
        ("divisions", registry.divisions, Division, summary.divisions),
        ("employees", registry.employees, Employee, summary.employees),
    ]
    for kind, entries, table, count in kinds:
        _load_kind(session, kind, entries, table, count, progress)
    _load_kind(
        session, "persons", registry.persons, Person, summary.persons, progress, _person_values
    )
    summary.authentication_methods = _replace_methods(session, registry.persons, progress)
    return summary
