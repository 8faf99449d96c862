"""Dagster assets and checks for customers (contragents): import from 1C and export back."""

customer_assets: list = []
customer_checks: list = []
