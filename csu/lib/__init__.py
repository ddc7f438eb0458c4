"""Building blocks that every app may use and that know no app: times shown to people, the
French CSV, PDF documents, hashing writers, form helpers.

Nothing here imports an app of the project (import-linter checks it, see ``pyproject.toml``).
"""
