"""One self-contained HTML page of a plan: heat map, short rings, rosters, activations.

The page carries its data, styles and script inline, so it opens in any browser without a
network and prints on paper; :func:`render_report` makes it.
"""

from __future__ import annotations

import json
from importlib.resources import files

from jinja2 import Environment, select_autoescape

from ringplan.report.page import page_data
from solver import Instance, Result
from solver.whatif import WhatIfResponse

__all__ = ["page_data", "render_report"]


def _json_for_script(data: object) -> str:
    """JSON that is safe inside a ``<script>`` element (no ``</`` can close it early)."""
    text = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def render_report(instance: Instance, result: Result, whatif: WhatIfResponse | None = None) -> str:
    """The report page of ``result`` (and of the what-if answer it comes from, if any).

    Parameters
    ----------
    instance
        The instance the result plans.
    result
        The solve result.
    whatif
        The what-if answer whose ``result`` this is, to show its diff and key figures.

    Returns
    -------
    str
        The whole HTML document.
    """
    data = page_data(instance, result, whatif)
    template_text = files("ringplan.report").joinpath("report.html.j2").read_text("utf-8")
    env = Environment(autoescape=select_autoescape(default=True, default_for_string=True))
    template = env.from_string(template_text)
    from markupsafe import Markup

    return template.render(
        title=data["title"],
        status=data["status"],
        figures=data["figures"],
        warnings=data["warnings"],
        data_json=Markup(_json_for_script(data)),
    )
