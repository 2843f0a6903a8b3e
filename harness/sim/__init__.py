"""The virtual iPhone lab: a separate world the harness reaches only through wire protocols.

Nothing outside ``harness.sim`` and ``harness.cli.sim`` may import this package (an import-linter
contract holds this): verdicts must come from what a real lab also has. The lab's own tests and
the harness's tests may import it to set up a scene and read ground truth.

Map:

- :mod:`harness.sim.lab` -- ``VirtualLab`` (``async with VirtualLab.running(LabConfig(...)) as lab``),
  ``LabConfig``/``PhoneSpec``, ``lab.phones``, ``lab.usbmuxd_address``, ``lab.control_url``,
  ``lab.control.add_route(method, path, handler)``, ``lab.on_phone_added(callback)``,
  ``lab.attach/detach(udid)``; extensions (``install_lab(lab)`` in ``harness.sim.wda`` ...).
- :mod:`harness.sim.phone` -- ``VirtualPhone`` (identity, battery, apps, clock, faults,
  ``device_ports``, ``connect_counts``, ``log()``, ``truth``, ``add_crash_report()``) and
  ``pipe_to(host, port)``.
- :mod:`harness.sim.usbmuxd`, :mod:`harness.sim.lockdownd`, :mod:`harness.sim.services` -- the
  wire protocols pymobiledevice3 and facebook-wda speak to a real phone.
- :mod:`harness.sim.state` -- ``lab.yaml``/``sim.json`` and ``start_lab_process()`` (a
  ``harness sim up`` subprocess for fixtures); :mod:`harness.sim.ipa` -- ``build_ipa()``.
- :mod:`harness.sim.profiles` -- what a phone of each iOS major shows and logs (``iosNN.yaml``, with
  provenance per element and line; ``sources.yaml``); :mod:`harness.sim.variants` -- the points the
  evidence leaves open (``variants.yaml``; ``harness sim up --variant NAME=VALUE``, ``--variant
  field``); :mod:`harness.sim.versions` -- the modelled majors; :mod:`harness.sim.network` -- which
  lab-host addresses a phone can reach.

Control API (JSON; errors are ``{"error": ...}`` with 400/404/405): ``GET /lab``, ``GET /phones``,
``GET|PATCH /phones/{udid}`` (battery_level, charging, developer_mode, passcode_set, locked,
ddi_mounted, name), ``POST /phones/{udid}/attach``, ``POST /phones/{udid}/detach``
(``{"reattach_after_s": N}``), ``GET|POST|DELETE /phones/{udid}/faults`` (refused_services,
passcode_locked, install_error, trust_prompt_s, deny_pairing), ``POST|GET /phones/{udid}/log``,
``POST /phones/{udid}/crash``, ``GET|DELETE /phones/{udid}/connects``, ``GET /routes``,
``POST /phones/{udid}/springboard/mutations`` (``{"mutations": ["key", "key:label=X"]}``: profile
elements left out or renamed), ``POST /stop``. ``{udid}`` also accepts the phone's name.
"""
