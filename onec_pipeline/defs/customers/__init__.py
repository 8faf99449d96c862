"""Customers (1C contragents): the ``customers`` import asset, the ``customers_export`` asset, the customer
checks and the automation sensor that runs the export."""
