"""``Authorization: Bearer <device_token>`` for the agent API."""

from __future__ import annotations

from dataclasses import dataclass

from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from devices import services
from devices.models import Device


@dataclass(frozen=True)
class DeviceClient:
    """``request.user`` for a device-authenticated request (``request.auth`` is the device)."""

    device: Device
    is_authenticated: bool = True
    is_active: bool = True
    is_superuser: bool = False
    is_staff: bool = False


class DeviceTokenAuthentication(BaseAuthentication):
    """Revoked or unknown tokens get 401, frozen devices 403, each with a stable code."""

    def authenticate(self, request: Request) -> tuple[DeviceClient, Device] | None:
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() != b"bearer":
            return None
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed(
                "Send Authorization: Bearer <device token>.", code="invalid_device_token"
            )
        try:
            token = parts[1].decode("ascii")
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed(
                "This device token is not valid.", code="invalid_device_token"
            ) from None
        try:
            device = services.device_for_token(token)
        except services.DeviceError as exc:
            error = (
                exceptions.AuthenticationFailed
                if exc.status == 401
                else exceptions.PermissionDenied
            )
            raise error(exc.detail, code=exc.code) from None
        services.touch(device)
        return DeviceClient(device), device

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="ony"'


class IsDevice(BasePermission):
    """Only device-authenticated requests."""

    def has_permission(self, request: Request, view: object) -> bool:
        return isinstance(request.auth, Device)


def calling_device(request: Request) -> Device:
    """The device that authenticated ``request``, in a view that ``IsDevice`` guards.

    ``IsDevice`` has already refused anything else; should a view call this
    without it, the request is refused rather than served for someone else.
    """
    device = request.auth
    if not isinstance(device, Device):
        raise exceptions.PermissionDenied()
    return device
