"""When a setup is looked at next: the re-check and SES status schedule (pure)."""

from __future__ import annotations

from dataclasses import dataclass

from email_channels.ses_setups.verification import RecordResult, RecordStatus

SES_VERIFIED_INTERVAL = 86400.0  # setups SES verifies for sending: refreshed daily


@dataclass(frozen=True, slots=True)
class Schedule:
    """The settings of section 8 that decide when checks and refreshes are due."""

    check_interval_min: float = 60.0
    check_interval_max: float = 21600.0
    verified_check_interval: float = 86400.0
    unverify_after: int = 2

    def after_check(
        self, *, interval: float, verified: bool, was_verified: bool, background: bool
    ) -> tuple[float, float]:
        """(seconds until the next check, interval to store) after a check.

        A verified setup waits VERIFIED_CHECK_INTERVAL. An unverified one waits its interval,
        which doubles (up to the max) after each background check; a look by a client moves
        the due time without doubling, so reading a setup never postpones its checks for long.
        """
        if verified:
            return self.verified_check_interval, self.check_interval_min
        if was_verified or interval <= 0:
            interval = self.check_interval_min  # it just broke: look again soon
        current = min(max(interval, self.check_interval_min), self.check_interval_max)
        grown = min(current * 2, self.check_interval_max) if background else current
        return current, grown


def definite_failure(results: list[RecordResult]) -> bool:
    """Whether a check saw a record missing or mismatched (`unknown` never counts)."""
    return any(r.status in (RecordStatus.MISSING, RecordStatus.MISMATCH) for r in results)
