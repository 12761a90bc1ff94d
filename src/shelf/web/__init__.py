"""The HTTP layer: the only code that touches Flask's request, the WSGI environ and responses.

It turns requests into calls of the domain services and their results and errors into
responses: the envelope around every request, problem+json errors, request rules, rate-limit
and caching hooks, the anonymous-hit shortcut, links, docs and shared OpenAPI responses.
"""
