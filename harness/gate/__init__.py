"""The CI gate: a report + a policy (+ waivers, + a baseline) → one verdict and the reasons for it.

Modules: ``policy`` (what blocks, levels, tolerances), ``waivers``, ``baseline`` (stored runs),
``compare`` (metrics against a baseline, noise-aware), ``levels``, ``evaluate`` (the judgement),
``summary`` (terminal lines and the Markdown job summary), ``inputs`` (file loading, one-line errors).
"""
