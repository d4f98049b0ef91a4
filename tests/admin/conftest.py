"""The back office's tests act as an admin, signed in."""

import pytest

from tests.factories import make_user


@pytest.fixture
def admin(client):
    admin = make_user(is_admin=True, name="Camille Roux")
    client.sign_in_as(admin)
    return admin
