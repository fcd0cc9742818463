"""Forecasting: lifetime value, churn risk and each customer's next purchases (no Django here)."""
