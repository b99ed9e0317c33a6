"""A Kubernetes API + Calico API server emulator for tests (built on kmock==0.8; see README.md)."""
from .faults import FaultRule
from .server import EmulatorServer

__all__ = ['EmulatorServer', 'FaultRule']
