"""Figures and widgets, by role: what the chapters draw, kept apart from what the library computes.

- :mod:`recbook.viz.style`: the book's seaborn style, colour maps, palettes and figure sizes, and PNG rendering.
- :mod:`recbook.viz.compute`: the numbers behind the figures (preference ranks by step, cumulative regret, a policy
  against the oracle, the leave-rate sweep); pure, no drawing.
- :mod:`recbook.viz.figures`: the chapters' figures, pure ``plot_*(..., ax)`` / ``draw_*(fig, data)`` functions.
- :mod:`recbook.viz.diagrams`: the explanatory pictures (the agent–environment loop, a belief update).
- :mod:`recbook.viz.panels`: the explorers' panels, pure ``draw_*(fig, data)`` functions.
- :mod:`recbook.viz.widgets` and :mod:`recbook.viz.playground`: ipywidgets wiring only (controls -> compute -> draw).

Nothing is imported here (``import recbook.viz`` loads no plotting library); import the module you need.
"""
