"""The base every layer may use: the typed ``params.yaml`` (:mod:`.config`) and the terminal
(:mod:`.console`: the one console, progress bars, the error a user can act on)."""
