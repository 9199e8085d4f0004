"""zkmargin: what every package of the project shares.

* :mod:`zkmargin.errors`: the root exception :class:`~zkmargin.errors.ZkMarginError` and its
  leaves (bad input names its field and its problem);
* :mod:`zkmargin.info`: the version and the environment (package versions, for run manifests);
* :mod:`zkmargin.cli`: the ``zkmargin`` command line, which gathers the commands of every package.

The packages build on this one and never on each other's internals in the wrong direction:
``prover`` imports only ``zkmargin``; ``offchain.risk``, ``offchain.sim`` and ``offchain.mirror``
import ``zkmargin`` and ``prover``; ``offchain.devnet`` sits on top of all of them
(docs/ARCHITECTURE.md, "Where things live").
"""

__version__ = "0.1.0"
