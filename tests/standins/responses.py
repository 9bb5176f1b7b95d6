"""Response classes of the stand-ins.

The suite-wide secret check reads every response body rendered in the process; the
stand-ins' own answers (stored inputs, an upstream echoing a token on purpose) are
not the service's and use these classes to be told apart.
"""

from fastapi.responses import JSONResponse, Response


class StandInResponse(Response):
    pass


class StandInJSONResponse(JSONResponse):
    pass
