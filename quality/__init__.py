"""Quality gate (issue 3): Chinese identifier validators, GE suites from the catalog, quarantine, feedback to
providers, scorecards and the offline report.

Entry points: ``quality.gate.run_gate`` (called by ``connectors.runner``), ``quality.checks.validate_check_refs``
(called by ``zhiwang catalog validate``), ``quality.release.release``, ``quality.scorecard``,
``quality.report.write_report``. Nothing is imported here, so ``import quality`` stays cheap.
"""
