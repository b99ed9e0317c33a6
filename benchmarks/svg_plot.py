"""A dependency-free SVG of the benchmark: per metric, (a) and (b) side by side for every size and phase (log scale)."""

from __future__ import annotations

import math
from xml.sax.saxutils import escape

METRICS = (("wall_s", "wall time (s)"), ("api_total", "API requests (discovery excluded)"), ("controller_rss_mib", "controller peak RSS (MiB)"))
COLOURS = {"a": "#1f77b4", "b": "#ff7f0e"}
PANEL_W, PANEL_H, LEFT, TOP, BAR_W, GAP = 900, 220, 70, 40, 16, 14


def _groups(cases, phases):
    for results in cases:
        for phase, phase_name in phases:
            a_run, b_run = results["runs"].get("a-" + phase), results["runs"].get("b-" + phase)
            if a_run or b_run:
                yield "%dx%d" % (results["nodes"], results["services"]), phase_name, a_run, b_run


def _panel(y0, right, title, groups, key):
    values = [run[key] for _s, _p, a, b in groups for run in (a, b) if run and run[key] > 0]
    top = 10 ** math.ceil(math.log10(max(values))) if values else 10
    bottom = 10 ** math.floor(math.log10(min(values))) if values else 1
    if top == bottom:
        bottom = top / 10.0
    decades = int(round(math.log10(top / bottom)))

    def y_of(value):
        value = max(value, bottom)
        return y0 + TOP + PANEL_H * (1 - math.log10(value / bottom) / decades)

    parts = ['<text x="%d" y="%d" font-weight="bold">%s</text>' % (LEFT, y0 + 20, escape(title))]
    for d in range(decades + 1):
        value = bottom * 10 ** d
        y = y_of(value)
        parts.append('<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#ddd"/>' % (LEFT, y, right - 10, y))
        parts.append('<text x="%d" y="%.1f" text-anchor="end" font-size="11">%s</text>' % (LEFT - 6, y + 4, "%g" % value))
    x = LEFT + GAP
    for size, phase_name, a_run, b_run in groups:
        for approach, run in (("a", a_run), ("b", b_run)):
            if run:
                y = y_of(run[key])
                parts.append('<rect x="%d" y="%.1f" width="%d" height="%.1f" fill="%s"><title>%s %s (%s): %s</title></rect>'
                             % (x, y, BAR_W, y0 + TOP + PANEL_H - y, COLOURS[approach], size, phase_name, approach, run[key]))
            x += BAR_W
        if a_run and b_run and a_run[key]:
            parts.append('<text x="%d" y="%d" text-anchor="middle" font-size="10">x%.3g</text>'
                         % (x - BAR_W, y0 + TOP - 4, b_run[key] / float(a_run[key])))
        parts.append('<text x="%d" y="%d" text-anchor="middle" font-size="10">%s</text>' % (x - BAR_W, y0 + TOP + PANEL_H + 14, size))
        parts.append('<text x="%d" y="%d" text-anchor="middle" font-size="9">%s</text>'
                     % (x - BAR_W, y0 + TOP + PANEL_H + 26, escape(phase_name.replace("one Service ", "").replace(" re-run", ""))))
        x += GAP * 2
    return parts


def write_plot(path, cases, phases):
    groups = list(_groups(cases, phases))
    width = max(PANEL_W, LEFT + len(groups) * (2 * BAR_W + 2 * GAP) + 40)
    height_each = TOP + PANEL_H + 50
    parts = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" font-size="12">'
             % (width, 40 + height_each * len(METRICS)),
             '<rect width="100%" height="100%" fill="white"/>',
             '<text x="%d" y="20" font-size="14">clusteredge.calico benchmark: (a) role' % LEFT,
             '<tspan fill="%s"> &#9632;</tspan>  vs (b) kubernetes.core.k8s loop<tspan fill="%s"> &#9632;</tspan>'
             % (COLOURS["a"], COLOURS["b"]),
             '  (log scale; xR above a pair = (b)/(a))</text>']
    for index, (key, title) in enumerate(METRICS):
        parts.extend(_panel(30 + index * height_each, width, title, groups, key))
    parts.append("</svg>")
    path.write_text("\n".join(parts) + "\n")
