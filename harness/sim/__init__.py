"""The virtual iPhone lab: a separate world the harness reaches only through wire protocols.

Nothing outside ``harness.sim`` and ``harness.cli.sim`` may import this package (an import-linter
contract holds this): verdicts must come from what a real lab also has.
"""
