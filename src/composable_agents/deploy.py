"""Shim: the compile pipeline and the ``Deployment`` artifact."""

from composable_agents.compiler.deploy import Deployment, DevModeWarning, deploy

__all__ = ["Deployment", "DevModeWarning", "deploy"]
