"""Model layer: the six criteria composed into one Pipeline (:mod:`.compose`), the MLflow model
around it (:mod:`.pyfunc`), how each verdict is attributed to the criteria and said in words
(:mod:`.attribution`, :mod:`.reasons`), which model files are trusted (:mod:`.trust`), and the
MLflow runs and registry (:mod:`.tracking`).

Imports only :mod:`pipeline.features`, :mod:`pipeline.data` and :mod:`pipeline.core`.
"""
