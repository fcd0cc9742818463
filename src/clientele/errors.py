"""The root of Clientele's domain errors: what a user did wrong, said in one sentence."""


class ClienteleError(Exception):
    """An error the user can act on; the CLI prints it without a traceback, the API maps it to 4xx."""

    code = "error"
