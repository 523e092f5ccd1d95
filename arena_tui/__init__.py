"""arena-tui: LLMs and rule-based baselines paper-trading crypto perps side by side."""

__version__ = "0.1.0"
