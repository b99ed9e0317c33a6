"""Namespace "nodes" with sshd for Ansible role / molecule tests (stdlib only).

    from clusteredge_testworld.nodes import NodeLab
    with NodeLab(count=3, prefix='ce', subnet='10.99.0.0/24', state_dir=tmp) as lab:
        inv = lab.inventory(tmp / 'inventory.ini')
        subprocess.run(['ansible', '-i', inv, 'nodes', '-m', 'ping'], env={**os.environ, **lab.env()})

CLI: ``python -m clusteredge_testworld.nodes up|down|status``; pytest fixture: ``clusteredge_testworld.nodes.pytest_fixtures`` (``node_lab``).
"""

from .lab import NodeLab, NodeLabError, free_subnet, lab_links, lab_namespaces, preflight

__all__ = ['NodeLab', 'NodeLabError', 'free_subnet', 'lab_links', 'lab_namespaces', 'preflight']
