import pytest

from tests.wda.scene import scene_fixture

scene = pytest.fixture(scene_fixture, name="scene")
