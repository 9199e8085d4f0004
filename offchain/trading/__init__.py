"""The operator's off-chain central limit order book and its signed orders (docs/trading.md)."""
