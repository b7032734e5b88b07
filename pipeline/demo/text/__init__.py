"""Text pools for the demo generator: data only, no logic.

Each topic module holds one dict per language with the same keys, so that
:mod:`pipeline.demo` can assemble posts from parts instead of filling one template:

``openers``    short lead-ins ("Quick update from the allotment:")
``bodies``     the main sentences; a few are two-sentence anecdotes
``closers``    a last remark ("Worth every minute.")
``questions``  something asked of the reader
``replies``    answers to someone else's post
``hashtags``, ``emoji``, ``links``
``bio``        fragments of a profile description
``fills``      values for ``{slot}`` placeholders in the sentences above

Sentences are written by hand, first person, in the register people use on Mastodon. A
``{slot}`` never starts a sentence, so capitalisation stays right whatever fills it.
"""
