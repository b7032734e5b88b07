"""Stages and commands: each module is one ``followback`` command, and those in ``dvc.yaml``
one DVC stage of the same name. Thin: parse, load the config, call the model, feature and data
layers below, print a summary.
"""
