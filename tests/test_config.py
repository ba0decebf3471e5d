"""Settings from the environment: production refuses unsafe values, bad numbers fail clearly, and no OpenAPI there."""

from __future__ import annotations

import httpx
import pytest
from litestar import Litestar

from backend.app import create_app
from backend.config import DEV_SECRET, ConfigError, Settings, load_settings
from tests.conftest import make_settings

GOOD_SECRET = "k7Qx2vN9pLm4Rt8Wz1Yb6Hc3Jd5Fg0Se7Ua2Io9Pq"  # 42 characters


def production(**overrides: str) -> dict[str, str]:
    env = {
        "SPASM_ENV": "production",
        "SPASM_SECRET_KEY": GOOD_SECRET,
        "SPASM_BASE_URL": "https://diary.example.org",
        "SPASM_DATABASE_URL": "postgresql+asyncpg://spasm@db.internal/spasm",
    }
    env.update(overrides)
    return env


def test_a_proper_production_configuration_loads() -> None:
    settings = load_settings(production(SPASM_BASE_URL="https://diary.example.org/", SPASM_LOAD_DEMO_DATA="0"))
    assert settings.production
    assert settings.secret_key == GOOD_SECRET
    assert settings.base_url == "https://diary.example.org"
    assert settings.secure_cookies
    assert not settings.load_demo_data
    assert settings.database_url == "postgresql+asyncpg://spasm@db.internal/spasm"


def test_production_refuses_the_development_secret() -> None:
    env = production()
    del env["SPASM_SECRET_KEY"]
    with pytest.raises(ConfigError, match="SPASM_SECRET_KEY"):
        load_settings(env)
    with pytest.raises(ConfigError, match="SPASM_SECRET_KEY"):
        load_settings(production(SPASM_SECRET_KEY=DEV_SECRET))
    with pytest.raises(ConfigError, match="SPASM_SECRET_KEY"):
        load_settings(production(SPASM_SECRET_KEY=""))


def test_production_refuses_a_short_secret() -> None:
    with pytest.raises(ConfigError, match="SPASM_SECRET_KEY"):
        load_settings(production(SPASM_SECRET_KEY="x" * 31))
    with pytest.raises(ConfigError, match="SPASM_SECRET_KEY"):
        load_settings(production(SPASM_SECRET_KEY="short"))
    assert load_settings(production(SPASM_SECRET_KEY="y" * 32)).secret_key == "y" * 32


def test_production_refuses_a_plain_http_address() -> None:
    for url in ("http://diary.example.org", "diary.example.org", "ftp://diary.example.org"):
        with pytest.raises(ConfigError, match="SPASM_BASE_URL"):
            load_settings(production(SPASM_BASE_URL=url))


def test_development_accepts_its_defaults() -> None:
    settings = load_settings({})
    assert settings.environment == "development"
    assert settings.secret_key == DEV_SECRET
    assert not settings.production and not settings.secure_cookies


def test_an_unknown_environment_is_refused() -> None:
    with pytest.raises(ConfigError, match="SPASM_ENV"):
        load_settings({"SPASM_ENV": "prod"})


@pytest.mark.parametrize(
    "name",
    [
        "SPASM_CLINICIAN_IDLE_MINUTES",
        "SPASM_CLINICIAN_ABSOLUTE_MINUTES",
        "SPASM_PATIENT_IDLE_MINUTES",
        "SPASM_PATIENT_ABSOLUTE_MINUTES",
        "SPASM_MAX_BODY_BYTES",
        "SPASM_DB_POOL_SIZE",
    ],
)
@pytest.mark.parametrize("value", ["thirty", "30.5", "30m"])
def test_a_number_that_is_not_a_whole_number_fails_clearly(name: str, value: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings({name: value})
    message = str(caught.value)
    assert name in message
    assert repr(value) in message
    assert "whole number" in message


def test_whole_numbers_are_read() -> None:
    settings = load_settings({"SPASM_CLINICIAN_IDLE_MINUTES": "15", "SPASM_PATIENT_IDLE_MINUTES": ""})
    assert settings.clinician_idle_minutes == 15
    assert settings.patient_idle_minutes == Settings().patient_idle_minutes


async def test_production_serves_no_openapi_schema(database_url: str, app: Litestar) -> None:
    # In test mode the schema is there, so the 404 below is the production switch at work and not a wrong address.
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver.local") as c:
        assert (await c.get("/schema/openapi.json")).status_code == 200

    settings = make_settings(
        database_url, environment="production", secret_key=GOOD_SECRET, base_url="https://diary.example.org"
    )
    settings.check()
    prod = create_app(settings)
    try:
        assert prod.openapi_config is None
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=prod), base_url="https://diary.example.org"
        ) as client:
            for path in ("/schema", "/schema/openapi.json", "/schema/swagger", "/schema/redoc"):
                assert (await client.get(path)).status_code == 404, path
            assert (await client.get("/healthz")).status_code == 200
            hsts = (await client.get("/healthz")).headers.get("strict-transport-security", "")
            assert "max-age=" in hsts
    finally:
        await prod.state.engine.dispose()
