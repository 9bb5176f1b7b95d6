"""The metrics registry, and the Grafana dashboard built on exactly its metric names."""

import json
import re
from pathlib import Path

import pytest

from hf_text_to_image.metrics import PHASES, Metrics

ROOT = Path(__file__).resolve().parents[1]
DASHBOARD = ROOT / "dashboards" / "hugging-face-text-to-image.json"
# Labels Prometheus adds to every series it scrapes.
TARGET_LABELS = {"instance", "job", "pod", "namespace"}
PROMQL_WORDS = {"and", "or", "unless", "bool", "offset"}
GROUPING = r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)"
# The metrics an operator needs on the dashboard.
REQUIRED = {
    "direct_requests_total",
    "upstream_request_seconds_bucket",
    "upstream_requests_total",
    "image_conversion_seconds_bucket",
    "process_cpu_seconds_total",
    "process_resident_memory_bytes",
    "tasks_finished_total",
}


def exported() -> dict[str, set[str]]:
    """Every sample name the service's registry exposes, with its label names."""
    metrics = Metrics()
    # One observation per labelled metric, so that its samples (and labels) show.
    metrics.direct_call("/process", "hf-inference", 200)
    metrics.upstream_call("hf-inference", 200, 0.5)
    with metrics.conversion("jpeg"):
        pass
    for phase in PHASES:
        with metrics.phase(phase):
            pass
    metrics.tasks_finished.labels("finished").inc()
    metrics.tasks_rejected.labels("full").inc()
    metrics.watch(queued=lambda: 0, in_flight=lambda: 0)
    samples: dict[str, set[str]] = {}
    for family in metrics.registry.collect():
        for sample in family.samples:
            samples.setdefault(sample.name, set()).update(sample.labels)
    return samples


def queries() -> list[str]:
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    return [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]


def parse(expr: str) -> tuple[set[str], set[str]]:
    """The metric names and the label names a PromQL expression uses."""
    expr = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    expr = re.sub(r"\[[^\]]*\]", "", expr)
    labels = {
        name
        for matcher in re.findall(r"\{([^}]*)\}", expr)
        for name in re.findall(r"([A-Za-z_]\w*)\s*(?:=~|!~|!=|=)", matcher)
    }
    expr = re.sub(r"\{[^}]*\}", "", expr)
    labels |= {name.strip() for group in re.findall(GROUPING, expr) for name in group.split(",")}
    expr = re.sub(GROUPING, "", expr)
    names = set(re.findall(r"\b[A-Za-z_:][A-Za-z0-9_:]*\b(?!\s*\()", expr)) - PROMQL_WORDS
    return names, labels - {""}


def test_parse_promql() -> None:
    names, labels = parse(
        'histogram_quantile(0.95, sum by (le, provider) (rate(x_bucket{status=~"5.."}[5m])))'
        " / sum(rate(y_total[$__rate_interval]))"
    )

    assert (names, labels) == ({"x_bucket", "y_total"}, {"le", "provider", "status"})


@pytest.mark.parametrize("expr", queries())
def test_every_dashboard_query_names_exported_metrics_and_labels(expr: str) -> None:
    samples = exported()
    names, labels = parse(expr)

    assert names, expr
    unknown = names - set(samples)
    assert not unknown, f"{expr}: the service exports no {sorted(unknown)}"
    known_labels = set().union(*(samples[name] for name in names)) | TARGET_LABELS
    assert labels <= known_labels, f"{expr}: no label {sorted(labels - known_labels)}"


def test_dashboard_shows_what_an_operator_needs() -> None:
    used = set().union(*(parse(expr)[0] for expr in queries()))

    assert used >= REQUIRED, sorted(REQUIRED - used)


def test_dashboard_panels_are_valid_grafana() -> None:
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))

    assert dashboard["uid"]
    assert dashboard["schemaVersion"] >= 36
    variables = {variable["name"] for variable in dashboard["templating"]["list"]}
    for panel in dashboard["panels"]:
        assert panel["datasource"]["uid"].strip("${}") in variables
        assert {"x", "y", "w", "h"} <= set(panel["gridPos"])
        assert [target["refId"] for target in panel["targets"]] == [
            chr(65 + index) for index in range(len(panel["targets"]))
        ]
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids))
