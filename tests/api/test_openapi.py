"""The OpenAPI document is valid and complete, and the API keeps to it under generated input."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from openapi_spec_validator import validate
from schemathesis.checks import positive_data_acceptance

from listd import migrate
from listd.api import keys
from listd.config import load_config
from listd.database import Database
from tests.conftest import BUILTIN_LIST_TEMPLATES, scratch_database_url
from tests.support.lists import make_list
from tests.support.process import ServeProcess

EVERY_METHOD = {"get", "post", "put", "patch", "delete"}


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """A `listd serve` process for the whole module: its API base URL and a site-wide key."""
    tmp = tmp_path_factory.mktemp("openapi")
    with scratch_database_url(tmp) as url:
        config_file = tmp / "listd.yaml"
        config_file.write_text(
            f"database: {url}\ndomains: [lists.example.org]\nsecret: test-secret\n"
            f"list_templates: {BUILTIN_LIST_TEMPLATES}\nsmtp_in: {{host: 127.0.0.1, port: 0}}\n"
            f"http: {{host: 127.0.0.1, port: 0}}\n"
            f"outbound: {{mode: maildir, path: {tmp / 'outbox'}}}\n")
        config = load_config(str(config_file))
        db = Database(url)
        migrate.upgrade(db.engine)
        make_list(db, config, "news@lists.example.org", subscribers=("ann@example.org",))
        with db.session() as session:
            key = keys.add_key(session, "fuzz")
        db.dispose()
        serve = ServeProcess(config_file, tmp / "serve.log").start()
        port = serve.http_port()
        try:
            yield f"http://127.0.0.1:{port}/api/v1", key
        finally:
            serve.terminate()


@pytest.fixture(scope="module")
def document(served: tuple[str, str]) -> dict[str, Any]:
    # The first request builds the document: slow on a loaded machine.
    answer = httpx.get(f"{served[0]}/openapi.json", timeout=60)
    assert answer.status_code == 200
    loaded: dict[str, Any] = answer.json()
    return loaded


def test_the_document_is_valid_openapi_3_1(document: dict[str, Any]) -> None:
    assert document["openapi"].startswith("3.1")
    validate(document)


def test_every_operation_documents_its_errors_as_problems(document: dict[str, Any]) -> None:
    operations = [(path, method, op) for path, item in document["paths"].items()
                  for method, op in item.items() if method in EVERY_METHOD]
    assert len(operations) >= 25
    for path, method, op in operations:
        assert "401" in op["responses"], (method, path)
        assert "422" in op["responses"], (method, path)
        problem = op["responses"]["422"]["content"]["application/problem+json"]
        assert problem["schema"] == {"$ref": "#/components/schemas/Problem"}, (method, path)
        assert op.get("summary") and op.get("tags"), (method, path)
        for parameter in op.get("parameters", []):
            assert parameter["in"] in ("path", "query", "header"), parameter
    assert {"bearer": document["components"]["securitySchemes"]["HTTPBearer"]["scheme"]}


def test_generated_requests_get_documented_answers_and_no_500(
        document: dict[str, Any], served: tuple[str, str]) -> None:
    """Schemathesis's checks on every operation: no 5xx, every status, content type and body
    as documented. A bounded number of examples each, drawn the same way every run."""
    base_url, key = served
    headers = {"Authorization": f"Bearer {key}"}
    operations = [result.ok() for result in
                  schemathesis.openapi.from_dict(document).get_all_operations()]
    assert len(operations) >= 25
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=12, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))
        def call(case: schemathesis.Case) -> None:
            # Schema-valid is not always acceptable: an address must also pass email-validator,
            # a list must exist. Every other check (no 5xx, documented statuses, content
            # types and bodies, negative data refused) applies.
            case.call_and_validate(base_url=base_url, headers=headers,
                                   excluded_checks=[positive_data_acceptance])

        call()
