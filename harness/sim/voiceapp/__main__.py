import asyncio
import sys

from harness.sim.voiceapp.app import main

sys.exit(asyncio.run(main()))
