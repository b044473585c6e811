"""The Ony connector: the part that runs next to the agent.

Standard library only, so that ``pip install ony`` on a laptop pulls in
nothing else; nothing here may import Django or any third-party package.
"""


def __getattr__(name: str):  # the SDK on demand, so that the hook imports no more than it needs
    if name in ("Ony", "NotApproved"):
        from ony.connector import sdk

        return getattr(sdk, name)
    raise AttributeError(name)
