"""A running distributed scan's nodes in /metrics and `beian scans`; `beian serve`'s nightly scan on the cluster."""

from __future__ import annotations

from core import clock
from scanner.commands.serve_cmd import _nodes_cell
from scanner.serve.metrics import render
from scanner.store.models import Scan

NODES = {"bj-1": {"workers": 2, "done": 120, "in_flight": 30, "failures": 4, "findings": 9, "sites_per_s": 12.5},
         "sh-1": {"workers": 1, "done": 80, "in_flight": 10, "failures": 0, "findings": 3, "sites_per_s": 7.25}}


def test_running_distributed_scan_nodes_are_metrics(store):
    with store.transaction() as session:
        session.add(Scan(started_at=clock.now(), state="running", selector={}, stats={"distributed": True, "nodes": NODES}))
        session.add(Scan(started_at=clock.now(), state="finished", selector={}, stats={"nodes": NODES}))
    body = render(store)[0].decode()
    assert 'beian_node_sites_per_second{node="bj-1",scan="1"} 12.5' in body
    assert 'beian_node_in_flight{node="sh-1",scan="1"} 10.0' in body
    assert 'beian_node_failures{node="bj-1",scan="1"} 4.0' in body
    assert 'beian_node_sites_done{node="sh-1",scan="1"} 80.0' in body
    assert 'scan="2"' not in body, "a finished scan's nodes are not live figures"


def test_scans_table_names_the_nodes():
    assert _nodes_cell(NODES) == "bj-1:120@12.5/s sh-1:80@7.2/s"
    assert _nodes_cell({}) == ""


def test_serve_runs_the_nightly_scan_on_the_cluster_when_told(store):
    from core.config import parse_config
    from scanner.serve.service import Service
    from scanner.store.models import RescanRequest

    cluster = parse_config({"database": "postgresql://h/db",
                            "cluster": {"redis_url": "redis://127.0.0.1:6379/0", "nightly": True}})
    nightly = RescanRequest(id=4, kind="nightly", selector={})
    operator = RescanRequest(id=5, kind="operator", selector={"websites": ["京ICP备1号-1"]})
    assert Service(cluster, None, store).scan_args(nightly) == ["scan", "--request", "4", "--distributed"]
    assert Service(cluster, None, store).scan_args(operator) == ["scan", "--request", "5", "--website", "京ICP备1号-1"]
    assert Service(parse_config({}), None, store).scan_args(nightly) == ["scan", "--request", "4"]
