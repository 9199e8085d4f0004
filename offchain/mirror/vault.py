"""Integer mirror of ``contracts/assets/CollateralVault.sol`` and ``libraries/ShareMath.sol``.

Balances are pro-rata claims on the account pool: ``balance = shares * pool_units // pool_shares``.
Until the first socialized loss one share is one unit. Exact invariant (checked by
:meth:`VaultModel.token_balance`): tokens held == ``pool_units + insurance + fees``;
``sum(balance_of) <= pool_units``, the difference being rounding dust (< 1 unit per account).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from zkmargin.errors import InputError


def shares_for_deposit(amount: int, units: int, shares: int) -> int:
    """``ShareMath.sharesForDeposit`` (floor)."""
    if shares == 0 or units == 0:
        return amount
    return amount * shares // units


def shares_for_withdrawal(amount: int, units: int, shares: int) -> int:
    """``ShareMath.sharesForWithdrawal`` (ceil)."""
    if shares == 0 or units == 0:
        return amount
    return (amount * shares + units - 1) // units


def units_of(s: int, units: int, shares: int) -> int:
    """``ShareMath.unitsOf`` (floor)."""
    if shares == 0:
        return 0
    return s * units // shares


@dataclass(frozen=True)
class ShortfallSplit:
    """``CollateralVault.coverShortfall``'s answer."""

    from_account: int
    from_insurance: int
    socialized: int
    uncovered: int


class InsufficientBalance(InputError):
    """Mirror of ``Vault_InsufficientBalance``."""

    def __init__(self, account: str, requested: int, available: int) -> None:
        self.account, self.requested, self.available = account, requested, available
        super().__init__("amount", f"{account} asked for {requested} but holds {available}")


@dataclass
class VaultModel:
    """The vault's integer state."""

    pool_units: int = 0
    pool_shares: int = 0
    insurance: int = 0
    fees: int = 0
    shares: dict[str, int] = field(default_factory=dict)
    private_cash: int = 0  # ``totalPrivateCash``: the accounts' private cash, net of unsettled funding

    def balance_of(self, account: str) -> int:
        return units_of(self.shares.get(account, 0), self.pool_units, self.pool_shares)

    def token_balance(self) -> int:
        """What the vault's token balance must be."""
        return self.pool_units + self.private_cash + self.insurance + self.fees

    def move_private_cash(self, account: str, amount: int) -> None:
        """``movePrivateCash``: ``amount`` of private cash to the account's balance (negative: back)."""
        if amount > 0:
            self._credit(account, amount)
        elif amount < 0:
            available = self.balance_of(account)
            if -amount > available:
                raise InsufficientBalance(account, -amount, available)
            self._debit(account, -amount)
        self.private_cash -= amount

    def collect_trading_fees(self, amount: int) -> None:
        """``collectTradingFees``: a batch's fees leave private cash for the protocol."""
        self.private_cash -= amount
        self.fees += amount

    def _credit(self, account: str, amount: int) -> None:
        s = shares_for_deposit(amount, self.pool_units, self.pool_shares)
        self.shares[account] = self.shares.get(account, 0) + s
        self.pool_units += amount
        self.pool_shares += s

    def _debit(self, account: str, amount: int) -> None:
        s = shares_for_withdrawal(amount, self.pool_units, self.pool_shares)
        if s > self.shares.get(account, 0):
            raise InsufficientBalance(account, amount, self.balance_of(account))
        self.shares[account] -= s
        self.pool_units -= amount
        self.pool_shares -= s

    def deposit(self, account: str, amount: int) -> None:
        if amount <= 0:
            raise InputError("amount", "must be positive (Vault_ZeroAmount)")
        self._credit(account, amount)

    def withdraw(self, account: str, amount: int) -> None:
        if amount <= 0:
            raise InputError("amount", "must be positive (Vault_ZeroAmount)")
        available = self.balance_of(account)
        if amount > available:
            raise InsufficientBalance(account, amount, available)
        self._debit(account, amount)

    def fund_insurance(self, amount: int) -> None:
        if amount <= 0:
            raise InputError("amount", "must be positive (Vault_ZeroAmount)")
        self.insurance += amount

    def transfer(self, src: str, dst: str, amount: int) -> None:
        available = self.balance_of(src)
        if amount > available:
            raise InsufficientBalance(src, amount, available)
        s = shares_for_withdrawal(amount, self.pool_units, self.pool_shares)
        self.shares[src] = self.shares.get(src, 0) - s
        self.shares[dst] = self.shares.get(dst, 0) + s

    def collect_fee(self, account: str, amount: int, protocol_share_bps: int) -> tuple[int, int, int]:
        """-> ``(fee, to_insurance, to_protocol)``."""
        fee = min(amount, self.balance_of(account))
        if fee == 0:
            return 0, 0, 0
        self._debit(account, fee)
        to_protocol = fee * protocol_share_bps // 10_000
        self.fees += to_protocol
        self.insurance += fee - to_protocol
        return fee, fee - to_protocol, to_protocol

    def cover_shortfall(self, account: str, to: str, amount: int) -> ShortfallSplit:
        """``account`` owes ``to`` ``amount``: account first, then insurance fund, then socialized."""
        from_account = min(amount, self.balance_of(account))
        if from_account:
            s = shares_for_withdrawal(from_account, self.pool_units, self.pool_shares)
            self.shares[account] -= s
            self.shares[to] = self.shares.get(to, 0) + s
        rest = amount - from_account
        from_insurance = min(rest, self.insurance)
        if from_insurance:
            self.insurance -= from_insurance
            self._credit(to, from_insurance)
        rest -= from_insurance
        socialized = uncovered = 0
        if rest:
            cap = 0 if (self.pool_shares == 0 or self.pool_units == 0) else self.pool_units - 1
            socialized = min(rest, cap)
            if socialized:
                self.pool_units -= socialized
                self._credit(to, socialized)
            uncovered = rest - socialized
        return ShortfallSplit(from_account, from_insurance, socialized, uncovered)
