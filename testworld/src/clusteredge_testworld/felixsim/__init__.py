"""A tiny stand-in for Calico Felix that enforces one thing: may new inbound TCP/22 reach a node (see README.md)."""
from .decide import decide_ssh, evaluate
from .sim import FelixSim, nft_commands

__all__ = ['FelixSim', 'decide_ssh', 'evaluate', 'nft_commands']
