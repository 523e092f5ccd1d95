"""Agents: LLMs on the official SDKs, a recorded-response agent and rule-based baselines."""
