"""The virtual voice app: a WebRTC voice agent whose behaviour is a playbook expressed as data.

It runs as its own OS process per launch (so the lab can stop it while iOS would suspend it),
connects to ``HARNESS_WHIP_URL`` with aiortc, plays the downlink to the phone's current output
route and sends the phone's current input route up. Known pitfalls ("defects") are changes to the
playbook data, never branches in the audio path.
"""
