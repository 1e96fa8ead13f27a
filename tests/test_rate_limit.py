"""A spec's `rate_limit`: one budget per caller across REST, GraphQL and gRPC, answered
`rate_limited` with when to retry in each style, with real servers on 127.0.0.1."""

from __future__ import annotations

import json
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from openapi_spec_validator import validate

from .conftest import ROOT
from .render_helpers import free_port, grpc_serving, imported, render_spec, serving, write

LIMITED = "version: 2.1.0\nrate_limit: {requests: 3, per: minute}\n"


@pytest.fixture(scope="module")
def blog(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimpleNamespace]:
    """The blog spec with a limit of 3 calls a minute, rendered and imported."""
    folder = tmp_path_factory.mktemp("limited")
    spec = folder / "apigen.yaml"
    spec.write_text((ROOT / "specs" / "blog.yaml").read_text().replace("version: 2.1.0\n", LIMITED))
    project = write(render_spec(spec), folder / "project")
    generated = "blog._generated"
    with imported(
        project / "src",
        app=f"{generated}.app",
        errors=f"{generated}.errors",
        grpc_server=f"{generated}.grpc_server",
        limits=f"{generated}.limits",
        models=f"{generated}.models",
        rest=f"{generated}.clients.rest",
        graphql=f"{generated}.clients.graphql",
        grpc=f"{generated}.clients.grpc",
    ) as modules:
        yield SimpleNamespace(**vars(modules), project=project)


class Authors:
    """Just enough of a `BlogService`: no authors yet."""

    def __init__(self, blog: SimpleNamespace) -> None:
        self.page = blog.models.AuthorPage(items=[], next_cursor=None)

    async def list_authors(self, **_: Any) -> Any:
        return self.page


@pytest.fixture
def servers(blog: SimpleNamespace) -> Iterator[SimpleNamespace]:
    """The app and the gRPC server of one service sharing one rate limiter."""
    service, limiter = Authors(blog), blog.limits.RateLimiter()
    port = free_port()
    with (
        grpc_serving(blog.grpc_server.start_grpc_server(service, port, limiter=limiter)),
        serving(blog.app.create_app(service, limiter=limiter)) as url,
    ):
        yield SimpleNamespace(url=url, grpc=f"127.0.0.1:{port}")


def test_one_budget_across_styles_then_rate_limited_with_when_to_retry(
    blog: SimpleNamespace, servers: SimpleNamespace
) -> None:
    rest = blog.rest.BlogClient(servers.url)
    graphql = blog.graphql.BlogGraphQLClient(servers.url)
    grpc = blog.grpc.BlogGrpcClient(servers.grpc)
    calls = [rest.list_authors, graphql.list_authors, grpc.list_authors]
    for call in calls:  # the budget: 3 calls, whatever the style
        assert call().items == []
    for call in calls:  # each style then answers `rate_limited`, with when to retry
        with pytest.raises(blog.errors.RateLimited) as raised:
            call()
        assert raised.value.retry_after == 20  # one call per 60 s / 3
        assert "at most 3 calls per 60 s" in str(raised.value)
    answer = httpx.get(f"{servers.url}/v2/authors")
    assert answer.status_code == 429 and answer.headers["retry-after"] == "20"
    assert answer.json()["code"] == "rate_limited"
    grpc.close()


def test_the_contract_declares_retry_after(blog: SimpleNamespace) -> None:
    document = json.loads((blog.project / "contracts" / "openapi.json").read_text())
    validate(document)
    limited = document["paths"]["/v2/authors"]["get"]["responses"]["429"]
    assert limited["headers"]["Retry-After"]["schema"] == {"type": "integer", "minimum": 0}


def test_buckets_refill_and_are_per_caller(blog: SimpleNamespace) -> None:
    now = [0.0]
    limiter = blog.limits.RateLimiter(clock=lambda: now[0])
    ada, bob = (blog.limits.Principal(subject=s) for s in ("ada", "bob"))
    for _ in range(3):
        limiter.check(ada, None)
    with pytest.raises(blog.errors.RateLimited):
        limiter.check(ada, None)
    limiter.check(bob, None)  # another caller: its own bucket
    limiter.check(blog.limits.Principal(subject=""), "10.0.0.1")  # no token: by address
    now[0] = 19.0
    with pytest.raises(blog.errors.RateLimited) as raised:
        limiter.check(ada, None)
    assert raised.value.retry_after == 1
    now[0] = 20.0  # one call's worth refilled
    limiter.check(ada, None)
    with pytest.raises(blog.errors.RateLimited):
        limiter.check(ada, None)
