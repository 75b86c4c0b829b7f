"""Users with the portal's roles, for the pages' tests."""

import pytest
from django.contrib.auth.models import Group, Permission, User

from onboarding.roles import ONBOARDING_STAFF, VIEWERS, ensure_roles

PASSWORD = "a-long-test-password-42"


def make_user(username: str, group: str | None, *, staff: bool = True) -> User:
    user = User.objects.create_user(username, f"{username}@example.org", PASSWORD)
    user.is_staff = staff
    user.save()
    if group:
        ensure_roles(Group, Permission)  # a transactional test's flush drops them
        user.groups.add(Group.objects.get(name=group))
    return user


@pytest.fixture
def staff_user(db):
    return make_user("olivia", ONBOARDING_STAFF)


@pytest.fixture
def viewer_user(db):
    return make_user("victor", VIEWERS)


@pytest.fixture
def staff(client, staff_user):
    client.force_login(staff_user)
    return client


@pytest.fixture
def viewer(client, viewer_user):
    client.force_login(viewer_user)
    return client


HX = {"HTTP_HX_REQUEST": "true"}
