"""The API's documentation: one OpenAPI document merging every route group."""
