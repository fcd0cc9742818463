"""The root of Clientele's domain errors: what a user did wrong, said in one sentence."""


class ClienteleError(Exception):
    """An error the user can act on; the CLI prints it without a traceback, the API maps it to 4xx."""

    code = "error"


class RequestRefused(ClienteleError):
    """A request an app refuses, with an HTTP `status` and the `field` of the request at fault
    (`default_field` unless one is given); each app's API maps it to a problem with its `code`."""

    status = 400
    default_field = ""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = self.default_field if field is None else field
