"""Devnet helpers: deploy the protocol with ape and read it back.

Everything here needs a connected ape provider (``ape run ... --network
ethereum:local:foundry`` or the ape pytest plugin); the rest of ``offchain`` does not.
"""
