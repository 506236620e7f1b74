"""The SES v2 emulator ("sandbox"): an ASGI app that boto3 and aiobotocore talk to unchanged.

`app.create_sandbox_app` builds the ASGI app; `server.EmbeddedSandbox` runs it inside an event
loop that is already running; `server.serve_sandbox` runs it on its own (the CLI command).
"""
