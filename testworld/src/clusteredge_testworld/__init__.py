"""The test world of clusteredge.calico, installable on its own (see testworld/README.md).

- ``clusteredge_testworld.emulator``: a Kubernetes API with an admission layer that behaves as Calico 3.28 to 3.32 do
  (API server or native v3 CRDs), served over real HTTP; ``python -m clusteredge_testworld.emulator serve``;
- ``clusteredge_testworld.nodes``: test nodes as network namespaces with veth links and sshd;
- ``clusteredge_testworld.felixsim``: a Felix stand-in that enforces whether a node's SSH stays reachable;
- ``clusteredge_testworld.lab``: all of them with a realistic cluster, up and down in one call;
- ``clusteredge_testworld.molecule``: a molecule scenario for platform repositories (``init``).

pytest fixtures (``k8s_api``, ``node_lab``, ...) load through the ``pytest11`` entry points.
"""
