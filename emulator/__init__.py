"""A local Azure Local emulator: ARM, Resource Graph and a managed-identity token endpoint over
HTTPS on 127.0.0.1, served from fixture files, for tests, benchmarks and the demo.

Not part of the extension wheel. See ``emulator/README.md``.

Entry points:

* ``python -m emulator serve --fixtures DIR`` (see :mod:`emulator.__main__`);
* :func:`emulator.client.start_emulator` for Python callers;
* :mod:`emulator.azenv` to point a real ``az`` at a running emulator;
* ``python -m emulator.generate_fleet`` to write large fixture fleets;
* :mod:`emulator.imds` for the host IMDS attested-document endpoint (its own server).
"""

import os as _os

#: The fixture directory of the sample fleet shipped with the emulator.
SAMPLE_FLEET = _os.path.join(_os.path.dirname(_os.path.abspath(__file__)), "fixtures",
                             "sample-fleet")
