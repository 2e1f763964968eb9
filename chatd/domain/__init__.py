"""chatd's pure core: domain rules with no I/O.

Nothing in this package opens sockets or files at request time, awaits, reads the clock or touches
storage: time comes in as ``now`` arguments and effects go out as return values, so every rule can
be tested with plain synchronous tests. Import the submodules directly; this package re-exports
nothing.
"""
