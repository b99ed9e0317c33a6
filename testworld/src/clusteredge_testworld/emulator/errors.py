"""Kubernetes `Status` error bodies with the real `reason` words (never a traceback)."""
from __future__ import annotations

from http import HTTPStatus

# HTTP code -> the reason word a real kube-apiserver uses.
REASONS = {
    400: 'BadRequest', 401: 'Unauthorized', 403: 'Forbidden', 404: 'NotFound', 405: 'MethodNotAllowed',
    406: 'NotAcceptable', 409: 'Conflict', 410: 'Expired', 415: 'UnsupportedMediaType', 422: 'Invalid',
    429: 'TooManyRequests', 500: 'InternalError', 503: 'ServiceUnavailable', 504: 'Timeout',
}


class ApiError(Exception):
    """Raised anywhere in request handling; rendered as a Status object."""

    def __init__(self, code: int, message: str, reason: str | None = None, details: dict | None = None,
                 headers: dict | None = None):
        super().__init__(message)
        self.code = code
        self.message = message
        # reason='' is kube's StatusReasonUnknown (a plain Go error from the storage layer): no `reason` in the body.
        self.reason = reason if reason is not None else REASONS.get(code, HTTPStatus(code).phrase.replace(' ', ''))
        self.details = details
        self.headers = headers or {}

    def status(self) -> dict:
        return status_body(self.code, self.message, self.reason, self.details)


def status_body(code: int, message: str, reason: str | None = None, details: dict | None = None) -> dict:
    body = {
        'kind': 'Status', 'apiVersion': 'v1', 'metadata': {}, 'status': 'Failure',
        'message': message, 'reason': reason if reason is not None else REASONS.get(code, ''), 'code': code,
    }
    if body['reason'] == '':
        del body['reason']
    if details is not None:
        body['details'] = details
    return body


def success_status(details: dict | None = None) -> dict:
    body = {'kind': 'Status', 'apiVersion': 'v1', 'metadata': {}, 'status': 'Success'}
    if details is not None:
        body['details'] = details
    return body


def not_found(rtype, name: str) -> ApiError:
    return ApiError(404, f'{rtype.qualified_plural} "{name}" not found',
                    details={'name': name, 'group': rtype.group, 'kind': rtype.plural})


def already_exists(rtype, name: str) -> ApiError:
    return ApiError(409, f'{rtype.qualified_plural} "{name}" already exists', reason='AlreadyExists',
                    details={'name': name, 'group': rtype.group, 'kind': rtype.plural})


STALE_OBJECT = 'the object has been modified; please apply your changes to the latest version and try again'


def conflict(rtype, name: str, why: str = STALE_OBJECT) -> ApiError:
    return ApiError(409, f'Operation cannot be fulfilled on {rtype.qualified_plural} "{name}": {why}',
                    reason='Conflict', details={'name': name, 'group': rtype.group, 'kind': rtype.plural})


def invalid(rtype, name: str, causes: list[dict]) -> ApiError:
    """422 Invalid; causes are {'field', 'message'} (reason FieldValueInvalid added when absent)."""
    causes = [{'reason': c.get('reason', 'FieldValueInvalid'), 'message': c['message'], 'field': c['field']}
              for c in causes]
    summary = ', '.join(f"{c['field']}: {c['message']}" for c in causes)
    kind_group = f'{rtype.kind}.{rtype.group}' if rtype.group else rtype.kind
    return ApiError(422, f'{kind_group} "{name}" is invalid: [{summary}]' if len(causes) > 1
                    else f'{kind_group} "{name}" is invalid: {summary}',
                    details={'name': name, 'group': rtype.group, 'kind': rtype.kind, 'causes': causes})


def bad_request(message: str) -> ApiError:
    return ApiError(400, message)


def unknown_error(message: str) -> ApiError:
    """What kube's ErrorToAPIStatus makes of an error that is not a Status: HTTP 500, no reason."""
    return ApiError(500, message, reason='')
