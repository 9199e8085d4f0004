"""The long-running off-chain roles that act on the chain by themselves (keepers).

* :mod:`offchain.devnet.keepers.liquidation`: finds liquidatable accounts, opens them, bids.

The oracle and risk keepers are methods of :class:`offchain.devnet.session.Protocol`
(``report_prices``, ``post_epoch``) driven by ``ape run oracle`` and ``ape run epochs``.
"""
