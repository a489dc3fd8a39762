"""Read-only aggregates for the brand's console: sales per day, batch, leader, pickup point,
product or supplier over a period of the tenant's local dates (sql/sales_report.sql says what
counts)."""
