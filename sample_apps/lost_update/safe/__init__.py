"""Safe arm: a per-request Session and an atomic ``UPDATE ... SET balance = balance + :amount``."""
