"""Coverage-guided fuzzing (atheris) of the request-head path and the manifest validator.

See fuzz/README.md; the targets' invariants are in http_target.py and manifest_target.py.
"""
