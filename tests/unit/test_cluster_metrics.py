"""A running distributed scan's nodes, as the coordinator's heartbeat stores them, in /metrics and `beian scans`."""

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
