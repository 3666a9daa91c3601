"""Which query an alert's Prometheus link leads to (pure parsing)."""

from __future__ import annotations

import pytest

from activities.llm.promql import SeriesQuery, alert_expression, series_query


def test_the_expression_comes_from_the_graph_links_g0_expr():
    link = ("http://prom:9090/graph?g0.expr=sum+by+%28service%29+%28rate%28x%5B2m%5D%29%29"
            "+%3E+5&g0.tab=1")
    assert alert_expression(link) == "sum by (service) (rate(x[2m])) > 5"


@pytest.mark.parametrize("link", ["", "http://grafana:3000/alerting/grafana/abc/view?orgId=1",
                                  "not a url at all"])
def test_links_without_an_expression_give_none(link):
    assert alert_expression(link) == ""


@pytest.mark.parametrize(("expression", "expected"), [
    ("sum by (service) (rate(errors_total[2m])) > 5",
     SeriesQuery("sum by (service) (rate(errors_total[2m]))")),
    ("(rate(x[5m]) > bool 0.5)", SeriesQuery("rate(x[5m])")),
    ("avg(availability) < 0.99", SeriesQuery("avg(availability)", higher_is_worse=False)),
    ("0.99 > avg(availability)", SeriesQuery("avg(availability)", higher_is_worse=False)),
    ("5 < rate(x[1m])", SeriesQuery("rate(x[1m])")),
    ("a > on(job) group_left b", SeriesQuery("a")),
    ("(a) + (b) >= 3", SeriesQuery("(a) + (b)")),
    ('up{job=~"a|b>c"} == 0', SeriesQuery('up{job=~"a|b>c"}')),
    ('x{l="q\\"> 1"} > 2', SeriesQuery('x{l="q\\"> 1"}')),
    ("node_load1", SeriesQuery("node_load1")),
])
def test_the_threshold_comparison_is_stripped_to_query_the_series_itself(expression, expected):
    assert series_query(expression) == expected


def test_several_conditions_are_queried_as_they_are():
    """No single series to separate: the expression as-is (weak baseline, none invented)."""
    expression = "rate(x[5m]) > 1 and on() hour() > 8"
    assert series_query(expression) == SeriesQuery(expression)
