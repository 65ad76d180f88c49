"""Local web dashboard of Electio (``electio serve``), in French, for non-technical users.

Framework: **Dash** (plotly). Why, rather than Streamlit or Panel:

* a plain Flask server, started by one command and testable as a subprocess on any port;
* a declarative layout with fixed DOM ids, which a browser test targets deterministically
  (Streamlit reruns the whole script on each interaction and generates its own ids);
* the same plotly figures and French number formatting as the analysis stage (``analysis.figures``);
* callbacks recompute only what a control changes; warehouse queries are cached in memory
  (:mod:`electio.dashboard.data`), so pages answer from memory.

Modules: :mod:`~electio.dashboard.app` (factory, routing), :mod:`~electio.dashboard.data`
(cached read-only queries), :mod:`~electio.dashboard.charts` (figures),
:mod:`~electio.dashboard.components` and :mod:`~electio.dashboard.views` (shared page parts),
``pages/`` (one module per page).
"""
