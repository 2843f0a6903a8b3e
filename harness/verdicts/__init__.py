"""What a verdict about the app may read, and the rules it judges by.

Only what a real lab also has: route captures, the peer's packets and iOS's own log
(:mod:`harness.verdicts.evidence`); expectations phrased in the app's terms, each naming the
playbook rule it checks (:mod:`~harness.verdicts.expect`, :mod:`~harness.verdicts.playbook`); their
thresholds (:mod:`~harness.verdicts.limits`); the audio daemon's line the Siri verdict reads
(:mod:`~harness.verdicts.system_log`); and the public catalog of the app defects the scenarios catch
(:mod:`~harness.verdicts.defects`). Nothing here may import the virtual lab.
"""
