"""The okr.dev/v1alpha1 wire format: spec parsing and status (de)serialisation.

``spec`` turns user objects into domain values (the one implementation of spec
validation, shared by the operator and the CLI); ``status`` converts the
domain's status values to and from the camelCase dictionaries in ``status``.
``wire`` holds the pydantic models that mirror the CRD schemas in ``crds/``.
"""
