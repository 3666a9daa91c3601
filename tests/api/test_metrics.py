"""The API's Prometheus metrics: what the product's own alert rules read."""

from __future__ import annotations


async def test_metrics_count_requests_by_route_template_and_report_outbox_age(api):
    await api.post("/api/v1/alerts", json={"title": "DiskFull", "service": "db"},
                   headers={"Authorization": f"Bearer {api.ingest_key}"})
    await api.get("/api/v1/incidents/999")
    text = (await api.get("/metrics")).text
    assert 'lim_http_requests_total{route="/api/v1/alerts",status="202"} 1.0' in text
    assert 'lim_http_requests_total{route="/api/v1/incidents/{ref}",status="404"} 1.0' in text
    assert "lim_outbox_oldest_pending_age_seconds" in text  # no Temporal here: the change waits
    assert "lim_pages_undelivered_total 0.0" in text


async def test_metrics_need_no_key(api):
    response = await api.get("/metrics", headers={"Authorization": ""})
    assert response.status_code == 200
