"""ringplan: the command line and the bundled examples around the planner."""

__version__ = "0.1.0"
