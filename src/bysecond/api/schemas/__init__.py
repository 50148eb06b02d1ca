"""The API's public shapes: separate schemas to create, to update and to read a resource.

Amounts are decimal strings, never JSON numbers (CONTRACT.md); instants are RFC 3339.
"""
