"""Scenario-catalog settings. The fixtures come from the harness plugin (``fixtures.plugin``)."""
