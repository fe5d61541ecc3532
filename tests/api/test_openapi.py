"""The OpenAPI document covers every public route, and /docs renders it without external assets."""

from __future__ import annotations

from starlette.routing import Route

from tests.conftest import Running


async def test_every_public_route_is_documented(running: Running) -> None:
    spec = (await running.client.get("/openapi.json")).json()
    assert spec["openapi"].startswith("3.1")
    documented = {(path, method) for path, ops in spec["paths"].items() for method in ops}
    for route in running.app.routes:
        assert isinstance(route, Route)
        if route.path.startswith("/api/"):
            assert route.include_in_schema, route.path  # the API is never left out
        if route.path in ("/openapi.json", "/docs") or not route.include_in_schema:
            continue  # dashboard pages and their helpers opt out (include_in_schema=False)
        for method in route.methods or ():
            if method == "HEAD":
                continue
            assert (route.path, method.lower()) in documented, (route.path, method)


async def test_realtime_errors_are_spelled_out(running: Running) -> None:
    spec = (await running.client.get("/openapi.json")).json()
    responses = spec["paths"]["/api/v1/realtime"]["get"]["responses"]
    messages = {
        example["value"]["error"]
        for response in responses.values()
        for example in response.get("content", {})
        .get("application/json", {})
        .get("examples", {})
        .values()
    }
    assert messages == {
        "Missing or invalid authorization header. Expected: Bearer <token>",
        "Invalid token format",
        "websiteId is required",
        "Website not found",
        "No API token configured for this website",
        "Invalid API token",
        "Internal server error",
        # Not in the contract: the optional `path` parameter's own error (after checks 1-6).
        'path: must start with "/" (e.g. /pricing or /pricing/*)',
    }


async def test_schema_refs_resolve(running: Running) -> None:
    spec = (await running.client.get("/openapi.json")).json()
    text = str(spec)
    import re

    for ref in set(re.findall(r"#/components/schemas/(\w+)", text)):
        assert ref in spec["components"]["schemas"], ref


async def test_docs_page_is_self_contained(running: Running) -> None:
    response = await running.client.get("/docs")
    assert response.status_code == 200
    assert "GET /api/v1/realtime" in response.text
    assert "No API token configured for this website" in response.text
    assert "http://" not in response.text.replace("http://testserver", "")
    assert "<script src" not in response.text
