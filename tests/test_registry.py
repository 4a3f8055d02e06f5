"""Registry files: checked whole, loaded by id, replaced methods, nothing half-written."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlmodel import Session, col, func, select

from declaration_otp import demo
from declaration_otp.database import Database
from declaration_otp.migrate import upgrade
from declaration_otp.registry import (
    MAX_REPORTED_PROBLEMS,
    LoadSummary,
    Registry,
    RegistryError,
    load_registry,
    parse_registry,
    read_registry_file,
)
from declaration_otp.tables import AuthenticationMethod, Division, Employee, LegalEntity, Person

OTHER_LE = "99999999-0000-4000-8000-000000000001"


@pytest.fixture
def database(tmp_path: Path) -> Iterator[Database]:
    url = f"sqlite:///{tmp_path / 'registry.db'}"
    upgrade(url)
    db = Database.from_url(url)
    yield db
    db.close()


def _load(database: Database, registry: Registry) -> LoadSummary:
    return database.run_sync(lambda session: load_registry(session, registry), write=True)


def _count(database: Database, table: type[Any]) -> int:
    def work(session: Session) -> int:
        return session.exec(select(func.count()).select_from(table)).one()

    return database.run_sync(work, write=False)


def _demo_data() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(demo.DEMO_REGISTRY_PATH.read_text(encoding="utf-8"))
    return data


def _write_yaml(path: Path, data: object) -> Path:
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def _problems(data: object) -> list[str]:
    with pytest.raises(RegistryError) as caught:
        parse_registry(data)
    return caught.value.problems


def test_demo_file_loads_with_counts(database: Database) -> None:
    summary = _load(database, read_registry_file(demo.DEMO_REGISTRY_PATH))

    assert (summary.legal_entities.created, summary.legal_entities.updated) == (2, 0)
    assert (summary.divisions.created, summary.employees.created) == (3, 4)
    assert (summary.persons.created, summary.authentication_methods) == (4, 5)
    assert _count(database, LegalEntity) == 2
    assert _count(database, AuthenticationMethod) == 5


def test_demo_ids_match_the_file(database: Database) -> None:
    _load(database, read_registry_file(demo.DEMO_REGISTRY_PATH))

    def work(session: Session) -> None:
        doctor = session.get(Employee, demo.DEMO_DOCTOR_ID)
        assert doctor is not None and doctor.employee_type == "DOCTOR"
        assert doctor.legal_entity_id == demo.DEMO_LEGAL_ENTITY_ID
        owner = session.get(Employee, demo.DEMO_OWNER_ID)
        assert owner is not None and owner.employee_type == "OWNER"
        other = session.get(Employee, demo.DEMO_OTHER_DOCTOR_ID)
        assert other is not None and other.legal_entity_id == demo.DEMO_OTHER_LEGAL_ENTITY_ID
        division = session.get(Division, demo.DEMO_DIVISION_ID)
        assert division is not None and division.legal_entity_id == demo.DEMO_LEGAL_ENTITY_ID
        for person_id in (demo.DEMO_PERSON_OTP_2_ID, demo.DEMO_PERSON_OFFLINE_ID):
            assert session.get(Person, person_id) is not None
        methods = session.exec(
            select(AuthenticationMethod)
            .where(AuthenticationMethod.person_id == demo.DEMO_PERSON_TWO_METHODS_ID)
            .order_by(col(AuthenticationMethod.position))
        ).all()
        assert [(m.id, m.type, m.position) for m in methods] == [
            (demo.DEMO_AUTH_TWO_METHODS_OFFLINE_ID, "OFFLINE", 0),
            (demo.DEMO_AUTH_TWO_METHODS_OTP_ID, "OTP", 1),
        ]
        otp = session.get(AuthenticationMethod, demo.DEMO_AUTH_OTP_ID)
        assert otp is not None and otp.person_id == demo.DEMO_PERSON_OTP_ID
        assert otp.phone_number == demo.DEMO_PERSON_OTP_PHONE

    database.run_sync(work, write=False)


def test_reloading_is_idempotent(database: Database) -> None:
    registry = read_registry_file(demo.DEMO_REGISTRY_PATH)
    _load(database, registry)

    summary = _load(database, registry)

    assert (summary.legal_entities.created, summary.legal_entities.updated) == (0, 2)
    assert (summary.persons.created, summary.persons.updated) == (0, 4)
    counts = [_count(database, t) for t in (LegalEntity, Division, Employee, Person)]
    assert counts == [2, 3, 4, 4]
    assert _count(database, AuthenticationMethod) == 5


def test_reload_updates_fields_and_replaces_methods(database: Database, tmp_path: Path) -> None:
    _load(database, read_registry_file(demo.DEMO_REGISTRY_PATH))
    data = _demo_data()
    data["legal_entities"][0]["short_name"] = "Липки"
    # The two-method person keeps only their OTP method, now first.
    data["persons"][3]["authentication_methods"] = data["persons"][3]["authentication_methods"][1:]

    _load(database, read_registry_file(_write_yaml(tmp_path / "changed.yaml", data)))

    def work(session: Session) -> None:
        legal_entity = session.get(LegalEntity, demo.DEMO_LEGAL_ENTITY_ID)
        assert legal_entity is not None and legal_entity.short_name == "Липки"
        methods = session.exec(
            select(AuthenticationMethod).where(
                AuthenticationMethod.person_id == demo.DEMO_PERSON_TWO_METHODS_ID
            )
        ).all()
        assert [(m.id, m.position) for m in methods] == [(demo.DEMO_AUTH_TWO_METHODS_OTP_ID, 0)]

    database.run_sync(work, write=False)


def test_file_with_several_errors_is_rejected_whole(database: Database, tmp_path: Path) -> None:
    data = _demo_data()
    data["legal_entities"][1]["edrpou"] = "12ab"
    data["divisions"][0]["colour"] = "blue"
    data["employees"][2]["id"] = data["employees"][1]["id"]
    data["persons"][0]["authentication_methods"][0].pop("phone_number")
    data["persons"][2]["authentication_methods"][0]["phone_number"] = "+380501112233"
    data["persons"][1]["authentication_methods"] = []
    data["persons"][3]["birth_date"] = "14.03.1985"
    path = _write_yaml(tmp_path / "bad.yaml", data)

    with pytest.raises(RegistryError) as caught:
        read_registry_file(path)

    problems = caught.value.problems
    le_1, div_0 = data["legal_entities"][1]["id"], data["divisions"][0]["id"]
    emp_2 = data["employees"][2]["id"]
    p = [person["id"] for person in data["persons"]]
    expected = [
        f"legal_entities[1] (id {le_1}): edrpou: must be 8 to 10 digits",
        f"divisions[0] (id {div_0}): colour: unknown field",
        f"employees[2] (id {emp_2}): id: same as employees[1]",
        f"persons[0] (id {p[0]}): authentication_methods[0].phone_number: required for OTP",
        f"persons[1] (id {p[1]}): authentication_methods: at least one method is required",
        f"persons[2] (id {p[2]}): authentication_methods[0].phone_number: only allowed for OTP "
        "(this method is OFFLINE)",
        f"persons[3] (id {p[3]}): birth_date: must be a date YYYY-MM-DD",
    ]
    assert sorted(problems) == sorted(expected)
    assert _count(database, LegalEntity) == 0


def test_database_check_failure_writes_nothing(database: Database, tmp_path: Path) -> None:
    _load(database, read_registry_file(demo.DEMO_REGISTRY_PATH))
    data = _demo_data()
    data["legal_entities"][0]["name"] = "Changed"
    data["persons"][0]["first_name"] = "Changed"
    data["divisions"].append(
        {"id": str(uuid.uuid4()), "legal_entity_id": OTHER_LE, "name": "Nowhere"}
    )
    registry = read_registry_file(_write_yaml(tmp_path / "dangling.yaml", data))

    with pytest.raises(RegistryError) as caught:
        _load(database, registry)

    assert caught.value.problems == [
        f"divisions[3] (id {data['divisions'][3]['id']}): legal_entity_id: {OTHER_LE} "
        "is neither in the file nor in the database"
    ]

    def work(session: Session) -> tuple[str, str]:
        legal_entity = session.get(LegalEntity, demo.DEMO_LEGAL_ENTITY_ID)
        person = session.get(Person, demo.DEMO_PERSON_OTP_ID)
        assert legal_entity is not None and person is not None
        return legal_entity.name, person.first_name

    assert "Changed" not in database.run_sync(work, write=False)
    assert _count(database, Division) == 3


def test_unknown_legal_entity_rejected_known_one_in_database_accepted(
    database: Database,
) -> None:
    employee = {
        "id": str(uuid.uuid4()),
        "legal_entity_id": OTHER_LE,
        "employee_type": "DOCTOR",
        "position": "P2",
        "first_name": "Іван",
        "last_name": "Петренко",
    }
    registry = parse_registry({"employees": [employee]})
    with pytest.raises(RegistryError) as caught:
        _load(database, registry)
    assert "legal_entity_id: " + OTHER_LE in caught.value.problems[0]
    assert caught.value.problems[0].startswith(f"employees[0] (id {employee['id']})")

    legal_entity = {
        "id": OTHER_LE,
        "name": "ТОВ «Тест»",
        "short_name": "Тест",
        "edrpou": "1234567890",
    }
    _load(database, parse_registry({"legal_entities": [legal_entity]}))
    summary = _load(database, registry)
    assert summary.employees.created == 1


def test_method_of_a_person_outside_the_file_is_not_taken(database: Database) -> None:
    _load(database, read_registry_file(demo.DEMO_REGISTRY_PATH))
    person = {
        "id": str(uuid.uuid4()),
        "first_name": "Олег",
        "last_name": "Кравець",
        "birth_date": "2001-01-01",
        "authentication_methods": [{"id": str(demo.DEMO_AUTH_OFFLINE_ID), "type": "OFFLINE"}],
    }

    with pytest.raises(RegistryError) as caught:
        _load(database, parse_registry({"persons": [person]}))

    assert str(demo.DEMO_PERSON_OFFLINE_ID) in caught.value.problems[0]


def test_json_file_works(database: Database, tmp_path: Path) -> None:
    path = tmp_path / "registry.json"
    path.write_text(json.dumps(_demo_data(), ensure_ascii=False), encoding="utf-8")

    summary = _load(database, read_registry_file(path))

    assert summary.persons.created == 4
    assert summary.authentication_methods == 5


def test_json_is_parsed_as_json(tmp_path: Path) -> None:
    path = tmp_path / "registry.json"
    path.write_text("persons: []\n", encoding="utf-8")

    with pytest.raises(RegistryError) as caught:
        read_registry_file(path)

    assert caught.value.problems[0].startswith(f"{path}: not valid JSON")


def test_unquoted_digits_in_yaml_are_explained(tmp_path: Path) -> None:
    text = demo.DEMO_REGISTRY_PATH.read_text(encoding="utf-8")
    path = tmp_path / "unquoted.yaml"
    path.write_text(text.replace('"+380936235985"', "+380936235985"), encoding="utf-8")

    with pytest.raises(RegistryError) as caught:
        read_registry_file(path)

    assert caught.value.problems == [
        f"persons[0] (id {demo.DEMO_PERSON_OTP_ID}): authentication_methods[0].phone_number: "
        "must be a quoted string (unquoted digits are read as a number)"
    ]


def test_repeated_yaml_key_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "repeated.yaml"
    path.write_text("persons: []\npersons: []\n", encoding="utf-8")

    with pytest.raises(RegistryError) as caught:
        read_registry_file(path)

    assert "repeated key 'persons'" in caught.value.problems[0]


def test_missing_file_and_wrong_shapes() -> None:
    with pytest.raises(RegistryError) as caught:
        read_registry_file(Path("/nonexistent/registry.yaml"))
    assert caught.value.problems == ["/nonexistent/registry.yaml: no such file"]

    assert _problems(["not", "a", "mapping"])[0].startswith("the file must contain a mapping")
    assert _problems({"persons": {}, "doctors": []}) == [
        "doctors: unknown section",
        "persons: must be a list",
    ]


def test_report_is_capped() -> None:
    persons = [{"id": "not-a-uuid"} for _ in range(30)]

    problems = _problems({"persons": persons})

    assert len(problems) > MAX_REPORTED_PROBLEMS
    report = RegistryError(problems).report()
    assert len(report) == MAX_REPORTED_PROBLEMS + 1
    assert report[-1] == f"... and {len(problems) - MAX_REPORTED_PROBLEMS} more problem(s)"
    assert report[0].startswith("persons[0] (id not-a-uuid): id: ")
