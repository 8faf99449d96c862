"""Fixtures of the exchange tests: directories, a temporary Dagster instance, the served app, a catalog
schema on the session's PostgreSQL database."""

from __future__ import annotations

import pytest
from dagster import DagsterInstance

from onec_pipeline.defs import resources
from onec_pipeline.store import CatalogStore

from .harness import Dagster, Dirs, OneC, make_config, serve


@pytest.fixture
def dirs(tmp_path) -> Dirs:
    return Dirs(tmp_path)


@pytest.fixture
def instance(tmp_path):
    home = tmp_path / "dagster_home"
    home.mkdir()
    with DagsterInstance.local_temp(str(home)) as inst:
        yield inst


@pytest.fixture
def config_overrides() -> dict:
    return {}


@pytest.fixture
def server(dirs, instance, config_overrides):
    yield from serve(make_config(dirs, **config_overrides), instance)


@pytest.fixture
def onec(server) -> OneC:
    return OneC(server.url)


@pytest.fixture
def catalog(pg_schema_url):
    url, schema = pg_schema_url
    store = CatalogStore(url, schema=schema)
    store.upgrade()
    yield store
    store.dispose()
    # the runs of this test opened the resource's cached store of this schema: close its connections (the
    # server is shared by parallel test sessions)
    with resources._stores_lock:
        for key in [k for k in resources._stores if k[1] == schema]:
            resources._stores.pop(key).dispose()


@pytest.fixture
def dagster(instance, dirs, pg_schema_url, catalog) -> Dagster:
    url, schema = pg_schema_url
    return Dagster(instance, dirs, url, schema)
