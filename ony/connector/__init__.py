"""The Ony connector: the part that runs next to the agent.

Standard library only, so that ``pip install ony`` on a laptop pulls in
nothing else; nothing here may import Django or any third-party package.
"""
