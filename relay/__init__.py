"""The screenrelay relay: accounts, admission, roles, policy, fan-out of ciphertext."""
