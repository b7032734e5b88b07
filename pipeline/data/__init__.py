"""Data layer: the data contract (:mod:`.schema`), atomic reading and writing (:mod:`.io`),
importers of every export format (:mod:`.ingest`), the platform clients (:mod:`.fetch`),
and the model's input frame built from the ingested tables (:mod:`.frame`, :mod:`.groups`).

Imports nothing above it (features, model, stages, app).
"""
