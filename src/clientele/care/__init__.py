"""Customer care for staff: after-sales follow-up calls for high-value customers, member events and
their bonus, and each customer's cost against their value (PRODUCT.md §2, §3 and §6)."""
