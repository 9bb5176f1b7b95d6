"""The service's errors. Each carries a message that is safe to show to a user.

ServiceError                      base; `message` is user-facing, `http_status` for the API
├── InvalidInputError             the caller's files or parameters are wrong (400)
│   ├── ForbiddenTargetError      a URL points where the service may not connect (400)
│   ├── InvalidParameterError     one named request parameter is wrong (400; `param` names it)
│   └── MalformedRequestError     the request is not the form the endpoint takes (422)
├── UpstreamError                 the inference API answered with an error (502)
│   ├── UpstreamFormatError       it answered 200 with something that is not an image (502)
│   ├── UpstreamUnreachableError  no connection could be made, or it broke (502)
│   ├── ModelLoadingError         the model was still loading after every retry (503)
│   └── UpstreamTimeoutError      it did not answer in time (504)
├── StorageError                  task files could not be read or written (502)
├── ServiceBusyError              the service is at capacity or shutting down (503)
├── AccessRefusedError            the caller may not use the operator's token, or a key is wrong (401)
└── UntrustedEngineError          a task names URLs outside TRUSTED_ENGINE_ORIGINS (403)
"""


class ServiceError(Exception):
    """Base of every error the service turns into a task error or an HTTP answer."""

    http_status = 500

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
        # The Inference Provider the request had been routed to, once it was.
        self.provider: str | None = None


class InvalidInputError(ServiceError):
    http_status = 400


class ForbiddenTargetError(InvalidInputError):
    pass


class InvalidParameterError(InvalidInputError):
    def __init__(self, message: str, *, param: str | None, code: str = "invalid_value") -> None:
        super().__init__(message)
        self.param = param
        self.code = code


class MalformedRequestError(InvalidInputError):
    http_status = 422


class UpstreamError(ServiceError):
    http_status = 502

    def __init__(self, message: str, *, status_code: int | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code


class UpstreamFormatError(UpstreamError):
    pass


class UpstreamUnreachableError(UpstreamError):
    pass


class ModelLoadingError(UpstreamError):
    http_status = 503


class UpstreamTimeoutError(UpstreamError):
    http_status = 504


class StorageError(ServiceError):
    http_status = 502


class ServiceBusyError(ServiceError):
    http_status = 503


class AccessRefusedError(ServiceError):
    http_status = 401


class UntrustedEngineError(ServiceError):
    http_status = 403
